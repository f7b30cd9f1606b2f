//! The demo's planted problems, each one a thing `timber health` must find:
//!
//! | check                 | where                          | what                                   |
//! |-----------------------|--------------------------------|----------------------------------------|
//! | data.plaintext        | UserProfile.phone              | 3 values written before encryption     |
//! | data.undecryptable    | ResearchSession.ai_insights    | 2 tokens under a key nobody has        |
//! | data.undecryptable    | UserProfile.research_notes     | 1 token whose plaintext is not UTF-8   |
//! | data.duplicate_token  | SensitiveData.account_number   | 2 rows sharing one token               |
//! | data.timestamps       | ResearchSession.ai_insights    | 1 token stamped 3 days in the future   |
//! | schema.legacy_hash    | UserProfile.email_hash         | 5 unkeyed sha256(lower(email)) hashes  |
//! | schema.column_width   | UserProfile.phone (model)      | String(50) cannot hold its tokens      |
//! | schema.encrypted_indexed | SensitiveData.account_number | an index on ciphertext                |
//! | data.old_key          | every non-per-user model       | ~15% of rows under ENCRYPTION_KEY_OLD, written 2024-03..2025-12 (`ages.rs`) |
//!
//! The last three come from the models and the seeding; this file plants the rest by
//! compare-and-set updates of stored text, so it never needs SQL of its own.

use rand::RngCore;

use super::generate::DemoError;
use super::keys::DEMO_UNKNOWN_KEY;
use crate::config::{ModelDef, ModelSet};
use crate::crypto::blind_index::legacy_sha256;
use crate::crypto::fernet::unix_now;
use crate::crypto::{FernetKey, Key, KeyId, KeyRing};
use crate::store::{CasUpdate, RawRow, Store};
use crate::value::Value;

/// One planted problem: the check that should find it and the records it is in.
#[derive(Clone, Debug, PartialEq)]
pub struct Planted {
    pub check: &'static str,
    pub model: String,
    pub column: String,
    pub what: &'static str,
    pub record_ids: Vec<String>,
}

fn id_text(id: &Value) -> String {
    match id {
        Value::Text(s) => s.clone(),
        other => other.to_json().to_string(),
    }
}

/// Decrypts a stored value with the demo ring (the seeding just wrote it).
fn plaintext_of(ring: &KeyRing, model: &ModelDef, column: &str, stored: &str) -> Option<String> {
    let col = model.column(column)?;
    match ring.decrypt_value(stored, col, None).ok()?.value {
        Value::Text(s) => Some(s),
        other => Some(other.to_json().to_string()),
    }
}

struct Planter<'a> {
    store: &'a Store,
    planted: Vec<Planted>,
}

impl Planter<'_> {
    async fn rows(&self, model: &ModelDef, columns: &[&str]) -> Result<Vec<RawRow>, DemoError> {
        Ok(self.store.raw_page(model, columns, None, 16).await?)
    }

    /// Replaces the stored text of `column` in the given rows and records the plant.
    async fn replace(
        &mut self,
        model: &ModelDef,
        column: &str,
        check: &'static str,
        what: &'static str,
        changes: Vec<(RawRow, String)>,
    ) -> Result<(), DemoError> {
        let updates: Vec<CasUpdate> = changes
            .iter()
            .filter_map(|(row, new)| {
                Some(CasUpdate {
                    id: row.id.clone(),
                    column: column.to_string(),
                    expected: row.values.first()?.clone()?,
                    new: new.clone(),
                })
            })
            .collect();
        self.store.compare_and_set(model, &updates).await?;
        self.planted.push(Planted {
            check,
            model: model.name.clone(),
            column: column.to_string(),
            what,
            record_ids: updates.iter().map(|u| id_text(&u.id)).collect(),
        });
        Ok(())
    }
}

/// Plants every problem of the table above into the freshly seeded demo database.
pub async fn plant_problems(
    store: &Store,
    models: &ModelSet,
    ring: &KeyRing,
) -> Result<Vec<Planted>, DemoError> {
    let model = |name: &str| {
        models
            .find(name)
            .ok_or_else(|| DemoError::Models(format!("demo model {name} is missing")))
    };
    let mut p = Planter {
        store,
        planted: Vec::new(),
    };
    let primary = ring
        .key(&KeyId::Primary)
        .ok_or_else(|| DemoError::Models("no primary key".into()))?;
    let users = model("UserProfile")?;
    p.plaintext_phones(users, ring).await?;
    p.notes_not_utf8(users, &primary).await?;
    p.legacy_email_hashes(users, ring).await?;
    let sessions = model("ResearchSession")?;
    p.insights_under_unknown_key(sessions, ring).await?;
    p.insight_from_the_future(sessions, &primary).await?;
    p.duplicate_account_token(model("SensitiveData")?).await?;
    Ok(p.planted)
}

impl Planter<'_> {
    /// data.plaintext: three phones as the application wrote them before encryption.
    async fn plaintext_phones(
        &mut self,
        users: &ModelDef,
        ring: &KeyRing,
    ) -> Result<(), DemoError> {
        let rows = self.rows(users, &["phone"]).await?;
        let changes = rows[..3.min(rows.len())]
            .iter()
            .filter_map(|r| {
                let stored = r.values[0].as_deref()?;
                Some((r.clone(), plaintext_of(ring, users, "phone", stored)?))
            })
            .collect();
        self.replace(
            users,
            "phone",
            "data.plaintext",
            "plaintext in an encrypted column",
            changes,
        )
        .await
    }

    /// data.undecryptable: a valid token whose plaintext is not UTF-8.
    async fn notes_not_utf8(
        &mut self,
        users: &ModelDef,
        primary: &FernetKey,
    ) -> Result<(), DemoError> {
        let rows = self.rows(users, &["research_notes"]).await?;
        let not_utf8 = primary.encrypt(&[0xff, 0xfe, 0x80, b'x']);
        let changes = rows
            .iter()
            .skip(5)
            .take(1)
            .map(|r| (r.clone(), not_utf8.clone()))
            .collect();
        self.replace(
            users,
            "research_notes",
            "data.undecryptable",
            "corrupted token (not UTF-8)",
            changes,
        )
        .await
    }

    /// schema.legacy_hash: five blind-index values as an unkeyed sha256 of the e-mail.
    async fn legacy_email_hashes(
        &mut self,
        users: &ModelDef,
        ring: &KeyRing,
    ) -> Result<(), DemoError> {
        let rows = self.rows(users, &["email"]).await?;
        let hash_rows = self.rows(users, &["email_hash"]).await?;
        let changes = rows
            .iter()
            .zip(&hash_rows)
            .skip(6)
            .take(5)
            .filter_map(|(r, h)| {
                let email = plaintext_of(ring, users, "email", r.values[0].as_deref()?)?;
                Some((h.clone(), legacy_sha256(&email)))
            })
            .collect();
        self.replace(
            users,
            "email_hash",
            "schema.legacy_hash",
            "unkeyed legacy sha256 hash",
            changes,
        )
        .await
    }

    /// data.undecryptable: two insights re-encrypted under a key nobody configured.
    async fn insights_under_unknown_key(
        &mut self,
        sessions: &ModelDef,
        ring: &KeyRing,
    ) -> Result<(), DemoError> {
        let unknown = FernetKey::new(&Key::from_base64_named(
            DEMO_UNKNOWN_KEY,
            "demo unknown key",
        )?);
        let rows = self.rows(sessions, &["ai_insights"]).await?;
        let changes = rows
            .iter()
            .skip(3)
            .take(2)
            .filter_map(|r| {
                let text = plaintext_of(ring, sessions, "ai_insights", r.values[0].as_deref()?)?;
                Some((r.clone(), unknown.encrypt(text.as_bytes())))
            })
            .collect();
        self.replace(
            sessions,
            "ai_insights",
            "data.undecryptable",
            "token under an unknown key",
            changes,
        )
        .await
    }

    /// data.timestamps: a token stamped three days ahead, as a server with a fast clock
    /// would write it.
    async fn insight_from_the_future(
        &mut self,
        sessions: &ModelDef,
        primary: &FernetKey,
    ) -> Result<(), DemoError> {
        let rows = self.rows(sessions, &["ai_insights"]).await?;
        let mut iv = [0u8; 16];
        rand::rng().fill_bytes(&mut iv);
        let future = primary.encrypt_at(
            b"Forecast written by a server with a fast clock",
            unix_now() + 3 * 86_400,
            iv,
        );
        let changes = rows
            .iter()
            .skip(6)
            .take(1)
            .map(|r| (r.clone(), future.clone()))
            .collect();
        self.replace(
            sessions,
            "ai_insights",
            "data.timestamps",
            "token stamped 3 days ahead",
            changes,
        )
        .await
    }

    /// data.duplicate_token: one row's token copied into another. Stored text is copied as
    /// it is, so the copy is byte-identical, as a careless `UPDATE ... SET col = (SELECT col
    /// ...)` would make it.
    async fn duplicate_account_token(&mut self, sensitive: &ModelDef) -> Result<(), DemoError> {
        let rows = self.rows(sensitive, &["account_number"]).await?;
        let (Some(first), Some(second)) = (rows.first(), rows.get(1)) else {
            return Ok(());
        };
        let Some(token) = first.values[0].clone() else {
            return Ok(());
        };
        self.replace(
            sensitive,
            "account_number",
            "data.duplicate_token",
            "token copied from another row",
            vec![(second.clone(), token)],
        )
        .await?;
        if let Some(last) = self.planted.last_mut() {
            last.record_ids.insert(0, id_text(&first.id));
        }
        Ok(())
    }
}
