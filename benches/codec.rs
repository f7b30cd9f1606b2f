//! Fernet codec speed next to the primitives it is built from.
//!
//! Ours: `FernetKey::encrypt` / `FernetKey::decrypt` on 24-byte and 1 KiB payloads, and key
//! identification (`KeyRing::classify`, HMAC only) among three configured keys, for a
//! token under the first key tried (primary) and under the last (old_2).
//!
//! The floor: the same work done directly on the RustCrypto crates with nothing else: url-safe
//! base64 decode of the token into a stack buffer, HMAC-SHA256 from a pre-keyed state over the
//! same bytes with a constant-time tag compare, and AES-128-CBC decryption (pre-expanded key)
//! of the same ciphertext with PKCS#7 unpadding. `decrypt / (base64 + hmac + aes)` is the
//! overhead of everything our decrypt adds (parsing, the zeroizing plaintext buffer). The
//! encrypt floor is the mirror image (AES encrypt, HMAC, base64 encode, one IV from the
//! thread-local CSPRNG).
//!
//! The floor's HMAC is the `hmac` crate's (a cloned pre-keyed state); `hmac_verify_ours` and
//! `hmac_sign_ours` time the same MAC through `timber::crypto::hmac_sha256` (the two
//! pre-keyed SHA-256 states over `sha2::compress256`), which our decrypt and encrypt use.
//!
//! Payloads are the ones `benches/baseline/fernet_bench.py` gives Python's `cryptography`,
//! so `benches/compare.sh` can put the two side by side from criterion's estimates.
//!
//! Run: `cargo bench --bench codec -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use aes::Aes128;
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, InnerIvInit, KeyInit as _};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit as _, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use timber::crypto::HmacKey;
use timber::crypto::{FernetKey, Key, KeyRing};

/// The same three keys and payloads as `benches/baseline/fernet_bench.py`.
const PRIMARY: &str = "YzpZgClxLl3CBp3nBLueMYrq95oNaQFcXsF3P122yPw=";
const OLD_1: &str = "fOND_spZ8wI-KrYha05MCmNPnCFRDjgkOwnancajTEQ=";
const OLD_2: &str = "80JmBCWN2hWg9fUDOdWEpVRhucxuJkgGDaLaqT5K5c4=";
/// A fixed token timestamp and IV keep the measured tokens identical between runs.
const TIMESTAMP: u64 = 1_764_000_000;
const IV: [u8; 16] = *b"timber-bench-iv!";

/// 24 bytes: an e-mail address, the typical encrypted column. 1 KiB: a notes field.
fn payloads() -> [(&'static str, Vec<u8>); 2] {
    let small = b"person.12345@example.com".to_vec();
    assert_eq!(small.len(), 24);
    let large: Vec<u8> = (0..1024).map(|i| b'a' + (i % 26) as u8).collect();
    [("24B", small), ("1KB", large)]
}

fn key(text: &str) -> Key {
    Key::from_base64(text).expect("bench key is valid")
}

fn bench_ours(c: &mut Criterion) {
    let fernet = FernetKey::new(&key(PRIMARY));
    for (label, payload) in payloads() {
        let token = fernet.encrypt_at(&payload, TIMESTAMP, IV);
        let mut group = c.benchmark_group("ours");
        group.throughput(Throughput::Bytes(payload.len() as u64));
        group.bench_function(BenchmarkId::new("encrypt", label), |b| {
            b.iter(|| fernet.encrypt(black_box(&payload)))
        });
        group.bench_function(BenchmarkId::new("decrypt", label), |b| {
            b.iter(|| fernet.decrypt(black_box(&token)).expect("decrypts"))
        });
        group.finish();
    }
}

fn bench_identify(c: &mut Criterion) {
    let ring = KeyRing::builder()
        .primary(PRIMARY, "ENCRYPTION_KEY")
        .and_then(|b| b.old(OLD_1, "ENCRYPTION_KEY_OLD"))
        .and_then(|b| b.old(OLD_2, "ENCRYPTION_KEY_OLD"))
        .and_then(|b| b.build())
        .expect("three distinct keys");
    let (_, payload) = &payloads()[0];
    let mut group = c.benchmark_group("identify_3_keys");
    group.throughput(Throughput::Elements(1));
    for (label, text) in [("first_key", PRIMARY), ("last_key", OLD_2)] {
        let token = FernetKey::new(&key(text)).encrypt_at(payload, TIMESTAMP, IV);
        group.bench_function(label, |b| {
            b.iter(|| ring.classify(black_box(&token), None).expect("identified"))
        });
    }
    group.finish();
}

type HmacSha256 = Hmac<Sha256>;

/// The primitives alone, on exactly the bytes our decrypt handles.
fn bench_floor(c: &mut Criterion) {
    let raw = key(PRIMARY);
    let mac = HmacSha256::new_from_slice(raw.signing_key()).expect("any length");
    let ours = HmacKey::new(raw.signing_key());
    let cipher = Aes128::new_from_slice(raw.encryption_key()).expect("16 bytes");
    let fernet = FernetKey::new(&raw);
    for (label, payload) in payloads() {
        let token = fernet.encrypt_at(&payload, TIMESTAMP, IV);
        let data = URL_SAFE.decode(&token).expect("base64");
        let (signed, tag) = data.split_at(data.len() - 32);
        let ciphertext = &signed[25..];
        let mut group = c.benchmark_group("floor");
        group.throughput(Throughput::Bytes(payload.len() as u64));
        group.bench_function(BenchmarkId::new("base64_decode", label), |b| {
            let mut out = [0u8; 2048];
            b.iter(|| {
                URL_SAFE
                    .decode_slice(black_box(token.as_bytes()), &mut out)
                    .expect("decodes")
            })
        });
        group.bench_function(BenchmarkId::new("hmac_verify", label), |b| {
            b.iter(|| {
                let mut m = mac.clone();
                m.update(black_box(signed));
                let ok: bool = m.finalize().into_bytes().as_slice().ct_eq(tag).into();
                assert!(ok);
            })
        });
        group.bench_function(BenchmarkId::new("hmac_verify_ours", label), |b| {
            b.iter(|| assert!(ours.verify(black_box(signed), tag)))
        });
        group.bench_function(BenchmarkId::new("hmac_sign_ours", label), |b| {
            b.iter(|| ours.mac(black_box(signed)))
        });
        group.bench_function(BenchmarkId::new("aes_cbc_decrypt", label), |b| {
            let mut buf = [0u8; 2048];
            b.iter(|| {
                let buf = &mut buf[..ciphertext.len()];
                buf.copy_from_slice(black_box(ciphertext));
                let dec = cbc::Decryptor::<Aes128>::inner_iv_init(cipher.clone(), &IV.into());
                dec.decrypt_padded_mut::<Pkcs7>(buf).expect("padding").len()
            })
        });
        let mut encrypt_buf = vec![0u8; payload.len() + 16];
        group.bench_function(BenchmarkId::new("aes_cbc_encrypt", label), |b| {
            b.iter(|| {
                encrypt_buf[..payload.len()].copy_from_slice(black_box(&payload));
                let enc = cbc::Encryptor::<Aes128>::inner_iv_init(cipher.clone(), &IV.into());
                enc.encrypt_padded_mut::<Pkcs7>(&mut encrypt_buf, payload.len())
                    .expect("sized")
                    .len()
            })
        });
        group.bench_function(BenchmarkId::new("base64_encode", label), |b| {
            let mut out = [0u8; 2048];
            b.iter(|| {
                URL_SAFE
                    .encode_slice(black_box(&data), &mut out)
                    .expect("fits")
            })
        });
        group.bench_function(BenchmarkId::new("hmac_sign", label), |b| {
            b.iter(|| {
                let mut m = mac.clone();
                m.update(black_box(signed));
                m.finalize().into_bytes()
            })
        });
        group.finish();
    }
    c.bench_function("floor/iv_16B", |b| {
        b.iter(|| {
            let mut iv = [0u8; 16];
            rand::rng().fill_bytes(&mut iv);
            iv
        })
    });
}

criterion_group!(codec, bench_ours, bench_identify, bench_floor);
criterion_main!(codec);
