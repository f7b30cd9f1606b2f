//! What differs between SQLite, PostgreSQL and MySQL/MariaDB in the SQL we write: identifier
//! quoting, placeholders (and the casts PostgreSQL needs around them), column types, and the
//! expression that reads a column back in a shape every driver can decode.
//!
//! Identifiers come from model YAML, which the loader validates; they are quoted here anyway
//! (doubling the quote character) so a reserved word such as `cursor` or `order` still works.

use crate::config::{ColumnDef, ColumnType};

/// The SQL dialect of the connected database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    Sqlite,
    Postgres,
    Mysql,
}

/// The primitive shape a value travels in between us and the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    Bool,
    Int,
    Float,
    Text,
    Date,
    DateTime,
    Bytes,
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
            Dialect::Mysql => "mysql",
        }
    }

    /// Quotes an identifier: `"x"` (SQLite, PostgreSQL) or `` `x` `` (MySQL).
    pub fn quote(self, ident: &str) -> String {
        let q = if self == Dialect::Mysql { '`' } else { '"' };
        let mut out = String::with_capacity(ident.len() + 2);
        out.push(q);
        for ch in ident.chars() {
            if ch == q {
                out.push(q);
            }
            out.push(ch);
        }
        out.push(q);
        out
    }

    /// The `n`-th (1-based) bind placeholder for a value of `column`. PostgreSQL is strict about
    /// parameter types, so text sent for a JSON or NUMERIC column is cast explicitly.
    pub fn placeholder(self, n: usize, column: &ColumnDef) -> String {
        match self {
            Dialect::Sqlite | Dialect::Mysql => "?".to_string(),
            Dialect::Postgres => match pg_cast(column) {
                Some(cast) => format!("${n}::{cast}"),
                None => format!("${n}"),
            },
        }
    }

    /// A bare placeholder for a value whose SQL type is already text or a native type.
    pub fn param(self, n: usize) -> String {
        match self {
            Dialect::Sqlite | Dialect::Mysql => "?".to_string(),
            Dialect::Postgres => format!("${n}"),
        }
    }

    /// The expression that selects `column` so it decodes as [`wire_for`] says. PostgreSQL
    /// numeric and JSON come back as text and its integers widen to 64 bits; MySQL and SQLite
    /// values are decoded leniently by their backends instead.
    pub fn select_expr(self, column: &ColumnDef) -> String {
        let quoted = self.quote(&column.name);
        if self != Dialect::Postgres {
            return quoted;
        }
        if column.encrypted {
            return format!("{quoted}::text");
        }
        match column.ty {
            ColumnType::Integer => format!("{quoted}::int8"),
            ColumnType::Float => format!("{quoted}::float8"),
            ColumnType::Numeric(..) | ColumnType::Json => format!("{quoted}::text"),
            _ => quoted,
        }
    }

    /// A plain column as text, for a substring match (`LIKE`): numbers, dates and JSON in
    /// their text form; text columns as they are.
    pub fn as_text_expr(self, column: &ColumnDef) -> String {
        let quoted = self.quote(&column.name);
        match (self, &column.ty) {
            (_, ColumnType::String(_) | ColumnType::Text) => quoted,
            (Dialect::Mysql, _) => format!("CAST({quoted} AS CHAR)"),
            _ => format!("CAST({quoted} AS TEXT)"),
        }
    }

    /// The text form of a stored column, for comparing a stored token exactly (compare-and-set).
    /// A JSON column has no `=` in PostgreSQL and compares as JSON in MySQL; as text it
    /// compares byte for byte.
    pub fn stored_text_expr(self, column: &ColumnDef) -> String {
        let quoted = self.quote(&column.name);
        match (self, stores_json(column)) {
            (Dialect::Postgres, true) => format!("{quoted}::text"),
            (Dialect::Mysql, true) => format!("CAST({quoted} AS CHAR)"),
            _ => quoted,
        }
    }

    /// The SQL type `timber init` declares for `column`.
    pub fn column_type(self, column: &ColumnDef) -> String {
        if column.encrypted {
            return self.encrypted_column_type(column);
        }
        use ColumnType as T;
        match (self, &column.ty) {
            (Dialect::Mysql, T::String(None)) => "VARCHAR(255)".into(),
            (Dialect::Postgres, T::String(None)) => "TEXT".into(),
            (_, T::String(None)) => "VARCHAR".into(),
            (_, T::String(Some(n))) => format!("VARCHAR({n})"),
            (Dialect::Mysql, T::Text) => "LONGTEXT".into(),
            (_, T::Text) => "TEXT".into(),
            (Dialect::Mysql, T::Integer) => "INT".into(),
            (_, T::Integer) => "INTEGER".into(),
            (_, T::BigInteger) => "BIGINT".into(),
            (Dialect::Postgres, T::Float) => "DOUBLE PRECISION".into(),
            (Dialect::Mysql, T::Float) => "DOUBLE".into(),
            (Dialect::Sqlite, T::Float) => "FLOAT".into(),
            (Dialect::Mysql, T::Numeric(p, s)) => format!("DECIMAL({p},{s})"),
            (_, T::Numeric(p, s)) => format!("NUMERIC({p},{s})"),
            (_, T::Boolean) => "BOOLEAN".into(),
            (_, T::Date) => "DATE".into(),
            (Dialect::Postgres, T::DateTime) => "TIMESTAMP".into(),
            (Dialect::Mysql, T::DateTime) => "DATETIME(6)".into(),
            (Dialect::Sqlite, T::DateTime) => "DATETIME".into(),
            (_, T::Json) => "JSON".into(),
            (Dialect::Postgres, T::LargeBinary) => "BYTEA".into(),
            (Dialect::Mysql, T::LargeBinary) => "LONGBLOB".into(),
            (Dialect::Sqlite, T::LargeBinary) => "BLOB".into(),
        }
    }

    /// Encrypted columns hold tokens, not the declared type: JSON stays JSON (the token is
    /// stored as a JSON string, as Python Timber's ORM does); `String(N)` becomes a VARCHAR
    /// wide enough for the token of N characters; everything else is text.
    fn encrypted_column_type(self, column: &ColumnDef) -> String {
        let long_text = if self == Dialect::Mysql {
            "LONGTEXT"
        } else {
            "TEXT"
        };
        match column.ty {
            ColumnType::Json => "JSON".into(),
            ColumnType::String(Some(n)) => {
                let width = encrypted_width(n);
                // MySQL counts every VARCHAR's declared bytes (4 per utf8mb4 character) against a
                // 65 535-byte row limit, so wide token columns become TEXT there (64 KiB).
                if self == Dialect::Mysql && width > 2048 {
                    if width <= 16_000 {
                        "TEXT".into()
                    } else {
                        long_text.into()
                    }
                } else {
                    format!("VARCHAR({width})")
                }
            }
            _ => long_text.into(),
        }
    }
}

/// True when the column's SQL type is JSON (so a stored token is a quoted JSON string).
pub fn stores_json(column: &ColumnDef) -> bool {
    column.ty == ColumnType::Json
}

/// The cast PostgreSQL needs on a text parameter for this column, if any.
fn pg_cast(column: &ColumnDef) -> Option<&'static str> {
    match column.ty {
        ColumnType::Json => Some("json"),
        ColumnType::Numeric(..) if !column.encrypted => Some("numeric"),
        _ => None,
    }
}

/// How a column's values travel: encrypted columns always as text (the token).
pub fn wire_for(column: &ColumnDef) -> Wire {
    if column.encrypted {
        return Wire::Text;
    }
    match column.ty {
        ColumnType::String(_) | ColumnType::Text | ColumnType::Numeric(..) | ColumnType::Json => {
            Wire::Text
        }
        ColumnType::Integer | ColumnType::BigInteger => Wire::Int,
        ColumnType::Float => Wire::Float,
        ColumnType::Boolean => Wire::Bool,
        ColumnType::Date => Wire::Date,
        ColumnType::DateTime => Wire::DateTime,
        ColumnType::LargeBinary => Wire::Bytes,
    }
}

/// Length in characters of the Fernet token for `plaintext_bytes` bytes of plaintext.
///
/// Fernet spec: version (1) ‖ timestamp (8) ‖ IV (16) ‖ AES-128-CBC ciphertext ‖ HMAC (32).
/// PKCS7 always pads, to the next multiple of 16: `16 * (floor(bytes / 16) + 1)` bytes of
/// ciphertext. The token is url-safe base64 with padding: `4 * ceil(raw / 3)` characters.
pub fn fernet_token_len(plaintext_bytes: usize) -> usize {
    let ciphertext = 16 * (plaintext_bytes / 16 + 1);
    let raw = 1 + 8 + 16 + ciphertext + 32;
    4 * raw.div_ceil(3)
}

/// Column width for an encrypted `String(N)`: N characters may take up to 4 bytes each in
/// UTF-8, and the token is ASCII, so the token of 4N bytes always fits.
pub fn encrypted_width(chars: u32) -> usize {
    fernet_token_len(chars as usize * 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_length_matches_real_tokens() {
        // From the fixture's cases: "hello" (5 bytes) and "" give 100-character tokens;
        // `{"a": [1, 2, null]}` (19 bytes) gives 120.
        assert_eq!(fernet_token_len(0), 100);
        assert_eq!(fernet_token_len(5), 100);
        assert_eq!(fernet_token_len(15), 100);
        assert_eq!(fernet_token_len(16), 120);
        assert_eq!(fernet_token_len(19), 120);
        assert_eq!(encrypted_width(255), fernet_token_len(1020));
    }

    #[test]
    fn quoting_doubles_the_quote_character() {
        assert_eq!(Dialect::Postgres.quote("a\"b"), "\"a\"\"b\"");
        assert_eq!(Dialect::Mysql.quote("cur`sor"), "`cur``sor`");
        assert_eq!(Dialect::Sqlite.quote("order"), "\"order\"");
    }
}
