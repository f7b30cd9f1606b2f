//! Deterministic demo rows: realistic plaintext for the demo models, the same for the same
//! seed (tokens differ run to run because Fernet IVs are random, as they must be).

use chrono::{Duration, NaiveDate, NaiveDateTime};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::value::Value;

const FIRST: &[&str] = &[
    "ada", "grace", "linus", "zoë", "edsger", "ken", "barbara", "alan", "margaret", "dennis",
    "frances", "john", "radia", "tim", "hedy", "guido", "søren", "josé", "amélie", "yuki",
];
const DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "mail.example.net",
    "corp.example",
];
const TICKERS: &[&str] = &[
    "AAPL", "MSFT", "GOOG", "AMZN", "NVDA", "TSLA", "META", "ORCL", "IBM",
];
const SESSION_TYPES: &[&str] = &[
    "stock_research",
    "earnings_review",
    "sector_scan",
    "backtest",
];
const INSIGHTS: &[&str] = &[
    "Strong guidance; margin expansion likely",
    "Weak guidance; watch Q3",
    "Insider selling above trend",
    "Valuation stretched vs peers",
    "Momentum intact; 🚀",
    "Supply chain risk: \"single vendor\"; hedge",
];
const NOTES: &[&str] = &[
    "Confidential analysis",
    "Met with CFO; do not share",
    "line1\nline2",
    "Prefers phone contact after 5pm",
    "",
    "Portfolio review pending; O'Brien's account",
];
const DIAGNOSES: &[&str] = &[
    "Hypertension, stage 1",
    "Type 2 diabetes",
    "Seasonal allergies",
    "Fractured radius (left)",
    "Migraine with aura",
];

/// A seeded generator for one demo run.
pub struct DemoData {
    rng: StdRng,
    base_time: NaiveDateTime,
}

/// One generated row: column name and value, in the model's column order.
pub type Row = Vec<(&'static str, Value)>;

impl DemoData {
    pub fn new(seed: u64) -> DemoData {
        let base_time = NaiveDate::from_ymd_opt(2026, 1, 1)
            .and_then(|d| d.and_hms_opt(9, 0, 0))
            .expect("fixed demo date is valid");
        DemoData {
            rng: StdRng::seed_from_u64(seed),
            base_time,
        }
    }

    /// A UUID-shaped id from the seeded generator (not a real v4 UUID, but the same shape).
    pub fn uuid(&mut self) -> String {
        let b: [u8; 16] = self.rng.random();
        let h = crate::value::hex_lower(&b);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }

    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.rng.random_range(0..items.len())]
    }

    fn timestamp(&mut self) -> NaiveDateTime {
        self.base_time + Duration::seconds(self.rng.random_range(0..300 * 24 * 3600))
    }

    /// The owner id of the `n`th demo user.
    pub fn user_id(n: usize) -> String {
        format!("user-{n}")
    }

    pub fn user_profile(&mut self, n: usize, users: usize) -> Row {
        let name = self.pick(FIRST);
        let domain = self.pick(DOMAINS);
        let email = format!("{name}.{n}@{domain}");
        let phone = format!("+1-555-{:04}", self.rng.random_range(0..10_000));
        let created = self.timestamp();
        vec![
            ("id", Value::Text(self.uuid())),
            ("user_id", Value::Text(Self::user_id(n % users.max(1)))),
            ("email", Value::Text(email)),
            ("phone", Value::Text(phone)),
            ("research_notes", Value::Text(self.pick(NOTES).to_string())),
            ("created_at", Value::DateTime(created)),
            ("updated_at", Value::DateTime(created)),
        ]
    }

    fn analysis(&mut self) -> Value {
        let tags: Vec<&str> = ["momentum", "value", "growth"]
            .into_iter()
            .filter(|_| self.rng.random_bool(0.4))
            .collect();
        Value::Json(json!({
            "sentiment": (self.rng.random_range(0..1000) as f64) / 1000.0,
            "technical_score": (self.rng.random_range(0..100) as f64) / 100.0,
            "tags": tags,
        }))
    }

    fn signals(&mut self) -> Value {
        let signal = self.pick(&["buy", "sell", "hold"]);
        Value::Json(json!({"momentum_signal": signal, "n": self.rng.random_range(0..1000)}))
    }

    fn strategy(&mut self) -> Value {
        let entry = self.rng.random_range(50..500) as f64;
        Value::Json(json!({"entry_price": entry, "target_price": entry * 1.17, "stop_loss": null}))
    }

    pub fn research_session(&mut self, n: usize, users: usize) -> Row {
        let created = self.timestamp();
        vec![
            ("id", Value::Text(self.uuid())),
            ("user_id", Value::Text(Self::user_id(n % users.max(1)))),
            ("ticker", Value::Text(self.pick(TICKERS).to_string())),
            (
                "session_type",
                Value::Text(self.pick(SESSION_TYPES).to_string()),
            ),
            ("analysis_data", self.analysis()),
            ("proprietary_signals", self.signals()),
            ("ai_insights", Value::Text(self.pick(INSIGHTS).to_string())),
            ("strategy_details", self.strategy()),
            ("created_at", Value::DateTime(created)),
            ("updated_at", Value::DateTime(created)),
        ]
    }

    pub fn secure_research_session(&mut self, n: usize, users: usize) -> Row {
        let created = self.timestamp();
        let vendor_key = format!("demo-{:016x}", self.rng.random::<u64>());
        vec![
            ("id", Value::Text(self.uuid())),
            ("user_id", Value::Text(Self::user_id(n % users.max(1)))),
            ("ticker", Value::Text(self.pick(TICKERS).to_string())),
            (
                "session_type",
                Value::Text(self.pick(SESSION_TYPES).to_string()),
            ),
            (
                "status",
                Value::Text(self.pick(&["active", "active", "archived"]).to_string()),
            ),
            ("analysis_data", self.analysis()),
            ("proprietary_signals", self.signals()),
            ("strategy_details", self.strategy()),
            (
                "api_keys",
                Value::Json(json!({"alpha_vantage": vendor_key, "polygon": null})),
            ),
            (
                "accessed_by",
                Value::Text(Self::user_id(self.rng.random_range(0..users.max(1)))),
            ),
            ("created_at", Value::DateTime(created)),
            ("updated_at", Value::DateTime(created)),
            ("created_by", Value::Text("demo-loader".into())),
            ("updated_by", Value::Text("demo-loader".into())),
        ]
    }

    pub fn sensitive_data(&mut self, n: usize, users: usize) -> Row {
        let created = self.timestamp();
        let account = format!(
            "DE{:02}{:018}",
            self.rng.random_range(10..99),
            self.rng.random::<u64>()
        );
        vec![
            ("id", Value::Text(self.uuid())),
            ("user_id", Value::Text(Self::user_id(n % users.max(1)))),
            ("label", Value::Text(format!("record {n}"))),
            (
                "data",
                Value::Json(
                    json!({"ssn": format!("***-**-{:04}", self.rng.random_range(0..10_000)),
                                   "income": self.rng.random_range(20_000..400_000)}),
                ),
            ),
            ("account_number", Value::Text(account)),
            ("created_at", Value::DateTime(created)),
            ("updated_at", Value::DateTime(created)),
            ("created_by", Value::Text("demo-loader".into())),
            ("updated_by", Value::Text("demo-loader".into())),
        ]
    }

    pub fn patient_record(&mut self, n: usize, users: usize) -> Row {
        let created = self.timestamp();
        let birth = NaiveDate::from_ymd_opt(1940, 1, 1).expect("valid date")
            + Duration::days(self.rng.random_range(0..25_000));
        let cents: i64 = self.rng.random_range(0..5_000_000);
        vec![
            ("id", Value::Int(n as i64 + 1)),
            ("user_id", Value::Text(Self::user_id(n % users.max(1)))),
            ("diagnosis", Value::Text(self.pick(DIAGNOSES).to_string())),
            ("date_of_birth", Value::Date(birth)),
            (
                "balance",
                Value::Numeric(format!("{}.{:02}", cents / 100, cents % 100)),
            ),
            ("visits", Value::Int(self.rng.random_range(0..40))),
            ("active", Value::Bool(self.rng.random_bool(0.8))),
            ("created_at", Value::DateTime(created)),
            ("updated_at", Value::DateTime(created)),
            ("deleted_at", Value::Null),
        ]
    }

    /// A row of the table no model declares (`newsletter_signups`): a plain e-mail address
    /// and, for about two in three, a plain phone number, in the formats people type.
    pub fn newsletter_signup(&mut self, n: usize) -> Row {
        let name = self.pick(FIRST);
        let domain = self.pick(DOMAINS);
        let email = format!("{name}.{n}@{domain}");
        let line: u32 = self.rng.random_range(0..10_000);
        let phone = match self.rng.random_range(0..3) {
            0 => Value::Text(format!("+1-555-{line:04}")),
            1 => Value::Text(format!("(555) 010-{line:04}")),
            _ => Value::Null,
        };
        let source = self.pick(&["footer", "checkout", "blog", "webinar"]);
        let at = self.timestamp();
        vec![
            ("id", Value::Int(n as i64 + 1)),
            ("email", Value::Text(email)),
            ("phone", phone),
            ("source", Value::Text(source.to_string())),
            ("signed_up_at", Value::DateTime(at)),
        ]
    }

    /// True for about `percent`% of draws: which values go under the old key.
    pub fn chance(&mut self, percent: u32) -> bool {
        self.rng.random_range(0..100) < percent
    }
}
