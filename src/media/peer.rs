//! Where to send a call leg's RTP: the SDP address, or the latched source (symmetric RTP).
//!
//! Behind NAT the address in the peer's SDP is often private and useless. With latching on,
//! the first valid RTP packet's source becomes the destination (and the only accepted
//! source) until the peer signals a new media address in a re-INVITE, which re-arms the
//! latch. With latching off we send to the SDP address and accept packets from anywhere.

use std::net::SocketAddr;

/// The remote media address policy of one call leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerAddress {
    signalled: Option<SocketAddr>,
    latched: Option<SocketAddr>,
    latching: bool,
}

impl PeerAddress {
    /// `signalled` is the SDP's connection address and port (`None` when it is
    /// `0.0.0.0` or port 0: nowhere to send until a packet arrives or a re-INVITE).
    pub fn new(signalled: Option<SocketAddr>, latching: bool) -> Self {
        PeerAddress {
            signalled,
            latched: None,
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

    /// Records a valid RTP packet from `source`; latches on the first one when enabled.
    pub fn on_valid_packet(&mut self, source: SocketAddr) {
        if self.latching && self.latched.is_none() {
            self.latched = Some(source);
        }
    }

    /// The peer signalled a new media address (re-INVITE): send there, re-arm the latch.
    pub fn update_signalled(&mut self, signalled: Option<SocketAddr>) {
        if signalled != self.signalled {
            self.latched = None;
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

    #[test]
    fn latching_follows_the_first_packet_and_then_only_it() {
        let mut peer = PeerAddress::new(Some(addr("10.0.0.5:4000")), true);
        assert_eq!(peer.destination(), Some(addr("10.0.0.5:4000")));
        peer.on_valid_packet(addr("203.0.113.9:61000"));
        peer.on_valid_packet(addr("198.51.100.1:5000"));
        assert_eq!(peer.destination(), Some(addr("203.0.113.9:61000")));
        assert!(peer.accepts(addr("203.0.113.9:61000")));
        assert!(!peer.accepts(addr("198.51.100.1:5000")));
    }

    #[test]
    fn without_latching_the_sdp_address_is_used() {
        let mut peer = PeerAddress::new(Some(addr("192.0.2.1:4000")), false);
        peer.on_valid_packet(addr("203.0.113.9:61000"));
        assert_eq!(peer.destination(), Some(addr("192.0.2.1:4000")));
        assert!(peer.accepts(addr("198.51.100.1:5000")));
    }

    #[test]
    fn new_signalled_address_rearms_the_latch() {
        let mut peer = PeerAddress::new(Some(addr("192.0.2.1:4000")), true);
        peer.on_valid_packet(addr("203.0.113.9:61000"));
        peer.update_signalled(Some(addr("192.0.2.1:4000")));
        assert_eq!(peer.latched(), Some(addr("203.0.113.9:61000")));
        peer.update_signalled(Some(addr("192.0.2.2:4002")));
        assert_eq!(peer.destination(), Some(addr("192.0.2.2:4002")));
        peer.on_valid_packet(addr("203.0.113.10:62000"));
        assert_eq!(peer.destination(), Some(addr("203.0.113.10:62000")));
        let nowhere = PeerAddress::new(None, false);
        assert_eq!(nowhere.destination(), None);
    }
}
