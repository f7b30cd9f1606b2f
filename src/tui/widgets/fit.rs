//! Fitting text into narrow columns at 80 columns: cut from the least informative end and
//! mark the cut with `…` (ratatui cuts silently from the right, which left `rotation.st`,
//! `SecureResearchSessi` and `/tmp/qa-demo/.e` on screen).

/// Width of `text` in terminal columns (the console's texts are single-width).
pub fn width(text: &str) -> usize {
    text.chars().count()
}

/// At most `max` columns of `text`, its end cut and replaced by `…`.
pub fn cut_end(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    if max > 0 {
        out.push('…');
    }
    out
}

/// At most `max` columns of `text`, its start cut and replaced by `…` (paths: the file
/// name at the end says more than the directories before it).
pub fn cut_start(text: &str, max: usize) -> String {
    let n = width(text);
    if n <= max {
        return text.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let tail: String = text.chars().skip(n - (max - 1)).collect();
    format!("…{tail}")
}

/// `Model.column` in at most `max` columns: the model's name is cut first (its end), so
/// the column, the part that differs between rows of one model, stays whole.
pub fn field(model: &str, column: &str, max: usize) -> String {
    let whole = format!("{model}.{column}");
    if width(&whole) <= max {
        return whole;
    }
    let room = max.saturating_sub(width(column) + 1);
    if room >= 4 {
        format!("{}.{column}", cut_end(model, room))
    } else {
        cut_end(&whole, max)
    }
}

/// A key's source for the ring's `source` column: the variable first, then where it was
/// set, shortened from the left (`ENCRYPTION_KEY (…/qa-demo/.env)`). Sources are written
/// `PATH (VAR)` for env files; others (`env VAR`, `file PATH`) are cut at their start.
pub fn key_source(source: &str, max: usize) -> String {
    let parsed = source
        .strip_suffix(')')
        .and_then(|s| s.rsplit_once(" ("))
        .filter(|(_, var)| !var.is_empty() && !var.contains(' '));
    match parsed {
        Some((path, var)) => {
            let room = max.saturating_sub(width(var) + 3);
            if room >= 2 {
                format!("{var} ({})", cut_start(path, room))
            } else {
                cut_end(var, max)
            }
        }
        None => cut_start(source, max),
    }
}

/// Column widths from their `natural` ones (each the widest of its cells and header),
/// shrunk from the last column to the first until they fit `available`; a column never
/// goes under its `min`.
pub fn column_widths(natural: &[usize], min: &[usize], available: usize) -> Vec<usize> {
    let mut widths = natural.to_vec();
    let mut total: usize = widths.iter().sum();
    for i in (0..widths.len()).rev() {
        if total <= available {
            break;
        }
        let spare = widths[i].saturating_sub(min[i]);
        let take = spare.min(total - available);
        widths[i] -= take;
        total -= take;
    }
    widths
}

/// At most `max` characters of `text`.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_mark_where_they_cut() {
        assert_eq!(cut_end("rotation.started", 10), "rotation.…");
        assert_eq!(cut_start("/tmp/qa-demo/.env", 10), "…demo/.env");
        assert_eq!(
            field("SecureResearchSession", "ai_insights", 24),
            "SecureResea….ai_insights"
        );
        assert_eq!(
            key_source("/tmp/qa-demo/.env (ENCRYPTION_KEY)", 26),
            "ENCRYPTION_KEY (…emo/.env)"
        );
        assert_eq!(key_source("env ENCRYPTION_KEY", 30), "env ENCRYPTION_KEY");
        assert_eq!(column_widths(&[10, 20, 5], &[4, 4, 5], 25), vec![10, 10, 5]);
    }
}
