//! Actions and the keys that trigger them. The defaults are k9s-like; a YAML file
//! (`TIMBER_KEYMAP`, else `~/.config/timber/keymap.yaml`) overrides some actions:
//!
//! ```yaml
//! reveal: R            # one key
//! quit: [q, ctrl-q]    # or several; the action's default keys are replaced
//! ```
//!
//! Problems (unknown action, unreadable key, two actions on one key) never stop the console;
//! each is reported at start. On a conflict the user's binding wins over a default, and
//! between two user bindings the earlier action in [`Action::ALL`] wins. `ctrl-c` always
//! quits, whatever the file says, so an operator can never lock themselves in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crossterm::event::KeyEvent;

pub use super::keyspec::{KeyCodeOrd, KeySpec};

macro_rules! actions {
    ($($variant:ident = $name:literal, $help:literal, [$($key:literal),*];)*) => {
        /// Something the operator can ask for, independent of the key that asks.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Action { $($variant,)* }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The name used in the keymap file and the command palette.
            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name,)* }
            }

            pub fn help(self) -> &'static str {
                match self { $(Action::$variant => $help,)* }
            }

            /// The keys bound to the action when the keymap file does not name it.
            pub fn default_keys(self) -> &'static [&'static str] {
                match self { $(Action::$variant => &[$($key),*],)* }
            }
        }
    };
}

actions! {
    Quit = "quit", "quit the console", ["q", "ctrl-c"];
    Help = "help", "show this help", ["?"];
    Palette = "palette", "open the command palette", [":"];
    Back = "back", "close a popup, leave a table", ["esc"];
    Overview = "overview", "screen 1: overview", ["1"];
    Data = "data", "screen 2: data", ["2"];
    Audit = "audit", "screen 3: audit", ["3"];
    Keys = "keys", "screen 4: keys & rotation", ["4"];
    Health = "health", "screen 5: health", ["5"];
    NextTab = "next-tab", "next screen", ["tab"];
    PrevTab = "prev-tab", "previous screen", ["backtab"];
    Up = "up", "move up", ["k", "up"];
    Down = "down", "move down", ["j", "down"];
    Left = "left", "previous column", ["h", "left"];
    Right = "right", "next column", ["l", "right"];
    PageUp = "page-up", "previous page", ["pgup", "ctrl-b"];
    PageDown = "page-down", "next page", ["pgdn", "ctrl-f"];
    Top = "top", "first page", ["g", "home"];
    Bottom = "bottom", "last page", ["G", "end"];
    Open = "open", "open the model / show the record / the audit entry's detail", ["enter"];
    Reveal = "reveal", "reveal the selected cell / the audit entry's values (audited)", ["r"];
    Search = "search", "search a blind-indexed field", ["s"];
    Filter = "filter", "filter as you type (data: a word, field=value; audit: actor= …)", ["/"];
    Sort = "sort", "data: sort by the selected column (asc, desc, off)", ["o"];
    Refresh = "refresh", "reload this screen", ["ctrl-r", "f5"];
    Rotate = "rotate", "start a key rotation (keys screen)", ["R"];
    PauseJob = "pause-job", "pause or resume the selected rotation job", ["p"];
    CancelJob = "cancel-job", "cancel the selected rotation job", ["x"];
    RetireKey = "retire-key", "retire the selected key once no value needs it (keys screen)", ["X"];
    Severity = "severity", "health: show one severity, then the next", ["v"];
    Export = "export", "health: write the JSON report to a file", ["e"];
    Verify = "verify", "audit: verify the hash chain, jump to the first broken entry", ["V"];
    Checkpoint = "checkpoint", "audit: sign a checkpoint of the log", ["C"];
    Census = "census", "keys: which key encrypts what, per column (the census)", ["c"];
    Messages = "messages", "the message history, newest first", ["M"];
    Copy = "copy", "copy the selected cell: a plain or revealed value (audited)", ["y"];
    CopyId = "copy-id", "copy the selected row's id", ["Y"];
    Dump = "dump", "write the screen, as shown, to a text file", ["ctrl-s"];
}

impl Action {
    /// Actions that write to the database: disabled, with the reason, in a read-only session.
    pub fn writes(self) -> bool {
        matches!(
            self,
            Action::Rotate | Action::PauseJob | Action::CancelJob | Action::RetireKey
        )
    }
}

/// The live key bindings, and the problems found while building them.
#[derive(Clone, Debug)]
pub struct Keymap {
    by_key: BTreeMap<KeySpec, Action>,
    /// One line per problem, naming the file (shown at start and in help).
    pub warnings: Vec<String>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::with_overrides(&[], "defaults")
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
enum KeysYaml {
    One(String),
    Many(Vec<String>),
}

impl Keymap {
    /// The keymap file to read: `TIMBER_KEYMAP`, else `<config dir>/keymap.yaml`.
    pub fn default_path() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("TIMBER_KEYMAP").filter(|v| !v.is_empty()) {
            return Some(PathBuf::from(p));
        }
        super::theme::config_dir().map(|d| d.join("keymap.yaml"))
    }

    /// Defaults plus the overrides in `path`, if it exists.
    pub fn load(path: Option<&Path>) -> Keymap {
        let Some(path) = path else {
            return Keymap::default();
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Keymap::default(),
            Err(e) => {
                let mut map = Keymap::default();
                map.warnings.push(format!(
                    "keymap {}: cannot read: {e}; using defaults",
                    path.display()
                ));
                return map;
            }
        };
        Keymap::parse(&text, path)
    }

    /// Defaults plus the overrides in `text` (read from `path`, named in messages).
    pub fn parse(text: &str, path: &Path) -> Keymap {
        let where_ = format!("keymap {}", path.display());
        let parsed = crate::config::from_str::<Option<_>>(text);
        let raw: BTreeMap<String, KeysYaml> = match parsed {
            Ok(map) => map.unwrap_or_default(),
            Err(e) => {
                let mut map = Keymap::default();
                map.warnings
                    .push(format!("keymap {}; using defaults", e.at(path)));
                return map;
            }
        };
        let mut warnings = Vec::new();
        let mut overrides = Vec::new();
        for (name, keys) in raw {
            let Some(action) = Action::ALL
                .iter()
                .copied()
                .find(|a| a.name() == name.trim())
            else {
                let known: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
                warnings.push(format!(
                    "{where_}: unknown action `{name}` ignored; actions are {}",
                    known.join(", ")
                ));
                continue;
            };
            let keys = match keys {
                KeysYaml::One(k) => vec![k],
                KeysYaml::Many(ks) => ks,
            };
            let mut specs = Vec::new();
            for key in keys {
                match KeySpec::parse(&key) {
                    Some(spec) => specs.push(spec),
                    None => warnings.push(format!(
                        "{where_}: action `{name}`: cannot read key `{key}` (try x, G, ctrl-x, f5, pgdn)"
                    )),
                }
            }
            overrides.push((action, specs));
        }
        let mut map = Keymap::with_overrides(&overrides, &where_);
        warnings.append(&mut map.warnings);
        map.warnings = warnings;
        map
    }

    fn with_overrides(overrides: &[(Action, Vec<KeySpec>)], where_: &str) -> Keymap {
        let mut by_key: BTreeMap<KeySpec, Action> = BTreeMap::new();
        let mut warnings = Vec::new();
        // User bindings first (they win), in action order; then defaults where still free.
        let mut user: Vec<&(Action, Vec<KeySpec>)> = overrides.iter().collect();
        user.sort_by_key(|(a, _)| *a);
        for (action, specs) in user {
            for spec in specs {
                if let Some(other) = by_key.get(spec) {
                    warnings.push(format!(
                        "{where_}: key {spec} is bound to both `{}` and `{}`; `{}` wins",
                        other.name(),
                        action.name(),
                        other.name()
                    ));
                } else {
                    by_key.insert(*spec, *action);
                }
            }
        }
        for action in Action::ALL {
            if overrides.iter().any(|(a, _)| a == action) {
                continue;
            }
            for key in action.default_keys() {
                let spec = KeySpec::parse(key).expect("default keys parse");
                if let Some(other) = by_key.get(&spec) {
                    warnings.push(format!(
                        "{where_}: key {spec} now means `{}`, so `{}` loses it (its default)",
                        other.name(),
                        action.name()
                    ));
                } else {
                    by_key.insert(spec, *action);
                }
            }
        }
        let ctrl_c = KeySpec::parse("ctrl-c").expect("ctrl-c parses");
        match by_key.get(&ctrl_c) {
            Some(Action::Quit) => {}
            Some(other) => {
                warnings.push(format!(
                    "{where_}: ctrl-c always quits; its binding to `{}` is ignored",
                    other.name()
                ));
                by_key.insert(ctrl_c, Action::Quit);
            }
            // `quit` remapped without it: ctrl-c still quits, nothing to say.
            None => {
                by_key.insert(ctrl_c, Action::Quit);
            }
        }
        Keymap { by_key, warnings }
    }

    /// The action a key event triggers, if any.
    pub fn action(&self, event: &KeyEvent) -> Option<Action> {
        KeySpec::from_event(event).and_then(|spec| self.by_key.get(&spec).copied())
    }

    /// The keys bound to `action`, in a stable order.
    pub fn keys_for(&self, action: Action) -> Vec<KeySpec> {
        self.by_key
            .iter()
            .filter(|(_, a)| **a == action)
            .map(|(k, _)| *k)
            .collect()
    }

    /// One key of `action` for a short title: the first without a modifier (`pgdn` rather
    /// than `ctrl-f`), else the first; `unbound` when it has none.
    pub fn short_label(&self, action: Action) -> String {
        let keys = self.keys_for(action);
        keys.iter()
            .find(|k| !k.ctrl && !k.alt)
            .or(keys.first())
            .map_or_else(|| "unbound".to_string(), |k| k.to_string())
    }

    /// `"r"` or `"k/up"`: the keys of an action as shown in help and hints.
    pub fn label(&self, action: Action) -> String {
        let keys: Vec<String> = self
            .keys_for(action)
            .iter()
            .map(|k| k.to_string())
            .collect();
        if keys.is_empty() {
            "unbound".to_string()
        } else {
            keys.join("/")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn defaults_have_no_conflicts_and_map_k9s_keys() {
        let map = Keymap::default();
        assert!(map.warnings.is_empty(), "{:?}", map.warnings);
        assert_eq!(
            map.action(&press(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Bottom)
        );
        assert_eq!(
            map.action(&press(KeyCode::PageDown, KeyModifiers::NONE)),
            Some(Action::PageDown)
        );
        assert_eq!(
            map.action(&press(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
    }

    #[test]
    fn partial_override_replaces_only_that_action_and_reports_conflicts() {
        let text = "reveal: R\nrefresh: [r]\nbogus: x\nsearch: ctrl-\n";
        let map = Keymap::parse(text, Path::new("/tmp/km.yaml"));
        assert_eq!(
            map.action(&press(KeyCode::Char('R'), KeyModifiers::SHIFT)),
            Some(Action::Reveal)
        );
        assert_eq!(
            map.action(&press(KeyCode::Char('r'), KeyModifiers::NONE)),
            Some(Action::Refresh)
        );
        assert_eq!(
            map.action(&press(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some(Action::Quit)
        );
        let all = map.warnings.join("\n");
        assert!(all.contains("unknown action `bogus`"), "{all}");
        assert!(all.contains("cannot read key `ctrl-`"), "{all}");
        assert!(all.contains("/tmp/km.yaml"), "{all}");
    }

    #[test]
    fn ctrl_c_cannot_be_taken_from_quit() {
        let map = Keymap::parse("quit: x\nhelp: ctrl-c\n", Path::new("k.yaml"));
        assert_eq!(
            map.action(&press(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert!(
            map.warnings
                .iter()
                .any(|w| w.contains("ctrl-c always quits")),
            "{:?}",
            map.warnings
        );
    }
}
