//! Record helpers only the store tests use (the other areas read values their own way).

use timber::config::ModelDef;
use timber::store::{Cell, Record};
use timber::value::Value;

pub fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

/// The readable value of a record's field (panics, naming the field, when unreadable).
pub fn value<'a>(model: &ModelDef, record: &'a Record, name: &str) -> &'a Value {
    record
        .cell(model, name)
        .and_then(Cell::value)
        .unwrap_or_else(|| panic!("{name} unreadable"))
}
