//! Every byte of key and token handling (DESIGN §3): keys, the key ring, Fernet, token
//! inspection, the typed value codec, blind indexes and per-user key derivation.
//!
//! Public contract used by `store`, `rotation`, `health`, `access`, `audit` and `cli`
//! (keep these names and shapes stable):
//!
//! - `Key`: 32 bytes (signing ‖ encryption), zeroized on drop, `Debug` shows only
//!   `Key(fp:…)`. `Key::from_base64(text) -> Result<Key, KeyError>`, `Key::generate()`,
//!   `key.fingerprint() -> Fingerprint` (`fp:` + 12 hex of SHA-256 of the raw 32 bytes),
//!   `key.to_base64() -> Zeroizing<String>` (only `timber keygen` prints it).
//! - `KeyRing::from_settings(&Settings) -> Result<KeyRing, KeyError>`: primary, old keys,
//!   named keys, master and old master; per-user keys derived on demand and cached.
//!   `ring.entries() -> Vec<KeyInfo>` (id, fingerprint, source, role; never the key).
//!   `ring.identify(token) -> Option<KeyId>` by HMAC alone.
//!   `ring.decrypt_token(token, owner) -> Result<(Vec<u8>, KeyId), CellError>`.
//!   `ring.encrypt_value(&Value, &ColumnDef, KeyChoice) -> Result<String, CodecError>` and
//!   `ring.decrypt_value(stored, &ColumnDef, owner) -> Result<Decrypted, CellError>`.
//! - `CellError::{NotAToken, UnknownKey, Corrupted}` with `as_str()` giving
//!   `not_a_token` / `unknown_key` / `corrupted` (the JSON of DESIGN §12).
//! - `inspect::inspect(token) -> Result<TokenInfo, Malformed>` without a key.
//! - `blind_index::{keyed, legacy_sha256}`.

pub mod blind_index;
pub mod cells;
pub mod codec;
pub mod derive;
pub mod fernet;
pub mod inspect;
pub mod key;
pub mod keyring;
pub mod pyjson;
pub mod ring_builder;
pub mod user_keys;

pub use cells::{Decrypted, KeyChoice};
pub use codec::{CodecError, decode_plaintext, encode_plaintext, unwrap_stored, wrap_for_column};
pub use derive::{AuditKey, BlindIndexKey};
pub use fernet::{FernetError, FernetKey};
pub use inspect::{Malformed, TokenInfo, inspect};
pub use key::{Fingerprint, Key, KeyError};
pub use keyring::{CellError, Identified, KeyId, KeyInfo, KeyRing, KeyRole};
pub use ring_builder::{KeyRingBuilder, KeySources};
