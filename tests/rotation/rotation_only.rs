//! Helpers only the rotation tests use, beside the `rotation_support` they share with the
//! hardening tests (fault_postgres).

use std::process::Output;

use crate::store_support::{Kind, TestDb};

/// Test-only keys made with `timber keygen` for these tests; nothing else uses them.
pub const STRANGER_KEY: &str = "LZ8fuEUx5lXvuNYS3Rj-A_A9WymT_mIyt3rJy3QQ_9c=";
pub const NEW_MASTER_KEY: &str = "KbSaiiw_DyLoUHX0nG6BSiuu3NiAIeKQrMplRVDM32Y=";

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub async fn new_db(kind: Kind) -> Option<TestDb> {
    TestDb::new(kind).await
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}
