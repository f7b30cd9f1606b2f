//! How one cell looks. Every kind of cell starts with its own glyph, so a masked value is
//! recognisable without colour (NO_COLOR, mono theme, a screenshot in a ticket):
//!
//! `◐` partial mask, `◇` keyed hash, `◼` redacted, `⊙` masked but revealable with `r`,
//! `◉` revealed secret, `⚠` unreadable token, `∅` NULL. Plain columns have no glyph.
//!
//! The text comes from `access` (already masked); this module only decorates it.

use ratatui::style::Style;

use crate::access::Cell;
use crate::config::Level;
use crate::tui::theme::Theme;

pub const GLYPH_PARTIAL: &str = "◐";
pub const GLYPH_HASH: &str = "◇";
pub const GLYPH_REDACT: &str = "◼";
pub const GLYPH_REVEALABLE: &str = "⊙";
pub const GLYPH_REVEALED: &str = "◉";
pub const GLYPH_ERROR: &str = "⚠";
pub const GLYPH_NULL: &str = "∅";

/// The legend shown under tables and in help.
pub const LEGEND: &str =
    "◐ partial  ◇ hash  ◼ redacted  ⊙ revealable (r)  ◉ revealed  ⚠ unreadable  ∅ null";

/// What kind of cell this is, for styling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellKind {
    Plain,
    Masked,
    Revealed,
    Error,
    Null,
    Hidden,
}

/// The text and kind of a cell; `secret` says whether its column is encrypted or ruled
/// (a revealed secret gets the `◉` glyph, a plain column's value none).
pub fn render(cell: &Cell, secret: bool) -> (String, CellKind) {
    match cell {
        Cell::Null => (GLYPH_NULL.to_string(), CellKind::Null),
        Cell::Hidden => (String::new(), CellKind::Hidden),
        Cell::Error(_) => (cell.display(), CellKind::Error),
        Cell::Revealed(_) if secret => (
            format!("{GLYPH_REVEALED} {}", one_line(&cell.display())),
            CellKind::Revealed,
        ),
        Cell::Revealed(_) => (one_line(&cell.display()), CellKind::Plain),
        Cell::Masked {
            level,
            text,
            revealable,
        } => {
            let glyph = if *revealable {
                GLYPH_REVEALABLE
            } else {
                match level {
                    Level::Hash => GLYPH_HASH,
                    Level::Redact => GLYPH_REDACT,
                    _ => GLYPH_PARTIAL,
                }
            };
            (format!("{glyph} {}", one_line(text)), CellKind::Masked)
        }
    }
}

/// The theme style of a kind of cell.
pub fn style(kind: CellKind, theme: &Theme) -> Style {
    match kind {
        CellKind::Plain => theme.base,
        CellKind::Masked => theme.masked,
        CellKind::Revealed => theme.revealed,
        CellKind::Error => theme.error,
        CellKind::Null | CellKind::Hidden => theme.muted,
    }
}

/// Newlines and tabs become visible marks so a value cannot break a table row.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' => '⏎',
            '\t' => '→',
            c if c.is_control() => '·',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    #[test]
    fn every_masked_kind_has_a_distinct_glyph() {
        let masked = |level, revealable| Cell::Masked {
            level,
            text: "x".into(),
            revealable,
        };
        let texts: Vec<String> = [
            masked(Level::Partial, false),
            masked(Level::Hash, false),
            masked(Level::Redact, false),
            masked(Level::Partial, true),
            Cell::Revealed(Value::Text("v".into())),
            Cell::Null,
        ]
        .iter()
        .map(|c| render(c, true).0.chars().next().unwrap().to_string())
        .collect();
        let mut unique = texts.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), texts.len(), "{texts:?}");
        assert_eq!(
            render(&Cell::Revealed(Value::Text("a\nb".into())), false).0,
            "a·b"
        );
        assert_eq!(one_line("x\ty\nz"), "x→y⏎z");
    }
}
