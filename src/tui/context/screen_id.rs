//! Which screen is showing; reached by number (1-5) or `:name`.

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
