//! TLS for PostgreSQL and MySQL/MariaDB: which sqlx mode a connection uses, how much of the
//! server's identity that mode checks, and what a refused handshake means in words.
//!
//! The rule: `REQUIRE_SSL=true` means *verified* TLS, the certificate chain checked against
//! the trust roots and the host name checked against the certificate (`verify-full` /
//! `VERIFY_IDENTITY`). Nothing weaker would stop an attacker on the path from presenting
//! their own certificate. A mode written in the URL is never weakened by our settings; the
//! only change without `REQUIRE_SSL` is libpq's rule that `require` with a CA file verifies
//! the chain (sqlx documents it but does not do it).
//!
//! Trust roots are Mozilla's set compiled into the binary (sqlx's `tls-rustls` feature uses
//! `webpki-roots`, not the operating system's store) plus `SSL_ROOT_CERT_PATH` (or the URL's
//! `sslrootcert` / `ssl-ca`). A self-signed or private-CA certificate is trusted only when
//! its CA file is named there.

use sqlx::mysql::MySqlSslMode;
use sqlx::postgres::PgSslMode;

/// How much of the server's identity a connection's TLS mode checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsCheck {
    /// TLS is never attempted (`disable`, `allow`, `DISABLED`).
    Off,
    /// TLS when the server offers it, certificate not checked (`prefer`, the default).
    Opportunistic,
    /// TLS required, certificate not checked (`require`, `REQUIRED`).
    EncryptedOnly,
    /// The certificate chain is checked, the host name is not (`verify-ca`, `VERIFY_CA`).
    ChainOnly,
    /// Chain and host name checked (`verify-full`, `VERIFY_IDENTITY`).
    Verified,
}

impl TlsCheck {
    /// What an encrypted session under this mode is, in the words of `conn.tls`.
    pub fn describe(self) -> &'static str {
        match self {
            TlsCheck::Verified => "certificate and host name verified",
            TlsCheck::ChainOnly => "certificate chain checked, host name not checked",
            TlsCheck::EncryptedOnly | TlsCheck::Opportunistic | TlsCheck::Off => {
                "the server's certificate is not checked"
            }
        }
    }
}

/// The PostgreSQL mode to connect with: `requested` is what the URL (or `PGSSLMODE`) asked
/// for, `Prefer` when nothing did; `has_ca` whether a CA file is configured anywhere.
pub fn pg_ssl_mode(requested: PgSslMode, require_ssl: bool, has_ca: bool) -> PgSslMode {
    if require_ssl {
        // The strongest mode there is, so nothing the URL says can be stronger.
        return PgSslMode::VerifyFull;
    }
    match requested {
        PgSslMode::Require if has_ca => PgSslMode::VerifyCa,
        other => other,
    }
}

/// The MySQL/MariaDB mode to connect with (see [`pg_ssl_mode`]).
pub fn mysql_ssl_mode(requested: MySqlSslMode, require_ssl: bool, has_ca: bool) -> MySqlSslMode {
    if require_ssl {
        return MySqlSslMode::VerifyIdentity;
    }
    match requested {
        MySqlSslMode::Required if has_ca => MySqlSslMode::VerifyCa,
        other => other,
    }
}

pub fn pg_check(mode: PgSslMode) -> TlsCheck {
    match mode {
        PgSslMode::Disable | PgSslMode::Allow => TlsCheck::Off,
        PgSslMode::Prefer => TlsCheck::Opportunistic,
        PgSslMode::Require => TlsCheck::EncryptedOnly,
        PgSslMode::VerifyCa => TlsCheck::ChainOnly,
        PgSslMode::VerifyFull => TlsCheck::Verified,
    }
}

pub fn mysql_check(mode: MySqlSslMode) -> TlsCheck {
    match mode {
        MySqlSslMode::Disabled => TlsCheck::Off,
        MySqlSslMode::Preferred => TlsCheck::Opportunistic,
        MySqlSslMode::Required => TlsCheck::EncryptedOnly,
        MySqlSslMode::VerifyCa => TlsCheck::ChainOnly,
        MySqlSslMode::VerifyIdentity => TlsCheck::Verified,
    }
}

/// True when the URL's query names a CA file (`keys` are the driver's spellings).
pub(crate) fn url_names_ca(url: &str, keys: &[&str]) -> bool {
    let Some((_, query)) = url.split_once('?') else {
        return false;
    };
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .any(|(name, value)| !value.is_empty() && keys.contains(&name))
}

/// The URL query spellings of a CA file that sqlx-postgres reads.
pub(crate) const PG_CA_KEYS: [&str; 3] = ["sslrootcert", "ssl-root-cert", "ssl-ca"];
/// The URL query spellings of a CA file that sqlx-mysql reads.
pub(crate) const MYSQL_CA_KEYS: [&str; 2] = ["sslca", "ssl-ca"];

/// A refused TLS handshake explained: the cause and what to do, from the driver's reason
/// (rustls's words: sqlx wraps the handshake error in an I/O error, so only its text
/// survives). `None` when the failure is not about the server's certificate.
pub(crate) fn certificate_refusal(reason: &str, host: &str) -> Option<(String, String)> {
    let lower = reason.to_ascii_lowercase();
    if !lower.contains("invalid peer certificate") {
        return None;
    }
    let trust = "set SSL_ROOT_CERT_PATH to the CA certificate that issued the server's certificate";
    let (cause, remedy) = if lower.contains("not valid for name")
        || lower.contains("notvalidforname")
    {
        let names = reason
            .split_once("is only valid for ")
            // rustls lists names as `DnsName("localhost")`; the name alone reads better.
            .map(|(_, names)| {
                let names = names.trim().replace("DnsName(\"", "").replace("\")", "");
                format!(", it names {names}")
            })
            .unwrap_or_default();
        (
            format!("host name mismatch: the server's certificate is not for `{host}`{names}"),
            "connect by the name in the certificate (the host of DATABASE_URL) or reissue the certificate for this name".to_string(),
        )
    } else if lower.contains("unknownissuer") {
        (
            "certificate not trusted: it is self-signed or issued by a CA that is not among the trust roots".to_string(),
            trust.to_string(),
        )
    } else if lower.contains("expired") {
        (
            "certificate expired".to_string(),
            "renew the server's certificate".to_string(),
        )
    } else if lower.contains("notvalidyet") || lower.contains("not valid yet") {
        (
            "certificate not valid yet (check the clocks)".to_string(),
            "check this machine's and the server's clocks".to_string(),
        )
    } else {
        let detail = reason
            .split_once("invalid peer certificate: ")
            .map_or(reason, |(_, d)| d);
        (format!("certificate refused ({detail})"), trust.to_string())
    };
    Some((cause, remedy))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(requested: &str, require_ssl: bool, has_ca: bool) -> TlsCheck {
        let requested: PgSslMode = requested.parse().unwrap();
        pg_check(pg_ssl_mode(requested, require_ssl, has_ca))
    }

    fn my(requested: &str, require_ssl: bool, has_ca: bool) -> TlsCheck {
        let requested: MySqlSslMode = requested.parse().unwrap();
        mysql_check(mysql_ssl_mode(requested, require_ssl, has_ca))
    }

    #[test]
    fn require_ssl_means_verify_full_whatever_the_url_says() {
        for url_mode in [
            "disable",
            "allow",
            "prefer",
            "require",
            "verify-ca",
            "verify-full",
        ] {
            for has_ca in [false, true] {
                assert_eq!(pg(url_mode, true, has_ca), TlsCheck::Verified, "{url_mode}");
            }
        }
    }

    #[test]
    fn a_url_mode_is_never_weakened() {
        assert_eq!(pg("verify-full", false, false), TlsCheck::Verified);
        assert_eq!(pg("verify-full", false, true), TlsCheck::Verified);
        assert_eq!(pg("verify-ca", false, true), TlsCheck::ChainOnly);
        assert_eq!(pg("require", false, false), TlsCheck::EncryptedOnly);
        // libpq: `require` with a CA file verifies the chain.
        assert_eq!(pg("require", false, true), TlsCheck::ChainOnly);
        assert_eq!(pg("prefer", false, true), TlsCheck::Opportunistic);
        assert_eq!(pg("disable", false, false), TlsCheck::Off);
    }

    #[test]
    fn mysql_modes() {
        for url_mode in [
            "DISABLED",
            "PREFERRED",
            "REQUIRED",
            "VERIFY_CA",
            "VERIFY_IDENTITY",
        ] {
            for has_ca in [false, true] {
                assert_eq!(my(url_mode, true, has_ca), TlsCheck::Verified, "{url_mode}");
            }
        }
        assert_eq!(my("VERIFY_IDENTITY", false, false), TlsCheck::Verified);
        assert_eq!(my("VERIFY_CA", false, true), TlsCheck::ChainOnly);
        assert_eq!(my("REQUIRED", false, true), TlsCheck::ChainOnly);
        assert_eq!(my("REQUIRED", false, false), TlsCheck::EncryptedOnly);
        assert_eq!(my("PREFERRED", false, false), TlsCheck::Opportunistic);
        assert_eq!(my("DISABLED", false, true), TlsCheck::Off);
    }

    #[test]
    fn ca_in_the_url() {
        let url = "postgres://h/db?sslmode=require&sslrootcert=/ca.pem";
        assert!(url_names_ca(url, &PG_CA_KEYS));
        assert!(!url_names_ca(
            "postgres://h/db?sslmode=require",
            &PG_CA_KEYS
        ));
        assert!(url_names_ca("mysql://h/db?ssl-ca=/ca.pem", &MYSQL_CA_KEYS));
    }

    #[test]
    fn refusals_name_cause_and_remedy() {
        let (cause, remedy) =
            certificate_refusal("invalid peer certificate: UnknownIssuer", "127.0.0.1").unwrap();
        assert!(cause.contains("not trusted"), "{cause}");
        assert!(remedy.contains("SSL_ROOT_CERT_PATH"), "{remedy}");
        let (cause, remedy) = certificate_refusal(
            "invalid peer certificate: certificate not valid for name \"127.0.0.1\"; certificate is only valid for DnsName(\"localhost\")",
            "127.0.0.1",
        )
        .unwrap();
        assert!(cause.contains("host name mismatch"), "{cause}");
        assert!(cause.ends_with("it names localhost"), "{cause}");
        assert!(remedy.contains("name in the certificate"), "{remedy}");
        assert!(certificate_refusal("connection refused", "h").is_none());
    }
}
