//! The `:` palette: its commands with completion, and the theme and role switches.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::TextArea;

use super::{App, ctx};
use crate::tui::app::commands::{self, Command};
use crate::tui::app::state::{PaletteState, Popup};

impl App {
    pub(super) fn open_palette(&mut self) {
        let mut input = TextArea::default();
        input.set_cursor_line_style(ratatui::style::Style::default());
        let completions = commands::complete("", &self.palette_candidates());
        self.state.popup = Popup::Palette(PaletteState {
            input,
            completions,
            selected: 0,
        });
    }

    fn palette_candidates(&self) -> Vec<String> {
        let roles: Vec<String> = self.setup.policy.roles.keys().cloned().collect();
        let models: Vec<String> = self
            .setup
            .models
            .models
            .iter()
            .map(|m| m.name.clone())
            .collect();
        commands::candidates(&self.setup.themes.names(), &roles, &models)
    }

    fn run_command(&mut self, text: &str) {
        // A new command's outcome replaces the last one's: an error left from an earlier
        // command would otherwise hide this one's notice (or the hints) until esc.
        self.state.clear_message();
        match commands::parse(text) {
            Ok(Command::Screen(screen)) => self.state.screen = screen,
            Ok(Command::Action(action)) => self.run_action(action),
            Ok(Command::Theme(name)) => match self.setup.themes.get(&name) {
                Ok(theme) => {
                    self.state.theme = theme;
                    self.state.notice(format!("theme {name}"));
                }
                Err(e) => self.state.error(e.to_string()),
            },
            Ok(Command::Role(role)) => self.switch_role(&role),
            Ok(Command::Model(name)) => match self.setup.models.find(&name).map(|m| m.name.clone())
            {
                Some(model) => self.open_table(&model),
                None => {
                    let names: Vec<&str> = self
                        .setup
                        .models
                        .models
                        .iter()
                        .map(|m| m.name.as_str())
                        .collect();
                    self.state.error(format!(
                        "no model named `{name}`; models: {}",
                        names.join(", ")
                    ))
                }
            },
            Ok(Command::Sort { column, descending }) => {
                self.state.screen = crate::tui::context::ScreenId::Data;
                let descending = if column.eq_ignore_ascii_case("off") {
                    None
                } else {
                    descending
                };
                let ctx = ctx(&self.services, &self.state);
                let effect = self.state.data.sort_by(&column, descending, &ctx);
                self.run_data(effect);
            }
            Ok(Command::Rate(rate)) => {
                self.state.screen = crate::tui::context::ScreenId::Keys;
                let ctx = ctx(&self.services, &self.state);
                let effect = self.state.keys.set_rate(rate, &ctx);
                self.run_keys(effect);
            }
            Ok(Command::Lag(seconds)) => {
                self.state.screen = crate::tui::context::ScreenId::Keys;
                let ctx = ctx(&self.services, &self.state);
                let effect = self.state.keys.set_lag(seconds, &ctx);
                self.run_keys(effect);
            }
            Ok(Command::Report) => self.write_report(),
            Err(e) => self.state.error(e),
        }
    }

    /// Masks everything again under another role of the policy (same user).
    fn switch_role(&mut self, role: &str) {
        match self.setup.access_for(role, ":role") {
            Ok(access) => {
                self.services.access = Arc::new(access);
                self.state.status.role = role.to_string();
                self.state.grants = self.services.access.grants().clone();
                self.state.reveal_timeout_seconds = self.services.access.reveal_timeout_seconds();
                self.state.notice(format!("role {role}"));
                self.state.audit.role_changed();
                let ctx = ctx(&self.services, &self.state);
                let effect = self.state.data.reopen_table(&ctx);
                self.run_data(effect);
            }
            Err(e) => self.state.error(e.to_string()),
        }
    }

    /// A key while the palette is open.
    pub(super) fn palette_key(&mut self, key: KeyEvent) {
        let Popup::Palette(palette) = &mut self.state.popup else {
            return;
        };
        match key.code {
            KeyCode::Esc => self.state.popup = Popup::None,
            KeyCode::Up => palette.selected = palette.selected.saturating_sub(1),
            KeyCode::Down => {
                palette.selected =
                    (palette.selected + 1).min(palette.completions.len().saturating_sub(1))
            }
            KeyCode::Tab => {
                if let Some(choice) = palette.completions.get(palette.selected).cloned() {
                    palette.input = TextArea::new(vec![choice]);
                    palette.input.move_cursor(ratatui_textarea::CursorMove::End);
                    palette
                        .input
                        .set_cursor_line_style(ratatui::style::Style::default());
                }
            }
            KeyCode::Enter => {
                let typed = palette.input.lines().join("");
                let exact = commands::parse(&typed).is_ok();
                let chosen = palette.completions.get(palette.selected).cloned();
                let text = if exact || chosen.is_none() {
                    typed
                } else {
                    chosen.unwrap_or_default()
                };
                self.state.popup = Popup::None;
                self.run_command(&text);
            }
            _ => {
                crate::tui::widgets::line_input::edit(&mut palette.input, &mut false, key);
                let typed = palette.input.lines().join("");
                let candidates = self.palette_candidates();
                if let Popup::Palette(palette) = &mut self.state.popup {
                    palette.completions = commands::complete(&typed, &candidates);
                    palette.selected = 0;
                }
            }
        }
    }
}
