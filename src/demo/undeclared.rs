//! The demo's undeclared personal data, for `timber discover` and health's
//! `data.undeclared_sensitive`: a `newsletter_signups` table that no model file declares
//! (its definition lives here, never in `models/`), holding plain e-mail addresses and phone
//! numbers, as a marketing tool added beside the application would leave them. Every other
//! plain column of the demo must NOT look sensitive (the discover end-to-end test checks
//! that only these two are found).

use std::path::Path;

use super::data::DemoData;
use super::generate::DemoError;
use super::plant::Planted;
use crate::config::{ModelDef, parse_models};
use crate::crypto::KeyRing;
use crate::store::Store;

/// The table, as `timber init` would create it from this definition.
pub const UNDECLARED_TABLE: &str = "newsletter_signups";

const DEFINITION: &str = r#"
models:
  - name: NewsletterSignup
    table_name: newsletter_signups
    columns:
      - {name: id, type: Integer, primary_key: true}
      - {name: email, type: String(255)}
      - {name: phone, type: String(50)}
      - {name: source, type: String(30)}
      - {name: signed_up_at, type: DateTime}
"#;

fn definition() -> Result<ModelDef, DemoError> {
    parse_models(DEFINITION, Path::new("demo newsletter_signups"))
        .map_err(|e| DemoError::Models(e.to_string()))?
        .into_iter()
        .next()
        .ok_or_else(|| DemoError::Models("newsletter_signups definition is empty".into()))
}

/// Signups per batch handed to the writer.
const BATCH: usize = 5_000;

/// Creates and fills the undeclared table (`rows` signups); returns what was planted.
pub async fn plant_undeclared(
    store: &Store,
    ring: &KeyRing,
    data: &mut DemoData,
    rows: usize,
) -> Result<Vec<Planted>, DemoError> {
    let model = definition()?;
    store.init(std::slice::from_ref(&model)).await?;
    // Streamed a batch at a time, as the models' rows are (`generate.rs`).
    let mut bulk = store.bulk_insert(&model, Some("demo-loader"))?;
    let mut batch = Vec::with_capacity(BATCH);
    for n in 0..rows {
        batch.push(
            data.newsletter_signup(n)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        );
        if batch.len() == BATCH {
            bulk.push(ring, &batch).await?;
            batch.clear();
        }
    }
    bulk.push(ring, &batch).await?;
    bulk.finish().await?;
    Ok([
        ("email", "e-mail addresses in a table no model declares"),
        ("phone", "phone numbers in a table no model declares"),
    ]
    .into_iter()
    .map(|(column, what)| Planted {
        check: "data.undeclared_sensitive",
        model: UNDECLARED_TABLE.to_string(),
        column: column.to_string(),
        what,
        record_ids: Vec::new(),
    })
    .collect())
}
