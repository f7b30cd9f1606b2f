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
    /// Opened from the record popup on this field: it comes back when the dialog closes.
    pub from_record: Option<usize>,
}

/// This screen's popups.
#[derive(Debug)]
pub enum Popup {
    Prompt(PromptState),
    Reveal(RevealState),
    /// The selected record of the table, one field a line, `field` (an index into the
    /// table's columns) selected: `r` reveals it, `y` copies it.
    Detail {
        field: usize,
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
            Popup::Detail { field } => {
                let fields = self.table.as_ref().map_or(0, |t| t.columns.len());
                match action {
                    Some(Action::Down) => *field = (*field + 1).min(fields.saturating_sub(1)),
                    Some(Action::Up) => *field = field.saturating_sub(1),
                    Some(Action::Top | Action::PageUp) => *field = 0,
                    Some(Action::Bottom | Action::PageDown) => *field = fields.saturating_sub(1),
                    Some(Action::Reveal) => return self.reveal_field(*field, ctx),
                    Some(Action::Copy) => return self.copy_field(*field, ctx),
                    Some(Action::CopyId) => return self.copy_id(ctx),
                    Some(Action::Back | Action::Help | Action::Quit | Action::Open) => {
                        return Effect::ClosePopup;
                    }
                    _ => {}
                }
                Effect::None
            }
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
                KeyCode::Esc => match dialog.from_record {
                    Some(field) => Effect::Popup(Popup::Detail { field }),
                    None => Effect::ClosePopup,
                },
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
