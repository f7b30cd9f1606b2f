//! Screen 2, Data: the model list, then one model's table with keyset paging, sideways
//! scrolling, a live filter (a word in any plain column, or `field=value`), search (blind
//! index), sort (a plain column), all done in the database, the record popup and timed,
//! audited reveals.
//!
//! - `table.rs`, `columns.rs`: the state and which columns fit;
//! - `actions.rs`: keys and actions to effects; `filter.rs`: reading a filter, what may be
//!   matched and sorted; `popups.rs`: its popups and their keys;
//! - `update.rs`: applying its messages; `loaders.rs`: its background work;
//! - `view.rs`, `record_view.rs`, `prompt_view.rs`, `reveal_view.rs`: drawing.

mod actions;
pub mod columns;
mod copy;
mod filter;
pub mod loaders;
mod popups;
pub mod prompt_view;
pub mod record_view;
pub mod reveal_view;
mod table;
mod update;
pub mod view;

use crate::access::{Cell, ViewRow};
use crate::store::RowEstimate;

pub use loaders::{CellRef, MATCH_LIMIT, PageView};
pub use popups::{Popup, PromptState, RevealState};
pub use table::{
    ColumnInfo, Intent, MatchKind, Matches, ModelEntry, Narrow, Reveal, Sort, TableView,
};

/// What this screen asks the root to do.
pub type Effect = crate::tui::context::Effect<Msg, Popup>;

/// The screen's state: the model list, and the open table if any.
#[derive(Clone, Debug, Default)]
pub struct DataState {
    pub models: Vec<ModelEntry>,
    pub cursor: usize,
    pub table: Option<TableView>,
}

/// Answers of this screen's background work.
#[derive(Debug)]
pub enum Msg {
    Estimates(Vec<(String, Result<RowEstimate, String>)>),
    /// A keyset page; `generation` drops answers to requests the operator moved past.
    Page {
        generation: u64,
        result: Result<PageView, String>,
    },
    /// The rows of a filter, search or sort, masked; with a note when the operator's own
    /// rows among them are shown masked.
    Matches {
        generation: u64,
        model: String,
        result: Result<MatchedRows, String>,
    },
    Revealed {
        cell: CellRef,
        result: Result<Cell, String>,
    },
    /// A revealed value's copy was audited (or refused): the clipboard gets `text` then.
    Copied {
        cell: CellRef,
        text: String,
        result: Result<(), String>,
    },
}

/// The rows a filter, search or sort fetched.
#[derive(Debug)]
pub struct MatchedRows {
    pub rows: Vec<ViewRow>,
    /// Why the operator's own rows are shown masked, if they are.
    pub note: Option<String>,
    /// More rows match than [`MATCH_LIMIT`].
    pub more: bool,
}

impl DataState {
    /// One entry per configured model, estimates still loading.
    pub fn new(models: &crate::config::ModelSet) -> DataState {
        let models = models
            .models
            .iter()
            .map(|m| ModelEntry {
                name: m.name.clone(),
                table: m.table_name.clone(),
                encrypted: m.encrypted_columns().map(|c| c.name.clone()).collect(),
                searchable: m
                    .encrypted_columns()
                    .filter(|c| c.blind_index.is_some())
                    .map(|c| c.name.clone())
                    .collect(),
                estimate: None,
            })
            .collect();
        DataState {
            models,
            cursor: 0,
            table: None,
        }
    }
}
