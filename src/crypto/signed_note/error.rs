//! Every way a key text, a signed note or a checkpoint body can be refused, each naming what
//! is wrong and where. No variant carries signer key material: a malformed signer key is
//! described, never quoted.

/// A refused key text, note or checkpoint body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// A key name that C2SP signed-note §Format forbids.
    #[error("invalid key name {name:?}: a key name must be non-empty, without spaces or '+'")]
    InvalidName { name: String },

    /// A signer key text (`PRIVATE+KEY+<name>+<hash>+<key>`) that does not parse.
    #[error("malformed signer key: {reason} (the key text is not shown)")]
    MalformedSignerKey { reason: &'static str },

    /// A verifier key text (`<name>+<hash>+<key>`) that does not parse.
    #[error("malformed verifier key: {reason}")]
    MalformedVerifierKey { reason: &'static str },

    /// A key of a signature type other than Ed25519 (`0x01`, C2SP signed-note §Signature
    /// types).
    #[error("key type 0x{algorithm:02x} is not supported (only Ed25519, 0x01)")]
    UnsupportedAlgorithm { algorithm: u8 },

    /// A key text whose stated key hash is not the one its name and key give.
    #[error(
        "key hash {stated:08x} in the key text for {name} does not match its key ({computed:08x})"
    )]
    KeyHashMismatch {
        name: String,
        stated: u32,
        computed: u32,
    },

    /// A note text to sign that does not end in a newline (C2SP signed-note §Format).
    #[error("the note text must end with a newline")]
    MissingFinalNewline,

    /// An ASCII control character other than newline (C2SP signed-note §Format).
    #[error("control character U+{code:04X} on line {line} of the note")]
    ControlCharacter { code: u32, line: usize },

    /// No blank line separating the text from the signatures.
    #[error("no blank line before the signature lines: not a signed note")]
    MissingSignatures,

    /// A signature line that is not `— <name> <base64>` (C2SP signed-note §Signatures).
    #[error("malformed signature line {line} of the note: {reason}")]
    MalformedSignatureLine { line: usize, reason: &'static str },

    /// More signature lines than a verifier accepts.
    #[error("the note has {count} signatures, more than the {max} accepted")]
    TooManySignatures { count: usize, max: usize },

    /// Two different known keys with the same name and key hash: a signature by either
    /// cannot be attributed.
    #[error("two known keys share the name {name} and key hash {key_hash:08x}")]
    AmbiguousKey { name: String, key_hash: u32 },

    /// A signature by a known key (name and key hash match) that does not verify: the text
    /// was altered or the signature replaced.
    #[error(
        "the signature by {name} does not verify: the note text was altered or the signature is forged"
    )]
    BadSignature { name: String },

    /// No signature by a known key (C2SP signed-note §Signatures: the note MUST be rejected).
    #[error("no signature by a known key (signed by: {})", signed_by_list(.signed_by))]
    NoKnownSignature { signed_by: Vec<String> },

    /// A checkpoint body with fewer than the three lines of C2SP tlog-checkpoint §Note text.
    #[error("checkpoint body has {lines} line(s); it needs origin, tree size and root hash")]
    CheckpointTooShort { lines: usize },

    /// A checkpoint body that does not end in a newline.
    #[error("checkpoint body must end with a newline")]
    CheckpointMissingNewline,

    /// An empty origin line, or an origin that would not stay one line.
    #[error("checkpoint origin (line 1) must be one non-empty line")]
    CheckpointBadOrigin,

    /// A tree size that is not a decimal number without leading zeros fitting 64 bits.
    #[error("checkpoint tree size (line 2) {text:?} is not a decimal number without leading zeros")]
    CheckpointBadSize { text: String },

    /// A root hash that is not the standard base64 of 32 bytes.
    #[error("checkpoint root hash (line 3) is not the base64 of 32 bytes: {reason}")]
    CheckpointBadRoot { reason: &'static str },

    /// An empty extension line (C2SP tlog-checkpoint §Note text: they MUST be non-empty).
    #[error("checkpoint extension line {line} is empty")]
    CheckpointEmptyExtension { line: usize },
}

fn signed_by_list(names: &[String]) -> String {
    if names.is_empty() {
        "nobody".to_string()
    } else {
        names.join(", ")
    }
}
