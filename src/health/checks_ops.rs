//! AUDIT, CONN, ROT and ENV families: the audit log is on, its chain verifies and
//! sensitive models are audited; the connection's TLS is verified; rotation jobs are
//! progressing; secret-like environment variables hold tokens, not plaintext.

use chrono::NaiveDateTime;

use super::report::{Evidence, Finding, Severity};
use crate::config::{Classification, Mixin, ModelDef, Settings};
use crate::crypto::{KeyRing, inspect};
use crate::rotation::{JobState, heartbeat_age, worker_alive_at};
use crate::store::AUDIT_LOG;
use crate::store::{JobRow, JobStatus};
use crate::store::{Store, TlsCheck};

/// audit.enabled: ENABLE_AUDIT_LOG is on and the audit table exists.
pub fn audit_enabled(settings: &Settings, table_exists: bool) -> Finding {
    let id = "audit.enabled";
    let at = Evidence::none().with("table", AUDIT_LOG);
    if !settings.enable_audit_log {
        let severity = if settings.is_production() {
            Severity::Fail
        } else {
            Severity::Warn
        };
        return Finding::new(
            id,
            severity,
            "ENABLE_AUDIT_LOG is off: reveals, writes and rotations are not recorded",
        )
        .evidence(at)
        .remedy("Set ENABLE_AUDIT_LOG=true (and run `timber init` so the table exists)");
    }
    if !table_exists {
        return Finding::fail(id, format!("ENABLE_AUDIT_LOG is on but `{AUDIT_LOG}` does not exist: audited actions are refused"))
            .evidence(at)
            .remedy("Run `timber init` to create the system tables");
    }
    Finding::ok(id, format!("audit log enabled, `{AUDIT_LOG}` exists")).evidence(at)
}

/// audit.chain: the stored hash chain verifies (keyed from the master key).
pub async fn audit_chain(store: &Store, ring: &KeyRing, table_exists: bool) -> Finding {
    let id = "audit.chain";
    let at = || Evidence::none().with("table", AUDIT_LOG);
    if !table_exists {
        return Finding::ok(id, "no audit log to verify (see audit.enabled)").evidence(at());
    }
    let Some(key) = ring.audit_key() else {
        return Finding::warn(
            id,
            "cannot verify the audit chain: MASTER_ENCRYPTION_KEY is not usable (see key.master)",
        )
        .evidence(at())
        .remedy("Configure MASTER_ENCRYPTION_KEY, then run `timber audit --verify`");
    };
    let old = ring.audit_key_old();
    match crate::audit::query::verify_rotated(store, &key, old.as_ref(), None).await {
        Err(err) => Finding::fail(id, format!("the audit chain could not be read: {err}"))
            .evidence(at())
            .remedy("Fix the cause named, then run `timber audit --verify`"),
        Ok(report) if report.ok => Finding::ok(
            id,
            format!(
                "chain of {} intact",
                crate::plural::count_as(report.entries, "entry", "entries")
            ),
        )
        .evidence(at().count(report.entries).with("head", report.head.clone())),
        Ok(report) => {
            let damage = report.damage.map_or("broken", |d| d.as_str());
            let reason = report
                .reason
                .clone()
                .unwrap_or_else(|| "the chain does not verify".into());
            let mut ev = at().count(report.entries).with("damage", damage);
            ev.table = Some(AUDIT_LOG.to_string());
            Finding::fail(id, format!("audit chain broken: {reason}"))
                .evidence(ev.ids(report.first_broken.map(|i| i.to_string())))
                .remedy("Treat as an incident: the log was changed by someone with database access. Compare with a backup and keep the output of `timber audit --verify`")
        }
    }
}

/// audit.coverage: critical and sensitive models without AuditMixin.
pub fn audit_coverage(models: &[&ModelDef]) -> Vec<Finding> {
    let id = "audit.coverage";
    let mut out: Vec<Finding> = models
        .iter()
        .filter(|m| {
            matches!(
                m.classification,
                Some(Classification::Critical | Classification::Sensitive)
            )
        })
        .filter(|m| !m.has_mixin(Mixin::Audit))
        .map(|m| {
            let class = m.classification.map_or("", Classification::as_str);
            Finding::warn(
                id,
                format!(
                    "{class} model is not audited (no AuditMixin): changes to it leave no trace"
                ),
            )
            .evidence(Evidence::at(&m.name, &m.table_name, None).with("classification", class))
            .remedy(format!(
                "Add AuditMixin to the mixins of {} ({})",
                m.name,
                crate::config::shown_path(&m.source)
            ))
        })
        .collect();
    if out.is_empty() {
        out.push(Finding::ok(
            id,
            "every critical or sensitive model has AuditMixin",
        ));
    }
    out
}

/// True when a database URL's host is this machine (loopback or a local socket).
pub fn is_local_host(url: &str) -> bool {
    let Some(rest) = url.split_once("://").map(|(_, r)| r) else {
        return true;
    };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    host.is_empty() || host == "localhost" || host.starts_with("127.") || host == "::1"
}

/// conn.tls: how the connection is protected, in one of three words: `verified` (TLS with
/// the certificate chain and host name checked), `encrypted, not verified` (TLS that an
/// attacker on the path could terminate with their own certificate: warns, except on
/// loopback outside production), or `plaintext` (fails when REQUIRE_SSL or production
/// demands TLS, fine on loopback, warns elsewhere).
/// SQLite is a local file (nothing to protect in transit).
pub fn tls(settings: &Settings, store: &Store, uses_tls: Option<bool>) -> Finding {
    let id = "conn.tls";
    let url = store.url_redacted();
    let ev = Evidence::none()
        .with("database", url.clone())
        .with("require_ssl", settings.require_ssl);
    if store.dialect() == crate::store::Dialect::Sqlite {
        return Finding::ok(id, "SQLite is a local file: no connection to protect").evidence(ev);
    }
    let verify = "Set REQUIRE_SSL=true (or sslmode=verify-full / ssl-mode=VERIFY_IDENTITY in the URL) so the server's certificate and host name are verified; for a self-signed or private-CA certificate also set SSL_ROOT_CERT_PATH to its CA";
    if uses_tls == Some(true) {
        return match store.tls_check() {
            Some(TlsCheck::Verified) => Finding::ok(
                id,
                format!(
                    "verified: the connection to {url} uses TLS, certificate and host name verified"
                ),
            )
            .evidence(ev.with("tls", "verified")),
            check => {
                let how = check.map_or(
                    "the server's certificate is not checked",
                    TlsCheck::describe,
                );
                let finding =
                    format!("encrypted, not verified: the connection to {url} uses TLS but {how}");
                let ev = ev.with("tls", "encrypted, not verified");
                // On loopback there is no path for anyone to sit on, as for plaintext.
                if is_local_host(&url) && !settings.is_production() {
                    Finding::ok(id, format!("{finding} (loopback)")).evidence(ev)
                } else {
                    Finding::warn(id, finding).evidence(ev).remedy(verify)
                }
            }
        };
    }
    let ev = ev.with("tls", "plaintext");
    let remedy = "Enable TLS on the server and set REQUIRE_SSL=true (verified TLS; SSL_ROOT_CERT_PATH for a private CA)";
    let unknown = if uses_tls.is_none() {
        " (the server does not say; assumed not TLS)"
    } else {
        ""
    };
    if settings.require_ssl {
        Finding::fail(
            id,
            format!("plaintext: REQUIRE_SSL=true but the connection to {url} is not TLS{unknown}"),
        )
        .evidence(ev)
        .remedy(remedy)
    } else if settings.is_production() {
        Finding::fail(
            id,
            format!("plaintext: production connection to {url} is not TLS{unknown}"),
        )
        .evidence(ev)
        .remedy(remedy)
    } else if is_local_host(&url) {
        Finding::ok(
            id,
            format!("plaintext: loopback connection without TLS{unknown}"),
        )
        .evidence(ev)
    } else {
        Finding::warn(
            id,
            format!("plaintext: connection to {url} is not TLS{unknown}"),
        )
        .evidence(ev)
        .remedy(remedy)
    }
}

/// rotation.stalled: active jobs whose worker is gone, failed jobs, and finished jobs that
/// left values unrotated. Whether a worker is gone is decided by `rotation::JobState`, the
/// same judgement `timber jobs` and the console show (`running (worker gone)`): a heartbeat
/// older than a minute, or, on this host, a worker process that no longer exists.
pub fn rotation(jobs: &[JobRow], now: NaiveDateTime) -> Vec<Finding> {
    let id = "rotation.stalled";
    let mut out = Vec::new();
    for job in jobs {
        let alive = worker_alive_at(job, now);
        let ev = || {
            let mut e = Evidence::none()
                .count(job.rows_failed.max(0) as u64)
                .with("job", job.id);
            e.table = Some(job.table_name.clone());
            if job.status.is_active() {
                e = e
                    .with("worker_alive", alive)
                    .with("heartbeat_age_seconds", heartbeat_age(job, now));
                if let Some(worker) = &job.worker {
                    e = e.with("worker", worker.clone());
                }
            }
            e
        };
        let status = job.status;
        if let JobState::Interrupted(_) = JobState::at(job, now) {
            let quiet = heartbeat_age(job, now);
            let since = if quiet < 60 {
                format!("{quiet} s ago")
            } else {
                format!("{} minutes ago", quiet / 60)
            };
            out.push(Finding::warn(id, format!("rotation job {} on `{}` is {status} but its worker is gone (last heartbeat {since})", job.id, job.table_name))
                .evidence(ev())
                .remedy(format!("`timber rotate --resume {}` continues it from its cursor (`timber jobs` shows it as {status} (worker gone))", job.id)));
        } else if status.is_active() {
            // Its worker is alive: progressing, nothing to say.
        } else if status == JobStatus::Failed {
            out.push(
                Finding::warn(
                    id,
                    format!("rotation job {} on `{}` failed", job.id, job.table_name),
                )
                .evidence(ev())
                .remedy(format!(
                    "See `timber jobs`, fix the cause, then `timber rotate --resume {}`",
                    job.id
                )),
            );
        } else if job.rows_failed > 0 {
            out.push(Finding::warn(id, format!("rotation job {} on `{}` ended {status} with {} values it could not rotate", job.id, job.table_name, job.rows_failed))
                .evidence(ev())
                .remedy("See data.undecryptable for those values; `timber jobs` lists the job's failures"));
        }
    }
    if out.is_empty() {
        out.push(Finding::ok(
            id,
            format!(
                "no stalled or failed rotation jobs ({} recorded)",
                crate::plural::count(jobs.len() as u64, "job")
            ),
        ));
    }
    out
}

/// env.plaintext_secret: a `*_API_KEY`-style variable whose value is not a token our
/// keys decrypt (the guide keeps such secrets encrypted).
pub fn plaintext_secrets(settings: &Settings, ring: &KeyRing) -> Vec<Finding> {
    let id = "env.plaintext_secret";
    let mut out = Vec::new();
    for (name, value) in &settings.secret_like_vars {
        let text = inspect::unquote(value.value.expose());
        let why = match ring.decrypt_token(text, None) {
            Ok(_) => continue,
            Err(crate::crypto::CellError::NotAToken | crate::crypto::CellError::NotText) => {
                "holds plaintext, not a Fernet token"
            }
            Err(crate::crypto::CellError::UnknownKey) => "holds a token no configured key decrypts",
            Err(crate::crypto::CellError::Corrupted) => "holds a corrupted token",
        };
        out.push(Finding::warn(id, format!("{name} {why}"))
            .evidence(Evidence::none().with("variable", name.clone()).with("source", value.source.to_string()))
            .remedy(format!("Store {name} encrypted under ENCRYPTION_KEY (a Fernet token) and decrypt it at use, or move it to a secret manager")));
    }
    if out.is_empty() {
        let n = settings.secret_like_vars.len();
        out.push(Finding::ok(
            id,
            if n == 0 {
                "no *_API_KEY-style variables are set".to_string()
            } else {
                format!(
                    "{} {} tokens our keys decrypt",
                    crate::plural::count(n as u64, "secret-like variable"),
                    crate::plural::pick(n as u64, "holds", "hold")
                )
            },
        ));
    }
    out
}
