//! The census pane of the Keys screen (`c`, `:census`): which key encrypts what, per
//! encrypted column: the count under each configured key (by its id, the primary marked
//! `★`), plaintext, unknown key and malformed values, and the share encrypted (plaintext
//! counts as not encrypted, and anything short of all is never rounded up to 100%). Above
//! it, a warning when a configured key matches no stored token: for the primary that
//! almost always means a wrong `ENCRYPTION_KEY`.
//!
//! Below the counts, when the pane has room, the age of the data under each key: the
//! oldest, median and newest token time per column and key (`health::TokenAge`).
//!
//! The counts are the Overview's census (token headers and HMACs, nothing decrypted).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Paragraph, Row, Table};

use super::{KeyRow, KeysState};
use crate::health::CensusColumn;
use crate::tui::context::Loadable;
use crate::tui::theme::Theme;
use crate::tui::widgets::{block, fit};

/// A configured key's place in the census: its id, whether it is the primary, and the
/// census label its values are counted under.
struct KeyColumn {
    header: String,
    label: String,
    primary: bool,
}

/// One warning about a configured key the census found unused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnusedKey {
    pub id: String,
    pub fingerprint: String,
    pub primary: bool,
    /// Tokens stored in the counted columns (under any key, or none we hold).
    pub tokens: u64,
}

/// Configured keys (the ring's, not the registry's history) under which no stored token
/// was counted, when the census counted tokens at all.
pub fn unused_keys(keys: &[KeyRow], columns: &[CensusColumn]) -> Vec<UnusedKey> {
    let tokens: u64 = columns
        .iter()
        .map(|c| c.by_key.iter().map(|(_, n)| n).sum::<u64>() + c.unknown_key)
        .sum();
    if tokens == 0 {
        return Vec::new();
    }
    keys.iter()
        .filter(|k| is_data_key(k))
        .filter(|k| {
            !columns
                .iter()
                .flat_map(|c| &c.by_key)
                .any(|(label, n)| *n > 0 && label == &k.fingerprint)
        })
        .map(|k| UnusedKey {
            id: k.id.clone(),
            fingerprint: k.fingerprint.clone(),
            primary: k.role == "primary",
            tokens,
        })
        .collect()
}

/// The keys values are encrypted under directly (the master keys derive, they do not
/// encrypt columns; registry-only keys are not configured).
fn is_data_key(k: &KeyRow) -> bool {
    matches!(k.role.as_str(), "primary" | "old" | "named") && k.source != "timber_keys"
}

/// The warning line for the top of the Overview and the Keys screen, if any key is unused.
pub fn warning(unused: &[UnusedKey]) -> Option<(String, bool)> {
    if let Some(p) = unused.iter().find(|u| u.primary) {
        return Some((
            format!(
                "✗ the primary key {} ({}) decrypts none of the {} stored tokens: is ENCRYPTION_KEY the right key?",
                p.id, p.fingerprint, p.tokens
            ),
            true,
        ));
    }
    let ids: Vec<String> = unused
        .iter()
        .map(|u| format!("{} {}", u.id, u.fingerprint))
        .collect();
    (!ids.is_empty()).then(|| {
        (
            format!(
                "! configured key{} {} match{} no stored token",
                if ids.len() == 1 { "" } else { "s" },
                ids.join(", "),
                if ids.len() == 1 { "es" } else { "" }
            ),
            false,
        )
    })
}

/// The share of filled values that are encrypted under a key we hold, as shown: floored,
/// so 1 997 of 2 000 reads 99%, never 100%.
pub fn encrypted_percent(c: &CensusColumn) -> u64 {
    let filled = c.rows.saturating_sub(c.null);
    if filled == 0 {
        return 100;
    }
    let encrypted: u64 = c.by_key.iter().map(|(_, n)| n).sum();
    (encrypted * 100 / filled).min(100)
}

pub fn draw(
    frame: &mut Frame,
    area: Rect,
    state: &KeysState,
    census: &Loadable<Vec<CensusColumn>>,
    theme: &Theme,
) {
    let outer = block(
        " Census: which key encrypts what · c back to jobs · ctrl-r recount ",
        theme,
        false,
    );
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let columns = match census {
        Loadable::Ready(columns) => columns,
        Loadable::Loading => {
            frame.render_widget(
                Paragraph::new("counting values per key…").style(theme.muted),
                inner,
            );
            return;
        }
        Loadable::Failed(why) | Loadable::Unavailable(why) => {
            frame.render_widget(
                Paragraph::new(format!("census unavailable: {why}")).style(theme.fail),
                inner,
            );
            return;
        }
    };
    let unused = unused_keys(&state.keys, columns);
    let warn = warning(&unused);
    let [warn_area, table_area] = Layout::vertical([
        Constraint::Length(warn.is_some() as u16),
        Constraint::Fill(1),
    ])
    .areas(inner);
    if let Some((text, fail)) = warn {
        frame.render_widget(
            Paragraph::new(text).style(if fail { theme.fail } else { theme.warn }),
            warn_area,
        );
    }
    if columns.is_empty() {
        frame.render_widget(
            Paragraph::new("no encrypted columns in the models").style(theme.muted),
            table_area,
        );
        return;
    }
    let key_columns = key_columns(&state.keys, columns);
    let field_width = columns
        .iter()
        .map(|c| fit::width(&c.model) + 1 + fit::width(&c.column))
        .max()
        .unwrap_or(5)
        .min(table_area.width as usize / 3)
        .max(5);
    let count = |n: u64| {
        if n == 0 {
            "·".to_string()
        } else {
            n.to_string()
        }
    };
    let rows = columns.iter().map(|c| {
        let pct = encrypted_percent(c);
        let problems = c.plaintext + c.unknown_key + c.malformed;
        let style = if c.unknown_key + c.malformed > 0 {
            theme.fail
        } else if c.plaintext > 0 {
            theme.warn
        } else {
            theme.ok
        };
        let mut cells = vec![
            Span::raw(fit::field(&c.model, &c.column, field_width)),
            Span::styled(
                format!("{pct}%"),
                if problems > 0 { style } else { theme.ok },
            ),
        ];
        for k in &key_columns {
            let n: u64 = c
                .by_key
                .iter()
                .filter(|(label, _)| *label == k.label)
                .map(|(_, n)| n)
                .sum();
            cells.push(Span::styled(
                count(n),
                if k.primary { theme.accent } else { theme.base },
            ));
        }
        for (n, bad) in [
            (c.plaintext, theme.warn),
            (c.unknown_key, theme.fail),
            (c.malformed, theme.fail),
        ] {
            cells.push(Span::styled(
                count(n),
                if n > 0 { bad } else { theme.muted },
            ));
        }
        Row::new(cells)
    });
    let mut header: Vec<String> = vec!["field".into(), "enc".into()];
    header.extend(key_columns.iter().map(|k| k.header.clone()));
    header.extend(["plain".into(), "unknown".into(), "bad".into()]);
    let mut widths = vec![
        Constraint::Length(field_width as u16),
        Constraint::Length(4),
    ];
    widths.extend(
        header[2..]
            .iter()
            .map(|h| Constraint::Length(fit::width(h).max(6) as u16)),
    );
    let table = Table::new(rows, widths).header(Row::new(header).style(theme.header));
    let [counts_area, ages_area] = Layout::vertical([
        Constraint::Length(columns.len() as u16 + 1),
        Constraint::Fill(1),
    ])
    .areas(table_area);
    frame.render_widget(table, counts_area);
    draw_ages(frame, ages_area, columns, &key_columns, field_width, theme);
}

/// Below the counts, when there is room: per column and key, when its values were
/// written (oldest, median, newest token time, UTC dates), from the tokens' headers.
fn draw_ages(
    frame: &mut Frame,
    area: Rect,
    columns: &[CensusColumn],
    key_columns: &[KeyColumn],
    field_width: usize,
    theme: &Theme,
) {
    if area.height < 3 {
        return;
    }
    let day = |t: &chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d").to_string();
    let rows = columns.iter().flat_map(|c| {
        c.ages.iter().map(move |(label, age)| {
            let key = key_columns.iter().find(|k| &k.label == label);
            let n: u64 = c
                .by_key
                .iter()
                .filter(|(l, _)| l == label)
                .map(|(_, n)| n)
                .sum();
            Row::new(vec![
                Span::raw(fit::field(&c.model, &c.column, field_width)),
                Span::styled(
                    key.map_or_else(|| label.clone(), |k| k.header.clone()),
                    if key.is_some_and(|k| k.primary) {
                        theme.accent
                    } else {
                        theme.base
                    },
                ),
                Span::raw(n.to_string()),
                Span::raw(day(&age.oldest)),
                Span::raw(day(&age.median)),
                Span::raw(day(&age.newest)),
            ])
        })
    });
    let key_width = key_columns
        .iter()
        .map(|k| fit::width(&k.header))
        .max()
        .unwrap_or(3)
        .max(3);
    let widths = [
        Constraint::Length(field_width as u16),
        Constraint::Length(key_width as u16),
        Constraint::Length(7),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(10),
    ];
    let [title_area, table_area] =
        Layout::vertical([Constraint::Length(2), Constraint::Fill(1)]).areas(area);
    frame.render_widget(
        Paragraph::new("\ndata age by key (token times, UTC)").style(theme.muted),
        title_area,
    );
    let header = ["field", "key", "values", "oldest", "median", "newest"];
    let table = Table::new(rows, widths).header(Row::new(header).style(theme.header));
    frame.render_widget(table, table_area);
}

/// A column per configured data key (primary first, marked ★), then one per per-user label
/// the census found.
fn key_columns(keys: &[KeyRow], columns: &[CensusColumn]) -> Vec<KeyColumn> {
    let mut out: Vec<KeyColumn> = keys
        .iter()
        .filter(|k| is_data_key(k))
        .map(|k| KeyColumn {
            header: if k.role == "primary" {
                format!("★{}", k.id)
            } else {
                k.id.clone()
            },
            label: k.fingerprint.clone(),
            primary: k.role == "primary",
        })
        .collect();
    for c in columns {
        for (label, _) in &c.by_key {
            if !out.iter().any(|k| &k.label == label) {
                let header = if label.starts_with("per-user") {
                    if label.contains("master_old") {
                        "user_old"
                    } else {
                        "user_*"
                    }
                } else {
                    label.as_str()
                };
                out.push(KeyColumn {
                    header: header.to_string(),
                    label: label.clone(),
                    primary: false,
                });
            }
        }
    }
    out
}
