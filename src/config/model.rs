//! The model definitions Timber declares in YAML (DESIGN §5), after loading and validation.
//! `model_loader` turns files into these; everything else only reads them.

use std::path::PathBuf;

/// A column's declared SQLAlchemy-style type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// `String(N)`; `None` for a bare `String`.
    String(Option<u32>),
    Text,
    Integer,
    BigInteger,
    Float,
    /// `Numeric(precision, scale)`.
    Numeric(u32, u32),
    Boolean,
    Date,
    DateTime,
    Json,
    LargeBinary,
}

/// The type spellings the loader accepts, for "expected one of" messages.
pub const COLUMN_TYPE_SPELLINGS: &str = "String(N), String, Text, Integer, BigInteger, Float, \
     Numeric(p,s), Boolean, Date, DateTime, JSON, LargeBinary";

impl ColumnType {
    /// Parses a YAML type such as `String(36)` or `Numeric(10, 2)`. Names are case-sensitive,
    /// as SQLAlchemy's are; spaces around the name and the arguments are allowed.
    /// `Numeric(p)` means scale 0. The error says what was wrong, without the offending text.
    pub fn parse(text: &str) -> Result<ColumnType, TypeError> {
        let text = text.trim();
        let (name, args) = match text.split_once('(') {
            Some((name, rest)) => {
                let Some(inner) = rest.trim_end().strip_suffix(')') else {
                    return Err(TypeError::Unknown);
                };
                let args: Vec<&str> = inner.split(',').map(str::trim).collect();
                (name.trim_end(), Some(args))
            }
            None => (text, None),
        };
        let simple = match name {
            "Text" => Some(ColumnType::Text),
            "Integer" => Some(ColumnType::Integer),
            "BigInteger" => Some(ColumnType::BigInteger),
            "Float" => Some(ColumnType::Float),
            "Boolean" => Some(ColumnType::Boolean),
            "Date" => Some(ColumnType::Date),
            "DateTime" => Some(ColumnType::DateTime),
            "JSON" => Some(ColumnType::Json),
            "LargeBinary" => Some(ColumnType::LargeBinary),
            _ => None,
        };
        match (name, simple, args) {
            (_, Some(ty), None) => Ok(ty),
            (_, Some(_), Some(_)) => Err(TypeError::NoArguments),
            ("String", _, None) => Ok(ColumnType::String(None)),
            ("String", _, Some(args)) => match args.as_slice() {
                [len] => match len.parse::<u32>() {
                    Ok(n) if n >= 1 => Ok(ColumnType::String(Some(n))),
                    _ => Err(TypeError::StringLength),
                },
                _ => Err(TypeError::StringLength),
            },
            ("Numeric", _, None) => Err(TypeError::NumericArgs),
            ("Numeric", _, Some(args)) => {
                let nums: Vec<Option<u32>> = args.iter().map(|a| a.parse().ok()).collect();
                let (p, s) = match nums.as_slice() {
                    [Some(p)] => (*p, 0),
                    [Some(p), Some(s)] => (*p, *s),
                    _ => return Err(TypeError::NumericArgs),
                };
                if p == 0 || p > 1000 || s > p {
                    return Err(TypeError::NumericArgs);
                }
                Ok(ColumnType::Numeric(p, s))
            }
            _ => Err(TypeError::Unknown),
        }
    }

    /// The YAML spelling, e.g. `String(36)`, `Numeric(10,2)`, `JSON`.
    pub fn yaml_name(&self) -> String {
        match self {
            ColumnType::String(Some(n)) => format!("String({n})"),
            ColumnType::String(None) => "String".to_string(),
            ColumnType::Text => "Text".to_string(),
            ColumnType::Integer => "Integer".to_string(),
            ColumnType::BigInteger => "BigInteger".to_string(),
            ColumnType::Float => "Float".to_string(),
            ColumnType::Numeric(p, s) => format!("Numeric({p},{s})"),
            ColumnType::Boolean => "Boolean".to_string(),
            ColumnType::Date => "Date".to_string(),
            ColumnType::DateTime => "DateTime".to_string(),
            ColumnType::Json => "JSON".to_string(),
            ColumnType::LargeBinary => "LargeBinary".to_string(),
        }
    }
}

/// Why a type text was refused by [`ColumnType::parse`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TypeError {
    #[error("expected one of {COLUMN_TYPE_SPELLINGS}")]
    Unknown,
    #[error("this type takes no arguments")]
    NoArguments,
    #[error("String takes one length of at least 1, e.g. String(255)")]
    StringLength,
    #[error(
        "Numeric takes a precision (1 to 1000) and a scale no larger than it, e.g. Numeric(10,2)"
    )]
    NumericArgs,
}

/// One column as declared (or added by a mixin).
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    pub ty: ColumnType,
    pub primary_key: bool,
    pub nullable: bool,
    pub encrypted: bool,
    pub indexed: bool,
    pub unique: bool,
    /// The YAML default, kept as text; `None` when absent.
    pub default: Option<String>,
    /// `table.column` this column references.
    pub foreign_key: Option<String>,
    /// Name of the column that holds a searchable hash of this one (our addition).
    pub blind_index: Option<String>,
    /// True when the column was added by a mixin rather than declared.
    pub from_mixin: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mixin {
    Timestamp,
    EncryptedField,
    Audit,
    SoftDelete,
    GdprCompliance,
}

impl Mixin {
    pub fn yaml_name(self) -> &'static str {
        match self {
            Mixin::Timestamp => "TimestampMixin",
            Mixin::EncryptedField => "EncryptedFieldMixin",
            Mixin::Audit => "AuditMixin",
            Mixin::SoftDelete => "SoftDeleteMixin",
            Mixin::GdprCompliance => "GDPRComplianceMixin",
        }
    }

    pub const ALL: [Mixin; 5] = [
        Mixin::Timestamp,
        Mixin::EncryptedField,
        Mixin::Audit,
        Mixin::SoftDelete,
        Mixin::GdprCompliance,
    ];

    /// The mixin with this YAML name (case-sensitive, as in Python).
    pub fn parse(name: &str) -> Option<Mixin> {
        Mixin::ALL
            .into_iter()
            .find(|m| m.yaml_name() == name.trim())
    }

    /// The columns this mixin adds to a model that does not declare them itself (as Timber's
    /// mixins do; all nullable, matching the tables Python Timber creates).
    pub fn added_columns(self) -> Vec<(&'static str, ColumnType)> {
        match self {
            Mixin::Timestamp => {
                vec![
                    ("created_at", ColumnType::DateTime),
                    ("updated_at", ColumnType::DateTime),
                ]
            }
            Mixin::Audit => vec![
                ("created_by", ColumnType::String(Some(255))),
                ("updated_by", ColumnType::String(Some(255))),
            ],
            Mixin::SoftDelete => vec![("deleted_at", ColumnType::DateTime)],
            Mixin::EncryptedField | Mixin::GdprCompliance => Vec::new(),
        }
    }
}

/// Rotation schedule class (our addition): critical = quarterly, sensitive = semi-annual,
/// standard = annual.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Classification {
    Critical,
    Sensitive,
    Standard,
}

impl Classification {
    /// Days between rotations this class asks for.
    pub fn rotation_days(self) -> i64 {
        match self {
            Classification::Critical => 90,
            Classification::Sensitive => 182,
            Classification::Standard => 365,
        }
    }

    pub fn parse(text: &str) -> Option<Classification> {
        match text.trim() {
            "critical" => Some(Classification::Critical),
            "sensitive" => Some(Classification::Sensitive),
            "standard" => Some(Classification::Standard),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Critical => "critical",
            Classification::Sensitive => "sensitive",
            Classification::Standard => "standard",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct EncryptionSettings {
    /// Named key from the key ring (`encryption.key_identifier`), lower-cased like the names
    /// taken from `TIMBER_KEY_<NAME>`; `None` = the primary key.
    pub key_identifier: Option<String>,
    /// Values are encrypted under the owner's derived key `user_{owner}`.
    pub per_user: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct GdprSettings {
    pub user_field: Option<String>,
    pub export_fields: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct IndexDef {
    pub columns: Vec<String>,
    pub unique: bool,
}

/// One validated model. `columns` holds declared columns first, then mixin columns that
/// were not declared, in a stable order.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelDef {
    pub name: String,
    pub table_name: String,
    pub columns: Vec<ColumnDef>,
    pub mixins: Vec<Mixin>,
    pub indexes: Vec<IndexDef>,
    pub encryption: EncryptionSettings,
    pub classification: Option<Classification>,
    /// Column naming the row's owner (default `user_id`), for per-user keys and `owner_sees_own`.
    pub owner_column: String,
    pub gdpr: Option<GdprSettings>,
    /// The YAML file this model came from.
    pub source: PathBuf,
}

impl ModelDef {
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn primary_key(&self) -> &ColumnDef {
        // Validation guarantees exactly one primary key.
        self.columns
            .iter()
            .find(|c| c.primary_key)
            .expect("validated model has a primary key")
    }

    pub fn encrypted_columns(&self) -> impl Iterator<Item = &ColumnDef> {
        self.columns.iter().filter(|c| c.encrypted)
    }

    /// Whether any column is encrypted: the models a census, a rotation or a retirement
    /// reads.
    pub fn has_encrypted_columns(&self) -> bool {
        self.columns.iter().any(|c| c.encrypted)
    }

    pub fn has_mixin(&self, mixin: Mixin) -> bool {
        self.mixins.contains(&mixin)
    }
}

/// All models loaded from the model directories, in file then declaration order.
#[derive(Clone, Debug, Default)]
pub struct ModelSet {
    pub models: Vec<ModelDef>,
    /// The files read, for `timber info`.
    pub files: Vec<PathBuf>,
}

impl ModelSet {
    /// The models with an encrypted column, in load order.
    pub fn encrypted_models(&self) -> Vec<&ModelDef> {
        self.models
            .iter()
            .filter(|m| m.has_encrypted_columns())
            .collect()
    }

    /// Finds a model by name or table name (case-insensitive).
    pub fn find(&self, name: &str) -> Option<&ModelDef> {
        self.models
            .iter()
            .find(|m| m.name.eq_ignore_ascii_case(name) || m.table_name.eq_ignore_ascii_case(name))
    }
}
