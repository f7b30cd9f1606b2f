//! Role policy evaluation and masking (DESIGN §6): which level a role has for a cell, and
//! the masked text it sees. A value the role may not reveal never leaves this module as
//! plaintext: callers (TUI, CLI) receive rendered cells.
//!
//! - [`identity`]: acting user and role;
//! - [`actions`]: the actions a role is granted (reveal, export, rotate, retire, ...);
//! - [`rules`]: the level of a column for a role (precedence documented there);
//! - [`mask`]: the type-aware masks and the keyed `hash` level;
//! - [`view`]: [`Access`], the pipeline from decrypted records to [`ViewRow`]s of [`Cell`]s;
//! - [`reveal`]: audited reveals (a cell, an export, the owner rule's rows) and the
//!   [`RevealGrant`] they yield;
//! - [`search`]: who may search by a field, and the audit entry of a search;
//! - [`audit_reveal`]: an audit entry's changed values, masked, and their audited reveal.

mod actions;
mod audit_reveal;
mod cell;
mod identity;
mod mask;
mod reveal;
mod rules;
mod search;
mod view;

pub use actions::{ActionRefused, Grants};
pub use audit_reveal::{ChangedField, EntryValues, EntryView};
pub use cell::{Cell, ViewRow};
pub use identity::Identity;
pub use identity::os_user;
pub use mask::{HashKeySource, MaskHasher, REDACTED};
pub use mask::{mask_text, partial};
pub use reveal::{MAX_LOGGED_IDS, RevealError, RevealGrant, RowsRequest, ids_digest};
pub use rules::RoleRules;
pub use search::{SearchAudit, SearchError};
pub use view::{Access, Decision};

/// Why an access decision could not be made. Messages never hold a value or a key.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("unknown role `{role}` (from {origin}); {policy} defines: {known}")]
    UnknownRole {
        role: String,
        origin: String,
        policy: String,
        known: String,
    },
    /// `--user` / `TIMBER_USER` names someone else than the OS account, under `owner_sees_own`,
    /// for a role the policy's `may_assert_user` does not list.
    #[error(
        "role `{role}` may not act as user `{user}` (from {source_name}): this process runs as OS user `{os_user}` and {policy} has owner_sees_own on, so the owner rule would reveal that user's rows; drop the user setting, or list the role in the policy's may_assert_user"
    )]
    UserAssertion {
        role: String,
        user: String,
        source_name: String,
        os_user: String,
        policy: String,
    },
    /// The policy file could not be loaded (the message names the file and position).
    #[error("{0}")]
    Policy(String),
}
