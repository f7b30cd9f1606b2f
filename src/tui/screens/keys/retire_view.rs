//! The key-retirement dialog of the Keys screen (DESIGN §10: a destructive action shows a
//! plan and asks for the name). The census of the key runs first (values under it, per
//! model and column, told apart by HMAC); any value still under it and retirement is
//! refused with that evidence; none, and the operator types the key id to retire it.
//! Drawing only; the state and its keys are in `retire.rs`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Gauge, Paragraph, Row, Table, Wrap};

use ratatui_textarea::TextArea;

use super::retire::{RetireState, RetireStep, RetireUse};
use crate::tui::theme::Theme;
use crate::tui::widgets::{block, centered, fit};

pub fn draw(frame: &mut Frame, area: Rect, dialog: &RetireState, theme: &Theme) {
    let popup = centered(area, 76, area.height.saturating_sub(2).min(18));
    frame.render_widget(Clear, popup);
    let step = match dialog.step {
        RetireStep::Census { .. } => "census",
        RetireStep::Refused { .. } => "refused",
        RetireStep::Confirm { .. } => "confirm",
        RetireStep::Retiring => "retiring",
        RetireStep::Failed(_) => "failed",
    };
    let title = format!(
        " Retire key {} ({}) · {step} ",
        dialog.key, dialog.fingerprint
    );
    let outer = block(title, theme, true);
    let inner = outer.inner(popup);
    frame.render_widget(outer, popup);
    let [body, foot] = Layout::vertical([Constraint::Fill(1), Constraint::Length(2)]).areas(inner);
    let key = &dialog.key;
    let hint = match &dialog.step {
        RetireStep::Census {
            done,
            total,
            model,
            rows,
            found,
        } => draw_census(frame, body, key, (done, total), model, rows, found, theme),
        RetireStep::Refused { uses } => {
            draw_refused(frame, body, key, uses, theme);
            Line::styled(
                "esc closes · rotate first (R), then retire again",
                theme.muted,
            )
        }
        RetireStep::Confirm { input, error } => {
            draw_confirm(frame, body, dialog, (input, error), theme)
        }
        RetireStep::Retiring => {
            let text = format!("retiring {key}: census again, then the audit entry…");
            frame.render_widget(Paragraph::new(text).style(theme.muted), body);
            Line::styled("the key list refreshes when it is done", theme.muted)
        }
        RetireStep::Failed(message) => {
            let text = Paragraph::new(format!("✗ {message}"))
                .style(theme.error)
                .wrap(Wrap { trim: true });
            frame.render_widget(text, body);
            Line::styled("esc closes", theme.muted)
        }
    };
    frame.render_widget(Paragraph::new(hint).wrap(Wrap { trim: true }), foot);
}

/// The census step: what it reads, and a gauge over the models.
#[allow(clippy::too_many_arguments)]
fn draw_census(
    frame: &mut Frame,
    body: Rect,
    key: &str,
    (done, total): (&usize, &usize),
    model: &Option<String>,
    rows: &u64,
    found: &u64,
    theme: &Theme,
) -> Line<'static> {
    let [text, gauge] =
        Layout::vertical([Constraint::Length(3), Constraint::Length(1)]).areas(body);
    let lines = format!(
        "Counting the values under {key} in every encrypted column (reads only; keys \
         told apart by HMAC, nothing decrypted)…"
    );
    let text_widget = Paragraph::new(lines)
        .style(theme.base)
        .wrap(Wrap { trim: true });
    frame.render_widget(text_widget, text);
    let ratio = if *total == 0 {
        1.0
    } else {
        (*done as f64 / *total as f64).clamp(0.0, 1.0)
    };
    let at = match model {
        Some(model) => format!("{model}: {rows} row(s) read"),
        None => "starting".into(),
    };
    let label = format!("{done}/{total} models · {at} · {found} value(s) found");
    frame.render_widget(
        Gauge::default()
            .ratio(ratio)
            .label(label)
            .gauge_style(theme.gauge),
        gauge,
    );
    Line::styled("esc closes (nothing is written)", theme.muted)
}

/// The confirmation step: nothing depends on the key; its id must be typed.
fn draw_confirm(
    frame: &mut Frame,
    body: Rect,
    dialog: &RetireState,
    (input, error): (&TextArea<'static>, &Option<String>),
    theme: &Theme,
) -> Line<'static> {
    let key = &dialog.key;
    let [text, prompt, field] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(body);
    let lines = vec![
        Line::styled(
            format!(
                "✓ no stored value depends on {key} ({} model(s), every encrypted column read)",
                dialog.models
            ),
            theme.ok,
        ),
        Line::styled(
            "Retiring records it as retired in timber_keys and writes an audit entry; \
             the census runs again as it retires, so a value written meanwhile still \
             refuses it.",
            theme.base,
        ),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), text);
    let ask = format!("Type `{key}` to retire it:");
    frame.render_widget(Line::styled(ask, theme.warn), prompt);
    frame.render_widget(input, field);
    match error {
        Some(e) => Line::styled(format!("✗ {e}"), theme.error),
        None => Line::styled("enter retires · esc cancels", theme.muted),
    }
}

/// The evidence of a refusal: how many values, and where.
fn draw_refused(frame: &mut Frame, area: Rect, key: &str, uses: &[RetireUse], theme: &Theme) {
    let total: u64 = uses.iter().map(|u| u.count).sum();
    let [head, table_area, tail] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Fill(1),
        Constraint::Length(2),
    ])
    .areas(area);
    let text = format!(
        "✗ refused: {total} stored value(s) still depend on {key}; retiring it would make \
         them unreadable."
    );
    frame.render_widget(
        Paragraph::new(text)
            .style(theme.error)
            .wrap(Wrap { trim: true }),
        head,
    );
    // The model column fits the longest model name (a fixed 16 cut `SecureResearchSession`
    // to `SecureResearchSe`), up to half the width; what is still cut ends in `…`.
    let half = (table_area.width as usize / 2).max(8);
    let model_width = uses
        .iter()
        .map(|u| fit::width(&u.model))
        .max()
        .unwrap_or(0)
        .clamp(5, half);
    let column_width = (table_area.width as usize).saturating_sub(model_width + 10 + 2);
    let rows = uses.iter().map(|u| {
        Row::new(vec![
            fit::cut_end(&u.model, model_width),
            fit::cut_end(&format!("{}.{}", u.table, u.column), column_width),
            u.count.to_string(),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(model_width as u16),
            Constraint::Fill(1),
            Constraint::Length(10),
        ],
    )
    .header(Row::new(["model", "column", "values"]).style(theme.header));
    frame.render_widget(table, table_area);
    let hint = "Rotate them to the current key first (R on this screen, or `timber rotate \
                --all`), then retire it.";
    frame.render_widget(
        Paragraph::new(hint)
            .style(theme.warn)
            .wrap(Wrap { trim: true }),
        tail,
    );
}
