//! The `:` command palette's language and completion: screens (`:data`), actions
//! (`:refresh`), `:theme NAME`, `:role NAME`, `:model NAME`, `:sort COLUMN [desc]`,
//! `:rate N` and `:lag S` (the selected rotation job's rate and replication-lag limits),
//! `:quit`.
//! `:report` (the evidence report, written to the working directory), `:quit`.

use crate::tui::context::ScreenId;
use crate::tui::keymap::Action;

/// A palette command, parsed.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Screen(ScreenId),
    Action(Action),
    Theme(String),
    Role(String),
    Model(String),
    /// `:sort COLUMN [desc]` (or `:sort off`) on the Data screen's table.
    Sort {
        column: String,
        descending: Option<bool>,
    },
    /// `:rate N` on the Keys screen: the selected job's rate limit (0: unlimited), as
    /// `timber jobs set JOB --max-rate N`.
    Rate(u64),
    /// `:lag S` on the Keys screen: the selected job's replication-lag limit in seconds
    /// (0: not watched), as `timber jobs set JOB --max-lag S`.
    Lag(f64),
    /// `:report`: write the evidence report (`timber report`) for the current role.
    Report,
}

/// Parses what was typed after `:`; the error says what is accepted.
pub fn parse(text: &str) -> Result<Command, String> {
    let text = text.trim().trim_start_matches(':').trim();
    let (word, arg) = match text.split_once(char::is_whitespace) {
        Some((w, a)) => (w, a.trim()),
        None => (text, ""),
    };
    let word = word.to_ascii_lowercase();
    let needs_arg =
        |what: &str| format!("`{word}` needs a {what}, e.g. `:{word} …` (tab completes)");
    match word.as_str() {
        "" => Err("type a command; tab completes".into()),
        "theme" if arg.is_empty() => Err(needs_arg("theme name")),
        "theme" => Ok(Command::Theme(arg.to_string())),
        "role" if arg.is_empty() => Err(needs_arg("role name")),
        "role" => Ok(Command::Role(arg.to_string())),
        "model" if arg.is_empty() => Err(needs_arg("model name")),
        "model" => Ok(Command::Model(arg.to_string())),
        "sort" if arg.is_empty() => Err(needs_arg("column (and `desc`), or `off`")),
        "sort" => {
            let mut words = arg.split_whitespace();
            let column = words.next().unwrap_or_default().to_string();
            let descending = match words.next().map(str::to_ascii_lowercase).as_deref() {
                None => Some(false),
                Some("desc" | "descending") => Some(true),
                Some("asc" | "ascending") => Some(false),
                Some(other) => {
                    return Err(format!(
                        "`:sort {column} {other}`: the order is `asc` or `desc`"
                    ));
                }
            };
            Ok(Command::Sort { column, descending })
        }
        "rate" if arg.is_empty() => Err(needs_arg("rows per second (0: unlimited)")),
        "rate" => crate::config::parse_rate(arg)
            .map(Command::Rate)
            .map_err(|e| format!("`:rate {arg}`: {e}")),
        "lag" if arg.is_empty() => Err(needs_arg("number of seconds (0: not watched)")),
        "lag" => match arg.parse::<f64>() {
            Ok(s) if s.is_finite() && s >= 0.0 => Ok(Command::Lag(s)),
            _ => Err(format!(
                "`:lag {arg}`: give seconds of replication lag, 0 or more (0: not watched)"
            )),
        },
        "q" | "quit" => Ok(Command::Action(Action::Quit)),
        "report" => Ok(Command::Report),
        _ => {
            if let Some(screen) = ScreenId::parse(&word) {
                return Ok(Command::Screen(screen));
            }
            Action::ALL
                .iter()
                .find(|a| a.name() == word)
                .map(|a| Command::Action(*a))
                .ok_or_else(|| {
                    format!("unknown command `{word}`; try :data, :theme NAME, :role NAME, :help")
                })
        }
    }
}

/// Every complete command the palette can offer.
pub fn candidates(themes: &[String], roles: &[String], models: &[String]) -> Vec<String> {
    let mut out: Vec<String> = ScreenId::ALL.iter().map(|s| s.name().to_string()).collect();
    out.extend(
        Action::ALL
            .iter()
            .filter(|a| {
                !matches!(
                    a,
                    Action::Overview
                        | Action::Data
                        | Action::Audit
                        | Action::Keys
                        | Action::Health
                        | Action::Sort
                )
            })
            .map(|a| a.name().to_string()),
    );
    out.push("report".to_string());
    out.extend(themes.iter().map(|t| format!("theme {t}")));
    out.extend(roles.iter().map(|r| format!("role {r}")));
    out.extend(models.iter().map(|m| format!("model {m}")));
    out
}

/// The palette commands help lists, built from the screens and actions so a new action
/// (`:verify` was missing from a hand-written line) shows up by itself. Moving keys
/// (`:down`, `:page-up`, ...) work too but are left out: nobody types them.
pub fn summary() -> String {
    let moves = [
        Action::Overview,
        Action::Data,
        Action::Audit,
        Action::Keys,
        Action::Health,
        Action::Palette,
        Action::Back,
        Action::NextTab,
        Action::PrevTab,
        Action::Up,
        Action::Down,
        Action::Left,
        Action::Right,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::Help,
        Action::Quit,
        // `:sort COLUMN [desc]` below says how to sort from the palette.
        Action::Sort,
    ];
    let mut out: Vec<String> = ScreenId::ALL
        .iter()
        .map(|s| format!(":{}", s.name()))
        .collect();
    out.extend(
        Action::ALL
            .iter()
            .filter(|a| !moves.contains(a))
            .map(|a| format!(":{}", a.name())),
    );
    out.extend(
        [
            ":model NAME",
            ":sort COLUMN [desc]",
            ":rate N",
            ":lag S",
            ":theme NAME",
            ":role NAME",
            ":report",
            ":quit",
        ]
        .map(String::from),
    );
    out.join(" ")
}

/// Candidates for `input`: those starting with it first, then those containing it.
pub fn complete(input: &str, candidates: &[String]) -> Vec<String> {
    let needle = input.trim().trim_start_matches(':').to_ascii_lowercase();
    let lower = |c: &String| c.to_ascii_lowercase();
    let mut out: Vec<String> = candidates
        .iter()
        .filter(|c| lower(c).starts_with(&needle))
        .cloned()
        .collect();
    out.extend(
        candidates
            .iter()
            .filter(|c| !lower(c).starts_with(&needle) && lower(c).contains(&needle))
            .cloned(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_screens_actions_and_arguments() {
        assert_eq!(parse(":data"), Ok(Command::Screen(ScreenId::Data)));
        assert_eq!(parse("3"), Ok(Command::Screen(ScreenId::Audit)));
        assert_eq!(parse("theme  light "), Ok(Command::Theme("light".into())));
        assert_eq!(parse("q"), Ok(Command::Action(Action::Quit)));
        assert_eq!(
            parse("sort tier desc"),
            Ok(Command::Sort {
                column: "tier".into(),
                descending: Some(true)
            })
        );
        assert!(parse("sort tier sideways").unwrap_err().contains("asc"));
        assert!(parse("role").unwrap_err().contains("role name"));
        assert!(
            parse("frobnicate")
                .unwrap_err()
                .contains("unknown command `frobnicate`")
        );
    }

    #[test]
    fn completion_prefers_prefixes() {
        let all = candidates(
            &["dark".into(), "light".into()],
            &["viewer".into()],
            &["UserProfile".into()],
        );
        let got = complete("th", &all);
        assert_eq!(got[0], "theme dark");
        assert!(complete("light", &all).contains(&"theme light".to_string()));
        assert_eq!(complete("role v", &all), vec!["role viewer".to_string()]);
    }
}
