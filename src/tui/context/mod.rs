//! What every screen may use, and nothing above it: the services a screen's loaders call
//! ([`Services`]), the facts of the session a key handler reads ([`Ctx`]) or a view draws
//! with ([`Ui`]), what a screen asks the root to do ([`Effect`], [`Task`]), and the small
//! shared types ([`Loadable`], [`ScreenId`], [`Disabled`]). Screens import this module, the
//! widgets, the theme and the keymap; never the root (`App`, `State`) or its task results.

mod disabled;
mod effect;
mod loadable;
mod screen_id;
mod services;

pub use disabled::{Disabled, policy_action};
pub use effect::{BoxFuture, Effect, Progress, Refresh, Task};
pub use loadable::Loadable;
pub use screen_id::ScreenId;
pub use services::{Ctx, Services, SharedLog, Ui};
