//! The Audit screen's actions and background work: the tail (filtered in SQL by
//! `audit::query`), the filter input, and verify (`audit::query::verify`) with the jump to
//! the first broken link (the detail pane and its audited reveal are in `app_audit_detail`). Everything that
//! reads the database runs as a task; nothing here builds SQL.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::TextArea;

use super::app::App;
use super::keymap::Action;
use super::overview_data::{AuditLine, ChainStatus, RECENT_ENTRIES};
use super::screens::Loadable;
use super::screens::ScreenId;
use super::screens::audit::{ActiveFilter, AuditInput, AuditResult, InputKind};
use super::tasks::TaskResult;
use crate::audit::parse_filter;
use crate::audit::{lookup, query};

impl App {
    /// An action on the Audit screen (keys, mouse wheel and palette land here).
    pub(super) fn audit_action(&mut self, action: Action) {
        match action {
            Action::Top => {
                let jumped = self.state.audit.anchor.take().is_some();
                self.state.audit.selected = 0;
                if jumped {
                    self.reload_audit_list();
                }
            }
            Action::Bottom => self.move_audit(isize::MAX / 2),
            Action::Down => self.move_audit(1),
            Action::Up => self.move_audit(-1),
            Action::PageDown => self.move_audit(self.state.page_size() as isize),
            Action::PageUp => self.move_audit(-(self.state.page_size() as isize)),
            Action::Open => match self.state.audit.detail {
                Some(_) => self.state.audit.detail = None,
                None => self.open_audit_detail(),
            },
            Action::Filter => self.open_audit_input(InputKind::Filter),
            Action::Reveal => self.reveal_audit_entry(),
            Action::Verify => self.verify_audit_chain(),
            Action::Refresh => {
                self.load_overview();
                if self.state.audit.filter.is_some() || self.state.audit.anchor.is_some() {
                    self.reload_audit_list();
                }
            }
            Action::Back => {
                if self.state.audit.detail.take().is_some() {
                } else if self.state.audit.filter.is_some() {
                    self.set_audit_filter(None);
                } else {
                    self.state.status.last_error = None;
                    self.state.status.message = None;
                }
            }
            _ => {}
        }
    }

    fn move_audit(&mut self, delta: isize) {
        self.state.audit.move_by(delta);
        // The pane follows the selection, so j/k walk through entries in detail.
        let selected = self.state.audit.selected_line().map(|l| l.id);
        if let (Some(pane), Some(id)) = (&self.state.audit.detail, selected)
            && pane.id != id
        {
            self.load_audit_detail(id, None);
        }
    }

    /// Each tick: reveals that timed out mask again; the tail polls while followed.
    pub(super) fn audit_tick(&mut self) {
        let now = self.state.now;
        if let Some(pane) = &mut self.state.audit.detail
            && pane.revealed_until.is_some_and(|until| now >= until)
        {
            pane.revealed_until = None;
            pane.view = pane
                .masked
                .take()
                .map_or(Loadable::Loading, Loadable::Ready);
            self.state.notice("revealed values masked again (timeout)");
        }
        if self.state.screen == ScreenId::Audit
            && self.state.audit.following()
            && !self.state.audit.polling
        {
            self.poll_audit(None);
        }
    }

    /// Loads the newest page (or the page around `focus`) under the current filter.
    fn poll_audit(&mut self, focus: Option<i64>) {
        let Some(store) = self.store.clone() else {
            return;
        };
        self.state.audit.polling = true;
        let generation = self.state.audit.generation;
        let filter = self.state.audit.filter.as_ref().map(|f| f.filter.clone());
        self.tasks.spawn("audit list", async move {
            let result = match focus {
                Some(id) => lookup::around(&store, id, RECENT_ENTRIES).await,
                None => {
                    let filter = filter.unwrap_or_default();
                    query::list(&store, &filter, None, RECENT_ENTRIES).await
                }
            };
            TaskResult::AuditScreen(AuditResult::List {
                generation,
                focus,
                result: result
                    .map(|entries| entries.into_iter().map(AuditLine::from).collect())
                    .map_err(|e| e.to_string()),
            })
        });
    }

    /// A new filter (or page): older answers are dropped, the list loads afresh.
    fn reload_audit_list(&mut self) {
        let audit = &mut self.state.audit;
        audit.generation += 1;
        audit.list = Loadable::Loading;
        audit.last_seen = None;
        audit.rate = 0.0;
        audit.selected = 0;
        let focus = audit.anchor;
        self.poll_audit(focus);
    }

    fn set_audit_filter(&mut self, filter: Option<ActiveFilter>) {
        let cleared = filter.is_none();
        self.state.audit.filter = filter;
        self.state.audit.anchor = None;
        self.reload_audit_list();
        if cleared {
            self.state.notice("audit filter cleared");
        }
    }

    pub(super) fn open_audit_input(&mut self, kind: InputKind) {
        let mut text = match (&self.state.audit.filter, kind) {
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
        self.state.audit.input = Some(AuditInput {
            kind,
            text,
            error: None,
            busy: false,
        });
    }

    /// True while the Audit screen's input takes the keys.
    pub(super) fn audit_input_open(&self) -> bool {
        self.state.screen == ScreenId::Audit && self.state.audit.input.is_some()
    }

    pub(super) fn audit_input_key(&mut self, key: KeyEvent) {
        let Some(input) = &mut self.state.audit.input else {
            return;
        };
        match key.code {
            KeyCode::Esc => self.state.audit.input = None,
            KeyCode::Enter if input.busy => {}
            KeyCode::Enter => {
                let text = input.text.lines().join(" ").trim().to_string();
                match input.kind {
                    InputKind::Filter => self.submit_audit_filter(text),
                    InputKind::Reason => self.submit_audit_reason(text),
                }
            }
            _ => {
                input.text.input(key);
            }
        }
    }

    pub(super) fn audit_paste(&mut self, one_line: &str) {
        if let Some(input) = &mut self.state.audit.input {
            input.text.insert_str(one_line);
        }
    }

    fn submit_audit_filter(&mut self, text: String) {
        let now = self.state.now.naive_utc();
        match parse_filter(&text, &self.setup.models, now) {
            Err(message) => {
                if let Some(input) = &mut self.state.audit.input {
                    input.error = Some(message);
                }
            }
            Ok(parsed) => {
                self.state.audit.input = None;
                self.set_audit_filter(parsed.map(|filter| ActiveFilter { text, filter }));
            }
        }
    }

    /// `V`: verifies the whole chain in the background.
    fn verify_audit_chain(&mut self) {
        if self.state.audit.verifying {
            return;
        }
        let Some(key) = self.setup.ring.audit_key() else {
            self.state.error(
                "cannot verify: MASTER_ENCRYPTION_KEY is not set (the chain is keyed from it)",
            );
            return;
        };
        let Some(store) = self.store.clone() else {
            self.state.error("cannot verify: not connected");
            return;
        };
        self.state.audit.verifying = true;
        self.tasks.spawn("audit verify", async move {
            let result = query::verify(&store, &key, None)
                .await
                .map_err(|e| e.to_string());
            TaskResult::AuditScreen(AuditResult::Verified(result))
        });
    }

    pub(super) fn apply_audit(&mut self, result: AuditResult) {
        match result {
            AuditResult::List {
                generation,
                focus,
                result,
            } => {
                if generation != self.state.audit.generation {
                    return;
                }
                if let Err(message) = &result {
                    self.state.error(format!("audit log: {message}"));
                }
                self.state.audit.apply_list(Loadable::from_result(result));
                if let Some(id) = focus {
                    self.select_audit_entry(id);
                }
            }
            AuditResult::Detail {
                id,
                revealed,
                result,
            } => self.apply_audit_detail(id, revealed, result),
            AuditResult::Verified(result) => self.apply_verified(result),
        }
    }

    fn apply_verified(&mut self, result: Result<crate::audit::VerifyReport, String>) {
        self.state.audit.verifying = false;
        let report = match result {
            Ok(report) => report,
            Err(message) => {
                self.state.error(format!("verify failed: {message}"));
                return;
            }
        };
        self.state.audit.verified_at = Some(self.state.now);
        let chain = if report.ok {
            self.state
                .notice(format!("audit chain intact: {} entries", report.entries));
            ChainStatus::Intact {
                entries: report.entries,
            }
        } else {
            ChainStatus::Broken {
                first_broken: report.first_broken,
                reason: report
                    .reason
                    .clone()
                    .unwrap_or_else(|| "chain broken".into()),
            }
        };
        if let Loadable::Ready(view) = &mut self.state.audit.view {
            view.chain = chain.clone();
        }
        self.state.audit.chain = Some(chain);
        if report.ok {
            return;
        }
        let reason = report.reason.unwrap_or_default();
        let Some(id) = report.first_broken else {
            self.state.error(format!("audit chain broken: {reason}"));
            return;
        };
        // The badge has the whole reason; the message line names the damage and the entry.
        let damage = reason.split(':').next().unwrap_or("broken");
        // The page around it, unfiltered and read afresh: the operator sees the row as it
        // is stored now, with its neighbours, whatever the filter or the loaded page was.
        // One message holds both facts: a second one would replace the first.
        let cleared = if self.state.audit.filter.take().is_some() {
            "; filter cleared to show it"
        } else {
            ""
        };
        self.state.error(format!(
            "audit chain broken at entry #{id} ({damage}){cleared}; it is selected below"
        ));
        self.state.audit.anchor = Some(id);
        self.reload_audit_list();
    }

    /// Selects entry `id` (or the nearest older one when it is gone, as a deleted link).
    fn select_audit_entry(&mut self, id: i64) {
        let Some(list) = self.state.audit.list.ready() else {
            return;
        };
        let index = list
            .iter()
            .position(|e| e.id == id)
            .or_else(|| list.iter().position(|e| e.id < id))
            .unwrap_or(0);
        let shown = list[index].id;
        self.state.audit.selected = index;
        if self.state.audit.detail.is_some() {
            self.load_audit_detail(shown, None);
        }
    }
}
