//! Which tables and columns a scan reads. A model is scanned when it has encrypted columns
//! and its table exists; only columns the table really has are read (drift is reported by
//! `schema.drift`, not by a failed scan).

use super::classify::{ColumnJob, TableJob};
use crate::config::{ColumnDef, ModelDef};

/// The column holding the search hash of `column`: its declared `blind_index`, else a
/// non-encrypted `<name>_hash` column of the same model (the pattern Timber's guide shows,
/// `email` / `email_hash`, which declares no link).
pub fn hash_column<'m>(model: &'m ModelDef, column: &ColumnDef) -> Option<&'m ColumnDef> {
    if let Some(name) = &column.blind_index {
        return model.column(name);
    }
    model
        .column(&format!("{}_hash", column.name))
        .filter(|c| !c.encrypted)
}

/// The scan of `model`, given the table's actual column names. `with_hashes` adds the
/// blind-index columns (health compares them with the plaintext). `None` when there is
/// nothing to read.
pub fn table_job(model: &ModelDef, existing: &[String], with_hashes: bool) -> Option<TableJob> {
    let exists = |name: &str| existing.iter().any(|c| c.eq_ignore_ascii_case(name));
    let mut fetch: Vec<String> = Vec::new();
    let position = |fetch: &mut Vec<String>, name: &str| -> usize {
        match fetch.iter().position(|f| f == name) {
            Some(i) => i,
            None => {
                fetch.push(name.to_string());
                fetch.len() - 1
            }
        }
    };
    let mut columns = Vec::new();
    for column in model.encrypted_columns().filter(|c| exists(&c.name)) {
        let value_at = position(&mut fetch, &column.name);
        let hash_at = if with_hashes {
            hash_column(model, column)
                .filter(|h| exists(&h.name))
                .map(|h| position(&mut fetch, &h.name))
        } else {
            None
        };
        columns.push(ColumnJob {
            def: column.clone(),
            value_at,
            hash_at,
        });
    }
    if columns.is_empty() {
        return None;
    }
    let owner_at = (model.encryption.per_user
        && model.column(&model.owner_column).is_some()
        && exists(&model.owner_column))
    .then(|| position(&mut fetch, &model.owner_column));
    Some(TableJob {
        model: model.name.clone(),
        table: model.table_name.clone(),
        fetch,
        columns,
        owner_at,
    })
}
