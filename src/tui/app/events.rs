//! Events in: the size, the tick, keys, the mouse and pasted text, each routed to the open
//! popup, the Audit screen's open input, the root's own actions (quit, help, palette,
//! tabs) or the current screen.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

use super::{App, ctx};
use crate::tui::app::state::{Connection, Popup};
use crate::tui::app::ui;
use crate::tui::context::{Effect, ScreenId};
use crate::tui::event::Event;
use crate::tui::keymap::Action;

impl App {
    pub(super) fn on_event(&mut self, event: Event) {
        match event {
            Event::Resize(w, h) => {
                self.state.size = (w, h);
                self.state.data.resize(w);
            }
            Event::Tick => self.tick(),
            Event::Key(key) => self.on_key(key),
            Event::Mouse(mouse) => self.on_mouse(mouse),
            Event::Paste(text) => self.on_paste(&text),
        }
    }

    fn tick(&mut self) {
        self.state.now = self.setup.clock.now();
        self.state.expire_message();
        // Reveals time out; the `/` filter runs what was typed since the last tick.
        self.with_data_popup(|data, popup, ctx| data.tick(popup, ctx));
        let ctx = ctx(&self.services, &self.state);
        // The audit tail follows new entries (of any process) unless scrolled away.
        let on_audit = self.state.screen == ScreenId::Audit;
        let audit = self.state.audit.tick(on_audit, &ctx);
        // Jobs of other processes appear and move while the jobs are on screen.
        let jobs = if matches!(self.state.screen, ScreenId::Keys | ScreenId::Overview) {
            self.state.keys.poll_jobs(&ctx)
        } else {
            Effect::None
        };
        self.run_audit(audit);
        self.run_keys(jobs);
    }

    fn on_key(&mut self, key: KeyEvent) {
        // ctrl-c always quits, even inside a text input.
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.state.quit = true;
            return;
        }
        // ctrl-s writes the screen whatever has the keys (a popup, an input).
        if self.state.keymap.action(&key) == Some(Action::Dump) {
            self.dump_screen();
            return;
        }
        // While only "terminal too small" is drawn, a key would act on a screen nobody
        // sees (a cancel, a reveal): only quitting is honoured.
        if self.state.too_small() {
            if self.state.keymap.action(&key) == Some(Action::Quit) {
                self.state.quit = true;
            }
            return;
        }
        if !matches!(self.state.popup, Popup::None) {
            self.popup_key(key);
            return;
        }
        if self.state.screen == ScreenId::Audit && self.state.audit.input_open() {
            let ctx = ctx(&self.services, &self.state);
            let effect = self.state.audit.input_key(key, &ctx);
            self.run_audit(effect);
            return;
        }
        let Some(action) = self.state.keymap.action(&key) else {
            return;
        };
        self.run_action(action);
    }

    /// Carries out an action from a key or the palette.
    pub(super) fn run_action(&mut self, action: Action) {
        match action {
            Action::Quit => self.state.quit = true,
            Action::Help => self.state.popup = Popup::Help(Default::default()),
            Action::Messages => self.state.popup = Popup::Messages { scroll: 0 },
            Action::Dump => self.dump_screen(),
            Action::Palette => self.open_palette(),
            Action::Overview => self.state.screen = ScreenId::Overview,
            Action::Data => self.state.screen = ScreenId::Data,
            Action::Audit => self.state.screen = ScreenId::Audit,
            Action::Keys => self.state.screen = ScreenId::Keys,
            Action::Health => self.state.screen = ScreenId::Health,
            // `:verify` from any screen: the result is shown on the Audit screen.
            Action::Verify | Action::Checkpoint => {
                self.state.screen = ScreenId::Audit;
                self.screen_action(action);
            }
            // `:census` from any screen opens it on the Keys screen (`c` there toggles it).
            Action::Census if self.state.screen != ScreenId::Keys => {
                self.state.screen = ScreenId::Keys;
                self.state.keys.show_census = true;
            }
            Action::NextTab => {
                self.state.screen = ScreenId::from_index(self.state.screen.index() + 1)
            }
            Action::PrevTab => {
                self.state.screen = ScreenId::from_index(self.state.screen.index() + 4)
            }
            // Not connected (yet, or the database was unreachable): refresh retries.
            Action::Refresh if self.services.store.is_none() => self.reconnect(),
            _ => self.screen_action(action),
        }
    }

    /// An action for the current screen (which refuses what the role is not granted).
    fn screen_action(&mut self, action: Action) {
        let ctx = ctx(&self.services, &self.state);
        match self.state.screen {
            ScreenId::Overview => {
                let effect = self.state.overview.on_action(action);
                self.run_overview(effect);
            }
            ScreenId::Data => {
                let effect = self.state.data.on_action(action, &ctx);
                self.run_data(effect);
            }
            ScreenId::Audit => {
                let effect = self.state.audit.on_action(action, &ctx);
                self.run_audit(effect);
            }
            ScreenId::Keys => {
                let effect = self.state.keys.on_action(action, &ctx);
                self.run_keys(effect);
            }
            ScreenId::Health => {
                let effect = self.state.health.on_action(action, &ctx);
                self.run_health(effect);
            }
        }
    }

    fn on_mouse(&mut self, mouse: MouseEvent) {
        if !matches!(self.state.popup, Popup::None) {
            return;
        }
        match mouse.kind {
            MouseEventKind::ScrollDown => self.screen_action(Action::Down),
            MouseEventKind::ScrollUp => self.screen_action(Action::Up),
            MouseEventKind::Down(MouseButton::Left) if mouse.row == 0 => {
                if let Some((_, _, screen)) = ui::tab_spans()
                    .into_iter()
                    .find(|(a, b, _)| (*a..*b).contains(&mouse.column))
                {
                    self.state.screen = screen;
                }
            }
            MouseEventKind::Down(MouseButton::Left) if self.state.screen == ScreenId::Data => {
                // Rows start under the tab bar, the block's border and the header.
                if let Some(offset) = (mouse.row as usize).checked_sub(3) {
                    let page = self.state.page_size();
                    self.state.data.click_row(offset, page);
                }
            }
            _ => {}
        }
    }

    fn reconnect(&mut self) {
        if self.state.status.connection == Connection::Connecting && self.tasks.pending() > 0 {
            return;
        }
        self.state.status.connection = Connection::Connecting;
        self.services.connection_error = None;
        self.state.notice("connecting…");
        self.start();
    }
}
