//! Keys and pasted text while a popup is open: the root's own (help, palette) are handled
//! here; a screen's (the Data screen's prompt, reveal dialog and record; the Keys screen's
//! wizard and retirement dialog) go to that screen with its popup.

use crossterm::event::KeyEvent;

use super::App;
use crate::tui::app::state::Popup;
use crate::tui::keymap::Action;
use crate::tui::screens::data::DataState;
use crate::tui::screens::keys::KeysState;

impl App {
    pub(super) fn popup_key(&mut self, key: KeyEvent) {
        let action = self.state.keymap.action(&key);
        match &mut self.state.popup {
            Popup::None => {}
            Popup::Palette(_) => self.palette_key(key),
            Popup::Help(_) => {
                let Popup::Help(mut help) = std::mem::take(&mut self.state.popup) else {
                    return;
                };
                let close = crate::tui::app::help::key(&self.state, &mut help, key, action);
                if !close {
                    self.state.popup = Popup::Help(help);
                }
            }
            Popup::Messages { scroll } => match action {
                Some(Action::Down) => {
                    let most = crate::tui::app::messages::max_scroll(&self.state);
                    if let Popup::Messages { scroll } = &mut self.state.popup {
                        *scroll = scroll.saturating_add(1).min(most);
                    }
                }
                Some(Action::Up) => *scroll = scroll.saturating_sub(1),
                Some(Action::PageUp) => *scroll = scroll.saturating_sub(10),
                Some(Action::Top) => *scroll = 0,
                Some(Action::PageDown | Action::Bottom) => {
                    let most = crate::tui::app::messages::max_scroll(&self.state);
                    let by = if action == Some(Action::Bottom) {
                        most
                    } else {
                        10
                    };
                    if let Popup::Messages { scroll } = &mut self.state.popup {
                        *scroll = scroll.saturating_add(by).min(most);
                    }
                }
                Some(Action::Back | Action::Messages | Action::Quit | Action::Open) => {
                    self.state.popup = Popup::None
                }
                _ => {}
            },
            Popup::Prompt(_) | Popup::Reveal(_) | Popup::Detail { .. } => {
                self.with_data_popup(|data, popup, ctx| match popup {
                    Some(popup) => data.popup_key(popup, key, action, ctx),
                    None => crate::tui::context::Effect::None,
                })
            }
            Popup::Rotate(_) | Popup::Retire(_) => {
                self.with_keys_popup(|keys, popup, ctx| match popup {
                    Some(popup) => keys.popup_key(popup, key, ctx),
                    None => crate::tui::context::Effect::None,
                })
            }
        }
    }

    pub(super) fn on_paste(&mut self, text: &str) {
        let one_line: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        match &mut self.state.popup {
            Popup::Palette(p) => {
                p.input.insert_str(&one_line);
            }
            Popup::Help(help) if help.input.is_some() => {
                if let Some(input) = &mut help.input {
                    input.insert_str(&one_line);
                    help.query = input.lines().join("");
                }
            }
            Popup::Prompt(_) | Popup::Reveal(_) => self.with_data_popup(|_, popup, _| {
                if let Some(popup) = popup {
                    DataState::popup_paste(popup, &one_line);
                }
                crate::tui::context::Effect::None
            }),
            Popup::Retire(_) => self.with_keys_popup(|_, popup, _| {
                if let Some(popup) = popup {
                    KeysState::popup_paste(popup, &one_line);
                }
                crate::tui::context::Effect::None
            }),
            // As before the split: text pasted over another popup goes to the Audit
            // screen's input when it is open.
            Popup::None
            | Popup::Help(_)
            | Popup::Messages { .. }
            | Popup::Detail { .. }
            | Popup::Rotate(_) => self.state.audit.paste(&one_line),
        }
    }
}
