//! What people see, as plain data: card lines shared by the menu and the terminal, the engine's snapshot as a menu model and icon (`live`), worst-of summaries, and the `status` report.

pub mod card;
pub mod icon;
pub mod live;
pub mod menu;
pub mod report;
pub mod rows;

use crate::model::Status;

/// How many services are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub healthy: usize,
    pub degraded: usize,
    pub down: usize,
    pub unknown: usize,
    pub loading: usize,
}

impl Counts {
    pub fn of<I: IntoIterator<Item = Status>>(statuses: I) -> Counts {
        let mut c = Counts::default();
        for s in statuses {
            match s {
                Status::Healthy => c.healthy += 1,
                Status::Degraded => c.degraded += 1,
                Status::Down => c.down += 1,
                Status::Unknown => c.unknown += 1,
                Status::Loading => c.loading += 1,
            }
        }
        c
    }

    pub fn total(&self) -> usize {
        self.healthy + self.degraded + self.down + self.unknown + self.loading
    }

    /// "All 12 services healthy", "1 down · 2 degraded · 9 healthy", "No services yet".
    pub(crate) fn headline(&self) -> String {
        let total = self.total();
        if total == 0 {
            return "No services yet".into();
        }
        if self.healthy == total {
            return if total == 1 {
                "The service is healthy".into()
            } else if total == 2 {
                "Both services healthy".into()
            } else {
                format!("All {total} services healthy")
            };
        }
        let parts: Vec<String> = [
            (self.down, "down"),
            (self.degraded, "degraded"),
            (self.unknown, "unknown"),
            (self.loading, "checking"),
            (self.healthy, "healthy"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, w)| format!("{n} {w}"))
        .collect();
        parts.join(" · ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    #[test]
    fn headlines() {
        assert_eq!(Counts::of([]).headline(), "No services yet");
        assert_eq!(
            Counts::of([Healthy; 12]).headline(),
            "All 12 services healthy"
        );
        assert_eq!(Counts::of([Healthy]).headline(), "The service is healthy");
        assert_eq!(
            Counts::of([Healthy, Down, Degraded, Healthy, Degraded]).headline(),
            "1 down · 2 degraded · 2 healthy"
        );
        assert_eq!(
            Counts::of([Unknown, Loading]).headline(),
            "1 unknown · 1 checking"
        );
    }
}
