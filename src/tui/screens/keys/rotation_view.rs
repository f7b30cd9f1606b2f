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
    let popup = centered(area, 76, area.height.saturating_sub(2).min(20));
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
            draw_plan(frame, body, plans, wizard.max_rate, theme);
            Line::styled("enter continues · esc cancels", theme.muted)
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
    draw_plan(frame, plan, plans, wizard.max_rate, theme);
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

fn draw_plan(
    frame: &mut Frame,
    area: Rect,
    plans: &[ModelPlan],
    max_rate: Option<u64>,
    theme: &Theme,
) {
    let (rows, batches, eta) = plan_totals(plans, max_rate);
    let [summary, table_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    // The limit shares the summary line: the popup is at most 20 rows and every row of the
    // table below is a model's column the operator wants to see.
    let limit = max_rate.map_or(String::new(), |r| format!(" · limited to {r} rows/s"));
    let text = format!("{rows} row(s) to write in ~{batches} batch(es), ETA ~{eta} s{limit}");
    frame.render_widget(Line::styled(text, theme.accent), summary);
    let mut lines = Vec::new();
    for plan in plans {
        for c in &plan.columns {
            let failing: u64 = c.failing.values().sum();
            lines.push(Row::new(vec![
                plan.model.clone(),
                c.column.clone(),
                c.to_rotate.to_string(),
                c.to_rehash.to_string(),
                c.current.to_string(),
                failing.to_string(),
            ]));
        }
    }
    // The model column fits the longest model name when the columns' names leave room (a
    // fixed 14 showed `ResearchSessio`); never narrower than 14.
    let longest = |names: &mut dyn Iterator<Item = &String>| {
        names.map(|n| n.chars().count()).max().unwrap_or(0) as u16
    };
    let model_names = longest(&mut plans.iter().map(|p| &p.model));
    let column_names = longest(&mut plans.iter().flat_map(|p| &p.columns).map(|c| &c.column));
    let room = area.width.saturating_sub(9 + 8 + 8 + 8 + 5);
    let model_width = model_names.min(room.saturating_sub(column_names)).max(14);
    let table = Table::new(
        lines,
        [
            Constraint::Length(model_width),
            Constraint::Fill(1),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(8),
        ],
    )
    .header(
        Row::new(["model", "column", "rotate", "rehash", "current", "failing"]).style(theme.header),
    );
    frame.render_widget(table, table_area);
}
