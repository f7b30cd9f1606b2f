//! The Data screen's popups: the search/filter prompt, the reveal dialog (the reason the
//! policy asks for) and the selected record; their keys and pasted text.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::TextArea;

use super::loaders::CellRef;
use super::table::{MatchKind, Matches};
use super::{DataState, Effect};
use crate::tui::context::Ctx;
use crate::tui::keymap::Action;
use crate::tui::widgets::line_input;

/// The one-line input of a search (`s`) or filter (`/`).
#[derive(Debug)]
pub struct PromptState {
    pub kind: MatchKind,
    pub input: TextArea<'static>,
    /// Fields `field=value` takes (a search: the value alone when there is one field).
    pub fields: Vec<String>,
    pub error: Option<String>,
    /// A remark under the input (a search through a blind index waits for enter).
    pub note: Option<String>,
    /// Opened holding the current filter: the first character typed replaces it.
    pub prefilled: bool,
    /// Changed since the last tick (the filter runs at the next one).
    pub dirty: bool,
    /// The table was narrowed while typing (esc then puts it back as it was).
    pub applied: bool,
    /// The table's filter and sort when the prompt opened.
    pub before: Option<Matches>,
}

/// The reveal dialog: which cell, and the reason the policy asks for.
#[derive(Debug)]
pub struct RevealState {
    pub cell: CellRef,
    pub reason: TextArea<'static>,
    pub error: Option<String>,
    /// True while the audited reveal runs.
    pub busy: bool,
}

/// This screen's popups.
#[derive(Debug)]
pub enum Popup {
    Prompt(PromptState),
    Reveal(RevealState),
    /// The selected record of the table, one field a line.
    Detail {
        scroll: u16,
    },
}

impl DataState {
    /// A key while one of this screen's popups is open.
    pub fn popup_key(
        &mut self,
        popup: &mut Popup,
        key: KeyEvent,
        action: Option<Action>,
        ctx: &Ctx,
    ) -> Effect {
        match popup {
            Popup::Detail { .. } if action == Some(Action::Reveal) => {
                Effect::ClosePopup.then(self.act(Action::Reveal, ctx))
            }
            Popup::Detail { scroll } => match action {
                Some(Action::Down) => {
                    *scroll = scroll.saturating_add(1);
                    Effect::None
                }
                Some(Action::Up) => {
                    *scroll = scroll.saturating_sub(1);
                    Effect::None
                }
                Some(Action::Back | Action::Help | Action::Quit | Action::Open) => {
                    Effect::ClosePopup
                }
                _ => Effect::None,
            },
            Popup::Prompt(prompt) => match key.code {
                KeyCode::Esc => self.cancel_prompt(prompt, ctx),
                KeyCode::Enter => self.submit_prompt(prompt, ctx),
                _ => {
                    if line_input::edit(&mut prompt.input, &mut prompt.prefilled, key) {
                        prompt.dirty = true;
                        prompt.error = None;
                    }
                    Effect::None
                }
            },
            Popup::Reveal(dialog) => match key.code {
                KeyCode::Esc => Effect::ClosePopup,
                KeyCode::Enter => self.submit_reveal(dialog, ctx),
                _ => {
                    line_input::edit(&mut dialog.reason, &mut false, key);
                    Effect::None
                }
            },
        }
    }

    /// Pasted text (already one line) goes into the open input.
    pub fn popup_paste(popup: &mut Popup, text: &str) {
        match popup {
            Popup::Prompt(p) => {
                if p.prefilled {
                    p.input = line_input::with_text("");
                    p.prefilled = false;
                }
                p.input.insert_str(text);
                p.dirty = true;
            }
            Popup::Reveal(d) => {
                d.reason.insert_str(text);
            }
            Popup::Detail { .. } => {}
        }
    }
}
