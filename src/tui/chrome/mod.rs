//! The root's own drawing around the screens: the status bar with the message line (and
//! each screen's key hints), and `?` help. These read the root [`State`](super::state::State).

pub mod help;
pub mod status_bar;
