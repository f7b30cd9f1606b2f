//! One key with its modifiers, as the keymap file writes it and as help shows it.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// One key with its modifiers, as written in the keymap file (`ctrl-r`, `G`, `pgdn`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeySpec {
    pub code: KeyCodeOrd,
    pub ctrl: bool,
    pub alt: bool,
}

/// A key code that can be ordered (for stable help listings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyCodeOrd {
    Char(char),
    F(u8),
    Named(&'static str),
}

const NAMED: &[(&str, KeyCode)] = &[
    ("enter", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("tab", KeyCode::Tab),
    ("backtab", KeyCode::BackTab),
    ("backspace", KeyCode::Backspace),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("pgup", KeyCode::PageUp),
    ("pgdn", KeyCode::PageDown),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("delete", KeyCode::Delete),
    ("insert", KeyCode::Insert),
];

impl KeySpec {
    /// Parses `x`, `G`, `ctrl-x`, `alt-x`, `f5`, `space`, or a name from [`NAMED`].
    pub fn parse(text: &str) -> Option<KeySpec> {
        let mut rest = text.trim();
        let (mut ctrl, mut alt) = (false, false);
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.len() > 5 && lower.starts_with("ctrl-") {
                ctrl = true;
                rest = &rest[5..];
            } else if rest.len() > 4 && lower.starts_with("alt-") {
                alt = true;
                rest = &rest[4..];
            } else {
                break;
            }
        }
        let lower = rest.to_ascii_lowercase();
        let code = if rest.chars().count() == 1 {
            let c = rest.chars().next()?;
            // A control chord is case-blind in terminals: ctrl-R arrives as ctrl-r.
            KeyCodeOrd::Char(if ctrl { c.to_ascii_lowercase() } else { c })
        } else if lower == "space" {
            KeyCodeOrd::Char(' ')
        } else if let Some(n) = lower.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
            (1..=24).contains(&n).then_some(KeyCodeOrd::F(n))?
        } else {
            let (name, _) = NAMED.iter().find(|(name, _)| *name == lower)?;
            KeyCodeOrd::Named(name)
        };
        Some(KeySpec { code, ctrl, alt })
    }

    /// The spec of a key event (shift is part of the character for letters and symbols).
    pub fn from_event(event: &KeyEvent) -> Option<KeySpec> {
        let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
        let alt = event.modifiers.contains(KeyModifiers::ALT);
        let code = match event.code {
            KeyCode::Char(c) => KeyCodeOrd::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
            KeyCode::F(n) => KeyCodeOrd::F(n),
            other => KeyCodeOrd::Named(NAMED.iter().find(|(_, code)| *code == other)?.0),
        };
        Some(KeySpec { code, ctrl, alt })
    }
}

impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCodeOrd::Char(' ') => f.write_str("space"),
            KeyCodeOrd::Char(c) => write!(f, "{c}"),
            KeyCodeOrd::F(n) => write!(f, "f{n}"),
            KeyCodeOrd::Named(name) => f.write_str(name),
        }
    }
}
