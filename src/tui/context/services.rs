//! The services a screen's loaders call, and the facts of the session its key handlers
//! ([`Ctx`]) and its view ([`Ui`]) read. The root builds both from its own state; a screen
//! never sees the root.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::disabled::{Disabled, disabled};
use crate::access::{Access, Grants};
use crate::audit::AuditLog;
use crate::config::Settings;
use crate::config::{ColumnDef, ModelDef, ModelSet};
use crate::crypto::KeyRing;
use crate::crypto::signed_note::{NoteSigner, NoteVerifier};
use crate::store::Store;
use crate::tui::keymap::{Action, Keymap};
use crate::tui::theme::Theme;

/// The console's append-only audit connection, opened on first use and shared.
pub type SharedLog = Arc<tokio::sync::OnceCell<AuditLog>>;

/// What background work runs against: the database (once connected), the keys, the models,
/// the settings, the role's access and the audit connection.
#[derive(Clone)]
pub struct Services {
    pub store: Option<Store>,
    pub ring: Arc<KeyRing>,
    pub models: Arc<ModelSet>,
    pub settings: Arc<Settings>,
    pub access: Arc<Access>,
    pub audit_log: SharedLog,
    /// Why the database is not connected, once an attempt failed.
    pub connection_error: Option<String>,
}

impl Services {
    /// The audit signing key (AUDIT_SIGNING_KEY), or why there is none to use.
    pub fn audit_signer(&self) -> Result<Arc<NoteSigner>, String> {
        let sourced = self.settings.audit_signing_key.as_ref().ok_or(
            "AUDIT_SIGNING_KEY is not set; make one with `timber keygen --audit`".to_string(),
        )?;
        NoteSigner::from_text(sourced.value.expose().trim())
            .map(Arc::new)
            .map_err(|e| {
                format!(
                    "AUDIT_SIGNING_KEY from {} is not a signing key: {e}",
                    sourced.source
                )
            })
    }

    /// The key signed checkpoints are checked with: AUDIT_PUBLIC_KEY, else the public half
    /// of AUDIT_SIGNING_KEY; `None` when neither is set (or usable).
    pub fn audit_verifier(&self) -> Option<Arc<NoteVerifier>> {
        if let Some(public) = &self.settings.audit_public_key {
            let line = public.value.trim().trim_start_matches("AUDIT_PUBLIC_KEY=");
            return NoteVerifier::from_text(line).ok().map(Arc::new);
        }
        self.audit_signer()
            .ok()
            .map(|signer| Arc::new(signer.verifier()))
    }

    /// A model by name, as configured.
    pub fn model(&self, name: &str) -> Option<ModelDef> {
        self.models.models.iter().find(|m| m.name == name).cloned()
    }

    /// Models with encrypted columns: the ones a census, a survey or a rotation reads.
    pub fn encrypted_models(&self) -> impl Iterator<Item = &ModelDef> {
        self.models
            .models
            .iter()
            .filter(|m| m.has_encrypted_columns())
    }

    /// The decision for a column under the current role is anything but plain.
    pub fn is_secret(&self, model: &ModelDef, column: &ColumnDef) -> bool {
        self.access.decide(model, column) != crate::access::Decision::Plain
    }

    /// Why a page cannot load: the failed connection, or that it is not there yet.
    pub fn not_connected(&self) -> String {
        match &self.connection_error {
            Some(e) => format!("not connected: {e}"),
            None => "not connected yet; the page loads once the database answers".into(),
        }
    }

    /// `ROTATION_MAX_ROWS_PER_SECOND` as loaded: the rate jobs started here are held to.
    pub fn max_rotation_rate(&self) -> Option<u64> {
        self.settings
            .rotation_max_rows_per_second
            .as_ref()
            .map(|r| r.value)
    }

    /// Where the rotation rate limit was set (`env ROTATION_MAX_ROWS_PER_SECOND`, a file).
    pub fn max_rotation_rate_source(&self) -> Option<String> {
        self.settings
            .rotation_max_rows_per_second
            .as_ref()
            .map(|r| r.source.to_string())
    }
}

/// What a screen's key handler and update read besides its own state.
pub struct Ctx<'a> {
    pub services: &'a Services,
    pub now: DateTime<Utc>,
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    pub read_only: bool,
    pub reveal_timeout_seconds: u64,
}

impl Ctx<'_> {
    /// The actions the acting role is granted.
    pub fn grants(&self) -> &Grants {
        self.services.access.grants()
    }

    /// Rows of data a table shows at the current size (see [`Ui::page_size`]).
    pub fn page_size(&self) -> usize {
        page_size(self.size)
    }

    pub fn disabled(&self, action: Action) -> Option<Disabled> {
        disabled(self.grants(), self.read_only, action)
    }

    /// The refusal of an action the role is not granted, as the message line says it (a
    /// read-only session's writes are refused by their handlers, with their remedy).
    pub fn not_granted(&self, action: Action) -> Option<String> {
        match self.disabled(action)? {
            Disabled::NotGranted(refused) => Some(refused.short()),
            Disabled::ReadOnly => None,
        }
    }

    /// The acting role's name.
    pub fn role(&self) -> &str {
        &self.services.access.identity().role
    }
}

/// What a screen's view reads besides its own state: how to draw, and the session's facts.
#[derive(Clone, Copy)]
pub struct Ui<'a> {
    pub theme: &'a Theme,
    pub keymap: &'a Keymap,
    pub grants: &'a Grants,
    pub read_only: bool,
    pub role: &'a str,
    pub reveal_timeout_seconds: u64,
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    /// The console's clock (the test clock in tests), for "3 min ago".
    pub now: DateTime<Utc>,
}

impl Ui<'_> {
    /// Rows of data a table shows at the current size (see [`page_size`]).
    pub fn page_size(&self) -> usize {
        page_size(self.size)
    }

    /// Why `action` is disabled, read-only first (its remedy is a restart).
    pub fn disabled(&self, action: Action) -> Option<Disabled> {
        disabled(self.grants, self.read_only, action)
    }

    /// The keys of `actions` the role is not granted (read-only aside), as `R, p, x`.
    pub fn not_granted_keys(&self, actions: &[Action]) -> Vec<String> {
        actions
            .iter()
            .filter(|a| matches!(self.disabled(**a), Some(Disabled::NotGranted(_))))
            .map(|a| self.keymap.label(*a))
            .collect()
    }

    /// `role support has no "rotate" grant` for help and titles; `None` when granted.
    pub fn grant_note(&self, action: Action) -> Option<String> {
        match self.disabled(action)? {
            Disabled::NotGranted(refused) => Some(format!(
                "role {} has no \"{}\" grant",
                refused.role,
                refused.action.as_str()
            )),
            Disabled::ReadOnly => None,
        }
    }

    /// `r reveal`, or nothing when the role has no `reveal` action (help says why; the hint
    /// line at 80 columns has no room for the reason).
    pub fn reveal_hint(&self) -> Option<String> {
        let key = self.keymap.label(Action::Reveal);
        self.disabled(Action::Reveal)
            .is_none()
            .then(|| format!("{key} reveal"))
    }
}

/// Rows of data the table shows at `size`: the screen less the tab bar, the message row,
/// the hint row, the status bar, the table's borders, header and footer.
pub fn page_size(size: (u16, u16)) -> usize {
    size.1.saturating_sub(8).max(1) as usize
}
