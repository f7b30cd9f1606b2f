//! What a viewer receives for one field: the output of masking (DESIGN §6, §12). The TUI
//! and CLI render these; none of them carries plaintext the role may not reveal.

use crate::config::Level;
use crate::crypto::CellError;
use crate::value::Value;

/// One field as shown to the acting role.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// The value itself: a plain (non-secret) column, the user's own row under
    /// `owner_sees_own`, or a secret revealed under an audited [`RevealGrant`](super::RevealGrant).
    Revealed(Value),
    /// A rendered mask (`partial`, `hash` or `redact`). `revealable` says whether the role may
    /// reveal this cell (with an audited reveal), so a view can offer it.
    Masked {
        level: Level,
        text: String,
        revealable: bool,
    },
    /// The column is not shown to this role (`hidden`); it is absent from exports.
    Hidden,
    /// The stored cell could not be read; the kind is not secret.
    Error(CellError),
    /// SQL NULL. Emptiness is shown as such: it reveals that nothing is stored, not what.
    Null,
}

impl Cell {
    /// The JSON of `browse --format json` (DESIGN §12); `None` for a hidden column (absent).
    pub fn to_json(&self) -> Option<serde_json::Value> {
        Some(match self {
            Cell::Revealed(value) => value.to_json(),
            Cell::Masked { text, .. } => serde_json::Value::String(text.clone()),
            Cell::Hidden => return None,
            Cell::Error(e) => serde_json::json!({ "error": e.as_str() }),
            Cell::Null => serde_json::Value::Null,
        })
    }

    /// One-line text for tables and CSV: masks as rendered, errors as `⚠ kind`, NULL as
    /// empty. Control characters of revealed text are shown as `·` so a value cannot drive
    /// the terminal.
    pub fn display(&self) -> String {
        match self {
            Cell::Revealed(Value::Text(s)) => s
                .chars()
                .map(|c| if c.is_control() { '·' } else { c })
                .collect(),
            Cell::Revealed(Value::Null) | Cell::Null => String::new(),
            Cell::Revealed(value) => match value.to_json() {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            },
            Cell::Masked { text, .. } => text.clone(),
            Cell::Hidden => String::new(),
            Cell::Error(e) => format!("⚠ {}", e.as_str()),
        }
    }

    pub fn is_hidden(&self) -> bool {
        matches!(self, Cell::Hidden)
    }
}

/// One record as shown: its id (always shown, see `rules`) and a cell per model column,
/// in model column order (hidden ones included as [`Cell::Hidden`] so positions line up).
#[derive(Clone, Debug, PartialEq)]
pub struct ViewRow {
    pub id: Value,
    pub cells: Vec<(String, Cell)>,
    /// True when the owner rule revealed this row (it is the acting user's own).
    pub own_row: bool,
}

impl ViewRow {
    /// A JSON object of the shown columns (hidden ones absent), as `browse` prints.
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (name, cell) in &self.cells {
            if let Some(json) = cell.to_json() {
                map.insert(name.clone(), json);
            }
        }
        serde_json::Value::Object(map)
    }

    pub fn cell(&self, name: &str) -> Option<&Cell> {
        self.cells.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shapes_follow_the_design() {
        let row = ViewRow {
            id: Value::Int(1),
            cells: vec![
                ("id".into(), Cell::Revealed(Value::Int(1))),
                (
                    "email".into(),
                    Cell::Masked {
                        level: Level::Partial,
                        text: "j***@example.com".into(),
                        revealable: false,
                    },
                ),
                ("api_keys".into(), Cell::Hidden),
                ("phone".into(), Cell::Error(CellError::UnknownKey)),
                ("notes".into(), Cell::Null),
            ],
            own_row: false,
        };
        assert_eq!(
            row.to_json(),
            serde_json::json!({"id": 1, "email": "j***@example.com",
                "phone": {"error": "unknown_key"}, "notes": null})
        );
        assert_eq!(
            Cell::Revealed(Value::Text("a\u{1b}b".into())).display(),
            "a·b"
        );
        assert_eq!(Cell::Error(CellError::Corrupted).display(), "⚠ corrupted");
    }
}
