//! Reads every datagram waiting on a non-blocking UDP socket in one system call
//! (`recvmmsg`), instead of one `recvfrom` per datagram plus one more that finds the
//! socket empty.
//!
//! Why: a media leg reads its socket once per 20 ms frame and usually finds one packet;
//! with `recvfrom` that was two system calls per leg per frame, the second only to learn
//! that nothing more had come. Hand-rolled over `libc` (small, and the crates that wrap
//! `recvmmsg` are in the dependency tree only without the needed features).

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;

/// Datagrams one [`receive`] call reads at most.
pub const BATCH: usize = 8;
/// Bytes kept of each datagram: anything longer is not RTP we accept (it is truncated and
/// then rejected by the parser, as a short read with `recvfrom` would be).
pub const SLOT_BYTES: usize = 2048;

/// Reusable buffers for [`receive`]; one per media task, not per leg.
pub struct ReceiveBatch {
    data: Box<[[u8; SLOT_BYTES]; BATCH]>,
    sources: [libc::sockaddr_storage; BATCH],
    lengths: [usize; BATCH],
    count: usize,
}

impl Default for ReceiveBatch {
    fn default() -> Self {
        ReceiveBatch {
            data: Box::new([[0; SLOT_BYTES]; BATCH]),
            // SAFETY: all-zero is a valid sockaddr_storage.
            sources: unsafe { std::mem::zeroed() },
            lengths: [0; BATCH],
            count: 0,
        }
    }
}

impl std::fmt::Debug for ReceiveBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReceiveBatch({} datagrams)", self.count)
    }
}

impl ReceiveBatch {
    /// Datagram `index` of the last [`receive`]: its bytes and source (`None` for an
    /// address family other than IPv4/IPv6).
    pub fn get(&self, index: usize) -> Option<(&[u8], Option<SocketAddr>)> {
        (index < self.count).then(|| {
            (
                &self.data[index][..self.lengths[index]],
                socket_addr(&self.sources[index]),
            )
        })
    }

    /// How many datagrams the last [`receive`] read.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the last [`receive`] read nothing.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// Reads up to [`BATCH`] datagrams without waiting; `Ok(0)` when none is queued.
pub fn receive(socket: &UdpSocket, batch: &mut ReceiveBatch) -> io::Result<usize> {
    batch.count = 0;
    let mut iovs: [libc::iovec; BATCH] = std::array::from_fn(|i| libc::iovec {
        iov_base: batch.data[i].as_mut_ptr().cast(),
        iov_len: SLOT_BYTES,
    });
    // SAFETY: all-zero is a valid mmsghdr.
    let mut headers: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
    for (i, header) in headers.iter_mut().enumerate() {
        header.msg_hdr.msg_name = (&raw mut batch.sources[i]).cast();
        header.msg_hdr.msg_namelen =
            std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        header.msg_hdr.msg_iov = &raw mut iovs[i];
        header.msg_hdr.msg_iovlen = 1;
    }
    // SAFETY: every header points at a slot of `batch` or `iovs`, live for the call and
    // of the stated sizes; no timeout pointer.
    let received = unsafe {
        libc::recvmmsg(
            socket.as_raw_fd(),
            headers.as_mut_ptr(),
            BATCH as libc::c_uint,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
        )
    };
    if received < 0 {
        let err = io::Error::last_os_error();
        return match err.kind() {
            io::ErrorKind::WouldBlock => Ok(0),
            _ => Err(err),
        };
    }
    let count = (received as usize).min(BATCH);
    for (i, header) in headers.iter().enumerate().take(count) {
        batch.lengths[i] = (header.msg_len as usize).min(SLOT_BYTES);
    }
    batch.count = count;
    Ok(count)
}

/// The socket address a kernel `sockaddr_storage` holds (IPv4 or IPv6).
pub fn socket_addr(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match libc::c_int::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a sockaddr_in.
            let v4: libc::sockaddr_in =
                unsafe { std::ptr::read((storage as *const libc::sockaddr_storage).cast()) };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr)),
                u16::from_be(v4.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this storage holds a sockaddr_in6.
            let v6: libc::sockaddr_in6 =
                unsafe { std::ptr::read((storage as *const libc::sockaddr_storage).cast()) };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(v6.sin6_addr.s6_addr),
                u16::from_be(v6.sin6_port),
                v6.sin6_flowinfo,
                v6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_socket_reads_nothing_without_waiting() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let mut batch = ReceiveBatch::default();
        assert_eq!(receive(&socket, &mut batch).unwrap(), 0);
        assert!(batch.is_empty() && batch.get(0).is_none());
    }

    #[test]
    fn queued_datagrams_come_in_order_with_their_sources_a_batch_at_a_time() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let v6 = UdpSocket::bind("[::1]:0").ok();
        let to = socket.local_addr().unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        for i in 0..(BATCH as u8 + 2) {
            sender.send_to(&[i; 30], to).unwrap();
        }
        let mut batch = ReceiveBatch::default();
        // Loopback delivers synchronously, but be patient with a loaded machine.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while receive(&socket, &mut batch).unwrap() == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(batch.len(), BATCH);
        for i in 0..BATCH {
            let (bytes, source) = batch.get(i).unwrap();
            assert_eq!(bytes, &[i as u8; 30][..]);
            assert_eq!(source, Some(sender.local_addr().unwrap()));
        }
        assert_eq!(receive(&socket, &mut batch).unwrap(), 2);
        assert_eq!(batch.get(1).unwrap().0, &[BATCH as u8 + 1; 30][..]);
        if let Some(v6) = v6 {
            let target = v6.local_addr().unwrap();
            let from = UdpSocket::bind("[::1]:0").unwrap();
            from.send_to(b"six", target).unwrap();
            let mut batch = ReceiveBatch::default();
            while receive(&v6, &mut batch).unwrap() == 0 {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            assert_eq!(
                batch.get(0).unwrap(),
                (&b"six"[..], Some(from.local_addr().unwrap()))
            );
        }
    }

    #[test]
    fn an_oversized_datagram_is_cut_to_the_slot() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        sender
            .send_to(&vec![7u8; SLOT_BYTES + 100], socket.local_addr().unwrap())
            .unwrap();
        let mut batch = ReceiveBatch::default();
        while receive(&socket, &mut batch).unwrap() == 0 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(batch.get(0).unwrap().0.len(), SLOT_BYTES);
    }
}
