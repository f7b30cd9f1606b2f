//! The console (DESIGN §10): ratatui + crossterm, one event loop, state per screen with a
//! thin root, drawing from state only, and every query, scan and audited action run as a
//! background task that reports over a channel.
//!
//! Only this module imports ratatui, crossterm and ratatui-textarea, and it never builds
//! SQL: it calls `store`, `access`, `audit` (and `health`, `rotation` as they land).
//!
//! - [`app`]: [`App`], the root (events in, task results in, a frame out);
//! - [`event`], [`tasks`]: the inputs; [`state`], [`ui`]: what is drawn and how;
//! - [`screens`]: Overview, Data, Audit, Keys & Rotation, Health;
//! - [`widgets`]: masked cells, status bar, help, palette, prompt, reveal dialog, record;
//! - [`theme`], [`keymap`]: YAML themes and key bindings;
//! - [`terminal`]: the guard that always restores the terminal, and the event loop.

pub mod app;
mod app_actions;
mod app_audit;
mod app_audit_detail;
mod app_health;
mod app_popups;
mod app_results;
mod app_retire;
mod app_rotation;
pub mod clock;
pub mod commands;
pub mod disabled;
pub mod event;
pub mod keymap;
pub mod keyspec;
pub mod overview_data;
pub mod screens;
pub mod setup;
pub mod state;
pub mod tasks;
pub mod terminal;
pub mod theme;
pub mod ui;
pub mod widgets;

pub use app::App;
pub use clock::Clock;
pub use event::Event;
pub use keymap::{Action, Keymap};
pub use setup::Setup;
pub use tasks::TaskResult;
pub use theme::{Theme, ThemeSet};
