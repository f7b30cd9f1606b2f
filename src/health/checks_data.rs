//! DATA family, from the survey: plaintext in encrypted columns, undecryptable values (not a
//! token / unknown key / corrupted), values under old keys, implausible token timestamps,
//! and identical tokens in two places.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::census::Survey;
use super::classify::FUTURE_SKEW_SECS;
use super::report::{Evidence, Finding, MAX_RECORD_IDS, Severity};
use super::scan::{TableScan, TokenPlace, locate_tokens};
use super::stats::{ColumnStats, KeyBucket, Samples, sort_in_key_order};
use super::token_age::TokenTimes;
use crate::config::ModelDef;
use crate::crypto::KeyId;
use crate::plural::{count, pick};
use crate::store::{Store, StoreError};

/// Evidence for `samples` in one column of a scanned table (says so when sampled).
fn column_evidence(table: &TableScan, column: &str, samples: &Samples) -> Evidence {
    let ev = Evidence::at(&table.job.model, &table.job.table, Some(column))
        .count(samples.count)
        .ids(samples.ids());
    if table.sampled {
        ev.with("sampled", table.rows)
    } else {
        ev
    }
}

fn each_column(survey: &Survey) -> impl Iterator<Item = (&TableScan, &str, &ColumnStats)> {
    survey.tables.iter().flat_map(|t| {
        t.job
            .columns
            .iter()
            .zip(&t.columns)
            .map(move |(c, s)| (t, c.def.name.as_str(), s))
    })
}

/// Evidence of an `ok` finding over the whole survey: rows read, and the sample if any.
fn survey_evidence(survey: &Survey) -> Evidence {
    let ev = Evidence::none().with("rows_read", survey.rows());
    match survey.sample.filter(|_| survey.sampled()) {
        Some(n) => ev.with("sampled", n),
        None => ev,
    }
}

/// `out`, or when it is empty the one `ok` finding saying what was checked.
fn or_ok(mut out: Vec<Finding>, id: &'static str, what: &str, survey: &Survey) -> Vec<Finding> {
    if out.is_empty() {
        out.push(
            Finding::ok(id, format!("{what} ({})", scope(survey)))
                .evidence(survey_evidence(survey)),
        );
    }
    out
}

fn scope(survey: &Survey) -> String {
    let columns: usize = survey.tables.iter().map(|t| t.columns.len()).sum();
    let sampled = if survey.sampled() { " (sampled)" } else { "" };
    format!(
        "{}, {} read{sampled}",
        count(columns as u64, "encrypted column"),
        count(survey.rows(), "row")
    )
}

/// data.plaintext: values that are not tokens at all.
pub fn plaintext(survey: &Survey) -> Vec<Finding> {
    let id = "data.plaintext";
    let out: Vec<Finding> = each_column(survey)
        .filter(|(_, _, s)| !s.plaintext.is_empty())
        .map(|(t, col, s)| {
            Finding::fail(id, format!("{} stored in clear, not as Fernet tokens", values_are(s.plaintext.count)))
                .evidence(column_evidence(t, col, &s.plaintext))
                .remedy(format!(
                    "`timber rotate --model {} --encrypt-plaintext` encrypts them in place; find the writer that bypassed encryption",
                    t.job.model
                ))
        })
        .collect();
    or_ok(out, id, "no plaintext", survey)
}

/// data.undecryptable: malformed tokens, tokens under a key nobody configured, and
/// tokens that authenticate but do not decrypt to the column's type. A table the scan
/// could not read is reported here too: its values could not be checked.
pub fn undecryptable(survey: &Survey) -> Vec<Finding> {
    let id = "data.undecryptable";
    let mut out = Vec::new();
    for (t, col, s) in each_column(survey) {
        let kinds: [(&Samples, &str, String, &str); 3] = [
            (
                &s.malformed,
                "malformed",
                format!(
                    "{} {} malformed: not a readable token (truncated, altered, not base64, or not text)",
                    count(s.malformed.count, "value"),
                    pick(s.malformed.count, "is", "are")
                ),
                "Restore these values from a backup: a malformed token cannot be read with any key",
            ),
            (
                &s.unknown_key,
                "unknown_key",
                format!(
                    "{} under a key that is not configured",
                    tokens_are(s.unknown_key.count)
                ),
                "Find the key they were written with and add it to ENCRYPTION_KEY_OLD (`timber census` lists the keys in use), then `timber rotate --all`",
            ),
            (
                &s.corrupted,
                "corrupted",
                format!(
                    "{} {} under a configured key but {} not decrypt to the column's type",
                    count(s.corrupted.count, "token"),
                    pick(s.corrupted.count, "authenticates", "authenticate"),
                    pick(s.corrupted.count, "does", "do")
                ),
                "Restore these values from a backup; check the writer that produced them",
            ),
        ];
        for (samples, kind, finding, remedy) in kinds {
            if !samples.is_empty() {
                out.push(
                    Finding::fail(id, finding)
                        .evidence(column_evidence(t, col, samples).with("kind", kind))
                        .remedy(remedy),
                );
            }
        }
    }
    for (model, table, err) in &survey.failed {
        out.push(
            Finding::fail(id, format!("the scan of {model} stopped: {err}"))
                .evidence(Evidence::at(model, table, None).with("kind", "scan_failed"))
                .remedy("Fix the cause named, then run `timber health` again"),
        );
    }
    or_ok(out, id, "every token decrypts", survey)
}

/// data.old_key: values under old keys (warn) or directly under a master key (fail).
pub fn old_key(survey: &Survey, label: impl Fn(&KeyBucket) -> String) -> Vec<Finding> {
    let id = "data.old_key";
    let mut out = Vec::new();
    for (t, col, s) in each_column(survey) {
        let mut old = Samples::default();
        let mut old_times = TokenTimes::default();
        let mut master = Samples::default();
        let mut names = Vec::new();
        for (bucket, samples) in &s.by_key {
            match bucket {
                KeyBucket::Configured(KeyId::Old(_)) | KeyBucket::PerUserOld => {
                    let times = s.times.get(bucket).cloned().unwrap_or_default();
                    let written = times
                        .age()
                        .map(|a| format!(" written {}", a.months()))
                        .unwrap_or_default();
                    names.push(format!(
                        "{} {} still encrypts {}{written}",
                        bucket_name(bucket),
                        label(bucket),
                        count(samples.count, "value")
                    ));
                    old.merge(samples.clone());
                    old_times.merge(times);
                }
                KeyBucket::Configured(KeyId::Master | KeyId::MasterOld) => {
                    master.merge(samples.clone());
                }
                _ => {}
            }
        }
        let total = s.rows - s.null;
        if !old.is_empty() {
            let mut evidence = column_evidence(t, col, &old);
            if let Some(age) = old_times.age() {
                let json = age.to_json();
                for field in ["oldest", "median", "newest"] {
                    evidence = evidence.with(field, json[field].clone());
                }
            }
            out.push(
                Finding::warn(id, format!("{} of {} {} under old keys: {}", old.count, count(total, "stored value"), pick(old.count, "is", "are"), names.join("; ")))
                    .evidence(evidence)
                    .remedy(format!("`timber rotate --model {}` (or `timber rotate --all`) re-encrypts them under the primary key", t.job.model)),
            );
        }
        if !master.is_empty() {
            out.push(
                Finding::fail(id, format!("{} encrypted directly under a master key", values_are(master.count)))
                    .evidence(column_evidence(t, col, &master))
                    .remedy(format!("`timber rotate --model {}` moves them to the primary key; the master key must only derive keys", t.job.model)),
            );
        }
    }
    or_ok(out, id, "every value is under a current key", survey)
}

fn bucket_name(bucket: &KeyBucket) -> String {
    match bucket {
        KeyBucket::Configured(id) => id.to_string(),
        KeyBucket::PerUser => "user_*".into(),
        KeyBucket::PerUserOld => "user_* (master_old)".into(),
    }
}

/// data.timestamps: authenticated token timestamps in the future (beyond the skew) or
/// before 2015.
pub fn timestamps(survey: &Survey) -> Vec<Finding> {
    let id = "data.timestamps";
    let mut out = Vec::new();
    for (t, col, s) in each_column(survey) {
        if !s.future.is_empty() {
            out.push(
                Finding::warn(id, format!(
                    "{} stamped more than {} in the future (a writer's clock is ahead, or they were forged with the key)",
                    tokens_are(s.future.count), count(FUTURE_SKEW_SECS / 60, "minute")))
                .evidence(column_evidence(t, col, &s.future).with("kind", "future"))
                .remedy(format!("Check the clocks (NTP) of the servers that write {}; `timber rotate --model {}` re-stamps the values", t.job.model, t.job.model)),
            );
        }
        if !s.ancient.is_empty() {
            out.push(
                Finding::warn(
                    id,
                    format!(
                        "{} stamped before 2015, earlier than any plausible write",
                        tokens_are(s.ancient.count)
                    ),
                )
                .evidence(column_evidence(t, col, &s.ancient).with("kind", "implausible"))
                .remedy(format!(
                    "Find how they were written; `timber rotate --model {}` re-stamps them",
                    t.job.model
                )),
            );
        }
    }
    or_ok(out, id, "every token timestamp is plausible", survey)
}

/// data.duplicate_token: the same token (by decoded bytes) in more than one cell. Fernet
/// has no associated data, so a copied token decrypts in its new place: a copy is evidence
/// of a bulk copy or of tampering. One finding per column holding such copies.
pub async fn duplicate_tokens(
    store: &Store,
    models: &[&ModelDef],
    survey: &Survey,
    sample: Option<u64>,
) -> Result<Vec<Finding>, StoreError> {
    let id = "data.duplicate_token";
    let repeated = &survey.duplicates.repeated;
    if repeated.is_empty() {
        return Ok(vec![
            Finding::ok(id, format!("no token appears twice ({})", scope(survey)))
                .evidence(survey_evidence(survey)),
        ]);
    }
    let mut places: HashMap<u128, Vec<TokenPlace>> = HashMap::new();
    for table in &survey.tables {
        if let Some(model) = models.iter().find(|m| m.name == table.job.model) {
            locate_tokens(store, model, &table.job, repeated, sample, &mut places).await?;
        }
    }
    // (model, column) -> (cells, distinct tokens, (position, id))
    type Copies = (u64, u64, Vec<(u64, String)>);
    let mut by_column: BTreeMap<(String, String), Copies> = BTreeMap::new();
    for cells in places.values().filter(|c| c.len() > 1) {
        let mut columns_seen = Vec::new();
        for (model, column, record, position) in cells {
            let entry = by_column
                .entry((model.clone(), column.clone()))
                .or_default();
            entry.0 += 1;
            entry.2.push((*position, record.clone()));
            if !columns_seen.contains(&(model, column)) {
                entry.1 += 1;
                columns_seen.push((model, column));
            }
        }
    }
    let mut out = Vec::new();
    for ((model, column), (cells, tokens, mut ids)) in by_column {
        let table = models
            .iter()
            .find(|m| m.name == model)
            .map_or("", |m| m.table_name.as_str());
        // The first cells met (a record holding two copies counts once), listed by key.
        ids.sort();
        let mut seen = HashSet::new();
        let mut order: Vec<String> = ids
            .into_iter()
            .filter_map(|(_, id)| seen.insert(id.clone()).then_some(id))
            .take(MAX_RECORD_IDS)
            .collect();
        sort_in_key_order(&mut order);
        out.push(
            Finding::new(id, Severity::Warn, format!(
                "{} {} a token that also appears elsewhere ({}): values were copied between rows",
                count(cells, "cell"),
                pick(cells, "holds", "hold"),
                count(tokens, "distinct token")))
            .evidence(Evidence::at(&model, table, Some(&column)).count(cells).ids(order))
            .remedy("Check how these rows were written (a bulk copy, or tampering); re-encrypt the legitimate values with `timber rotate --model MODEL` and correct the rest"),
        );
    }
    if out.is_empty() {
        out.push(Finding::ok(id, "no token appears twice"));
    }
    Ok(out)
}

/// "1 value is", "3 values are": the start of most findings here.
fn values_are(n: u64) -> String {
    format!("{} {}", count(n, "value"), pick(n, "is", "are"))
}

/// "1 token is", "3 tokens are".
fn tokens_are(n: u64) -> String {
    format!("{} {}", count(n, "token"), pick(n, "is", "are"))
}
