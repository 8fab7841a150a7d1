//! The charts of a session, remembered for [`RECENT_TTL`]: the health page polls them, several
//! tabs or viewers of one session ask for the same window, and CloudWatch `GetMetricData` is
//! slow, billed per metric and limited per account (docs/architecture.md "Caching and freshness").
//! The finest resolution is 5 s, so a chart at most 5 s old shows the same points. Keyed by the
//! channel, the query window (period and aligned start and end) and whether the session is live
//! (the formatting differs); the session itself is always read fresh. Bounded: full, it drops the
//! expired entries, then everything.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::handlers::Metric;

/// How long a window's charts are reused: CloudWatch's finest period.
pub const RECENT_TTL: Duration = Duration::from_secs(5);
/// Windows kept at most (a live session's charts are tens of kilobytes).
const CAPACITY: usize = 256;

/// When a window's charts were fetched, and the charts.
type Entry = (Instant, Arc<Vec<Metric>>);

#[derive(Debug, Default)]
pub struct RecentMetrics {
    entries: Mutex<HashMap<String, Entry>>,
}

impl RecentMetrics {
    pub fn get(&self, key: &str) -> Option<Arc<Vec<Metric>>> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(key)
            .filter(|(stored, _)| stored.elapsed() < RECENT_TTL)
            .map(|(_, metrics)| Arc::clone(metrics))
    }

    pub fn put(&self, key: String, metrics: Arc<Vec<Metric>>) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= CAPACITY {
            entries.retain(|_, (stored, _)| stored.elapsed() < RECENT_TTL);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), metrics));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_reused_then_bounded() {
        let recent = RecentMetrics::default();
        assert!(recent.get("a").is_none());
        recent.put("a".into(), Arc::new(Vec::new()));
        assert!(recent.get("a").is_some());
        for i in 0..(CAPACITY * 2) {
            recent.put(format!("k{i}"), Arc::new(Vec::new()));
        }
        assert!(recent.entries.lock().unwrap().len() <= CAPACITY);
    }
}
