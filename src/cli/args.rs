//! The command line of DESIGN §12, as clap types. Each subcommand's own arguments live
//! here too so `--help` is complete in one place; behaviour lives in the subcommand's file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Flags;

#[derive(Debug, Parser)]
#[command(
    name = "timber",
    version,
    about = "Operate Timber field-level database encryption"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags every command takes.
#[derive(Debug, Clone, Args, Default)]
pub struct GlobalArgs {
    /// Read settings from this env file instead of ./.env
    #[arg(long, global = true, value_name = "F")]
    pub env_file: Option<PathBuf>,
    /// Database URL (sqlite://, postgres://, mysql://, mariadb://); overrides DATABASE_URL
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Model YAML directory (repeatable); overrides TIMBER_MODELS
    #[arg(long = "models", global = true, value_name = "DIR")]
    pub models: Vec<PathBuf>,
    /// Access policy YAML; overrides TIMBER_POLICY
    #[arg(long, global = true, value_name = "F")]
    pub policy: Option<PathBuf>,
    /// Role from the policy; overrides TIMBER_ROLE
    #[arg(long, global = true, value_name = "R")]
    pub role: Option<String>,
    /// Acting user for audit entries and owner rules; overrides TIMBER_USER
    #[arg(long, global = true, value_name = "U")]
    pub user: Option<String>,
    /// Open the database session read-only
    #[arg(long, global = true, conflicts_with = "write")]
    pub read_only: bool,
    /// Allow writes even with OAK_ENV=production
    #[arg(long, global = true)]
    pub write: bool,
    /// Console theme (dark, light, high-contrast, mono, or a user theme)
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,
    /// Append diagnostics to this file as JSON lines (never keys or values); TIMBER_LOG sets the level
    #[arg(long, global = true, value_name = "F")]
    pub log_file: Option<PathBuf>,
}

impl GlobalArgs {
    pub fn to_flags(&self) -> Flags {
        Flags {
            env_file: self.env_file.clone(),
            database_url: self.database_url.clone(),
            models: self.models.clone(),
            policy: self.policy.clone(),
            role: self.role.clone(),
            user: self.user.clone(),
            read_only: self.read_only,
            write: self.write,
            theme: self.theme.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    #[default]
    Text,
    /// JSON (one object per line where there are many: `jsonl` is the same)
    #[value(alias = "jsonl")]
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the console (the default)
    Console(ConsoleArgs),
    /// Print one new Fernet key on stdout, nothing else
    Keygen(KeygenArgs),
    /// Show config sources, backend, models, key fingerprints and role (never a key)
    Info(InfoArgs),
    /// Create the model and system tables (idempotent; says what it created)
    Init(InitArgs),
    /// Print records of one model, decrypted (JSON lines, CSV or a table)
    Browse(BrowseArgs),
    /// Write a seeded demo database with planted problems and open the console on it
    Demo(DemoArgs),
    /// Re-encrypt values under the current keys, online and resumable
    Rotate(RotateArgs),
    /// Show rotation jobs (of every process) from the jobs table
    Jobs(JobsArgs),
    /// List keys with their status, or retire one no value depends on
    Keys(KeysArgs),
    /// List, follow or verify the tamper-evident audit log
    Audit(Box<AuditArgs>),
    /// Count values per key fingerprint for each encrypted column (no decryption)
    Census(CensusArgs),
    /// Run the health checks; exit 0 ok, 1 warnings, 2 failures
    Health(HealthArgs),
    /// Print the Prometheus metrics once (for node_exporter's textfile collector)
    Metrics(MetricsArgs),
    /// Find columns not declared encrypted whose values look sensitive (counts, never values)
    Discover(DiscoverArgs),
    /// Write an evidence report for auditors: one self-contained HTML file (or JSON)
    Report(ReportArgs),
}

impl Command {
    /// The subcommand's name as typed, for diagnostics.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Console(_) => "console",
            Command::Keygen(_) => "keygen",
            Command::Info(_) => "info",
            Command::Init(_) => "init",
            Command::Browse(_) => "browse",
            Command::Demo(_) => "demo",
            Command::Rotate(_) => "rotate",
            Command::Jobs(_) => "jobs",
            Command::Keys(_) => "keys",
            Command::Audit(_) => "audit",
            Command::Census(_) => "census",
            Command::Health(_) => "health",
            Command::Metrics(_) => "metrics",
            Command::Discover(_) => "discover",
            Command::Report(_) => "report",
        }
    }
}

#[derive(Debug, Clone, Args, Default)]
pub struct ConsoleArgs {
    /// Serve Prometheus metrics at http://ADDR/metrics while the console runs
    /// (e.g. 127.0.0.1:9464)
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,
}

/// `timber metrics`: no options; the global flags choose the database.
#[derive(Debug, Clone, Args)]
pub struct MetricsArgs {}

#[derive(Debug, Clone, Args)]
pub struct CensusArgs {
    /// Only this model (name or table name)
    #[arg(long, value_name = "M")]
    pub model: Option<String>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

#[derive(Debug, Clone, Args)]
pub struct HealthArgs {
    /// Only these checks: ids or families, comma separated (key.age,data)
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    pub only: Vec<String>,
    /// Read at most N rows per table (first N in key order); findings say so
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub sample: Option<u64>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

#[derive(Debug, Clone, Args)]
pub struct DiscoverArgs {
    /// Read at most N rows of each table
    #[arg(long, value_name = "N", default_value_t = crate::health::discover::DEFAULT_SAMPLE,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub sample: u32,
    /// Print the model YAML that would declare what was found encrypted
    #[arg(long)]
    pub suggest: bool,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// The file to write (default: timber-report-<time>.html or .json in the working
    /// directory); `-` writes to stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// History from this time: RFC 3339, a date, or a duration ago (7d, 2h)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// History before this time (same forms as --since)
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
    pub format: ReportFormat,
}

/// `timber report --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Html,
    Json,
}

impl ReportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Html => "html",
            ReportFormat::Json => "json",
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// List the tables and indexes init would create, and create nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Args)]
pub struct InfoArgs {
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Directory to write the demo into (.env, models/, policy.yaml, timber.db)
    #[arg(long, default_value = "timber-demo")]
    pub dir: PathBuf,
    /// Rows for each of the two main models (the others get fewer)
    #[arg(long, default_value_t = 2000)]
    pub rows: usize,
    /// Seed for the generated values (same seed, same data)
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Replace an existing demo database in --dir (or the demo's tables in --schema)
    #[arg(long)]
    pub force: bool,
    /// Only write the demo; do not open the console
    #[arg(long)]
    pub no_console: bool,
    /// A PostgreSQL or MySQL/MariaDB server to write the demo to (into --schema) instead of
    /// DIR/timber.db
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// With --database-url: the PostgreSQL schema or MySQL/MariaDB database to create and
    /// fill (default timber_demo); one holding tables is refused unless --force
    #[arg(long, value_name = "NAME")]
    pub schema: Option<String>,
    // The global flags the demo refuses (it writes and opens its own models, policy and
    // .env), declared here hidden under the same ids: clap then does not copy the global
    // ones into `timber demo --help`, and `timber demo --models x` still reaches the refusal.
    #[arg(long, hide = true, value_name = "F")]
    pub env_file: Option<PathBuf>,
    #[arg(long, hide = true, value_name = "DIR")]
    pub models: Vec<PathBuf>,
    #[arg(long, hide = true, value_name = "F")]
    pub policy: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct BrowseArgs {
    /// Model name or table name
    pub model: String,
    /// Rows to print, at least 1
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Start after this primary key (keyset paging)
    #[arg(long, value_name = "PK", conflicts_with = "find")]
    pub after: Option<String>,
    /// Exact match on one field (an encrypted field through its blind index)
    #[arg(long, value_name = "FIELD=VALUE")]
    pub find: Option<String>,
    /// Show what the role may reveal, as one audited action
    #[arg(long)]
    pub reveal: bool,
    /// Why you reveal (kept in the audit entry)
    #[arg(long, requires = "reveal", value_name = "TEXT")]
    pub reason: Option<String>,
    #[arg(long, value_enum, default_value_t = BrowseFormat::Table)]
    pub format: BrowseFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum BrowseFormat {
    #[default]
    Table,
    Json,
    Csv,
}

#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: Option<AuditAction>,
    /// Keep printing new entries as any process writes them (Ctrl-C to stop)
    #[arg(long, conflicts_with = "verify")]
    pub follow: bool,
    /// Verify the whole hash chain and the head; exit 2 when it is broken
    #[arg(long)]
    pub verify: bool,
    /// With --verify: a head printed by an earlier verify, kept outside the database
    #[arg(long, requires = "verify", value_name = "H")]
    pub expect_head: Option<String>,
    /// With --verify: check the signed checkpoints with this public key file alone (no data
    /// key, no master key needed); AUDIT_PUBLIC_KEY / AUDIT_PUBLIC_KEY_FILE set it too
    #[arg(long, requires = "verify", value_name = "FILE")]
    pub public_key: Option<std::path::PathBuf>,
    /// With --verify: a checkpoint note kept outside the database, which the log must still match
    #[arg(long, requires = "verify", value_name = "FILE")]
    pub checkpoint: Option<std::path::PathBuf>,
    /// Only entries about this model (or table)
    #[arg(long, value_name = "M")]
    pub model: Option<String>,
    /// Only entries by this user
    #[arg(long, value_name = "U")]
    pub actor: Option<String>,
    /// Only this action (reveal, insert, update, delete, rotation.start, ...)
    #[arg(long, value_name = "A")]
    pub action: Option<String>,
    /// Only entries at or after TIME (2026-11-29, 2026-11-29T16:30:00Z, or 15m / 2h / 7d ago)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only entries before TIME
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only entries with this text in actor, action, table, record id, fields or plain detail
    /// (a reason, the record ids a reveal lists)
    #[arg(long, value_name = "TEXT")]
    pub grep: Option<String>,
    /// Only entries that showed or touched record ID: its record id, or one of the ids a
    /// reveal of rows lists (entries whose id list was cut are shown as possible matches)
    #[arg(long, value_name = "ID")]
    pub record: Option<String>,
    /// Entries per page (newest first)
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub limit: u32,
    /// The next page: entries older than this id
    #[arg(long, value_name = "ID", conflicts_with = "follow")]
    pub before: Option<i64>,
    /// Show one entry: its hashes, plain detail and changed values (masked for the role)
    #[arg(long, value_name = "ID", conflicts_with_all = ["follow", "verify"])]
    pub show: Option<i64>,
    /// With --show: reveal the changed values the role may reveal (writes an audit entry)
    #[arg(long, requires = "show")]
    pub reveal: bool,
    /// With --reveal: why you reveal (kept in the audit entry)
    #[arg(long, requires = "reveal", value_name = "TEXT")]
    pub reason: Option<String>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// `timber keygen [--audit [--name NAME]]`.
#[derive(Debug, Clone, Args)]
pub struct KeygenArgs {
    /// An Ed25519 audit signing key (AUDIT_SIGNING_KEY) and its public key (AUDIT_PUBLIC_KEY)
    /// instead of a Fernet key
    #[arg(long)]
    pub audit: bool,
    /// With --audit: the key's name, shown in every checkpoint it signs
    #[arg(
        long,
        requires = "audit",
        default_value = "timber-audit",
        value_name = "NAME"
    )]
    pub name: String,
}

/// `timber audit checkpoint` and `timber audit prove ID`.
#[derive(Debug, Clone, Subcommand)]
pub enum AuditAction {
    /// Sign the log's Merkle root with AUDIT_SIGNING_KEY, store the checkpoint and print it
    /// (a signed note to keep outside the database)
    Checkpoint {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Bring an existing log under signed checkpoints: verify its chain with the master key,
    /// record the old head in an `audit.migrate` entry, sign a checkpoint covering it all
    Migrate {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Hand the audit signing over from AUDIT_SIGNING_KEY_OLD (the key in force) to
    /// AUDIT_SIGNING_KEY: an `audit.signing_key` entry names both public keys and the
    /// checkpoint over it is signed by both, so auditors holding either key follow the history
    RotateSigningKey {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Print a proof that entry ID is in the newest checkpoint that covers it (JSON)
    Prove {
        /// The entry's id
        id: i64,
    },
    /// Every entry (or those in a time range) as one line each, with its hash and the
    /// checkpoint covering it, for a SIEM: JSON lines or ArcSight CEF
    Export {
        /// Only entries at or after TIME (2026-11-29, 2026-11-29T16:30:00Z, or 2h / 7d ago)
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Only entries before TIME
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        #[arg(long, value_enum, default_value_t = SiemFormat::Jsonl)]
        format: SiemFormat,
    },
}

/// What `timber audit export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SiemFormat {
    /// One JSON object per line
    Jsonl,
    /// ArcSight Common Event Format, one event per line
    Cef,
}

#[derive(Debug, Clone, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["model", "all", "resume", "join"]))]
pub struct RotateArgs {
    /// Rotate one model (name or table name)
    #[arg(long, value_name = "M")]
    pub model: Option<String>,
    /// Rotate every model with encrypted columns, one job each
    #[arg(long)]
    pub all: bool,
    /// Rows per batch (default: adaptive)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=20000))]
    pub batch: Option<u32>,
    /// Plan only: count what would change, write nothing
    #[arg(long, conflicts_with = "resume")]
    pub dry_run: bool,
    /// Also encrypt plaintext found in encrypted columns (and fill their blind indexes)
    #[arg(long)]
    pub encrypt_plaintext: bool,
    /// Resume a paused, failed or interrupted job from its cursor
    #[arg(long, value_name = "JOB")]
    pub resume: Option<i64>,
    /// Join a running job from this machine: claim its chunks beside its other workers
    #[arg(long, value_name = "JOB", conflicts_with_all = ["dry_run", "resume", "model", "all"])]
    pub join: Option<i64>,
    /// Workers in this process (1-64), each on its own connection (PostgreSQL, MySQL/MariaDB;
    /// SQLite has one writer). A rerun with --workers joins a job another live worker runs
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub workers: Option<u32>,
    /// Seconds a claimed chunk stays this process's without a commit; after that another
    /// worker takes it over (default 30)
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub lease: Option<u64>,
    /// Rows per second at most, per job (0 = unlimited; overrides ROTATION_MAX_ROWS_PER_SECOND;
    /// a resumed job keeps the rate it was started with)
    #[arg(long, value_name = "N", allow_hyphen_values = true,
          value_parser = crate::config::parse_rate)]
    pub max_rate: Option<u64>,
    /// Wait while replication lag is over SECONDS (PostgreSQL: pg_stat_replication's write,
    /// flush and replay lag); changeable while the job runs with `timber jobs set`
    #[arg(long, value_name = "SECONDS", allow_hyphen_values = true, value_parser = parse_lag)]
    pub max_lag: Option<f64>,
    /// MySQL/MariaDB: the replica whose Seconds_Behind_Source --max-lag watches (a URL; TLS
    /// as the main connection's settings; read-only)
    #[arg(long, value_name = "URL", requires = "max_lag")]
    pub lag_from: Option<String>,
    /// Serve Prometheus metrics at http://ADDR/metrics while the rotation runs
    /// (e.g. 127.0.0.1:9464)
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct JobsArgs {
    #[command(subcommand)]
    pub action: Option<JobsAction>,
    /// Refresh every second until interrupted
    #[arg(long)]
    pub watch: bool,
    /// Jobs to show, newest first
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: u32,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// `timber jobs set JOB --max-rate N`.
#[derive(Debug, Clone, Subcommand)]
pub enum JobsAction {
    /// Change a job's rate limit or replication-lag limit while it runs (its workers pick it
    /// up within a second), or for its resume when it is paused, failed or interrupted
    #[command(group = clap::ArgGroup::new("limit").required(true).multiple(true).args(["max_rate", "max_lag"]))]
    Set {
        /// The job's id, as `timber jobs` lists it
        job: i64,
        /// Rows per second at most (0 = unlimited)
        #[arg(long, value_name = "N", allow_hyphen_values = true,
              value_parser = crate::config::parse_rate)]
        max_rate: Option<u64>,
        /// Seconds of replication lag past which the job's workers wait (0 = not watched;
        /// PostgreSQL)
        #[arg(long, value_name = "SECONDS", allow_hyphen_values = true,
              value_parser = parse_lag)]
        max_lag: Option<f64>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
}

#[derive(Debug, Clone, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub action: KeysAction,
}

#[derive(Debug, Clone, Subcommand)]
pub enum KeysAction {
    /// Configured and registered keys: id, fingerprint, source, status (never a key)
    List {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Mark a key retired once no stored value depends on it (proven by a full scan)
    Retire {
        /// Key id as `keys list` shows it (old_1, a named key, master_old)
        key_id: String,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
}

/// `--max-lag SECONDS`: a number of seconds, 0 or more (0: lag is not watched).
fn parse_lag(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => Ok(s),
        Ok(_) => Err(format!("`{text}` is not a number of seconds of 0 or more")),
        Err(_) => Err(format!(
            "`{text}` is not a number of seconds (e.g. 5 or 0.5)"
        )),
    }
}
