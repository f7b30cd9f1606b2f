//! The Data screen's keys: an action changes the state (`table.rs`) and what it asks for
//! beyond that (an [`Intent`]) becomes work: open a table, load a page, search or filter,
//! reveal a cell.

use ratatui_textarea::TextArea;

use super::loaders::{self, CellRef};
use super::popups::{Popup, PromptState, RevealState};
use super::table::{ColumnInfo, Intent, MatchKind, Matches, TableView};
use super::{DataState, Effect};
use crate::config::ColumnType;
use crate::crypto::decode_plaintext;
use crate::store::PageRequest;
use crate::store::parse_for_column;
use crate::tui::context::{Ctx, ScreenId};
use crate::tui::keymap::Action;

impl DataState {
    /// Handles a key action on this screen. A reveal the role is not granted is refused
    /// here, with the reason the hints and help show.
    pub fn on_action(&mut self, action: Action, ctx: &Ctx) -> Effect {
        if action == Action::Reveal
            && let Some(refused) = ctx.not_granted(action)
        {
            return Effect::Error(refused);
        }
        self.act(action, ctx)
    }

    /// The action, ungoverned (the record popup's `r` has always gone straight here; the
    /// reveal itself is still checked by `access`).
    pub(super) fn act(&mut self, action: Action, ctx: &Ctx) -> Effect {
        let intent = self.intent(action, ctx.page_size(), ctx.size.0);
        self.carry_out(intent, ctx)
    }

    fn carry_out(&mut self, intent: Intent, ctx: &Ctx) -> Effect {
        match intent {
            Intent::None => Effect::None,
            Intent::Message(text) => Effect::Notice(text),
            Intent::OpenTable(model) => self.open_table(&model, ctx),
            Intent::LoadPage(request) => self.load_page(request, ctx),
            Intent::OpenDetail => Effect::Popup(Popup::Detail { scroll: 0 }),
            Intent::Reveal(cell) => self.ask_reveal(cell, ctx),
            Intent::Prompt(kind) => self.open_prompt(kind, ctx),
            Intent::CloseMatches => {
                let request = self.table.as_ref().map(|t| t.request.clone());
                if let Some(table) = &mut self.table {
                    table.matches = None;
                }
                let request = request.unwrap_or_else(|| PageRequest::first(ctx.page_size() as u32));
                self.load_page(request, ctx)
            }
        }
    }

    /// Opens a model's table on its first page; columns the role has `hidden` are left out.
    pub fn open_table(&mut self, name: &str, ctx: &Ctx) -> Effect {
        let services = ctx.services;
        let Some(model) = services.model(name) else {
            return Effect::error(format!("no model named `{name}`"));
        };
        let visible: Vec<String> = services
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
                secret: services.is_secret(&model, c),
            })
            .collect();
        let page = ctx.page_size() as u32;
        self.cursor = self.models.iter().position(|m| m.name == name).unwrap_or(0);
        self.table = Some(TableView::new(model.name.clone(), columns, page));
        Effect::Switch(ScreenId::Data).then(self.load_page(PageRequest::first(page), ctx))
    }

    /// The open table again (the role changed, or the database is back).
    pub fn reopen_table(&mut self, ctx: &Ctx) -> Effect {
        match self.table.as_ref().map(|t| t.model.clone()) {
            Some(model) => self.open_table(&model, ctx),
            None => Effect::None,
        }
    }

    fn load_page(&mut self, mut request: PageRequest, ctx: &Ctx) -> Effect {
        request.limit = ctx.page_size() as u32;
        let Some(table) = &mut self.table else {
            return Effect::None;
        };
        let model = ctx.services.model(&table.model);
        let generation = table.begin_load(request.clone());
        let (Some(store), Some(model)) = (ctx.services.store.clone(), model) else {
            table.fail(ctx.services.not_connected());
            return Effect::None;
        };
        let s = ctx.services;
        let work = loaders::page(
            store,
            s.ring.clone(),
            s.access.clone(),
            s.audit_log.clone(),
            model,
            request,
            generation,
        );
        Effect::spawn("page", work)
    }

    fn open_prompt(&mut self, kind: MatchKind, ctx: &Ctx) -> Effect {
        let Some(table) = &self.table else {
            return Effect::None;
        };
        let services = ctx.services;
        let Some(model) = services.model(&table.model) else {
            return Effect::None;
        };
        let shown: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        let fields: Vec<String> = match kind {
            // Only fields this role may search (at least `hash`): a search is an equality
            // oracle on the field.
            MatchKind::Search => model
                .encrypted_columns()
                .filter(|c| c.blind_index.is_some() && shown.contains(&c.name.as_str()))
                .filter(|c| services.access.may_search(&model, &c.name))
                .map(|c| c.name.clone())
                .collect(),
            MatchKind::Filter => model
                .columns
                .iter()
                .filter(|c| {
                    !c.encrypted && c.ty != ColumnType::Json && shown.contains(&c.name.as_str())
                })
                .filter(|c| !services.is_secret(&model, c))
                .map(|c| c.name.clone())
                .collect(),
        };
        if fields.is_empty() {
            return Effect::Notice(match kind {
                MatchKind::Search => format!(
                    "{} has no field this role may search (a search needs a blind index and at least hash on the field)",
                    model.name
                ),
                MatchKind::Filter => format!("{} has no plain column to filter on", model.name),
            });
        }
        let mut input = TextArea::default();
        input.set_cursor_line_style(ratatui::style::Style::default());
        if kind == MatchKind::Search {
            // The value typed is a secret's plaintext: do not echo it.
            input.set_mask_char('•');
        }
        Effect::Popup(Popup::Prompt(PromptState {
            kind,
            input,
            fields,
            error: None,
        }))
    }

    /// Enter in the prompt: the search or filter, or what is wrong with what was typed.
    pub(super) fn submit_prompt(&mut self, prompt: &mut PromptState, ctx: &Ctx) -> Effect {
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
                return Effect::None;
            }
        };
        let kind = prompt.kind;
        let Some(table) = &self.table else {
            return Effect::None;
        };
        let Some(model) = ctx.services.model(&table.model) else {
            return Effect::None;
        };
        let Some(column) = model.column(&field) else {
            return Effect::None;
        };
        let value = match decode_plaintext(value_text.trim().as_bytes(), &column.ty) {
            Ok(value) => value,
            Err(e) => {
                prompt.error = Some(format!("{field} is {}: {e}", column.ty.yaml_name()));
                return Effect::None;
            }
        };
        if ctx.services.store.is_none() {
            return Effect::Error(ctx.services.not_connected());
        }
        let label = match kind {
            MatchKind::Search => format!("{field} = ••• (value not shown)"),
            MatchKind::Filter => format!("{field} = {}", value_text.trim()),
        };
        let matches = Matches {
            kind,
            field: field.clone(),
            label,
        };
        Effect::ClosePopup.then(self.find(model, matches, value, ctx))
    }

    /// Starts a search or filter on the open table.
    fn find(
        &mut self,
        model: crate::config::ModelDef,
        matches: Matches,
        value: crate::value::Value,
        ctx: &Ctx,
    ) -> Effect {
        let (Some(table), Some(store)) = (&mut self.table, ctx.services.store.clone()) else {
            return Effect::None;
        };
        let field = matches.field.clone();
        let generation = table.begin_matches(matches);
        let s = ctx.services;
        let work = loaders::matches(
            store,
            s.ring.clone(),
            s.access.clone(),
            s.audit_log.clone(),
            model,
            field,
            value,
            generation,
        );
        Effect::spawn("matches", work)
    }

    /// The table of `model_name`, narrowed to the record `record` (a finding's evidence):
    /// a filter on the primary key, so only that record's row is fetched and masked.
    pub fn open_record(&mut self, model_name: &str, record: Option<String>, ctx: &Ctx) -> Effect {
        let opened = self.open_table(model_name, ctx);
        let (Some(record), Some(model), Some(_)) = (
            record,
            ctx.services.model(model_name),
            ctx.services.store.as_ref(),
        ) else {
            return opened;
        };
        let pk = model.primary_key().clone();
        let value = match parse_for_column(&record, &pk) {
            Ok(value) => value,
            Err(reason) => {
                let error = format!("record id `{record}` of {model_name}: {reason}");
                return opened.then(Effect::Error(error));
            }
        };
        let matches = Matches {
            kind: MatchKind::Filter,
            field: pk.name.clone(),
            label: format!("{} = {record} (from health)", pk.name),
        };
        opened.then(self.find(model, matches, value, ctx))
    }

    fn ask_reveal(&mut self, cell: CellRef, ctx: &Ctx) -> Effect {
        if ctx.services.access.require_reason() {
            let mut reason = TextArea::default();
            reason.set_placeholder_text("reason (e.g. ticket number and purpose)");
            reason.set_cursor_line_style(ratatui::style::Style::default());
            Effect::Popup(Popup::Reveal(RevealState {
                cell,
                reason,
                error: None,
                busy: false,
            }))
        } else {
            self.spawn_reveal(cell, None, ctx)
        }
    }

    /// Enter in the reveal dialog: the audited reveal with the reason given.
    pub(super) fn submit_reveal(&mut self, dialog: &mut RevealState, ctx: &Ctx) -> Effect {
        if dialog.busy {
            return Effect::None;
        }
        let reason = dialog.reason.lines().join(" ").trim().to_string();
        if reason.is_empty() {
            dialog.error = Some(format!("role {} must give a reason to reveal", ctx.role()));
            return Effect::None;
        }
        dialog.busy = true;
        dialog.error = None;
        self.spawn_reveal(dialog.cell.clone(), Some(reason), ctx)
    }

    fn spawn_reveal(&mut self, cell: CellRef, reason: Option<String>, ctx: &Ctx) -> Effect {
        let s = ctx.services;
        let (Some(store), Some(model)) = (s.store.clone(), s.model(&cell.model)) else {
            return Effect::Error(s.not_connected());
        };
        let work = loaders::reveal(
            store,
            s.ring.clone(),
            s.access.clone(),
            s.audit_log.clone(),
            model,
            cell,
            reason,
        );
        Effect::notice("revealing (writing the audit entry)…").then(Effect::spawn("reveal", work))
    }

    /// A click on row `offset` of the list or the table (rows start under the header).
    pub fn click_row(&mut self, offset: usize, page: usize) {
        match &mut self.table {
            Some(table) => {
                let index = table.window_start(page) + offset;
                if index < table.rows.len().min(table.window_start(page) + page) {
                    table.row = index;
                }
            }
            None if offset < self.models.len() => self.cursor = offset,
            None => {}
        }
    }

    /// The terminal's width changed: the selected column stays on screen.
    pub fn resize(&mut self, width: u16) {
        if let Some(table) = &mut self.table {
            table.col_offset = super::columns::keep_visible(table, width);
        }
    }

    /// Reveals whose time is up mask again, saying so.
    pub fn tick(&mut self, ctx: &Ctx) -> Effect {
        let expired = self
            .table
            .as_mut()
            .is_some_and(|table| table.expire_reveals(ctx.now) > 0);
        if expired {
            Effect::notice("revealed cell masked again (timeout)")
        } else {
            Effect::None
        }
    }
}
