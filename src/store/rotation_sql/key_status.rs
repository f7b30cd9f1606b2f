//! The words of the key registry's `status` column (`timber_keys`), as one enum: a key's
//! status is decided from it, never from comparing strings.

use std::fmt;

use crate::crypto::KeyRole;

/// Where a key stands in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyStatus {
    /// New values are written under it.
    Active,
    /// Kept to read values written under it (an `_OLD` key) until they are rotated.
    DecryptOnly,
    /// Proven unused by a census and recorded so; it may be removed from the configuration.
    Retired,
    /// Its material is gone.
    Destroyed,
}

impl KeyStatus {
    /// Every status.
    pub const ALL: [KeyStatus; 4] = [
        KeyStatus::Active,
        KeyStatus::DecryptOnly,
        KeyStatus::Retired,
        KeyStatus::Destroyed,
    ];

    /// The column's text.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::DecryptOnly => "decrypt_only",
            KeyStatus::Retired => "retired",
            KeyStatus::Destroyed => "destroyed",
        }
    }

    /// The status the column's text names (case-insensitive); `None` for a word this
    /// version does not know.
    pub fn parse(text: &str) -> Option<KeyStatus> {
        let text = text.trim();
        KeyStatus::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text))
    }

    /// The status of a configured key the registry does not list: an old key only decrypts.
    pub fn of_role(role: KeyRole) -> KeyStatus {
        match role {
            KeyRole::Old | KeyRole::MasterOld => KeyStatus::DecryptOnly,
            _ => KeyStatus::Active,
        }
    }
}

impl fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}
