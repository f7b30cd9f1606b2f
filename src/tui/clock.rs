//! The console's notion of "now", injectable so snapshot tests are stable and reveal
//! timeouts can be tested without waiting.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};

/// Wall-clock time, or a fixed time that tests move by hand.
#[derive(Clone, Debug)]
pub enum Clock {
    System,
    Fixed(Arc<Mutex<DateTime<Utc>>>),
}

impl Clock {
    /// A clock stopped at `y-m-d h:mi:s` UTC.
    pub fn fixed(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> Clock {
        let at = Utc
            .with_ymd_and_hms(y, m, d, h, mi, s)
            .single()
            .unwrap_or_else(Utc::now);
        Clock::Fixed(Arc::new(Mutex::new(at)))
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Fixed(at) => *at.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Moves a fixed clock forward (no effect on the system clock).
    pub fn advance(&self, by: Duration) {
        if let Clock::Fixed(at) = self {
            let mut at = at.lock().unwrap_or_else(|e| e.into_inner());
            *at += by;
        }
    }
}
