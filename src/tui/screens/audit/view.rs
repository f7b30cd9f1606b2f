//! Drawing of screen 3 (Audit): the tail (who, what, which table, record and fields), its
//! filter and follow state in the title, the chain's badge, and the detail pane drawn by
//! [`super::detail_view`]. The list never shows an entry's detail, which may hold values.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState, Wrap};

use super::{AuditLine, AuditState, ChainStatus, SPLIT_WIDTH, SignedStatus};
use crate::tui::context::Ui;
use crate::tui::theme::Theme;
use crate::tui::widgets::{fit, tile};

/// One line saying whether the chain is intact.
pub fn chain_line<'a>(chain: &ChainStatus, theme: &Theme) -> Line<'a> {
    match chain {
        ChainStatus::Intact { entries } => {
            Line::styled(format!("✓ chain intact, {entries} entries"), theme.ok)
        }
        ChainStatus::Broken {
            first_broken,
            reason,
        } => {
            let at = first_broken
                .map(|id| format!(" at #{id}"))
                .unwrap_or_default();
            Line::styled(format!("✗ chain broken{at}: {reason}"), theme.fail)
        }
        ChainStatus::Unchecked(why) => {
            Line::styled(format!("? chain not verified: {why}"), theme.warn)
        }
    }
}

/// The badge line: verifying, or the chain's state and when this screen verified it.
fn badge<'a>(audit: &AuditState, ui: &Ui) -> Line<'a> {
    let theme = ui.theme;
    let verify_key = ui.keymap.label(crate::tui::keymap::Action::Verify);
    if audit.verifying {
        return Line::styled("⟳ verifying the chain…", theme.accent);
    }
    let Some(chain) = audit.chain_status() else {
        return Line::styled("… chain state loading", theme.muted);
    };
    let mut line = chain_line(chain, theme);
    if let Some(at) = audit.verified_at {
        line.push_span(Span::styled(
            format!(" (verified {})", at.format("%H:%M:%S")),
            theme.muted,
        ));
    }
    line.push_span(Span::styled(
        format!("  · {verify_key} verify"),
        theme.muted,
    ));
    if let Some(signed) = audit.signed_status() {
        line.push_span(signed_span(signed, ui.now, theme));
    }
    line
}

/// `· verified to checkpoint 3 (signed by fp:…, 3 min ago)`, or why not.
fn signed_span<'a>(
    signed: &SignedStatus,
    now: chrono::DateTime<chrono::Utc>,
    theme: &Theme,
) -> Span<'a> {
    match signed {
        SignedStatus::NoKey => Span::raw(""),
        SignedStatus::Verified {
            checkpoint,
            size,
            at,
            key,
            uncovered,
        } => {
            let which = checkpoint.map_or("the note kept outside".to_string(), |id| {
                format!("checkpoint {id}")
            });
            let ago = at.map_or(String::new(), |t| format!(", {}", ago(now.naive_utc() - t)));
            let newer = if *uncovered > 0 {
                format!("; {uncovered} newer")
            } else {
                String::new()
            };
            Span::styled(
                format!("  · verified to {which} ({size} entries, signed by {key}{ago}{newer})"),
                theme.ok,
            )
        }
        SignedStatus::Failed(reason) if reason.starts_with("unverified") => {
            Span::styled("  · no signed checkpoint yet", theme.warn)
        }
        SignedStatus::Failed(reason) => {
            Span::styled(format!("  · ✗ checkpoints: {reason}"), theme.fail)
        }
    }
}

fn ago(d: chrono::TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=86_399 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}

pub fn draw(frame: &mut Frame, area: Rect, audit: &AuditState, ui: &Ui) {
    let tail = if audit.anchor.is_some() {
        "⏸ around a broken link (g follows the newest)".to_string()
    } else if audit.following() {
        format!("▶ live · {:.1} entries/s", audit.rate)
    } else {
        "⏸ paused while scrolled (g follows again)".to_string()
    };
    let mut title = " Audit log".to_string();
    if let Some(filter) = &audit.filter {
        title.push_str(&format!(" · filter: {}", filter.text));
    }
    title.push_str(&format!(" · {tail} "));
    if audit.write_audit_off {
        title.push_str(
            "· ENABLE_AUDIT_LOG=false: application writes are not audited (reveals are) ",
        );
    }
    let Some((inner, entries)) = tile(
        frame,
        area,
        &title,
        &audit.list,
        "audit log",
        ui.theme,
        true,
    ) else {
        super::detail_view::draw_input(frame, area, audit, ui);
        return;
    };
    // A broken chain's reason is long: it gets two lines rather than being cut.
    let badge = badge(audit, ui);
    let lines = if badge.width() > inner.width as usize {
        2
    } else {
        1
    };
    let [status, body] =
        Layout::vertical([Constraint::Length(lines), Constraint::Fill(1)]).areas(inner);
    frame.render_widget(Paragraph::new(badge).wrap(Wrap { trim: true }), status);
    match &audit.detail {
        Some(pane) if inner.width >= SPLIT_WIDTH => {
            let [list, detail] =
                Layout::horizontal([Constraint::Percentage(52), Constraint::Fill(1)])
                    .spacing(1)
                    .areas(body);
            draw_list(frame, list, entries, audit.selected, ui.theme);
            super::detail_view::draw(frame, detail, pane, audit, ui);
        }
        Some(pane) => super::detail_view::draw(frame, body, pane, audit, ui),
        None => draw_list(frame, body, entries, audit.selected, ui.theme),
    }
    super::detail_view::draw_input(frame, area, audit, ui);
}

fn draw_list(frame: &mut Frame, area: Rect, entries: &[AuditLine], selected: usize, theme: &Theme) {
    let ([_, time_width, actor_w, action_width, table_w, record_w], time_format) =
        list_columns(entries, area.width);
    let rows = entries.iter().map(|e| {
        Row::new(vec![
            format!("#{}", e.id),
            e.at.format(time_format).to_string(),
            fit::cut_end(&e.actor, actor_w),
            e.action.clone(),
            fit::cut_end(e.table.as_deref().unwrap_or_default(), table_w),
            fit::cut_end(e.record_id.as_deref().unwrap_or_default(), record_w),
            e.fields.join(","),
        ])
    });
    let table = Table::new(
        rows,
        [6, time_width, actor_w, action_width, table_w, record_w]
            .map(|w| Constraint::Length(w as u16))
            .into_iter()
            .chain([Constraint::Fill(1)]),
    )
    .header(
        Row::new([
            "id",
            "time (UTC)",
            "actor",
            "action",
            "table",
            "record",
            "fields",
        ])
        .style(theme.header),
    )
    .row_highlight_style(theme.selection)
    .highlight_symbol("▶ ");
    let mut table_state = TableState::default().with_selected(Some(selected));
    frame.render_stateful_widget(table, area, &mut table_state);
    if entries.is_empty() && area.height > 1 {
        let below_header = Rect {
            y: area.y + 1,
            height: 1,
            ..area
        };
        frame.render_widget(Line::styled("no entries", theme.muted), below_header);
    }
}

/// The list's column widths in `width` cells (id, time, actor, action, table, record; the
/// fields take the rest), and the time's format.
fn list_columns(entries: &[AuditLine], width: u16) -> ([usize; 6], &'static str) {
    // Narrow (80 columns, or beside the detail pane): the year and shorter columns go, so
    // the time stays whole.
    let compact = width < 110;
    let time_format = if compact {
        "%m-%d %H:%M:%S"
    } else {
        "%Y-%m-%d %H:%M:%S"
    };
    // The action names what happened, so it gets the width it needs (`rotation.started`
    // was cut to `rotation.st`) before the free-text columns (actor, table, record), which
    // give up room, and show `…` where they are cut; the fields take what is left.
    let action_width = entries
        .iter()
        .map(|e| fit::width(&e.action))
        .max()
        .unwrap_or(0)
        .max(6);
    let (time_width, wanted) = if compact {
        (14, [10, 12, 7])
    } else {
        (19, [12, 18, 12])
    };
    let natural = [
        entries
            .iter()
            .map(|e| fit::width(&e.actor))
            .max()
            .unwrap_or(0)
            .clamp(5, wanted[0]),
        entries
            .iter()
            .map(|e| e.table.as_deref().map_or(0, fit::width))
            .max()
            .unwrap_or(0)
            .clamp(5, wanted[1]),
        wanted[2],
    ];
    // Borders are outside `area`; the ▶ mark takes 2, the gaps 6, the fields at least 6.
    let free = (width as usize).saturating_sub(2 + 6 + 6 + 6 + time_width + action_width);
    let [actor_w, table_w, record_w]: [usize; 3] = fit::column_widths(&natural, &[5, 5, 6], free)
        .try_into()
        .unwrap_or(natural);
    (
        [6, time_width, actor_w, action_width, table_w, record_w],
        time_format,
    )
}

/// Key hints for the message line, from the live keymap.
pub fn hints(audit: &AuditState, ui: &Ui) -> Vec<String> {
    use crate::tui::keymap::Action;
    let k = |action| ui.keymap.label(action);
    let mut parts = vec![
        format!("{} filter", k(Action::Filter)),
        format!("{} detail", k(Action::Open)),
        format!("{} verify", k(Action::Verify)),
    ];
    if audit.detail.is_some() {
        parts.extend(ui.reveal_hint());
    }
    if audit.filter.is_some() || audit.detail.is_some() {
        parts.push(format!("{} back", k(Action::Back)));
    }
    parts
}
