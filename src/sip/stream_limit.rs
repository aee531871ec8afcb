//! How many stream (TCP) connections the server keeps: in all and per source address.
//! A connection beyond either limit is closed as soon as it is accepted, before a byte
//! of it is read, so a client opening thousands of connections costs an accept and a
//! close each. A [`Slot`] is held for as long as its connection lives.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

#[derive(Debug)]
pub struct StreamLimit {
    max_total: usize,
    max_per_source: usize,
    open: Arc<Mutex<Open>>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_source: HashMap<IpAddr, usize>,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    Total,
    Source,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct Slot {
    source: IpAddr,
    open: Arc<Mutex<Open>>,
}

impl StreamLimit {
    pub fn new(max_total: usize, max_per_source: usize) -> Self {
        Self {
            max_total,
            max_per_source,
            open: Arc::default(),
        }
    }

    /// A place for a new connection from `source`, unless a limit is reached.
    pub fn admit(&self, source: IpAddr) -> Result<Slot, Full> {
        let mut open = lock(&self.open);
        if open.total >= self.max_total {
            return Err(Full::Total);
        }
        let from_source = open.by_source.entry(source).or_default();
        if *from_source >= self.max_per_source {
            return Err(Full::Source);
        }
        *from_source += 1;
        open.total += 1;
        Ok(Slot {
            source,
            open: self.open.clone(),
        })
    }
}

fn lock(open: &Mutex<Open>) -> std::sync::MutexGuard<'_, Open> {
    // The counts stay consistent under a panic (each update is one statement).
    open.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = lock(&self.open);
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_source.get_mut(&self.source) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.by_source.remove(&self.source);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn each_source_gets_its_share_and_the_total_is_capped() {
        let limit = StreamLimit::new(3, 2);
        let a1 = limit.admit(ip(1)).expect("first from a");
        let _a2 = limit.admit(ip(1)).expect("second from a");
        assert_eq!(limit.admit(ip(1)).err(), Some(Full::Source));
        let _b1 = limit.admit(ip(2)).expect("first from b");
        assert_eq!(limit.admit(ip(3)).err(), Some(Full::Total));
        assert_eq!(lock(&limit.open).total, 3);
        drop(a1);
        assert_eq!(lock(&limit.open).total, 2);
        let _c1 = limit.admit(ip(3)).expect("a place was freed");
    }

    #[test]
    fn a_source_with_nothing_open_is_forgotten() {
        let limit = StreamLimit::new(10, 1);
        drop(limit.admit(ip(1)).expect("admitted"));
        assert!(lock(&limit.open).by_source.is_empty());
        limit.admit(ip(1)).expect("admitted again");
    }
}
