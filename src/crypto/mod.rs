//! Every byte of key and token handling (DESIGN §3): keys, the key ring, Fernet, token
//! inspection, the typed value codec, blind indexes and per-user key derivation.
//!
//! Public contract used by `store`, `rotation`, `health`, `access`, `audit` and `cli`
//! (keep these names and shapes stable):
//!
//! - `Key`: 32 bytes (signing ‖ encryption), zeroized on drop, `Debug` shows only
//!   `Key(fp:…)`. `Key::from_base64_named(text, var) -> Result<Key, KeyError>` (padding
//!   optional; empty, blank, padded-with-whitespace, non-base64 and wrong-length texts each
//!   get a message naming `var`, never the text), `Key::generate()`,
//!   `key.fingerprint() -> Fingerprint` (`fp:` + 12 hex of SHA-256 of the raw 32 bytes),
//!   `key.to_base64() -> Zeroizing<String>` (only `timber keygen` prints it).
//! - `fernet::FernetKey::new(&Key)`: a prepared key. `encrypt`, `encrypt_at` (spec vectors),
//!   `decrypt` (no TTL, no future limit, as Python), `decrypt_with_ttl(token, ttl, now)`,
//!   `mac_matches(decoded)`; `FernetError` names each spec failure.
//! - `KeyRing::from_settings(&Settings)` / `KeyRing::from_sources(&KeySources)` /
//!   `KeyRing::builder()` / `KeyRing::from_key(Key)` → `Result<KeyRing, KeyError>`: primary,
//!   `old_N`, named keys, master and old master (all optional; duplicates and a master equal
//!   to the primary are refused); per-user keys (`user_<id>`) derived on demand and cached.
//!   `ring.entries() -> Vec<KeyInfo>` (id, fingerprint, source, role; never the key).
//!   `ring.identify(token) -> Option<KeyId>` and `ring.classify(token, owner) ->
//!   Result<Identified, CellError>` by HMAC alone (no AES).
//!   `ring.decrypt_token(token, owner) -> Result<(Zeroizing<Vec<u8>>, KeyId), CellError>`.
//!   `ring.encrypt_value(&Value, &ColumnDef, KeyChoice) -> Result<String, CodecError>`,
//!   `ring.encrypt_plaintext(bytes, &ColumnDef, KeyChoice)` (rotation: same bytes, new key)
//!   and `ring.decrypt_value(stored, &ColumnDef, owner) -> Result<Decrypted, CellError>`.
//!   `ring.blind_index_key()` / `ring.audit_key()` (derived from the master, `derive.rs`).
//! - `CellError::{NotAToken, UnknownKey, Corrupted}` with `as_str()` giving
//!   `not_a_token` / `unknown_key` / `corrupted` (the JSON of DESIGN §12).
//! - `inspect::inspect(token) -> Result<TokenInfo, Malformed>` without a key;
//!   `inspect::looks_like_token`, `inspect::unquote`.
//! - `codec::{encode_plaintext, decode_plaintext, wrap_for_column, unwrap_stored}`: Timber's
//!   plaintext rules (strings as-is, else Python's `json.dumps`), read by declared type.
//! - `blind_index::{keyed, legacy_sha256, classify_hash}`; `user_keys::derive_user_key`.
//! - `merkle`: RFC 9162 §2.1 tree hashing for the audit log (issue 15): `leaf_hash`,
//!   `node_hash`, `empty_root`, `root`, the streaming `TreeBuilder`, and inclusion and
//!   consistency proofs with their verifiers.
//! - `signed_note`: C2SP signed notes with Ed25519 (`NoteSigner`, `NoteVerifier`,
//!   `signed_note::sign`, `signed_note::open` → `OpenedNote`) and the C2SP tlog-checkpoint
//!   body (`Checkpoint`); `NoteError` names each refusal.

pub mod blind_index;
mod cells;
mod codec;
mod derive;
pub mod fernet;
mod hmac_sha256;
pub mod inspect;
mod key;
mod keyring;
pub mod merkle;
mod pyjson;
mod ring_builder;
pub mod signed_note;
mod user_keys;

pub use cells::{Decrypted, KeyChoice};
pub use codec::{CodecError, decode_plaintext, encode_plaintext, unwrap_stored, wrap_for_column};
pub use derive::{AuditKey, BlindIndexKey};
pub use fernet::{FernetError, FernetKey};
pub use hmac_sha256::HmacKey;
pub use inspect::{Malformed, TokenInfo, inspect};
pub use key::{Fingerprint, Key, KeyError};
pub use keyring::{CellError, Identified, KeyId, KeyInfo, KeyRing, KeyRole};
pub use pyjson::float_repr;
pub use ring_builder::{KeyRingBuilder, KeySources};
pub use signed_note::{Checkpoint, NoteError, NoteSigner, NoteVerifier, OpenedNote};
pub use user_keys::{MasterGeneration, derive_user_key, pbkdf2_hmac_sha256};
