//! The rotation wizard of the Keys screen (DESIGN §8): pick the scope, read the plan (rows
//! per model and column, batches, ETA), confirm by typing the model name (or `all`), then
//! the job runs and its progress shows on the Keys screen. Drawing only; the state and its
//! keys are in `rotation.rs`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph, Row, Table, Wrap};

use ratatui_textarea::TextArea;

use super::rotation::{WizardState, WizardStep, plan_totals};
use crate::rotation::ModelPlan;
use crate::tui::context::Loadable;
use crate::tui::theme::Theme;
use crate::tui::widgets::{block, centered};

pub fn draw(frame: &mut Frame, area: Rect, wizard: &WizardState, theme: &Theme) {
    // As tall as the screen allows: every row of the plan is a model's column the operator
    // wants to see (what does not fit scrolls).
    let popup = centered(
        area,
        area.width.saturating_sub(4).min(100),
        area.height.saturating_sub(2),
    );
    frame.render_widget(Clear, popup);
    let title = match wizard.step {
        WizardStep::Scope { .. } => " Rotate keys · 1/3 scope ",
        WizardStep::Plan(_) => " Rotate keys · 2/3 plan ",
        WizardStep::Confirm { .. } => " Rotate keys · 3/3 confirm ",
    };
    let outer = block(title, theme, true);
    let inner = outer.inner(popup);
    frame.render_widget(outer, popup);
    let [body, foot] = Layout::vertical([Constraint::Fill(1), Constraint::Length(2)]).areas(inner);
    let hint = match &wizard.step {
        WizardStep::Scope { cursor } => draw_scope(frame, body, wizard, *cursor, theme),
        WizardStep::Plan(Loadable::Ready(plans)) => {
            draw_plan(frame, body, wizard, plans, theme);
            let toggle = if wizard.encrypt_plaintext {
                "e leaves plaintext"
            } else {
                "e encrypts plaintext too"
            };
            Line::styled(
                format!("enter continues · j/k scroll · {toggle} · esc cancels"),
                theme.muted,
            )
        }
        WizardStep::Plan(Loadable::Failed(e)) => {
            let text = Paragraph::new(format!("✗ plan failed: {e}"))
                .style(theme.error)
                .wrap(Wrap { trim: true });
            frame.render_widget(text, body);
            Line::styled("esc closes", theme.muted)
        }
        WizardStep::Plan(_) => {
            frame.render_widget(
                Paragraph::new("planning (reads only)…").style(theme.muted),
                body,
            );
            Line::styled("esc cancels", theme.muted)
        }
        WizardStep::Confirm {
            plans,
            input,
            error,
        } => draw_confirm(frame, body, wizard, plans, (input, error), theme),
    };
    frame.render_widget(Paragraph::new(hint).wrap(Wrap { trim: true }), foot);
}

/// The scope step: all models or one, the cursor on the choice.
fn draw_scope(
    frame: &mut Frame,
    body: Rect,
    wizard: &WizardState,
    cursor: usize,
    theme: &Theme,
) -> Line<'static> {
    let mut lines = vec![Line::styled(
        "Re-encrypt every value not under its target key:",
        theme.muted,
    )];
    let names = std::iter::once("all models".to_string()).chain(wizard.models.clone());
    for (i, name) in names.enumerate() {
        let (mark, style) = if i == cursor {
            ("▶ ", theme.selection)
        } else {
            ("  ", theme.base)
        };
        lines.push(Line::styled(format!("{mark}{name}"), style));
    }
    frame.render_widget(Paragraph::new(lines), body);
    Line::styled("enter plans · esc cancels", theme.muted)
}

/// The confirmation step: the plan again, and the word to type.
fn draw_confirm(
    frame: &mut Frame,
    body: Rect,
    wizard: &WizardState,
    plans: &[ModelPlan],
    (input, error): (&TextArea<'static>, &Option<String>),
    theme: &Theme,
) -> Line<'static> {
    let [plan, prompt, field] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(body);
    draw_plan(frame, plan, wizard, plans, theme);
    let ask = format!(
        "Type `{}` to start the rotation (it writes to the database):",
        wizard.confirm_word()
    );
    frame.render_widget(Line::styled(ask, theme.warn), prompt);
    frame.render_widget(input, field);
    match error {
        Some(e) => Line::styled(format!("✗ {e}"), theme.error),
        None => Line::styled("enter starts · esc cancels", theme.muted),
    }
}

/// The plan: a summary line, a table scrolled by j/k (every model's every column, never
/// cut off), and a legend of what each count means.
fn draw_plan(
    frame: &mut Frame,
    area: Rect,
    wizard: &WizardState,
    plans: &[ModelPlan],
    theme: &Theme,
) {
    let (rows, batches, eta) = plan_totals(plans, wizard.max_rate);
    let limited = wizard.max_rate.is_some() && rows > 0;
    let [summary, table_area, legend] = Layout::vertical([
        // The totals, then the limit and where it was set on a line of its own.
        Constraint::Length(1 + limited as u16),
        Constraint::Fill(1),
        Constraint::Length(2),
    ])
    .areas(area);
    let limit = match (wizard.max_rate, &wizard.max_rate_source) {
        (Some(r), Some(from)) => format!("\nlimited to {r} rows/s ({from})"),
        (Some(r), None) => format!("\nlimited to {r} rows/s"),
        _ => String::new(),
    };
    let (text, style) = if rows == 0 {
        (
            "✓ nothing to rotate: every value is under its target key; enter closes, no job starts"
                .to_string(),
            theme.ok,
        )
    } else {
        // The job reads every row and its gauge counts rows read: say both, so the plan's
        // number and the gauge's are not taken for the same unit.
        let read: u64 = plans.iter().map(|p| p.rows_total).sum();
        (
            format!(
                "{rows} row(s) to write of {read} read, ~{batches} batch(es), ETA ~{eta} s{limit}"
            ),
            theme.accent,
        )
    };
    frame.render_widget(Paragraph::new(text).style(style), summary);
    let plain_header = if wizard.encrypt_plaintext {
        "encrypt"
    } else {
        "plain"
    };
    let mut lines = Vec::new();
    for plan in plans {
        for c in &plan.columns {
            let failing: u64 = c.failing.values().sum();
            let plain = if wizard.encrypt_plaintext {
                c.to_encrypt
            } else {
                c.plaintext
            };
            lines.push(Row::new(vec![
                plan.model.clone(),
                c.column.clone(),
                c.to_rotate.to_string(),
                c.to_rehash.to_string(),
                plain.to_string(),
                c.current.to_string(),
                failing.to_string(),
            ]));
        }
    }
    let total = lines.len();
    // The header takes a row; what does not fit scrolls (j/k), and the title says where.
    let visible = (table_area.height as usize).saturating_sub(1).max(1);
    let first = wizard.scroll.min(total.saturating_sub(visible));
    let shown: Vec<Row> = lines.into_iter().skip(first).take(visible).collect();
    let longest = |names: &mut dyn Iterator<Item = &String>| {
        names.map(|n| n.chars().count()).max().unwrap_or(0) as u16
    };
    let model_names = longest(&mut plans.iter().map(|p| &p.model));
    let column_names = longest(&mut plans.iter().flat_map(|p| &p.columns).map(|c| &c.column));
    // The numbers take 6-7 cells each and six gaps; the model's name gets what the
    // longest column name leaves (never under 10).
    let room = area.width.saturating_sub(6 + 6 + 7 + 7 + 7 + 6);
    let model_width = model_names.min(room.saturating_sub(column_names)).max(10);
    // Where the view is, first in the legend so that even the smallest popup shows it.
    let more = if total > visible {
        format!(
            "rows {}-{} of {total} ↕ j/k · ",
            first + 1,
            (first + visible).min(total)
        )
    } else {
        String::new()
    };
    let table = Table::new(
        shown,
        [
            Constraint::Length(model_width),
            Constraint::Fill(1),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(7),
        ],
    )
    .header(
        Row::new([
            "model".to_string(),
            "column".to_string(),
            "rotate".into(),
            "rehash".into(),
            plain_header.into(),
            "current".into(),
            "failing".into(),
        ])
        .style(theme.header),
    );
    frame.render_widget(table, table_area);
    let plaintext = if wizard.encrypt_plaintext {
        "encrypt: plaintext to encrypt"
    } else {
        "plain: plaintext, left"
    };
    let legend_text = format!(
        "{more}rotate: under another key · rehash: blind index redone · {plaintext} · current: done · failing: unreadable, left"
    );
    frame.render_widget(
        Paragraph::new(legend_text)
            .style(theme.muted)
            .wrap(Wrap { trim: true }),
        legend,
    );
}
