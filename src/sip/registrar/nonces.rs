//! The nonces the registrar handed out: when each was issued and the highest nonce count
//! accepted with it, so that an expired nonce answers `stale=true` and a replayed `nc`
//! is refused. Bounded: the oldest nonces are forgotten first.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// What a nonce named in an `Authorization` header turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceState {
    /// Issued by us and still within its lifetime; `last_nc` is the highest count
    /// accepted so far (0: none).
    Fresh { last_nc: u32 },
    /// Issued by us but past its lifetime.
    Stale,
    /// Not ours, or forgotten.
    Unknown,
}

struct Issued {
    at: Instant,
    last_nc: u32,
}

/// Nonces issued, remembered for twice their lifetime (the second half only to answer
/// `stale=true`).
pub struct NonceStore {
    lifetime: Duration,
    capacity: usize,
    issued: HashMap<String, Issued>,
    /// Issue order, for forgetting the oldest.
    order: VecDeque<(Instant, String)>,
}

impl NonceStore {
    pub fn new(lifetime: Duration, capacity: usize) -> Self {
        Self {
            lifetime,
            capacity: capacity.max(1),
            issued: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Records a new nonce made from 16 random bytes.
    pub fn issue(&mut self, now: Instant, random: [u8; 16]) -> String {
        self.forget_old(now);
        while self.issued.len() >= self.capacity {
            match self.order.pop_front() {
                Some((_, oldest)) => {
                    self.issued.remove(&oldest);
                }
                None => break,
            }
        }
        let nonce: String = random.iter().map(|b| format!("{b:02x}")).collect();
        self.issued.insert(
            nonce.clone(),
            Issued {
                at: now,
                last_nc: 0,
            },
        );
        self.order.push_back((now, nonce.clone()));
        nonce
    }

    pub fn state(&self, nonce: &str, now: Instant) -> NonceState {
        match self.issued.get(nonce) {
            None => NonceState::Unknown,
            Some(i) if now.saturating_duration_since(i.at) >= self.lifetime => NonceState::Stale,
            Some(i) => NonceState::Fresh { last_nc: i.last_nc },
        }
    }

    /// Records that `nc` was accepted with `nonce`.
    pub fn accept(&mut self, nonce: &str, nc: u32) {
        if let Some(i) = self.issued.get_mut(nonce) {
            i.last_nc = i.last_nc.max(nc);
        }
    }

    pub fn len(&self) -> usize {
        self.issued.len()
    }

    pub fn is_empty(&self) -> bool {
        self.issued.is_empty()
    }

    fn forget_old(&mut self, now: Instant) {
        let keep = self.lifetime * 2;
        while let Some((at, _)) = self.order.front() {
            if now.saturating_duration_since(*at) < keep {
                break;
            }
            if let Some((_, nonce)) = self.order.pop_front() {
                self.issued.remove(&nonce);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_fresh_then_stale_then_forgotten() {
        let t0 = Instant::now();
        let mut store = NonceStore::new(Duration::from_secs(30), 10);
        let n = store.issue(t0, [7; 16]);
        assert_eq!(n.len(), 32);
        assert_eq!(store.state(&n, t0), NonceState::Fresh { last_nc: 0 });
        assert_eq!(
            store.state(&n, t0 + Duration::from_secs(30)),
            NonceState::Stale
        );
        store.issue(t0 + Duration::from_secs(61), [8; 16]);
        assert_eq!(
            store.state(&n, t0 + Duration::from_secs(61)),
            NonceState::Unknown
        );
        assert_eq!(store.state("made-up", t0), NonceState::Unknown);
    }

    #[test]
    fn accepted_counts_are_remembered_per_nonce() {
        let t0 = Instant::now();
        let mut store = NonceStore::new(Duration::from_secs(30), 10);
        let a = store.issue(t0, [1; 16]);
        let b = store.issue(t0, [2; 16]);
        store.accept(&a, 3);
        store.accept(&a, 2);
        assert_eq!(store.state(&a, t0), NonceState::Fresh { last_nc: 3 });
        assert_eq!(store.state(&b, t0), NonceState::Fresh { last_nc: 0 });
    }

    #[test]
    fn a_full_store_forgets_its_oldest_nonce_first() {
        let t0 = Instant::now();
        let mut store = NonceStore::new(Duration::from_secs(30), 2);
        let first = store.issue(t0, [1; 16]);
        let second = store.issue(t0, [2; 16]);
        let third = store.issue(t0, [3; 16]);
        assert_eq!(store.len(), 2);
        assert_eq!(store.state(&first, t0), NonceState::Unknown);
        assert!(matches!(store.state(&second, t0), NonceState::Fresh { .. }));
        assert!(matches!(store.state(&third, t0), NonceState::Fresh { .. }));
    }
}
