//! Hands out RTP/RTCP port pairs from a configured range: RTP on an even port, RTCP on the
//! next odd one (RFC 3550 §11).
//!
//! The allocator keeps no table of ports in use: it walks the range round-robin and lets
//! the operating system say what is free by binding. A pair is released when its sockets
//! are dropped, so a crashed call cannot leak a port.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};

/// Why no pair could be bound.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// The range holds no even port with an odd one after it.
    #[error("the RTP port range {first}..={last} holds no even/odd pair")]
    EmptyRange {
        /// First port.
        first: u16,
        /// Last port.
        last: u16,
    },
    /// Every pair in the range is taken (or binding failed for every one).
    #[error("no free RTP port pair in {first}..={last} on {ip} (last error: {last_error})")]
    Exhausted {
        /// Local address.
        ip: IpAddr,
        /// First port.
        first: u16,
        /// Last port.
        last: u16,
        /// The last bind error.
        last_error: std::io::Error,
    },
}

/// A bound RTP/RTCP socket pair (standard library sockets, non-blocking).
#[derive(Debug)]
pub struct PortPair {
    /// The RTP socket (even port).
    pub rtp: UdpSocket,
    /// The RTCP socket (RTP port + 1).
    pub rtcp: UdpSocket,
}

impl PortPair {
    /// The RTP socket's local address.
    pub fn rtp_addr(&self) -> std::io::Result<SocketAddr> {
        self.rtp.local_addr()
    }
}

/// The allocator for one local address and port range.
#[derive(Debug)]
pub struct PortAllocator {
    ip: IpAddr,
    first_even: u16,
    pairs: u32,
    cursor: AtomicU32,
    last: u16,
    first: u16,
}

impl PortAllocator {
    /// Pairs from `first..=last` on `ip` (for example 10000..=20000).
    pub fn new(ip: IpAddr, first: u16, last: u16) -> Result<Self, PortError> {
        let first_even = first.saturating_add(first % 2);
        let pairs = if last > first_even {
            (u32::from(last) - u32::from(first_even)).div_ceil(2)
        } else {
            0
        };
        if pairs == 0 {
            return Err(PortError::EmptyRange { first, last });
        }
        Ok(PortAllocator {
            ip,
            first_even,
            pairs,
            cursor: AtomicU32::new(0),
            last,
            first,
        })
    }

    /// The local address sockets are bound on.
    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// Binds the next free pair, trying each pair of the range at most once.
    pub fn bind_pair(&self) -> Result<PortPair, PortError> {
        let mut last_error = std::io::Error::other("no pair tried");
        for _ in 0..self.pairs {
            let index = self.cursor.fetch_add(1, Ordering::Relaxed) % self.pairs;
            let rtp_port = self.first_even + (index * 2) as u16;
            match self.bind_at(rtp_port) {
                Ok(pair) => return Ok(pair),
                Err(err) => last_error = err,
            }
        }
        Err(PortError::Exhausted {
            ip: self.ip,
            first: self.first,
            last: self.last,
            last_error,
        })
    }

    fn bind_at(&self, rtp_port: u16) -> std::io::Result<PortPair> {
        let rtp = UdpSocket::bind(SocketAddr::new(self.ip, rtp_port))?;
        let rtcp = UdpSocket::bind(SocketAddr::new(self.ip, rtp_port + 1))?;
        rtp.set_nonblocking(true)?;
        rtcp.set_nonblocking(true)?;
        Ok(PortPair { rtp, rtcp })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    /// A free even port with its odd neighbour, found by letting the OS pick.
    fn free_even_base(span: u16) -> u16 {
        for _ in 0..50 {
            let probe = UdpSocket::bind((LOOPBACK, 0)).unwrap();
            let port = probe.local_addr().unwrap().port() & !1;
            drop(probe);
            if port > 1024
                && port < 65535 - span
                && (port..port + span).all(|p| UdpSocket::bind((LOOPBACK, p)).is_ok())
            {
                return port;
            }
        }
        panic!("no free port range found");
    }

    #[test]
    fn pairs_are_even_odd_and_distinct_until_the_range_is_used_up() {
        let base = free_even_base(6);
        let allocator = PortAllocator::new(LOOPBACK, base + 1, base + 5).unwrap();
        let a = allocator.bind_pair().unwrap();
        let b = allocator.bind_pair().unwrap();
        let (pa, pb) = (a.rtp_addr().unwrap().port(), b.rtp_addr().unwrap().port());
        assert_eq!(pa % 2, 0);
        assert_eq!(a.rtcp.local_addr().unwrap().port(), pa + 1);
        assert_ne!(pa, pb);
        assert!(matches!(
            allocator.bind_pair(),
            Err(PortError::Exhausted { .. })
        ));
        drop(a);
        assert_eq!(
            allocator.bind_pair().unwrap().rtp_addr().unwrap().port(),
            pa
        );
    }

    #[test]
    fn empty_ranges_are_refused() {
        assert!(PortAllocator::new(LOOPBACK, 10001, 10001).is_err());
        assert!(PortAllocator::new(LOOPBACK, 10000, 10000).is_err());
        assert!(PortAllocator::new(LOOPBACK, 10000, 10001).is_ok());
    }
}
