//! The health report (DESIGN §9, §12): check ids, severities, findings with evidence, the
//! overall status and its exit code, and the stable JSON shape.
//!
//! Evidence never holds a value or a key: only names (model, table, column, variable,
//! key id with fingerprint), counts and record ids.

use serde_json::{Map, Value as Json, json};

/// How bad a finding is. Ordered, so the worst of a report is its maximum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Ok,
    Warn,
    Fail,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Warn => "warn",
            Severity::Fail => "fail",
        }
    }

    /// `timber health` exit code for a report whose worst finding is this.
    pub fn exit_code(self) -> u8 {
        match self {
            Severity::Ok => 0,
            Severity::Warn => 1,
            Severity::Fail => 2,
        }
    }
}

/// Every check id of DESIGN §12, in report order (family by family).
pub const CHECK_IDS: &[&str] = &[
    "key.primary",
    "key.master",
    "key.distinct",
    "key.age",
    "key.old_needed",
    "key.weak",
    "data.plaintext",
    "data.undecryptable",
    "data.old_key",
    "data.timestamps",
    "data.duplicate_token",
    "data.undeclared_sensitive",
    "schema.column_width",
    "schema.encrypted_indexed",
    "schema.legacy_hash",
    "schema.blind_index_unindexed",
    "schema.drift",
    "schema.mixin",
    "audit.enabled",
    "audit.chain",
    "audit.coverage",
    "conn.tls",
    "rotation.stalled",
    "env.plaintext_secret",
];

/// The family of a check id (`key`, `data`, ...), the part before the dot.
pub fn family(id: &str) -> &str {
    id.split('.').next().unwrap_or(id)
}

/// The title of a check: what it looks at, in a few words.
pub fn title(id: &str) -> &'static str {
    match id {
        "key.primary" => "Primary encryption key",
        "key.master" => "Master encryption key",
        "key.distinct" => "Keys are distinct",
        "key.age" => "Key age vs rotation schedule",
        "key.old_needed" => "Old keys still needed",
        "key.weak" => "Weak or published keys",
        "data.plaintext" => "Plaintext in encrypted columns",
        "data.undecryptable" => "Undecryptable values",
        "data.old_key" => "Values under old keys",
        "data.timestamps" => "Token timestamps",
        "data.duplicate_token" => "Identical tokens in two places",
        "data.undeclared_sensitive" => "Sensitive data in undeclared columns",
        "schema.column_width" => "Column wide enough for tokens",
        "schema.encrypted_indexed" => "Index on an encrypted column",
        "schema.legacy_hash" => "Unkeyed legacy search hashes",
        "schema.blind_index_unindexed" => "Blind index without an index",
        "schema.drift" => "Models match tables",
        "schema.mixin" => "EncryptedFieldMixin declared",
        "audit.enabled" => "Audit log enabled",
        "audit.chain" => "Audit chain intact",
        "audit.coverage" => "Sensitive models audited",
        "conn.tls" => "Connection uses TLS",
        "rotation.stalled" => "Rotation jobs progressing",
        "env.plaintext_secret" => "Secrets in the environment encrypted",
        _ => "Unknown check",
    }
}

/// What a finding points at. Every field is optional; `extra` holds named facts such as
/// the variable or the key a finding is about, and `sampled` when a scan was sampled.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evidence {
    pub model: Option<String>,
    pub table: Option<String>,
    pub column: Option<String>,
    pub count: Option<u64>,
    /// Up to [`MAX_RECORD_IDS`] record ids (the first the scan met), in key order.
    pub record_ids: Vec<String>,
    /// Extra named facts (never a value or a key): `key`, `variable`, `sampled`, ...
    pub extra: Vec<(&'static str, Json)>,
}

/// How many record ids a finding lists.
pub const MAX_RECORD_IDS: usize = 10;

impl Evidence {
    pub fn none() -> Evidence {
        Evidence::default()
    }

    /// Evidence about one model's table (and optionally one column).
    pub fn at(model: &str, table: &str, column: Option<&str>) -> Evidence {
        Evidence {
            model: Some(model.to_string()),
            table: Some(table.to_string()),
            column: column.map(str::to_string),
            ..Evidence::default()
        }
    }

    pub fn count(mut self, count: u64) -> Evidence {
        self.count = Some(count);
        self
    }

    pub fn ids(mut self, ids: impl IntoIterator<Item = String>) -> Evidence {
        self.record_ids = ids.into_iter().take(MAX_RECORD_IDS).collect();
        self
    }

    pub fn with(mut self, name: &'static str, value: impl Into<Json>) -> Evidence {
        self.extra.push((name, value.into()));
        self
    }

    /// `model.column`, `table`, or nothing: where the finding is, for the text report.
    pub fn place(&self) -> String {
        match (&self.model, &self.column, &self.table) {
            (Some(m), Some(c), _) => format!("{m}.{c}"),
            (Some(m), None, _) => m.clone(),
            (None, Some(c), Some(t)) => format!("{t}.{c}"),
            (None, None, Some(t)) => t.clone(),
            _ => String::new(),
        }
    }

    pub fn to_json(&self) -> Json {
        let mut map = Map::new();
        map.insert("model".into(), json!(self.model));
        map.insert("table".into(), json!(self.table));
        map.insert("column".into(), json!(self.column));
        map.insert("count".into(), json!(self.count));
        map.insert("record_ids".into(), json!(self.record_ids));
        for (name, value) in &self.extra {
            map.insert((*name).to_string(), value.clone());
        }
        Json::Object(map)
    }
}

/// One finding of one check. A check yields one finding per problem place (one per column,
/// say), or a single `ok` finding when it passed.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub id: &'static str,
    pub severity: Severity,
    /// One line: what was found.
    pub finding: String,
    pub evidence: Evidence,
    /// What to run or change; for `ok` findings, what keeps it so (may be empty).
    pub remedy: String,
}

impl Finding {
    pub fn new(id: &'static str, severity: Severity, finding: impl Into<String>) -> Finding {
        Finding {
            id,
            severity,
            finding: finding.into(),
            evidence: Evidence::none(),
            remedy: String::new(),
        }
    }

    pub fn ok(id: &'static str, finding: impl Into<String>) -> Finding {
        Finding::new(id, Severity::Ok, finding)
    }

    pub fn warn(id: &'static str, finding: impl Into<String>) -> Finding {
        Finding::new(id, Severity::Warn, finding)
    }

    pub fn fail(id: &'static str, finding: impl Into<String>) -> Finding {
        Finding::new(id, Severity::Fail, finding)
    }

    pub fn evidence(mut self, evidence: Evidence) -> Finding {
        self.evidence = evidence;
        self
    }

    pub fn remedy(mut self, remedy: impl Into<String>) -> Finding {
        self.remedy = remedy.into();
        self
    }

    pub fn title(&self) -> &'static str {
        title(self.id)
    }

    pub fn to_json(&self) -> Json {
        json!({
            "id": self.id,
            "severity": self.severity.as_str(),
            "title": self.title(),
            "finding": self.finding,
            "evidence": self.evidence.to_json(),
            "remedy": self.remedy,
        })
    }
}

/// Facts about the run itself, shown in the text header (not part of the JSON contract).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunFacts {
    /// The database URL, password redacted.
    pub database: String,
    pub models: usize,
    /// Rows read by the data scan (0 when no data check ran).
    pub rows_scanned: u64,
    /// `Some(n)` when `--sample n` limited the scan.
    pub sample: Option<u64>,
}

/// Everything `timber health` found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HealthReport {
    pub findings: Vec<Finding>,
    pub facts: RunFacts,
}

impl HealthReport {
    /// The worst severity of any finding (`ok` for an empty report).
    pub fn status(&self) -> Severity {
        self.findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Severity::Ok)
    }

    pub fn exit_code(&self) -> u8 {
        self.status().exit_code()
    }

    /// Findings of one check id.
    pub fn of<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Finding> + 'a {
        self.findings.iter().filter(move |f| f.id == id)
    }

    /// Orders findings by check id (the order of [`CHECK_IDS`]), keeping each check's own
    /// order, so the report reads family by family.
    pub fn sort(&mut self) {
        let rank = |id: &str| {
            CHECK_IDS
                .iter()
                .position(|c| *c == id)
                .unwrap_or(usize::MAX)
        };
        self.findings.sort_by_key(|f| rank(f.id));
    }

    /// The findings worst first (fail, warn, ok; check order within a severity), with
    /// consecutive findings of one check and severity grouped (`data.old_key ×10`): what a
    /// reader scans, and the order the text report prints.
    pub fn grouped(&self) -> Vec<FindingGroup<'_>> {
        let rank = |id: &str| {
            CHECK_IDS
                .iter()
                .position(|c| *c == id)
                .unwrap_or(usize::MAX)
        };
        let mut sorted: Vec<&Finding> = self.findings.iter().collect();
        sorted.sort_by_key(|f| (std::cmp::Reverse(f.severity), rank(f.id)));
        let mut groups: Vec<FindingGroup<'_>> = Vec::new();
        for finding in sorted {
            match groups.last_mut() {
                Some(g) if g.id == finding.id && g.severity == finding.severity => {
                    g.findings.push(finding)
                }
                _ => groups.push(FindingGroup {
                    id: finding.id,
                    severity: finding.severity,
                    findings: vec![finding],
                }),
            }
        }
        groups
    }

    /// `{"status", "checks": [...]}` (DESIGN §12).
    pub fn to_json(&self) -> Json {
        json!({
            "status": self.status().as_str(),
            "checks": self.findings.iter().map(Finding::to_json).collect::<Vec<_>>(),
        })
    }
}

/// Findings of one check at one severity, as [`HealthReport::grouped`] lists them.
#[derive(Clone, Debug, PartialEq)]
pub struct FindingGroup<'a> {
    pub id: &'static str,
    pub severity: Severity,
    pub findings: Vec<&'a Finding>,
}

impl FindingGroup<'_> {
    /// `data.old_key`, or `data.old_key ×10` for a group of ten.
    pub fn label(&self) -> String {
        match self.findings.len() {
            1 => self.id.to_string(),
            n => format!("{} ×{n}", self.id),
        }
    }
}

/// Which checks to run: all, or those `--only` names. An entry may be a check id
/// (`data.plaintext`) or a whole family (`data`, `data.*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    ids: Vec<&'static str>,
}

/// A `--only` entry that names no check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown check `{given}` in --only; expected a check id or family: {}", CHECK_IDS.join(", "))]
pub struct UnknownCheck {
    pub given: String,
}

impl Selection {
    pub fn all() -> Selection {
        Selection {
            ids: CHECK_IDS.to_vec(),
        }
    }

    /// Parses `--only` entries (each may itself be a comma list).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Selection, UnknownCheck> {
        let mut ids: Vec<&'static str> = Vec::new();
        for entry in entries {
            for part in entry.as_ref().split(',').map(str::trim) {
                if part.is_empty() {
                    continue;
                }
                let fam = part.strip_suffix(".*").unwrap_or(part);
                let matched: Vec<&'static str> = CHECK_IDS
                    .iter()
                    .copied()
                    .filter(|id| *id == part || family(id) == fam)
                    .collect();
                if matched.is_empty() {
                    return Err(UnknownCheck {
                        given: part.to_string(),
                    });
                }
                for id in matched {
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
        }
        if ids.is_empty() {
            return Ok(Selection::all());
        }
        Ok(Selection { ids })
    }

    pub fn has(&self, id: &str) -> bool {
        self.ids.contains(&id)
    }

    pub fn any(&self, ids: &[&str]) -> bool {
        ids.iter().any(|id| self.has(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_the_worst_finding_and_maps_to_exit_codes() {
        let mut report = HealthReport::default();
        assert_eq!((report.status(), report.exit_code()), (Severity::Ok, 0));
        report.findings.push(Finding::warn("key.age", "due"));
        assert_eq!(report.exit_code(), 1);
        report.findings.push(Finding::ok("key.primary", "fine"));
        report
            .findings
            .push(Finding::fail("data.plaintext", "clear"));
        assert_eq!(report.to_json()["status"], "fail");
        assert_eq!(report.exit_code(), 2);
    }

    #[test]
    fn only_accepts_ids_and_families_and_names_unknown_ones() {
        let sel = Selection::parse(&["key.age,data"]).unwrap();
        assert!(sel.has("key.age") && sel.has("data.plaintext") && !sel.has("key.primary"));
        let sel = Selection::parse(&["schema.*"]).unwrap();
        assert!(sel.has("schema.drift") && !sel.has("data.plaintext"));
        let err = Selection::parse(&["key.agee"]).unwrap_err().to_string();
        assert!(
            err.contains("`key.agee`") && err.contains("key.age"),
            "{err}"
        );
    }

    #[test]
    fn grouped_puts_the_worst_first_and_groups_repeats_of_one_check() {
        let place = |m: &str| Evidence::at(m, m, Some("c"));
        let report = HealthReport {
            findings: vec![
                Finding::ok("key.primary", "fine"),
                Finding::warn("data.old_key", "old").evidence(place("A")),
                Finding::fail("data.plaintext", "clear"),
                Finding::warn("data.old_key", "old").evidence(place("B")),
                Finding::ok("data.old_key", "none").evidence(place("C")),
            ],
            facts: RunFacts::default(),
        };
        let groups: Vec<(String, Severity)> = report
            .grouped()
            .iter()
            .map(|g| (g.label(), g.severity))
            .collect();
        assert_eq!(
            groups,
            [
                ("data.plaintext".to_string(), Severity::Fail),
                ("data.old_key ×2".to_string(), Severity::Warn),
                ("key.primary".to_string(), Severity::Ok),
                ("data.old_key".to_string(), Severity::Ok),
            ]
        );
    }

    #[test]
    fn evidence_json_has_the_fixed_keys_and_extras() {
        let ev = Evidence::at("UserProfile", "user_profiles", Some("phone"))
            .count(3)
            .ids((1..=12).map(|i| i.to_string()))
            .with("sampled", 100);
        let j = ev.to_json();
        assert_eq!(j["model"], "UserProfile");
        assert_eq!(j["record_ids"].as_array().unwrap().len(), MAX_RECORD_IDS);
        assert_eq!(j["sampled"], 100);
        assert!(Evidence::none().to_json()["column"].is_null());
    }
}
