//! Themes: YAML files of semantic styles (`masked`, `revealed`, `error`, `ok`, ...).
//!
//! Built-in themes (`themes/*.yaml`: dark, light, high-contrast, mono) are embedded at build
//! time; a user directory (`~/.config/timber/themes`) may add themes or override a built-in
//! of the same name. A user theme may be partial: keys it leaves out come from `extends`
//! (default `dark`). Problems in a user file never stop the console: the file is skipped or
//! the key ignored, and the problem is reported at start with the file named.
//!
//! Choice: `--theme` beats `NO_COLOR`, which beats `TIMBER_THEME` (the NO_COLOR convention:
//! an explicit command-line argument overrides it); `NO_COLOR` selects `mono`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

macro_rules! theme_keys {
    ($($key:ident),* $(,)?) => {
        /// One theme: a style for each semantic key.
        #[derive(Clone, Debug, PartialEq)]
        pub struct Theme {
            pub name: String,
            $(pub $key: Style,)*
        }

        /// Every semantic key a theme defines.
        pub const THEME_KEYS: &[&str] = &[$(stringify!($key)),*];

        impl Theme {
            fn blank(name: &str) -> Theme {
                Theme { name: name.to_string(), $($key: Style::default(),)* }
            }

            fn set(&mut self, key: &str, style: Style) -> bool {
                match key {
                    $(stringify!($key) => self.$key = style,)*
                    _ => return false,
                }
                true
            }
        }
    };
}

theme_keys!(
    base,
    muted,
    accent,
    border,
    border_focus,
    title,
    tab,
    tab_active,
    header,
    selection,
    status_bg,
    badge,
    masked,
    revealed,
    hidden,
    error,
    ok,
    warn,
    fail,
    gauge,
    sparkline,
    key,
);

const BUILTIN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.yaml")),
    ("light", include_str!("../../themes/light.yaml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.yaml"),
    ),
    ("mono", include_str!("../../themes/mono.yaml")),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: Option<String>,
    extends: Option<String>,
    #[serde(default)]
    styles: BTreeMap<String, StyleSpec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underline: bool,
    #[serde(default)]
    reversed: bool,
    #[serde(default)]
    dim: bool,
}

/// Why a theme could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("unknown theme `{name}`; available: {available}")]
    Unknown { name: String, available: String },
}

/// Every theme available to this run, and the problems met while loading user themes.
#[derive(Clone, Debug)]
pub struct ThemeSet {
    themes: BTreeMap<String, Theme>,
    /// One line per problem, naming the file (shown at start).
    pub warnings: Vec<String>,
}

impl ThemeSet {
    /// The built-in themes only.
    pub fn builtin() -> ThemeSet {
        let mut set = ThemeSet {
            themes: BTreeMap::new(),
            warnings: Vec::new(),
        };
        for (name, text) in BUILTIN {
            let theme = set.parse(text, Path::new(&format!("themes/{name}.yaml")), name);
            if let Some(theme) = theme {
                set.themes.insert(theme.name.clone(), theme);
            }
        }
        set
    }

    /// Built-ins plus every `*.yaml` in `user_dir` (missing directory: built-ins only).
    pub fn load(user_dir: Option<&Path>) -> ThemeSet {
        let mut set = ThemeSet::builtin();
        let Some(dir) = user_dir else { return set };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return set;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        files.sort();
        for path in files {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("theme")
                .to_string();
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    if let Some(theme) = set.parse(&text, &path, &stem) {
                        set.themes.insert(theme.name.clone(), theme);
                    }
                }
                Err(e) => set
                    .warnings
                    .push(format!("theme {}: cannot read: {e}", path.display())),
            }
        }
        set
    }

    /// The user theme directory: `$XDG_CONFIG_HOME/timber/themes` or `~/.config/timber/themes`.
    pub fn user_dir() -> Option<PathBuf> {
        config_dir().map(|d| d.join("themes"))
    }

    pub fn names(&self) -> Vec<String> {
        self.themes.keys().cloned().collect()
    }

    pub fn get(&self, name: &str) -> Result<Theme, ThemeError> {
        self.themes
            .get(name)
            .cloned()
            .ok_or_else(|| ThemeError::Unknown {
                name: name.to_string(),
                available: self.names().join(", "),
            })
    }

    /// The theme this run uses: `flag` (`--theme`) first, then `NO_COLOR` (mono), then
    /// `env_choice` (`TIMBER_THEME`), then `dark`.
    pub fn choose(
        &self,
        flag: Option<&str>,
        no_color: bool,
        env_choice: Option<&str>,
    ) -> Result<Theme, ThemeError> {
        let name = match (flag, no_color, env_choice) {
            (Some(name), _, _) => name,
            (None, true, _) => "mono",
            (None, false, Some(name)) => name,
            (None, false, None) => "dark",
        };
        self.get(name.trim())
    }

    fn parse(&mut self, text: &str, path: &Path, stem: &str) -> Option<Theme> {
        let file: ThemeFile = match crate::config::from_str(text) {
            Ok(file) => file,
            Err(e) => {
                self.warnings
                    .push(format!("theme {}; file skipped", e.at(path)));
                return None;
            }
        };
        let name = file.name.clone().unwrap_or_else(|| stem.to_string());
        let mut theme = match &file.extends {
            Some(parent) => match self.themes.get(parent.trim()) {
                Some(parent) => parent.clone(),
                None => {
                    self.warnings.push(format!(
                        "theme {}: extends unknown theme `{parent}`; using dark underneath",
                        path.display()
                    ));
                    self.themes
                        .get("dark")
                        .cloned()
                        .unwrap_or_else(|| Theme::blank(&name))
                }
            },
            None => self
                .themes
                .get("dark")
                .cloned()
                .unwrap_or_else(|| Theme::blank(&name)),
        };
        theme.name = name;
        for (key, spec) in &file.styles {
            match to_style(spec) {
                Ok(style) => {
                    if !theme.set(key, style) {
                        self.warnings.push(format!(
                            "theme {}: unknown key `{key}` ignored; keys are {}",
                            path.display(),
                            THEME_KEYS.join(", ")
                        ));
                    }
                }
                Err(bad) => self.warnings.push(format!(
                    "theme {}: key `{key}`: unknown colour `{bad}` ignored \
                     (use a name like red, \"#rrggbb\" or 0-255)",
                    path.display()
                )),
            }
        }
        Some(theme)
    }
}

/// `$XDG_CONFIG_HOME/timber` or `$HOME/.config/timber`.
pub fn config_dir() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(x).join("timber"));
    }
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|h| PathBuf::from(h).join(".config/timber"))
}

/// True when `NO_COLOR` is set to a non-empty value (https://no-color.org).
pub fn no_color_requested() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

fn to_style(spec: &StyleSpec) -> Result<Style, String> {
    let mut style = Style::default();
    if let Some(fg) = &spec.fg {
        style = style.fg(parse_color(fg)?);
    }
    if let Some(bg) = &spec.bg {
        style = style.bg(parse_color(bg)?);
    }
    let flags = [
        (spec.bold, Modifier::BOLD),
        (spec.italic, Modifier::ITALIC),
        (spec.underline, Modifier::UNDERLINED),
        (spec.reversed, Modifier::REVERSED),
        (spec.dim, Modifier::DIM),
    ];
    for (on, modifier) in flags {
        if on {
            style = style.add_modifier(modifier);
        }
    }
    Ok(style)
}

fn parse_color(text: &str) -> Result<Color, String> {
    Color::from_str(text.trim()).map_err(|_| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_theme_loads_and_mono_has_no_colour() {
        let set = ThemeSet::builtin();
        assert!(set.warnings.is_empty(), "{:?}", set.warnings);
        for name in ["dark", "light", "high-contrast", "mono"] {
            let raw: ThemeFile = crate::config::from_str(
                BUILTIN
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, t)| *t)
                    .unwrap(),
            )
            .unwrap();
            for key in THEME_KEYS {
                assert!(
                    raw.styles.contains_key(*key),
                    "built-in {name} lacks `{key}`"
                );
            }
        }
        let mono = set.get("mono").unwrap();
        let colours = [
            mono.base,
            mono.masked,
            mono.revealed,
            mono.error,
            mono.selection,
        ];
        assert!(colours.iter().all(|s| s.fg.is_none() && s.bg.is_none()));
    }

    #[test]
    fn flag_beats_no_color_which_beats_the_environment() {
        let set = ThemeSet::builtin();
        assert_eq!(
            set.choose(Some("light"), true, Some("dark")).unwrap().name,
            "light"
        );
        assert_eq!(set.choose(None, true, Some("light")).unwrap().name, "mono");
        assert_eq!(
            set.choose(None, false, Some("light")).unwrap().name,
            "light"
        );
        assert_eq!(set.choose(None, false, None).unwrap().name, "dark");
        let err = set
            .choose(Some("neon"), false, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`neon`") && err.contains("high-contrast"),
            "{err}"
        );
    }
}
