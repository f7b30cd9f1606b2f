//! Crypto: Fernet against its spec and Python's, the HMAC blind index, the value codec, the key
//! ring and how settings build it.
//!
//! One test binary per area (issue 14): each former `tests/<name>.rs` is a module here,
//! so its tests are named `<name>::<test>`.

mod crypto_fixture;

mod crypto_codec;
mod crypto_fernet_props;
mod crypto_fernet_spec;
mod crypto_hmac;
mod crypto_keyring;
mod crypto_merkle;
mod crypto_python_fixture;
mod crypto_python_interop;
mod crypto_ring_settings;
mod crypto_signed_note;
