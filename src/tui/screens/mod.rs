//! The five screens, each a component in its own folder: its state, its `update` (messages
//! of its own background work in, effects out), its key handling (`on_action`), its
//! loaders (async functions answering with its own `Msg`) and its views (drawing from its
//! own state, never doing I/O). A screen imports `context`, the widgets, the theme and the
//! keymap; never the root (`App`, `State`, `TaskResult`).

pub mod audit;
pub mod data;
pub mod health;
pub mod keys;
pub mod overview;

pub use crate::tui::context::{Loadable, ScreenId};
