//! The Data screen's state: the model list, then one model's table with keyset paging,
//! sideways scrolling, search (blind index), filter (plain column) and timed reveals.
//!
//! Pure state: key actions change it and return an [`Intent`] that the screen's update
//! (`actions.rs`) turns into work (a page load, a search, a reveal). Drawing is in `view.rs`.

use chrono::{DateTime, Utc};

use super::DataState;
use super::columns;
use super::loaders::{CellRef, PageView};
use crate::access::{Cell, ViewRow};
use crate::store::{Cursor, PageRequest, RowEstimate};
use crate::tui::keymap::Action;

/// One model in the list.
#[derive(Clone, Debug)]
pub struct ModelEntry {
    pub name: String,
    pub table: String,
    pub encrypted: Vec<String>,
    /// Encrypted fields with a blind index (searchable with `s`).
    pub searchable: Vec<String>,
    /// `None` while loading.
    pub estimate: Option<Result<RowEstimate, String>>,
}

/// A column as the table shows it (hidden columns are not listed at all).
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnInfo {
    pub name: String,
    /// Position of the column's cell in a [`ViewRow`].
    pub index: usize,
    /// Encrypted or named by a rule: its values are masked, revealed or unreadable.
    pub secret: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchKind {
    /// `s`: exact match through a blind index (the typed value is not echoed).
    Search,
    /// `/`: a live filter (a bare term in any plain column, or `field=value`).
    Filter,
}

/// What narrows the table's rows; the database does the narrowing.
#[derive(Clone, Debug, PartialEq)]
pub enum Narrow {
    /// A bare term: a case-insensitive substring of any plain column the role sees.
    Text(String),
    /// `field=value`: `=` on a plain column, the blind index of an encrypted one.
    Equals {
        field: String,
        value: crate::value::Value,
        /// A secret field (through its blind index, or a plain column the role sees
        /// masked): audited as a search, its value never shown, run on enter only.
        secret: bool,
        /// What the title shows.
        label: String,
    },
}

impl Narrow {
    /// How the title names it.
    pub fn label(&self) -> String {
        match self {
            Narrow::Text(term) => format!("filter \"{term}\""),
            Narrow::Equals {
                secret: true,
                label,
                ..
            } => format!("search {label}"),
            Narrow::Equals { label, .. } => format!("filter {label}"),
        }
    }
}

/// The order of a sorted table: a plain column, in the database.
#[derive(Clone, Debug, PartialEq)]
pub struct Sort {
    pub column: String,
    pub descending: bool,
}

/// The rows of a filter, a search and/or a sort, fetched at once (at most
/// [`super::MATCH_LIMIT`]) and paged on screen.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Matches {
    pub narrow: Option<Narrow>,
    pub sort: Option<Sort>,
    /// The filter as typed at `/` (what the prompt opens with next time).
    pub typed: Option<String>,
    /// More rows match than were fetched.
    pub more: bool,
}

impl Matches {
    /// What the title says: `filter "gold" · sort tier ↓`.
    pub fn label(&self) -> String {
        let mut parts = Vec::new();
        if let Some(narrow) = &self.narrow {
            parts.push(narrow.label());
        }
        if let Some(sort) = &self.sort {
            let arrow = if sort.descending { "↓" } else { "↑" };
            parts.push(format!("sort {} {arrow}", sort.column));
        }
        parts.join(" · ")
    }
}

/// A revealed cell and when it masks itself again.
#[derive(Clone, Debug)]
pub struct Reveal {
    pub cell: CellRef,
    pub value: Cell,
    pub expires_at: DateTime<Utc>,
}

/// One model's table.
#[derive(Clone, Debug)]
pub struct TableView {
    pub model: String,
    pub columns: Vec<ColumnInfo>,
    pub rows: Vec<ViewRow>,
    pub loading: bool,
    pub error: Option<String>,
    pub more_after: bool,
    pub more_before: bool,
    /// The request of the rows shown (or being loaded).
    pub request: PageRequest,
    pub row: usize,
    pub col: usize,
    pub col_offset: usize,
    pub generation: u64,
    select_last_on_load: bool,
    pub matches: Option<Matches>,
    pub reveals: Vec<Reveal>,
}

/// What a key asks for beyond a change of state.
#[derive(Clone, Debug, PartialEq)]
pub enum Intent {
    None,
    Message(String),
    OpenTable(String),
    LoadPage(PageRequest),
    OpenDetail,
    Reveal(CellRef),
    Prompt(MatchKind),
    CloseMatches,
    /// `o` on a column: sort by it (again: descending, then unsorted).
    Sort(String),
    /// Refresh while filtered or sorted: the same query again.
    RerunMatches,
    /// `y`: the selected cell to the clipboard; `Y`: the row's id.
    Copy,
    CopyId,
}

impl TableView {
    pub fn new(model: String, columns: Vec<ColumnInfo>, page_size: u32) -> TableView {
        TableView {
            model,
            columns,
            rows: Vec::new(),
            loading: true,
            error: None,
            more_after: false,
            more_before: false,
            request: PageRequest::first(page_size),
            row: 0,
            col: 0,
            col_offset: 0,
            generation: 0,
            select_last_on_load: false,
            matches: None,
            reveals: Vec::new(),
        }
    }

    /// Marks a load as started; returns the generation its answer must carry.
    pub fn begin_load(&mut self, request: PageRequest) -> u64 {
        self.select_last_on_load = matches!(request.cursor, Cursor::Before(_) | Cursor::Last);
        self.request = request;
        self.loading = true;
        self.generation += 1;
        self.generation
    }

    /// Starts a search or filter; returns its generation.
    pub fn begin_matches(&mut self, matches: Matches) -> u64 {
        self.matches = Some(matches);
        self.loading = true;
        self.select_last_on_load = false;
        self.generation += 1;
        self.generation
    }

    pub fn apply_page(&mut self, page: PageView) {
        self.loading = false;
        self.error = None;
        self.matches = None;
        self.more_after = page.more_after;
        self.more_before = page.more_before;
        self.request = page.request;
        self.rows = page.rows;
        self.row = if self.select_last_on_load {
            self.rows.len().saturating_sub(1)
        } else {
            0
        };
    }

    pub fn apply_matches(&mut self, rows: Vec<ViewRow>, more: bool) {
        self.loading = false;
        self.error = None;
        self.more_after = false;
        self.more_before = false;
        self.rows = rows;
        self.row = 0;
        if let Some(matches) = &mut self.matches {
            matches.more = more;
        }
    }

    pub fn fail(&mut self, message: String) {
        self.loading = false;
        self.error = Some(message);
    }

    /// The first row drawn: pages are exact in browse mode; matches scroll by screenfuls.
    pub fn window_start(&self, page_size: usize) -> usize {
        match self.matches {
            Some(_) if page_size > 0 => (self.row / page_size) * page_size,
            _ => 0,
        }
    }

    /// The selected cell, as revealed if a live reveal covers it.
    pub fn selected_cell(&self) -> Option<(&ViewRow, &ColumnInfo, &Cell)> {
        let row = self.rows.get(self.row)?;
        let column = self.columns.get(self.col)?;
        Some((row, column, self.cell(row, column)?))
    }

    /// A row's cell for a column, with a live reveal taking the masked cell's place.
    pub fn cell<'a>(&'a self, row: &'a ViewRow, column: &ColumnInfo) -> Option<&'a Cell> {
        let reveal = self
            .reveals
            .iter()
            .find(|r| r.cell.id == row.id && r.cell.column == column.name);
        match reveal {
            Some(r) => Some(&r.value),
            None => row.cells.get(column.index).map(|(_, c)| c),
        }
    }

    /// Drops reveals whose time is up (the cell shows its mask again).
    pub fn expire_reveals(&mut self, now: DateTime<Utc>) -> usize {
        let before = self.reveals.len();
        self.reveals.retain(|r| r.expires_at > now);
        before - self.reveals.len()
    }

    fn next_page(&self) -> Option<PageRequest> {
        let last = self.rows.last()?;
        self.more_after
            .then(|| PageRequest::after(last.id.clone(), self.request.limit))
    }

    fn previous_page(&self) -> Option<PageRequest> {
        let first = self.rows.first()?;
        self.more_before
            .then(|| PageRequest::before(first.id.clone(), self.request.limit))
    }

    pub(super) fn on_action(&mut self, action: Action, page_size: usize, width: u16) -> Intent {
        let last = self.rows.len().saturating_sub(1);
        let limit = page_size.max(1) as u32;
        let browsing = self.matches.is_none();
        match action {
            Action::Down if self.row < last => self.row += 1,
            Action::Down if browsing => {
                if let Some(next) = self.next_page() {
                    return Intent::LoadPage(next);
                }
            }
            Action::Up if self.row > 0 => self.row -= 1,
            Action::Up if browsing => {
                if let Some(previous) = self.previous_page() {
                    return Intent::LoadPage(previous);
                }
            }
            Action::PageDown if browsing => match self.next_page() {
                Some(next) => return Intent::LoadPage(next),
                None => self.row = last,
            },
            Action::PageUp if browsing => match self.previous_page() {
                Some(previous) => return Intent::LoadPage(previous),
                None => self.row = 0,
            },
            Action::PageDown => self.row = (self.row + page_size).min(last),
            Action::PageUp => self.row = self.row.saturating_sub(page_size),
            Action::Top if browsing => return Intent::LoadPage(PageRequest::first(limit)),
            Action::Bottom if browsing => {
                return Intent::LoadPage(PageRequest {
                    cursor: Cursor::Last,
                    limit,
                });
            }
            Action::Top => self.row = 0,
            Action::Bottom => self.row = last,
            Action::Left => self.col = self.col.saturating_sub(1),
            Action::Right => self.col = (self.col + 1).min(self.columns.len().saturating_sub(1)),
            Action::Open if !self.rows.is_empty() => return Intent::OpenDetail,
            Action::Reveal => return self.reveal_effect(),
            Action::Search => return Intent::Prompt(MatchKind::Search),
            Action::Filter => return Intent::Prompt(MatchKind::Filter),
            Action::Copy => return Intent::Copy,
            Action::CopyId => return Intent::CopyId,
            Action::Sort => {
                if let Some(column) = self.columns.get(self.col) {
                    return Intent::Sort(column.name.clone());
                }
            }
            Action::Refresh if browsing => {
                return Intent::LoadPage(PageRequest {
                    limit,
                    ..self.request.clone()
                });
            }
            Action::Refresh => return Intent::RerunMatches,
            Action::Back if !browsing => return Intent::CloseMatches,
            _ => {}
        }
        self.col_offset = columns::keep_visible(self, width);
        Intent::None
    }

    fn reveal_effect(&self) -> Intent {
        self.reveal_intent(self.col)
    }

    /// What `r` on column `field` of the selected row asks for: the reveal, or why not.
    pub fn reveal_intent(&self, field: usize) -> Intent {
        let (Some(row), Some(column)) = (self.rows.get(self.row), self.columns.get(field)) else {
            return Intent::Message("no cell selected".into());
        };
        let Some(cell) = self.cell(row, column) else {
            return Intent::Message("no cell selected".into());
        };
        match cell {
            Cell::Masked {
                revealable: true, ..
            } => Intent::Reveal(CellRef {
                model: self.model.clone(),
                id: row.id.clone(),
                column: column.name.clone(),
            }),
            Cell::Masked { .. } => Intent::Message(format!(
                "{}.{} cannot be revealed under this role",
                self.model, column.name
            )),
            _ if !column.secret => {
                Intent::Message(format!("{} is not a secret column", column.name))
            }
            _ => Intent::Message("nothing to reveal in this cell".into()),
        }
    }
}

impl DataState {
    /// What a key action does to the list or the table; `page_size` rows fit the table,
    /// `width` columns the screen.
    pub(super) fn intent(&mut self, action: Action, page_size: usize, width: u16) -> Intent {
        if let Some(table) = &mut self.table {
            if action == Action::Back && table.matches.is_none() {
                self.table = None;
                return Intent::None;
            }
            return table.on_action(action, page_size, width);
        }
        let last = self.models.len().saturating_sub(1);
        match action {
            Action::Down => self.cursor = (self.cursor + 1).min(last),
            Action::Up => self.cursor = self.cursor.saturating_sub(1),
            Action::Top | Action::PageUp => self.cursor = 0,
            Action::Bottom | Action::PageDown => self.cursor = last,
            Action::Open | Action::Right => {
                if let Some(model) = self.models.get(self.cursor) {
                    return Intent::OpenTable(model.name.clone());
                }
            }
            _ => {}
        }
        Intent::None
    }
}
