//! C2SP signed notes and checkpoints against Go's `golang.org/x/mod/sumdb/note` vectors
//! (`note_test.go` at golang/mod fe2ec04, BSD-3-Clause: data only), the C2SP spec's own
//! example, and an independent Python verifier (`cryptography`'s Ed25519 with `hashlib` and
//! `base64`), which also recomputes a Merkle root and checks an inclusion proof.

use crate::crypto_fixture::python_with_cryptography;

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value as Json, json};
use timber::crypto::merkle::{self, inclusion_proof, leaf_hash};
use timber::crypto::signed_note::{self, MAX_SIGNATURES};
use timber::crypto::{Checkpoint, NoteError, NoteSigner, NoteVerifier};

const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn peter() -> NoteVerifier {
    NoteVerifier::from_text(PETER_VKEY).unwrap()
}

fn enoch() -> NoteVerifier {
    NoteVerifier::from_text(ENOCH_VKEY).unwrap()
}

#[test]
fn go_key_texts_parse_and_round_trip() {
    let signer = NoteSigner::from_text(PETER_SKEY).unwrap();
    assert_eq!(signer.name(), "PeterNeumann");
    assert_eq!(signer.key_hash(), 0xc74f20a3);
    assert_eq!(&*signer.to_text(), PETER_SKEY);
    assert_eq!(signer.verifier(), peter());
    assert_eq!(signer.verifier().to_text(), PETER_VKEY);
    assert_eq!(peter().name(), "PeterNeumann");
    assert_eq!(peter().key_hash(), 0xc74f20a3);
    assert_eq!(enoch().key_hash(), 0xaf0cfe78);
    assert!(peter().fingerprint().starts_with("fp:"));
    assert_eq!(peter().fingerprint().len(), 3 + 12);
}

#[test]
fn go_mangled_keys_are_refused() {
    // Go's TestNewVerifier / TestNewSigner: every proper substring and every single byte
    // incremented must fail.
    for key in [PETER_VKEY, PETER_SKEY] {
        let parse = |text: &str| {
            if key == PETER_SKEY {
                NoteSigner::from_text(text).is_ok()
            } else {
                NoteVerifier::from_text(text).is_ok()
            }
        };
        let bytes = key.as_bytes();
        for i in 0..=bytes.len() {
            for j in i + 1..=bytes.len() {
                if (i, j) != (0, bytes.len()) {
                    let part = std::str::from_utf8(&bytes[i..j]).unwrap();
                    assert!(!parse(part), "accepted {part:?}");
                }
            }
        }
        for i in 0..bytes.len() {
            let mut mangled = bytes.to_vec();
            mangled[i] += 1;
            let text = String::from_utf8(mangled).unwrap();
            assert!(!parse(&text), "accepted {text:?}");
        }
    }
    // Go's wrong-length key and unknown algorithm, each with an adjusted key hash.
    assert!(matches!(
        NoteVerifier::from_text(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        ),
        Err(NoteError::MalformedVerifierKey { .. })
    ));
    assert_eq!(
        NoteVerifier::from_text(
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        ),
        Err(NoteError::UnsupportedAlgorithm { algorithm: 0x65 })
    );
}

#[test]
fn our_signature_is_gos_byte_for_byte() {
    let signer = NoteSigner::from_text(PETER_SKEY).unwrap();
    let note = signed_note::sign(TEXT, &signer).unwrap();
    assert_eq!(note, format!("{TEXT}\n{PETER_SIG}"));
}

#[test]
fn go_signed_notes_open_as_go_opens_them() {
    let both = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    // One known, one unknown signer: the unknown one is ignored.
    let opened = signed_note::open(&both, &[peter()]).unwrap();
    assert_eq!(opened.body, TEXT);
    assert_eq!(opened.verified_by, vec!["PeterNeumann"]);
    // Both known.
    let opened = signed_note::open(&both, &[peter(), enoch()]).unwrap();
    assert_eq!(opened.verified_by, vec!["PeterNeumann", "EnochRoot"]);
    // None known.
    assert_eq!(
        signed_note::open(&both, &[]),
        Err(NoteError::NoKnownSignature {
            signed_by: vec!["PeterNeumann".into(), "EnochRoot".into()]
        })
    );
    // A known key's signature that does not verify (Go inserts "ABCD" into it).
    let bad = format!("{TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    assert_eq!(
        signed_note::open(&bad, &[peter()]),
        Err(NoteError::BadSignature {
            name: "PeterNeumann".into()
        })
    );
    // Duplicated signatures count once; a bad one by an unknown key is ignored.
    let enoch_bad = format!("{}ABCD{}", &ENOCH_SIG[..60], &ENOCH_SIG[60..]);
    let dupes = format!("{TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}{enoch_bad}");
    let opened = signed_note::open(&dupes, &[peter()]).unwrap();
    assert_eq!(opened.verified_by, vec!["PeterNeumann"]);
    // Too many signatures.
    let many = format!("{TEXT}\n{}", PETER_SIG.repeat(MAX_SIGNATURES + 1));
    assert!(matches!(
        signed_note::open(&many, &[peter()]),
        Err(NoteError::TooManySignatures { count: 101, .. })
    ));
    // The same key given twice is not ambiguous.
    let twice = NoteVerifier::from_text(PETER_VKEY).unwrap();
    assert!(signed_note::open(&both, &[peter(), twice]).is_ok());
}

#[test]
fn go_malformed_notes_are_refused_saying_what_is_wrong() {
    let cases: Vec<(String, NoteError)> = vec![
        (TEXT.to_string(), NoteError::MissingSignatures),
        (format!("{TEXT}\n"), NoteError::MissingSignatures),
        (
            format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
            NoteError::MalformedSignatureLine {
                line: 4,
                reason: "the last signature line does not end with a newline",
            },
        ),
        (
            format!("\x01{TEXT}\n{PETER_SIG}"),
            NoteError::ControlCharacter { code: 1, line: 1 },
        ),
        (
            format!(
                "{TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
            ),
            NoteError::MalformedSignatureLine {
                line: 4,
                reason: "the signature is not standard base64",
            },
        ),
        (
            format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
            NoteError::MalformedSignatureLine {
                line: 5,
                reason: "it does not start with an em dash (U+2014) and a space",
            },
        ),
    ];
    for (note, want) in cases {
        assert_eq!(signed_note::open(&note, &[peter()]), Err(want), "{note:?}");
    }
}

#[test]
fn the_c2sp_spec_example_verifies() {
    let vkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    let note = "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    let opened = signed_note::open(note, &[NoteVerifier::from_text(vkey).unwrap()]).unwrap();
    assert_eq!(opened.body, "This is an example message.\n");
    assert_eq!(opened.verified_by, vec!["example.com/foo"]);
}

#[test]
fn signing_refuses_text_the_format_cannot_carry() {
    let signer = NoteSigner::from_text(PETER_SKEY).unwrap();
    assert_eq!(
        signed_note::sign("no newline", &signer),
        Err(NoteError::MissingFinalNewline)
    );
    assert_eq!(
        signed_note::sign("a\r\n", &signer),
        Err(NoteError::ControlCharacter { code: 13, line: 1 })
    );
    assert!(matches!(
        NoteSigner::generate("has space"),
        Err(NoteError::InvalidName { .. })
    ));
}

#[test]
fn checkpoint_bodies_follow_tlog_checkpoint() {
    // The C2SP tlog-checkpoint example body.
    let body =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    let checkpoint = Checkpoint::parse(body).unwrap();
    assert_eq!(checkpoint.origin, "example.com/behind-the-sofa");
    assert_eq!(checkpoint.size, 20852163);
    assert_eq!(checkpoint.to_body(), body);
    // Extension lines are allowed and ignored.
    let extended = format!("{body}extension line\n");
    assert_eq!(Checkpoint::parse(&extended).unwrap(), checkpoint);
    // The empty tree.
    let empty = Checkpoint::new("timber.example/audit", 0, merkle::empty_root()).unwrap();
    assert_eq!(Checkpoint::parse(&empty.to_body()).unwrap(), empty);

    let r = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    let size = |text: &str| NoteError::CheckpointBadSize { text: text.into() };
    let refused: Vec<(String, NoteError)> = vec![
        (String::new(), NoteError::CheckpointTooShort { lines: 0 }),
        ("a\n1\n".into(), NoteError::CheckpointTooShort { lines: 2 }),
        (format!("a\n1\n{r}"), NoteError::CheckpointMissingNewline),
        (format!("\n1\n{r}\n"), NoteError::CheckpointBadOrigin),
        (format!("a\n01\n{r}\n"), size("01")),
        (format!("a\n+1\n{r}\n"), size("+1")),
        (format!("a\n\n{r}\n"), size("")),
        (
            format!("a\n18446744073709551616\n{r}\n"),
            size("18446744073709551616"),
        ),
        (
            "a\n1\nnot base64!\n".into(),
            NoteError::CheckpointBadRoot {
                reason: "not standard base64",
            },
        ),
        (
            "a\n1\nAAAA\n".into(),
            NoteError::CheckpointBadRoot {
                reason: "it does not decode to 32 bytes",
            },
        ),
        (
            format!("a\n1\n{r}\n\nx\n"),
            NoteError::CheckpointEmptyExtension { line: 4 },
        ),
    ];
    for (body, want) in refused {
        assert_eq!(Checkpoint::parse(&body), Err(want), "{body:?}");
    }
    assert_eq!(
        Checkpoint::new("two\nlines", 1, [0; 32]),
        Err(NoteError::CheckpointBadOrigin)
    );
}

#[test]
fn a_signed_checkpoint_opens_and_an_altered_one_does_not() {
    let signer = NoteSigner::generate("timber.example/audit").unwrap();
    let leaves: Vec<_> = (0..5).map(|i: u32| leaf_hash(&i.to_be_bytes())).collect();
    let checkpoint = Checkpoint::new("timber.example/audit", 5, merkle::root(&leaves)).unwrap();
    let note = signed_note::sign(&checkpoint.to_body(), &signer).unwrap();
    let opened = signed_note::open(&note, &[signer.verifier()]).unwrap();
    assert_eq!(Checkpoint::parse(&opened.body).unwrap(), checkpoint);

    let altered = note.replacen("\n5\n", "\n4\n", 1);
    assert_eq!(
        signed_note::open(&altered, &[signer.verifier()]),
        Err(NoteError::BadSignature {
            name: "timber.example/audit".into()
        })
    );
    // Another key under the same name: its signature line carries another key hash, so it
    // is an unknown key's, and no known key signed.
    let other = NoteSigner::generate("timber.example/audit").unwrap();
    let forged = signed_note::sign(&checkpoint.to_body(), &other).unwrap();
    assert!(matches!(
        signed_note::open(&forged, &[signer.verifier()]),
        Err(NoteError::NoKnownSignature { .. })
    ));
}

/// Verifies the note, parses the checkpoint and checks the Merkle root and an inclusion proof,
/// all from the specs, with Python's `cryptography`, `hashlib` and `base64`.
const PYTHON: &str = r#"
import base64, hashlib, json, struct, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.exceptions import InvalidSignature

job = json.load(sys.stdin)
name, key_hash, key64 = job["vkey"].split("+", 2)
raw = base64.b64decode(key64, validate=True)
assert raw[0] == 1 and len(raw) == 33
want_hash = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
assert want_hash.hex() == key_hash, "key hash"
public = Ed25519PublicKey.from_public_bytes(raw[1:])

def opens(note):
    text, sigs = note.rsplit("\n\n", 1)
    text += "\n"
    for line in sigs.splitlines():
        assert line.startswith("\u2014 ")
        signer, sig64 = line[2:].split(" ", 1)
        sig = base64.b64decode(sig64, validate=True)
        if signer != name or sig[:4] != want_hash:
            continue
        try:
            public.verify(sig[4:], text.encode())
            return text
        except InvalidSignature:
            return None
    return None

def leaf(data):
    return hashlib.sha256(b"\x00" + data).digest()

def node(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()

def mth(leaves):
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node(mth(leaves[:k]), mth(leaves[k:]))

def verify_inclusion(h, index, size, proof, root):
    fn, sn, r = index, size - 1, h
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while fn & 1 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root

out = {}
body = opens(job["note"])
out["opens"] = body is not None
origin, size, root64 = body.split("\n")[:3]
out["checkpoint"] = [origin, int(size), base64.b64decode(root64).hex()]
leaves = [leaf(bytes.fromhex(d)) for d in job["entries"]]
out["root_matches"] = mth(leaves) == base64.b64decode(root64)
proof = [bytes.fromhex(p) for p in job["proof"]]
out["inclusion"] = verify_inclusion(leaves[job["index"]], job["index"], len(leaves), proof, mth(leaves))
out["altered_opens"] = opens(job["altered"]) is not None
out["swapped_opens"] = opens(job["swapped"]) is not None
json.dump(out, sys.stdout)
"#;

fn run_python(job: &Json) -> Json {
    let mut child = Command::new("python3")
        .args(["-c", PYTHON])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(job.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python printed JSON")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn python_verifies_our_signed_checkpoint_and_inclusion_proof() {
    if !python_with_cryptography() {
        return;
    }
    let signer = NoteSigner::generate("timber.example/audit").unwrap();
    let entries: Vec<Vec<u8>> = (0..13u32)
        .map(|i| format!("entry {i}").into_bytes())
        .collect();
    let leaves: Vec<_> = entries.iter().map(|e| leaf_hash(e)).collect();
    let root = merkle::root(&leaves);
    let checkpoint = Checkpoint::new("timber.example/audit", 13, root).unwrap();
    let note = signed_note::sign(&checkpoint.to_body(), &signer).unwrap();
    let index = 6;
    let proof: Vec<String> = inclusion_proof(&leaves, index)
        .iter()
        .map(|h| hex(h))
        .collect();
    // The same body with another size; and our body under a signature over another body.
    let altered = note.replacen("\n13\n", "\n12\n", 1);
    let other_body = Checkpoint::new("timber.example/audit", 12, root)
        .unwrap()
        .to_body();
    let other_note = signed_note::sign(&other_body, &signer).unwrap();
    let other_sig = other_note.rsplit_once("\n\n").unwrap().1;
    let swapped = format!("{}\n{other_sig}", checkpoint.to_body());

    let out = run_python(&json!({
        "vkey": signer.verifier().to_text(),
        "note": note,
        "entries": entries.iter().map(|e| hex(e)).collect::<Vec<_>>(),
        "index": index,
        "proof": proof,
        "altered": altered,
        "swapped": swapped,
    }));
    assert_eq!(out["opens"], true, "{out}");
    assert_eq!(
        out["checkpoint"],
        json!(["timber.example/audit", 13, hex(&root)])
    );
    assert_eq!(out["root_matches"], true, "{out}");
    assert_eq!(out["inclusion"], true, "{out}");
    assert_eq!(out["altered_opens"], false, "{out}");
    assert_eq!(out["swapped_opens"], false, "{out}");
    // And ours refuses the same two.
    for bad in [&altered, &swapped] {
        assert!(matches!(
            signed_note::open(bad, &[signer.verifier()]),
            Err(NoteError::BadSignature { .. })
        ));
    }
}
