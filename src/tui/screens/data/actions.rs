//! The Data screen's keys: an action changes the state (`table.rs`) and what it asks for
//! beyond that (an [`Intent`]) becomes work: open a table, load a page, search or filter,
//! reveal a cell.

use ratatui_textarea::TextArea;

use super::filter;
use super::loaders::{self, CellRef};
use super::popups::{Popup, PromptState, RevealState};
use super::table::{ColumnInfo, Intent, MatchKind, Matches, Narrow, Sort, TableView};
use super::{DataState, Effect};
use crate::store::PageRequest;
use crate::store::parse_for_column;
use crate::tui::context::{Ctx, ScreenId};
use crate::tui::keymap::Action;
use crate::tui::widgets::line_input;

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
            Intent::OpenDetail => {
                let field = self.table.as_ref().map_or(0, |t| t.col);
                Effect::Popup(Popup::Detail { field })
            }
            Intent::Reveal(cell) => self.ask_reveal(cell, None, ctx),
            Intent::Prompt(kind) => self.open_prompt(kind, ctx),
            Intent::CloseMatches => {
                let request = self.table.as_ref().map(|t| t.request.clone());
                if let Some(table) = &mut self.table {
                    table.matches = None;
                }
                let request = request.unwrap_or_else(|| PageRequest::first(ctx.page_size() as u32));
                self.load_page(request, ctx)
            }
            Intent::RerunMatches => {
                let matches = self.table.as_ref().and_then(|t| t.matches.clone());
                self.show(matches.unwrap_or_default(), ctx)
            }
            Intent::Sort(column) => self.sort_by(&column, None, ctx),
            Intent::Copy => self.copy_selected(ctx),
            Intent::CopyId => self.copy_id(ctx),
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

    /// `/` or `s`: the prompt. `/` opens with the table's current filter (the first key
    /// typed replaces it) and narrows the table as you type; `s` takes a blind-indexed
    /// field's value, masked, and searches on enter (audited).
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
                .filter(|c| shown.contains(&c.name.as_str()))
                .filter(|c| filter::equality(&model, c, ctx).is_ok())
                .map(|c| c.name.clone())
                .collect(),
        };
        if kind == MatchKind::Search && fields.is_empty() {
            return Effect::Notice(format!(
                "{} has no field this role may search (a search needs a blind index and at least hash on the field)",
                model.name
            ));
        }
        let typed = match kind {
            MatchKind::Filter => table.matches.as_ref().and_then(|m| m.typed.clone()),
            MatchKind::Search => None,
        };
        let mut input = line_input::with_text(typed.as_deref().unwrap_or(""));
        match kind {
            // The value typed is a secret's plaintext: do not echo it.
            MatchKind::Search => input.set_mask_char('•'),
            MatchKind::Filter => {
                input.set_placeholder_text("a word in any plain column, or field=value")
            }
        }
        Effect::Popup(Popup::Prompt(PromptState {
            kind,
            input,
            fields,
            error: None,
            note: None,
            prefilled: typed.is_some(),
            dirty: false,
            applied: false,
            before: table.matches.clone(),
        }))
    }

    /// What the prompt holds, read: the narrowing it asks for (`None`: none), or why it
    /// cannot be one.
    fn read_prompt(&self, prompt: &PromptState, ctx: &Ctx) -> Result<Option<Narrow>, String> {
        let text = prompt.input.lines().join("");
        let (Some(table), Some(model)) = (
            &self.table,
            self.table
                .as_ref()
                .and_then(|t| ctx.services.model(&t.model)),
        ) else {
            return Ok(None);
        };
        match prompt.kind {
            MatchKind::Filter => filter::parse(&text, &model, &table.columns, ctx),
            // `s` with one searchable field takes the value alone.
            MatchKind::Search => {
                let text = match (text.split_once('='), prompt.fields.as_slice()) {
                    (None, [only]) => format!("{only}={text}"),
                    _ => text,
                };
                if text.trim().is_empty() {
                    return Err(format!(
                        "type field=value with a field of: {}",
                        prompt.fields.join(", ")
                    ));
                }
                match filter::parse(&text, &model, &table.columns, ctx)? {
                    Some(Narrow::Equals { field, .. }) if !prompt.fields.contains(&field) => {
                        Err(format!(
                            "`{field}` is not searched by its blind index here; fields: {}",
                            prompt.fields.join(", ")
                        ))
                    }
                    Some(narrow @ Narrow::Equals { .. }) => Ok(Some(narrow)),
                    _ => Err(format!(
                        "write field=value with a field of: {}",
                        prompt.fields.join(", ")
                    )),
                }
            }
        }
    }

    /// Enter in the prompt: the filter or search, or what is wrong with what was typed.
    pub(super) fn submit_prompt(&mut self, prompt: &mut PromptState, ctx: &Ctx) -> Effect {
        let narrow = match self.read_prompt(prompt, ctx) {
            Ok(narrow) => narrow,
            Err(e) => {
                prompt.error = Some(e);
                return Effect::None;
            }
        };
        if ctx.services.store.is_none() {
            return Effect::Error(ctx.services.not_connected());
        }
        let typed = prompt.input.lines().join("").trim().to_string();
        let matches = self.narrowed(narrow, (prompt.kind == MatchKind::Filter).then_some(typed));
        Effect::ClosePopup.then(self.show(matches, ctx))
    }

    /// Esc in the prompt: the table as it was when the prompt opened.
    pub(super) fn cancel_prompt(&mut self, prompt: &PromptState, ctx: &Ctx) -> Effect {
        if !prompt.applied {
            return Effect::ClosePopup;
        }
        Effect::ClosePopup.then(self.show(prompt.before.clone().unwrap_or_default(), ctx))
    }

    /// A tick with the `/` prompt open: what was typed since the last tick narrows the
    /// table now (one query per tick at most, for the latest text). A search through a
    /// blind index waits for enter: it is audited, and the value is a secret's.
    pub(super) fn live_filter(&mut self, prompt: &mut PromptState, ctx: &Ctx) -> Effect {
        if prompt.kind != MatchKind::Filter || !prompt.dirty {
            return Effect::None;
        }
        prompt.dirty = false;
        prompt.note = None;
        match self.read_prompt(prompt, ctx) {
            Err(e) => {
                prompt.error = Some(e);
                Effect::None
            }
            Ok(Some(Narrow::Equals {
                field,
                secret: true,
                ..
            })) => {
                prompt.error = None;
                prompt.note = Some(format!(
                    "enter searches {field} (audited; the value is not shown)"
                ));
                Effect::None
            }
            Ok(narrow) => {
                prompt.error = None;
                prompt.applied = true;
                let typed = prompt.input.lines().join("").trim().to_string();
                let matches = self.narrowed(narrow, Some(typed));
                self.show(matches, ctx)
            }
        }
    }

    /// The table's matches with another narrowing (its sort kept).
    fn narrowed(&self, narrow: Option<Narrow>, typed: Option<String>) -> Matches {
        let sort = self
            .table
            .as_ref()
            .and_then(|t| t.matches.as_ref())
            .and_then(|m| m.sort.clone());
        Matches {
            typed: typed.filter(|t| !t.is_empty() && narrow.is_some()),
            narrow,
            sort,
            more: false,
        }
    }

    /// `o` on a column, or `:sort COLUMN [desc]`: the table sorted by it in the database
    /// (`descending` `None`: ascending, then descending, then unsorted, each time); refused,
    /// saying why, on an encrypted column or one the role sees masked.
    pub fn sort_by(&mut self, column: &str, descending: Option<bool>, ctx: &Ctx) -> Effect {
        let Some(table) = &self.table else {
            return Effect::error("open a table first (2, then enter) to sort it");
        };
        let Some(model) = ctx.services.model(&table.model) else {
            return Effect::None;
        };
        let sortable: Vec<&str> = table
            .columns
            .iter()
            .filter(|c| filter::sortable(&model, &c.name, ctx).is_ok())
            .map(|c| c.name.as_str())
            .collect();
        if column.eq_ignore_ascii_case("off") || column.eq_ignore_ascii_case("none") {
            let mut matches = table.matches.clone().unwrap_or_default();
            matches.sort = None;
            return Effect::notice(format!("{} unsorted", model.name))
                .then(self.show(matches, ctx));
        }
        let Some(shown) = table.columns.iter().find(|c| c.name == column) else {
            let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
            return Effect::error(format!(
                "{} has no column `{column}`; columns: {}",
                model.name,
                names.join(", ")
            ));
        };
        if let Err(why) = filter::sortable(&model, &shown.name, ctx) {
            return Effect::error(format!(
                "cannot sort {} by `{column}`: {why}; sort on a plain column ({})",
                model.name,
                sortable.join(", ")
            ));
        }
        let mut matches = table.matches.clone().unwrap_or_default();
        let current = matches.sort.as_ref().filter(|s| s.column == column);
        matches.sort = match (descending, current) {
            (Some(descending), _) => Some(Sort {
                column: column.to_string(),
                descending,
            }),
            (None, None) => Some(Sort {
                column: column.to_string(),
                descending: false,
            }),
            (None, Some(s)) if !s.descending => Some(Sort {
                column: column.to_string(),
                descending: true,
            }),
            (None, Some(_)) => None,
        };
        let said = match &matches.sort {
            Some(s) if s.descending => format!("{} sorted by {column}, descending", model.name),
            Some(_) => format!("{} sorted by {column}", model.name),
            None => format!("{} unsorted", model.name),
        };
        Effect::notice(said).then(self.show(matches, ctx))
    }

    /// Shows `matches`: fetched in the database when it narrows or sorts; the keyset pages
    /// again when it does neither.
    fn show(&mut self, matches: Matches, ctx: &Ctx) -> Effect {
        if matches.narrow.is_none() && matches.sort.is_none() {
            if let Some(table) = &mut self.table {
                table.matches = None;
            }
            return self.load_page(PageRequest::first(ctx.page_size() as u32), ctx);
        }
        let (Some(table), Some(store)) = (&mut self.table, ctx.services.store.clone()) else {
            return Effect::error(ctx.services.not_connected());
        };
        let Some(model) = ctx.services.model(&table.model) else {
            return Effect::None;
        };
        let generation = table.begin_matches(matches.clone());
        let s = ctx.services;
        let work = loaders::matches(
            store,
            s.ring.clone(),
            s.access.clone(),
            s.audit_log.clone(),
            model,
            matches,
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
            narrow: Some(Narrow::Equals {
                field: pk.name.clone(),
                value,
                secret: false,
                label: format!("{} = {record} (from health)", pk.name),
            }),
            sort: None,
            typed: Some(format!("{}={record}", pk.name)),
            more: false,
        };
        opened.then(self.show(matches, ctx))
    }

    /// `r` in the record popup: the reveal of its selected field (the reason dialog, when
    /// the role must give one, comes back to the record when it closes).
    pub(super) fn reveal_field(&mut self, field: usize, ctx: &Ctx) -> Effect {
        if let Some(refused) = ctx.not_granted(Action::Reveal) {
            return Effect::Error(refused);
        }
        let Some(table) = &self.table else {
            return Effect::None;
        };
        match table.reveal_intent(field) {
            Intent::Reveal(cell) => self.ask_reveal(cell, Some(field), ctx),
            Intent::Message(text) => Effect::Notice(text),
            _ => Effect::None,
        }
    }

    fn ask_reveal(&mut self, cell: CellRef, from_record: Option<usize>, ctx: &Ctx) -> Effect {
        if ctx.services.access.require_reason() {
            let mut reason = TextArea::default();
            reason.set_placeholder_text("reason (e.g. ticket number and purpose)");
            reason.set_cursor_line_style(ratatui::style::Style::default());
            Effect::Popup(Popup::Reveal(RevealState {
                cell,
                reason,
                error: None,
                busy: false,
                from_record,
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

    /// Reveals whose time is up mask again, saying so; with the `/` prompt open (`popup`),
    /// what was typed since the last tick narrows the table.
    pub fn tick(&mut self, popup: Option<&mut Popup>, ctx: &Ctx) -> Effect {
        let expired = self
            .table
            .as_mut()
            .is_some_and(|table| table.expire_reveals(ctx.now) > 0);
        let masked = if expired {
            Effect::notice("revealed cell masked again (timeout)")
        } else {
            Effect::None
        };
        let live = match popup {
            Some(Popup::Prompt(prompt)) => self.live_filter(prompt, ctx),
            _ => Effect::None,
        };
        masked.then(live)
    }
}
