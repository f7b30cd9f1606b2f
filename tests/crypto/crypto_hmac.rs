//! The hand-rolled HMAC-SHA256 (`timber::crypto::hmac_sha256`, which Fernet, the key
//! census and the audit chain all sign and verify with): RFC 4231's known-answer vectors,
//! and agreement with the `hmac` crate as oracle for arbitrary keys, messages and splits
//! of a message into parts.

use hmac::{Hmac, KeyInit, Mac};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use sha2::Sha256;
use timber::crypto::HmacKey;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn oracle(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// RFC 4231 §4.2-4.8, HMAC-SHA-256 results. Test case 5's result is truncated to 128 bits
/// in the RFC, so only its first 16 bytes are compared.
#[test]
fn rfc_4231_test_cases() {
    let long_key = vec![0xaa; 131];
    let cases: [(&str, Vec<u8>, Vec<u8>, &str); 7] = [
        (
            "4.2 test case 1",
            vec![0x0b; 20],
            b"Hi There".to_vec(),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            "4.3 test case 2 (key shorter than the output)",
            b"Jefe".to_vec(),
            b"what do ya want for nothing?".to_vec(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        (
            "4.4 test case 3",
            vec![0xaa; 20],
            vec![0xdd; 50],
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
        ),
        (
            "4.5 test case 4",
            (1..=25).collect(),
            vec![0xcd; 50],
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
        ),
        (
            "4.6 test case 5 (truncated to 128 bits)",
            vec![0x0c; 20],
            b"Test With Truncation".to_vec(),
            "a3b6167473100ee06e0c796c2955552b",
        ),
        (
            "4.7 test case 6 (key longer than a block: hashed first)",
            long_key.clone(),
            b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
        (
            "4.8 test case 7 (long key and message longer than a block)",
            long_key,
            b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".to_vec(),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        ),
    ];
    for (name, key, message, expected) in cases {
        let key = HmacKey::new(&key);
        let tag = key.mac(&message);
        let shown = &hex(&tag)[..expected.len()];
        assert_eq!(shown, expected, "RFC 4231 {name}: mac");
        // The same message fed in two parts gives the same tag.
        let (a, b) = message.split_at(message.len() / 3);
        assert_eq!(key.mac_parts(&[a, b]), tag, "RFC 4231 {name}: mac_parts");
        assert!(key.verify(&message, &tag), "RFC 4231 {name}: verify");
    }
}

#[test]
fn verify_refuses_a_changed_or_short_tag() {
    let key = HmacKey::new(b"signing key 16 b");
    let tag = key.mac(b"message");
    let mut flipped = tag;
    flipped[31] ^= 1;
    assert!(!key.verify(b"message", &flipped));
    assert!(!key.verify(b"message", &tag[..31]));
    assert!(!key.verify(b"massage", &tag));
    assert!(!key.verify(b"message", &[]));
}

proptest! {
    // A failing case is saved next to this file (`<file>.proptest-regressions`), as when it was
    // a test binary of its own: proptest's default would now put it under
    // tests/proptest-regressions/, the area's folder having a main.rs.
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    /// Keys around the block size (hashed above 64 bytes) and messages across the one- and
    /// two-block padding boundaries agree with the `hmac` crate.
    #[test]
    fn agrees_with_the_hmac_crate(
        key in proptest::collection::vec(any::<u8>(), 0..150),
        message in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        let ours = HmacKey::new(&key);
        let expected = oracle(&key, &message);
        prop_assert_eq!(ours.mac(&message), expected);
        prop_assert!(ours.verify(&message, &expected));
    }

    /// Any split of a message into parts gives the tag of the whole.
    #[test]
    fn parts_agree_with_the_whole(
        key in proptest::collection::vec(any::<u8>(), 0..70),
        message in proptest::collection::vec(any::<u8>(), 0..300),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut at: Vec<usize> = cuts.iter().map(|c| c.index(message.len() + 1)).collect();
        at.sort_unstable();
        let mut parts: Vec<&[u8]> = Vec::new();
        let mut start = 0;
        for cut in at {
            parts.push(&message[start..cut]);
            start = cut;
        }
        parts.push(&message[start..]);
        let ours = HmacKey::new(&key);
        prop_assert_eq!(ours.mac_parts(&parts), oracle(&key, &message));
    }
}
