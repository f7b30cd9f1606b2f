//! The Audit screen's keys: moving in the tail, the filter input (parsed by
//! `audit::filter_text`, applied in SQL), verify (`V`) and the tick that keeps the tail
//! following. Everything that reads the database is a task of `feed.rs`.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::TextArea;

use super::feed;
use super::{ActiveFilter, AuditInput, AuditState, Effect, InputKind};
use crate::audit::parse_filter;
use crate::config::PolicyAction;
use crate::tui::context::{Ctx, Loadable, Refresh};
use crate::tui::keymap::Action;

impl AuditState {
    /// An action on the Audit screen (keys, mouse wheel and palette land here).
    /// A reveal the role is not granted is refused here, with the reason help shows.
    pub fn on_action(&mut self, action: Action, ctx: &Ctx) -> Effect {
        if action == Action::Reveal
            && let Some(refused) = ctx.not_granted(action)
        {
            return Effect::Error(refused);
        }
        let page = ctx.page_size() as isize;
        match action {
            Action::Top => {
                let jumped = self.anchor.take().is_some();
                self.selected = 0;
                if jumped {
                    return self.reload_list(ctx);
                }
                Effect::None
            }
            Action::Bottom => self.move_selection(isize::MAX / 2, ctx),
            Action::Down => self.move_selection(1, ctx),
            Action::Up => self.move_selection(-1, ctx),
            Action::PageDown => self.move_selection(page, ctx),
            Action::PageUp => self.move_selection(-page, ctx),
            Action::Open => match self.detail {
                Some(_) => {
                    self.detail = None;
                    Effect::None
                }
                None => self.open_detail(ctx),
            },
            Action::Filter => {
                self.open_input(InputKind::Filter);
                Effect::None
            }
            Action::Reveal => self.reveal_entry(ctx),
            Action::Verify => self.verify(ctx),
            Action::Checkpoint => self.checkpoint(ctx),
            Action::Refresh => {
                let all = Effect::Refresh(Refresh::All);
                if self.filter.is_some() || self.anchor.is_some() {
                    all.then(self.reload_list(ctx))
                } else {
                    all
                }
            }
            Action::Back => {
                if self.detail.take().is_some() {
                    Effect::None
                } else if self.filter.is_some() {
                    self.set_filter(None, ctx)
                } else {
                    Effect::ClearMessage
                }
            }
            _ => Effect::None,
        }
    }

    fn move_selection(&mut self, delta: isize, ctx: &Ctx) -> Effect {
        self.move_by(delta);
        // The pane follows the selection, so j/k walk through entries in detail.
        let selected = self.selected_line().map(|l| l.id);
        match (&self.detail, selected) {
            (Some(pane), Some(id)) if pane.id != id => self.load_detail(id, None, ctx),
            _ => Effect::None,
        }
    }

    /// Each tick: reveals that timed out mask again; the tail polls while followed (and
    /// shown: `on_screen`).
    pub fn tick(&mut self, on_screen: bool, ctx: &Ctx) -> Effect {
        let mut effect = Effect::None;
        if let Some(pane) = &mut self.detail
            && pane.revealed_until.is_some_and(|until| ctx.now >= until)
        {
            pane.revealed_until = None;
            pane.view = pane
                .masked
                .take()
                .map_or(Loadable::Loading, Loadable::Ready);
            effect = Effect::notice("revealed values masked again (timeout)");
        }
        if on_screen && self.following() && !self.polling {
            effect = effect.then(self.poll(None, ctx));
        }
        effect
    }

    /// Loads the newest page (or the page around `focus`) under the current filter.
    fn poll(&mut self, focus: Option<i64>, ctx: &Ctx) -> Effect {
        let Some(store) = ctx.services.store.clone() else {
            return Effect::None;
        };
        self.polling = true;
        let filter = self.filter.as_ref().map(|f| f.filter.clone());
        Effect::spawn(
            "audit list",
            feed::list(store, filter, focus, self.generation),
        )
    }

    /// A new filter (or page): older answers are dropped, the list loads afresh.
    pub(super) fn reload_list(&mut self, ctx: &Ctx) -> Effect {
        self.generation += 1;
        self.list = Loadable::Loading;
        self.last_seen = None;
        self.rate = 0.0;
        self.selected = 0;
        let focus = self.anchor;
        self.poll(focus, ctx)
    }

    fn set_filter(&mut self, filter: Option<ActiveFilter>, ctx: &Ctx) -> Effect {
        let cleared = filter.is_none();
        self.filter = filter;
        self.anchor = None;
        let reload = self.reload_list(ctx);
        if cleared {
            reload.then(Effect::notice("audit filter cleared"))
        } else {
            reload
        }
    }

    pub(super) fn open_input(&mut self, kind: InputKind) {
        let prefilled = matches!((&self.filter, kind), (Some(_), InputKind::Filter));
        let mut text = match (&self.filter, kind) {
            (Some(f), InputKind::Filter) => TextArea::new(vec![f.text.clone()]),
            _ => TextArea::default(),
        };
        text.move_cursor(ratatui_textarea::CursorMove::End);
        text.set_cursor_line_style(ratatui::style::Style::default());
        if kind == InputKind::Filter {
            text.set_placeholder_text("actor=ana action=reveal model=Customer since=2h");
        } else {
            text.set_placeholder_text("reason (e.g. ticket number and purpose)");
        }
        self.input = Some(AuditInput {
            kind,
            text,
            error: None,
            busy: false,
            prefilled,
        });
    }

    /// True while this screen's input takes the keys.
    pub fn input_open(&self) -> bool {
        self.input.is_some()
    }

    /// A key while the input is open.
    pub fn input_key(&mut self, key: KeyEvent, ctx: &Ctx) -> Effect {
        let Some(input) = &mut self.input else {
            return Effect::None;
        };
        match key.code {
            KeyCode::Esc => self.input = None,
            KeyCode::Enter if input.busy => {}
            KeyCode::Enter => {
                let text = input.text.lines().join(" ").trim().to_string();
                return match input.kind {
                    InputKind::Filter => self.submit_filter(text, ctx),
                    InputKind::Reason => self.submit_reason(text, ctx),
                };
            }
            _ => {
                crate::tui::widgets::line_input::edit(&mut input.text, &mut input.prefilled, key);
            }
        }
        Effect::None
    }

    /// Pasted text (already one line) goes into the input, when open.
    pub fn paste(&mut self, one_line: &str) {
        if let Some(input) = &mut self.input {
            input.text.insert_str(one_line);
        }
    }

    fn submit_filter(&mut self, text: String, ctx: &Ctx) -> Effect {
        let now = ctx.now.naive_utc();
        match parse_filter(&text, &ctx.services.models, now) {
            Err(message) => {
                if let Some(input) = &mut self.input {
                    input.error = Some(message);
                }
                Effect::None
            }
            Ok(parsed) => {
                self.input = None;
                self.set_filter(parsed.map(|filter| ActiveFilter { text, filter }), ctx)
            }
        }
    }

    /// `V`: verifies the whole chain in the background.
    fn verify(&mut self, ctx: &Ctx) -> Effect {
        if self.verifying {
            return Effect::None;
        }
        let Some(key) = ctx.services.ring.audit_key() else {
            return Effect::error(
                "cannot verify: MASTER_ENCRYPTION_KEY is not set (the chain is keyed from it)",
            );
        };
        let Some(store) = ctx.services.store.clone() else {
            return Effect::error("cannot verify: not connected");
        };
        self.verifying = true;
        let old = ctx.services.ring.audit_key_old();
        Effect::spawn("audit verify", feed::verify(store, key, old))
    }

    /// `C` / `:checkpoint`: signs the log's Merkle root with AUDIT_SIGNING_KEY (the role
    /// needs the `checkpoint` action; the audit connection writes it, read-only or not).
    fn checkpoint(&mut self, ctx: &Ctx) -> Effect {
        if let Err(refused) = ctx.grants().check(PolicyAction::Checkpoint) {
            return Effect::error(refused.short());
        }
        let signer = match ctx.services.audit_signer() {
            Ok(signer) => signer,
            Err(why) => return Effect::error(format!("cannot write a checkpoint: {why}")),
        };
        let Some(store) = ctx.services.store.clone() else {
            return Effect::error("cannot write a checkpoint: not connected");
        };
        Effect::spawn("audit checkpoint", feed::checkpoint(store, signer))
    }

    /// Every load of this screen (the feed; the tail follows it while unfiltered).
    pub fn load(&mut self, ctx: &Ctx) -> Effect {
        let Some(store) = ctx.services.store.clone() else {
            return Effect::None;
        };
        Effect::spawn(
            "audit",
            feed::feed(
                store,
                ctx.services.ring.clone(),
                ctx.services.audit_verifier(),
                ctx.now,
            ),
        )
    }
}
