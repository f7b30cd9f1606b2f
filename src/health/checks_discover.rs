//! data.undeclared_sensitive: columns not declared encrypted whose sampled values look like
//! personal data or secrets (e-mail, phone, SSN, card, IBAN, JWT, API key, Fernet token),
//! from a bounded discovery sample ([`super::discover`]). A warning: detectors guess from
//! shapes, so a finding is a column to look at, not a proven leak.

use super::discover::Discovery;
use super::report::{Evidence, Finding};
use crate::plural::count;

pub fn undeclared_sensitive(discovery: &Discovery) -> Vec<Finding> {
    let id = "data.undeclared_sensitive";
    if discovery.found.is_empty() {
        return vec![Finding::ok(
            id,
            format!(
                "no undeclared column looks sensitive ({} of {} sampled, at most {} each)",
                count(discovery.columns, "column"),
                count(discovery.tables, "table"),
                count(u64::from(discovery.sample), "row")
            ),
        )];
    }
    discovery
        .found
        .iter()
        .map(|f| {
            let evidence = Evidence {
                model: f.model.clone(),
                table: Some(f.table.clone()),
                column: Some(f.column.clone()),
                count: Some(f.matches),
                ..Evidence::default()
            }
            .with("kind", f.kind.as_str())
            .with("values_sampled", f.values)
            .with("percent", (f.percent() * 10.0).round() / 10.0);
            let whose = match &f.model {
                Some(model) => format!("a column of {model} not declared encrypted"),
                None => format!("table {}, which no model declares", f.table),
            };
            let remedy = match &f.model {
                Some(model) => format!(
                    "If it is personal data or a secret, declare it `encrypted: true` (`timber discover --suggest` prints the YAML), then `timber rotate --model {model} --encrypt-plaintext`"
                ),
                None => "If it is personal data or a secret, declare the table in a model with the column encrypted (`timber discover --suggest` prints one), then `timber rotate --model MODEL --encrypt-plaintext`".to_string(),
            };
            Finding::warn(
                id,
                format!(
                    "{} of {} sampled values look like {} ({:.0}%), in {whose}",
                    f.matches,
                    f.values,
                    f.kind.describe(),
                    f.percent()
                ),
            )
            .evidence(evidence)
            .remedy(remedy)
        })
        .collect()
}
