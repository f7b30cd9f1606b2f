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
    /// Named key from the key ring (`encryption.key_identifier`); `None` = the primary key.
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
    /// Finds a model by name or table name (case-insensitive).
    pub fn find(&self, name: &str) -> Option<&ModelDef> {
        self.models.iter().find(|m| {
            m.name.eq_ignore_ascii_case(name) || m.table_name.eq_ignore_ascii_case(name)
        })
    }
}
