//! Encrypting and decrypting one stored cell: the value codec plus the key ring.
//!
//! `encrypt_value` gives the exact text to store (quoted for JSON columns); `decrypt_value`
//! reads what is stored (quoted or bare) into a typed value and says which key it was
//! under. NULL is never encrypted: callers store NULL as NULL and never call these with it.

use super::codec::{self, CodecError};
use super::keyring::{CellError, KeyId, KeyRing};
use super::user_keys::user_key_id;
use crate::config::ColumnDef;
use crate::value::Value;

/// Which key new data is encrypted under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyChoice {
    /// `ENCRYPTION_KEY`.
    Primary,
    /// A named key (`encryption.key_identifier`).
    Named(String),
    /// The per-user key `user_<id>` derived from `MASTER_ENCRYPTION_KEY`.
    User(String),
}

/// A decrypted cell.
#[derive(Clone, Debug, PartialEq)]
pub struct Decrypted {
    pub value: Value,
    /// The key the token was under.
    pub key: KeyId,
    /// The token's timestamp (seconds since the Unix epoch, as the writer's clock said).
    pub timestamp: u64,
}

impl KeyRing {
    /// The stored form of `value` for `column`, encrypted under `choice`.
    pub fn encrypt_value(
        &self,
        value: &Value,
        column: &ColumnDef,
        choice: KeyChoice,
    ) -> Result<String, CodecError> {
        let plaintext = codec::encode_plaintext(value, &column.ty)?;
        self.encrypt_plaintext(plaintext.as_bytes(), column, choice)
    }

    /// As [`KeyRing::encrypt_value`], with a token that says it was written at `written_at`
    /// (seconds since the Unix epoch) instead of now; a fresh IV all the same.
    pub fn encrypt_value_written_at(
        &self,
        value: &Value,
        column: &ColumnDef,
        choice: KeyChoice,
        written_at: u64,
    ) -> Result<String, CodecError> {
        let plaintext = codec::encode_plaintext(value, &column.ty)?;
        let id = choice_id(choice);
        let key = self.key(&id).ok_or_else(|| missing_key(&id))?;
        Ok(codec::wrap_for_column(
            &key.encrypt_written_at(plaintext.as_bytes(), written_at),
            &column.ty,
        ))
    }

    /// Encrypts plaintext bytes as they are, in the stored form for `column`. Rotation uses
    /// this to re-encrypt exactly the bytes it decrypted, so a value Python wrote keeps its
    /// Python spelling.
    pub fn encrypt_plaintext(
        &self,
        plaintext: &[u8],
        column: &ColumnDef,
        choice: KeyChoice,
    ) -> Result<String, CodecError> {
        let id = choice_id(choice);
        let key = self.key(&id).ok_or_else(|| missing_key(&id))?;
        Ok(codec::wrap_for_column(&key.encrypt(plaintext), &column.ty))
    }

    /// Reads a stored cell (quoted or bare token) as a value of the column's declared type.
    /// `owner` is the row's owner for per-user keys. Plaintext that does not fit the declared
    /// type (or is not UTF-8) is `Corrupted`: the cell does not hold what the column says.
    pub fn decrypt_value(
        &self,
        stored: &str,
        column: &ColumnDef,
        owner: Option<&str>,
    ) -> Result<Decrypted, CellError> {
        let token = codec::unwrap_stored(stored);
        let (plaintext, key, info) = self.decrypt_token_with_info(token, owner)?;
        let value =
            codec::decode_plaintext(&plaintext, &column.ty).map_err(|_| CellError::Corrupted)?;
        Ok(Decrypted {
            value,
            key,
            timestamp: info.timestamp,
        })
    }
}

fn choice_id(choice: KeyChoice) -> KeyId {
    match choice {
        KeyChoice::Primary => KeyId::Primary,
        KeyChoice::Named(name) => KeyId::Named(name),
        KeyChoice::User(user) => KeyId::User(user),
    }
}

fn missing_key(id: &KeyId) -> CodecError {
    let hint = match id {
        KeyId::Primary => "set ENCRYPTION_KEY".to_string(),
        KeyId::User(user) => {
            format!(
                "{} is derived from MASTER_ENCRYPTION_KEY, which is not set",
                user_key_id(user)
            )
        }
        KeyId::Named(name) => {
            format!(
                "set TIMBER_KEY_{} for encryption.key_identifier",
                name.to_ascii_uppercase()
            )
        }
        _ => "not a key new data can be encrypted under".to_string(),
    };
    CodecError::MissingKey {
        key: id.to_string(),
        hint,
    }
}
