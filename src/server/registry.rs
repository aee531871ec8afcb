//! The set of active calls: counted for capacity and health, emptied by graceful shutdown.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// What the registry knows of one call.
#[derive(Debug, Clone)]
pub struct CallSummary {
    pub call_id: String,
    pub caller: String,
    pub started: std::time::SystemTime,
}

#[derive(Debug, Default)]
pub struct CallRegistry {
    calls: Mutex<HashMap<u64, CallSummary>>,
    next_id: AtomicU64,
    total: AtomicU64,
}

/// Removes its call from the registry when dropped, however the call task ends.
pub struct CallGuard<'a> {
    registry: &'a CallRegistry,
    id: u64,
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut calls) = self.registry.calls.lock() {
            calls.remove(&self.id);
        }
    }
}

impl CallRegistry {
    /// Registers a call unless `limit` calls are already active.
    pub fn admit(&self, summary: CallSummary, limit: usize) -> Option<CallGuard<'_>> {
        let mut calls = self.calls.lock().ok()?;
        if calls.len() >= limit {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        calls.insert(id, summary);
        self.total.fetch_add(1, Ordering::Relaxed);
        Some(CallGuard { registry: self, id })
    }

    pub fn len(&self) -> usize {
        self.calls.lock().map(|c| c.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls admitted since start.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> CallSummary {
        CallSummary {
            call_id: "c".into(),
            caller: "a".into(),
            started: std::time::SystemTime::now(),
        }
    }

    #[test]
    fn admits_up_to_the_limit_and_frees_on_drop() {
        let reg = CallRegistry::default();
        let a = reg.admit(summary(), 2).expect("first");
        let _b = reg.admit(summary(), 2).expect("second");
        assert!(reg.admit(summary(), 2).is_none());
        drop(a);
        assert_eq!(reg.len(), 1);
        assert!(reg.admit(summary(), 2).is_some());
        assert_eq!(reg.total(), 3);
    }
}
