//! Configuration: settings (flags > environment > env file), model YAML, access policy YAML.
//! Reads files (and runs `ENCRYPTION_KEY_COMMAND`); never touches the database.

pub mod model;
pub mod policy;
pub mod settings;

pub use model::{
    Classification, ColumnDef, ColumnType, EncryptionSettings, GdprSettings, IndexDef, Mixin,
    ModelDef, ModelSet,
};
pub use policy::{Level, Policy, RolePolicy};
pub use settings::{Settings, Source};
