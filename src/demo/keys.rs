//! The demo's keys. They are published in this source file, so they protect nothing:
//! `timber health` flags any of them as `key.weak` (a failure under `OAK_ENV=production`).

/// Primary key written to the demo's `.env` as `ENCRYPTION_KEY`.
pub const DEMO_PRIMARY_KEY: &str = "diEk9JivrbdzaKjsP2ius5N-XdoYmfc3teMWvsga_f8=";
/// Previous key written as `ENCRYPTION_KEY_OLD`; about 15% of demo values are under it.
pub const DEMO_OLD_KEY: &str = "sU96imHqlEWrH4aEwXDMI7BkY1FaVEpIwBny6kcoMhA=";
/// Master key written as `MASTER_ENCRYPTION_KEY` (per-user keys, blind index, audit chain).
pub const DEMO_MASTER_KEY: &str = "2s8fGu9K5CsQCp1jwkF1jt3DRC2Wp9BitPuMcy_B2-E=";
/// A key that is NOT written to `.env`: the planted "unknown key" tokens are made with it.
pub const DEMO_UNKNOWN_KEY: &str = "nbc4a2kUY8OSOIGPY_72OSnhKeR8GN1VkBBBs2Aq1I0=";

/// Every key the demo publishes; `key.weak` matches configured keys against these.
pub const DEMO_KEYS: &[&str] = &[
    DEMO_PRIMARY_KEY,
    DEMO_OLD_KEY,
    DEMO_MASTER_KEY,
    DEMO_UNKNOWN_KEY,
];
