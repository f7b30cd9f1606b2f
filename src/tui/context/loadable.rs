//! Data a screen gathers in the background, and where its gathering stands.

/// Data a screen gathers in the background.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Loadable<T> {
    #[default]
    Loading,
    Ready(T),
    Failed(String),
    /// This build or configuration cannot provide it; the text says why.
    Unavailable(String),
}

impl<T> Loadable<T> {
    pub fn from_result(result: Result<T, String>) -> Loadable<T> {
        match result {
            Ok(value) => Loadable::Ready(value),
            Err(message) => Loadable::Failed(message),
        }
    }

    pub fn ready(&self) -> Option<&T> {
        match self {
            Loadable::Ready(value) => Some(value),
            _ => None,
        }
    }
}
