//! Token inspection and decryption on arbitrary text: `inspect`, `FernetKey::decrypt`
//! (with and without a TTL), and the key ring's `classify` / `decrypt_token` /
//! `decrypt_value`. Nothing may panic, and a token that inspects as well formed must at
//! least decode again (inspection and decryption agree on what a token is).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use timber::config::model::{ColumnDef, ColumnType};
use timber::crypto::fernet::FernetKey;
use timber::crypto::{Key, KeyRing, inspect};

const SECRET: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";

fn ring() -> &'static (KeyRing, FernetKey) {
    static RING: OnceLock<(KeyRing, FernetKey)> = OnceLock::new();
    RING.get_or_init(|| {
        let key = Key::from_base64(SECRET).expect("fixed key");
        let fernet = FernetKey::new(&key);
        (KeyRing::from_key(key), fernet)
    })
}

fuzz_target!(|data: &[u8]| {
    let (ring, fernet) = ring();
    let text = String::from_utf8_lossy(data);
    let _ = inspect::looks_like_token(&text);
    let unquoted = inspect::unquote(&text);
    if let Ok(info) = inspect::inspect(unquoted) {
        let _ = info.datetime();
        let _ = info.is_future(u64::MAX);
        let _ = info.seconds_ahead(0);
        let _ = info.max_plaintext_len();
        assert!(inspect::decode_token(unquoted).is_some());
    }
    let _ = fernet.decrypt(unquoted);
    if data.len() >= 16 {
        let ttl = u64::from_le_bytes(data[..8].try_into().unwrap());
        let now = u64::from_le_bytes(data[8..16].try_into().unwrap());
        let _ = fernet.decrypt_with_ttl(&text, ttl, now);
    }
    let _ = ring.classify(&text, None);
    let _ = ring.decrypt_token(&text, None);
    for ty in [ColumnType::Text, ColumnType::Json, ColumnType::Integer] {
        let column = ColumnDef {
            name: "fuzz".into(),
            ty,
            primary_key: false,
            nullable: true,
            encrypted: true,
            indexed: false,
            unique: false,
            default: None,
            foreign_key: None,
            blind_index: None,
            from_mixin: false,
        };
        let _ = ring.decrypt_value(&text, &column, None);
    }
});
