//! What the app does for a screen's [`Effect`]: open a table, load a page, search, reveal;
//! the keys of popups live in `app_popups`.

use ratatui_textarea::TextArea;

use super::app::App;
use super::screens::ScreenId;
use super::screens::data::{ColumnInfo, Effect, MatchKind, Matches, TableView};
use super::state::{Popup, PromptState, RevealState};
use super::tasks::{self, CellRef, TaskResult};
use crate::config::{ColumnType, ModelDef};
use crate::crypto::decode_plaintext;
use crate::store::PageRequest;

impl App {
    pub(super) fn model(&self, name: &str) -> Option<ModelDef> {
        self.setup
            .models
            .models
            .iter()
            .find(|m| m.name == name)
            .cloned()
    }

    pub(super) fn carry_out(&mut self, effect: Effect) {
        match effect {
            Effect::None => {}
            Effect::Message(text) => self.state.notice(text),
            Effect::OpenTable(model) => self.open_table(&model),
            Effect::LoadPage(request) => self.load_page(request),
            Effect::OpenDetail => self.state.popup = Popup::Detail { scroll: 0 },
            Effect::Reveal(cell) => self.ask_reveal(cell),
            Effect::Prompt(kind) => self.open_prompt(kind),
            Effect::CloseMatches => {
                let request = self.state.data.table.as_ref().map(|t| t.request.clone());
                if let Some(table) = &mut self.state.data.table {
                    table.matches = None;
                }
                self.load_page(
                    request.unwrap_or_else(|| PageRequest::first(self.state.page_size() as u32)),
                );
            }
        }
    }

    /// Opens a model's table on its first page; columns the role has `hidden` are left out.
    pub(super) fn open_table(&mut self, name: &str) {
        let Some(model) = self.model(name) else {
            self.state.error(format!("no model named `{name}`"));
            return;
        };
        let visible: Vec<String> = self
            .access
            .visible_columns(&model)
            .iter()
            .map(|c| c.name.clone())
            .collect();
        let columns = model
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| visible.contains(&c.name))
            .map(|(index, c)| ColumnInfo {
                name: c.name.clone(),
                index,
                secret: self.is_secret(&model, c),
            })
            .collect();
        let page = self.state.page_size() as u32;
        self.state.data.cursor = self
            .state
            .data
            .models
            .iter()
            .position(|m| m.name == name)
            .unwrap_or(0);
        self.state.data.table = Some(TableView::new(model.name.clone(), columns, page));
        self.state.screen = ScreenId::Data;
        self.load_page(PageRequest::first(page));
    }

    fn load_page(&mut self, mut request: PageRequest) {
        request.limit = self.state.page_size() as u32;
        let Some(name) = self.state.data.table.as_ref().map(|t| t.model.clone()) else {
            return;
        };
        let model = self.model(&name);
        let Some(table) = &mut self.state.data.table else {
            return;
        };
        let generation = table.begin_load(request.clone());
        let (Some(store), Some(model)) = (self.store.clone(), model) else {
            let message = self.not_connected();
            if let Some(table) = &mut self.state.data.table {
                table.fail(message);
            }
            return;
        };
        let work = tasks::page(
            store,
            self.setup.ring.clone(),
            self.access.clone(),
            self.audit_log.clone(),
            model,
            request,
            generation,
        );
        self.tasks.spawn("page", work);
    }

    fn not_connected(&self) -> String {
        match &self.state.status.connection {
            super::state::Connection::Failed(e) => format!("not connected: {e}"),
            _ => "not connected yet; the page loads once the database answers".into(),
        }
    }

    fn open_prompt(&mut self, kind: MatchKind) {
        let Some(table) = &self.state.data.table else {
            return;
        };
        let Some(model) = self.model(&table.model) else {
            return;
        };
        let shown: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        let fields: Vec<String> = match kind {
            // Only fields this role may search (at least `hash`): a search is an equality
            // oracle on the field.
            MatchKind::Search => model
                .encrypted_columns()
                .filter(|c| c.blind_index.is_some() && shown.contains(&c.name.as_str()))
                .filter(|c| self.access.may_search(&model, &c.name))
                .map(|c| c.name.clone())
                .collect(),
            MatchKind::Filter => model
                .columns
                .iter()
                .filter(|c| {
                    !c.encrypted && c.ty != ColumnType::Json && shown.contains(&c.name.as_str())
                })
                .filter(|c| !self.is_secret(&model, c))
                .map(|c| c.name.clone())
                .collect(),
        };
        if fields.is_empty() {
            let message = match kind {
                MatchKind::Search => format!(
                    "{} has no field this role may search (a search needs a blind index and at least hash on the field)",
                    model.name
                ),
                MatchKind::Filter => format!("{} has no plain column to filter on", model.name),
            };
            self.state.notice(message);
            return;
        }
        let mut input = TextArea::default();
        input.set_cursor_line_style(ratatui::style::Style::default());
        if kind == MatchKind::Search {
            // The value typed is a secret's plaintext: do not echo it.
            input.set_mask_char('•');
        }
        self.state.popup = Popup::Prompt(PromptState {
            kind,
            input,
            fields,
            error: None,
        });
    }

    pub(super) fn submit_prompt(&mut self) {
        let Popup::Prompt(prompt) = &mut self.state.popup else {
            return;
        };
        let text = prompt.input.lines().join("");
        let (field, value_text) = match text.split_once('=') {
            Some((f, v)) if prompt.fields.iter().any(|x| x == f.trim()) => {
                (f.trim().to_string(), v.to_string())
            }
            _ if prompt.fields.len() == 1 => (prompt.fields[0].clone(), text.clone()),
            _ => {
                prompt.error = Some(format!(
                    "write field=value with a field of: {}",
                    prompt.fields.join(", ")
                ));
                return;
            }
        };
        let kind = prompt.kind;
        let Some(table) = &self.state.data.table else {
            return;
        };
        let Some(model) = self.model(&table.model) else {
            return;
        };
        let Some(column) = model.column(&field) else {
            return;
        };
        let value = match decode_plaintext(value_text.trim().as_bytes(), &column.ty) {
            Ok(value) => value,
            Err(e) => {
                if let Popup::Prompt(prompt) = &mut self.state.popup {
                    prompt.error = Some(format!("{field} is {}: {e}", column.ty.yaml_name()));
                }
                return;
            }
        };
        let Some(store) = self.store.clone() else {
            self.state.error(self.not_connected());
            return;
        };
        let label = match kind {
            MatchKind::Search => format!("{field} = ••• (value not shown)"),
            MatchKind::Filter => format!("{field} = {}", value_text.trim()),
        };
        self.state.popup = Popup::None;
        let Some(table) = &mut self.state.data.table else {
            return;
        };
        let generation = table.begin_matches(Matches {
            kind,
            field: field.clone(),
            label,
        });
        let work = tasks::matches(
            store,
            self.setup.ring.clone(),
            self.access.clone(),
            self.audit_log.clone(),
            model,
            field,
            value,
            generation,
        );
        self.tasks.spawn("matches", work);
    }

    fn ask_reveal(&mut self, cell: CellRef) {
        if self.access.require_reason() {
            let mut reason = TextArea::default();
            reason.set_placeholder_text("reason (e.g. ticket number and purpose)");
            reason.set_cursor_line_style(ratatui::style::Style::default());
            self.state.popup = Popup::Reveal(RevealState {
                cell,
                reason,
                error: None,
                busy: false,
            });
        } else {
            self.spawn_reveal(cell, None);
        }
    }

    pub(super) fn submit_reveal(&mut self) {
        let Popup::Reveal(dialog) = &mut self.state.popup else {
            return;
        };
        if dialog.busy {
            return;
        }
        let reason = dialog.reason.lines().join(" ").trim().to_string();
        if reason.is_empty() {
            dialog.error = Some(format!(
                "role {} must give a reason to reveal",
                self.access.identity().role
            ));
            return;
        }
        dialog.busy = true;
        dialog.error = None;
        let cell = dialog.cell.clone();
        self.spawn_reveal(cell, Some(reason));
    }

    fn spawn_reveal(&mut self, cell: CellRef, reason: Option<String>) {
        let (Some(store), Some(model)) = (self.store.clone(), self.model(&cell.model)) else {
            self.state.error(self.not_connected());
            return;
        };
        let (ring, access, log) = (
            self.setup.ring.clone(),
            self.access.clone(),
            self.audit_log.clone(),
        );
        self.state.notice("revealing (writing the audit entry)…");
        self.tasks.spawn("reveal", async move {
            let result = async {
                let log = log
                    .get_or_try_init(|| crate::audit::AuditLog::open(&store, &ring))
                    .await
                    .map_err(|e| format!("reveal refused: the audit log cannot be opened ({e})"))?;
                let record = store
                    .get(&model, &ring, &cell.id)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| "the record no longer exists".to_string())?;
                access
                    .reveal_cell(log, &model, &record, &cell.column, reason.as_deref())
                    .await
                    .map(|(value, _grant)| value)
                    .map_err(|e| e.to_string())
            }
            .await;
            TaskResult::Revealed { cell, result }
        });
    }
}
