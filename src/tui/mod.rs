//! The console (DESIGN §10): ratatui + crossterm, one event loop, screens as components
//! under a thin root, drawing from state only, and every query, scan and audited action run
//! as a background task that reports over a channel.
//!
//! Only this module imports ratatui, crossterm and ratatui-textarea, and it never builds
//! SQL: it calls `store`, `access`, `audit`, `health` and `rotation`.
//!
//! - [`app`]: [`App`], the root: routes events and task results, runs the screens' effects,
//!   and draws around the screens (`app::ui`, `app::status_bar`, `app::help`) from its
//!   [`state`]; [`tasks`] runs the background work;
//! - [`event`]: the inputs;
//! - [`screens`]: Overview, Data, Audit, Keys & Rotation, Health, one folder each (state,
//!   update, keys, loaders, views);
//! - [`context`]: what the screens share below the root (services, session, effects);
//! - [`widgets`]: blocks and tiles, widths, masked cells, the job gauge, the palette;
//! - [`theme`], [`keymap`], [`commands`]: YAML themes, key bindings, palette commands;
//! - [`terminal`]: the guard that always restores the terminal, and the event loop.

pub mod app;
pub mod clock;
pub mod context;
pub mod event;
pub mod keymap;
pub mod keyspec;
pub mod screens;
pub mod setup;
pub mod theme;
pub mod widgets;

pub use app::App;
pub use app::tasks::TaskResult;
pub use clock::Clock;
pub use event::Event;
pub use keymap::{Action, Keymap};
pub use setup::Setup;
// The console's root parts keep their public paths (`tui::state::Popup`, `tui::tasks::page`),
// which tests and benchmarks name.
pub use app::{commands, state, tasks, terminal};
pub use theme::{Theme, ThemeSet};

/// The terminal's width in columns, for CLI text output laid out to fit (`timber health`);
/// `None` when there is no terminal to ask. Here because only this module may use crossterm.
pub fn terminal_columns() -> Option<u16> {
    crossterm::terminal::size().ok().map(|(columns, _)| columns)
}
