//! Where to send a call leg's RTP: the SDP address, or the learned source (symmetric RTP).
//!
//! Behind NAT the address in the peer's SDP is often private and useless. With latching on,
//! the source of valid RTP becomes the destination (and the only accepted source) once
//! [`LATCH_AFTER`] consecutive packets came from it, so a stray or spoofed packet cannot
//! steal the stream. A re-INVITE with a new media address re-arms learning; until the new
//! source is learned we send to the new SDP address, and stragglers from the old stream
//! (fewer than `LATCH_AFTER` in a row) do not win. With latching off we send to the SDP
//! address and accept packets from anywhere.

use std::net::SocketAddr;

/// Consecutive valid packets from one source needed to latch onto it.
pub const LATCH_AFTER: u8 = 3;

/// The remote media address policy of one call leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerAddress {
    signalled: Option<SocketAddr>,
    latched: Option<SocketAddr>,
    candidate: Option<(SocketAddr, u8)>,
    latching: bool,
}

impl PeerAddress {
    /// `signalled` is the SDP's connection address and port (`None` when it is
    /// `0.0.0.0` or port 0: nowhere to send until a source is learned or a re-INVITE).
    pub fn new(signalled: Option<SocketAddr>, latching: bool) -> Self {
        PeerAddress {
            signalled,
            latched: None,
            candidate: None,
            latching,
        }
    }

    /// The destination for our packets now.
    pub fn destination(&self) -> Option<SocketAddr> {
        self.latched.or(self.signalled)
    }

    /// The latched source, if any.
    pub fn latched(&self) -> Option<SocketAddr> {
        self.latched
    }

    /// Whether a datagram from `source` is accepted.
    pub fn accepts(&self, source: SocketAddr) -> bool {
        self.latched.is_none_or(|latched| latched == source)
    }

    /// Records a valid RTP packet from `source`; latches once one source has sent
    /// [`LATCH_AFTER`] in a row (when latching is on).
    pub fn on_valid_packet(&mut self, source: SocketAddr) {
        if !self.latching || self.latched.is_some() {
            return;
        }
        let count = match self.candidate {
            Some((candidate, count)) if candidate == source => count + 1,
            _ => 1,
        };
        if count >= LATCH_AFTER {
            self.latched = Some(source);
            self.candidate = None;
        } else {
            self.candidate = Some((source, count));
        }
    }

    /// The peer signalled a new media address (re-INVITE): send there, learn again.
    pub fn update_signalled(&mut self, signalled: Option<SocketAddr>) {
        if signalled != self.signalled {
            self.latched = None;
            self.candidate = None;
        }
        self.signalled = signalled;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn packets(peer: &mut PeerAddress, source: &str, count: usize) {
        for _ in 0..count {
            peer.on_valid_packet(addr(source));
        }
    }

    #[test]
    fn latching_learns_a_steady_source_and_then_accepts_only_it() {
        let mut peer = PeerAddress::new(Some(addr("10.0.0.5:4000")), true);
        assert_eq!(peer.destination(), Some(addr("10.0.0.5:4000")));
        packets(&mut peer, "203.0.113.9:61000", 2);
        assert_eq!(peer.latched(), None, "two packets are not enough");
        packets(&mut peer, "203.0.113.9:61000", 1);
        assert_eq!(peer.destination(), Some(addr("203.0.113.9:61000")));
        packets(&mut peer, "198.51.100.1:5000", 5);
        assert_eq!(peer.destination(), Some(addr("203.0.113.9:61000")));
        assert!(peer.accepts(addr("203.0.113.9:61000")));
        assert!(!peer.accepts(addr("198.51.100.1:5000")));
    }

    #[test]
    fn interleaved_sources_do_not_latch() {
        let mut peer = PeerAddress::new(None, true);
        for _ in 0..5 {
            packets(&mut peer, "192.0.2.1:1000", 1);
            packets(&mut peer, "192.0.2.2:2000", 1);
        }
        assert_eq!(peer.latched(), None);
        assert_eq!(peer.destination(), None);
    }

    #[test]
    fn without_latching_the_sdp_address_is_used() {
        let mut peer = PeerAddress::new(Some(addr("192.0.2.1:4000")), false);
        packets(&mut peer, "203.0.113.9:61000", 5);
        assert_eq!(peer.destination(), Some(addr("192.0.2.1:4000")));
        assert!(peer.accepts(addr("198.51.100.1:5000")));
    }

    #[test]
    fn new_signalled_address_relearns_and_old_stragglers_lose() {
        let mut peer = PeerAddress::new(Some(addr("192.0.2.1:4000")), true);
        packets(&mut peer, "203.0.113.9:61000", 3);
        peer.update_signalled(Some(addr("192.0.2.1:4000")));
        assert_eq!(
            peer.latched(),
            Some(addr("203.0.113.9:61000")),
            "same address: kept"
        );
        peer.update_signalled(Some(addr("192.0.2.2:4002")));
        assert_eq!(peer.destination(), Some(addr("192.0.2.2:4002")));
        packets(&mut peer, "203.0.113.9:61000", 2);
        packets(&mut peer, "203.0.113.10:62000", 3);
        assert_eq!(peer.destination(), Some(addr("203.0.113.10:62000")));
    }
}
