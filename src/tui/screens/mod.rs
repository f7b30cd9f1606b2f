//! The five screens. Each file holds one screen's state and its drawing; drawing takes the
//! state by reference and never does I/O.

pub mod audit;
pub mod audit_detail;
pub mod data;
pub mod data_columns;
pub mod data_view;
pub mod health;
pub mod health_progress;
pub mod keys;
pub mod keys_live;
pub mod overview;
pub mod retire;
pub mod rotation_wizard;

/// Which screen is showing; reached by number (1-5) or `:name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ScreenId {
    #[default]
    Overview,
    Data,
    Audit,
    Keys,
    Health,
}

impl ScreenId {
    pub const ALL: [ScreenId; 5] = [
        ScreenId::Overview,
        ScreenId::Data,
        ScreenId::Audit,
        ScreenId::Keys,
        ScreenId::Health,
    ];

    pub fn title(self) -> &'static str {
        match self {
            ScreenId::Overview => "Overview",
            ScreenId::Data => "Data",
            ScreenId::Audit => "Audit",
            ScreenId::Keys => "Keys & Rotation",
            ScreenId::Health => "Health",
        }
    }

    /// The palette name (`:data`).
    pub fn name(self) -> &'static str {
        match self {
            ScreenId::Overview => "overview",
            ScreenId::Data => "data",
            ScreenId::Audit => "audit",
            ScreenId::Keys => "keys",
            ScreenId::Health => "health",
        }
    }

    pub fn index(self) -> usize {
        ScreenId::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    pub fn from_index(index: usize) -> ScreenId {
        ScreenId::ALL[index % ScreenId::ALL.len()]
    }

    /// `data`, `Data` or `2`.
    pub fn parse(name: &str) -> Option<ScreenId> {
        let name = name.trim().to_ascii_lowercase();
        if let Ok(n) = name.parse::<usize>() {
            return (1..=ScreenId::ALL.len())
                .contains(&n)
                .then(|| ScreenId::ALL[n - 1]);
        }
        ScreenId::ALL.into_iter().find(|s| s.name() == name)
    }
}

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
