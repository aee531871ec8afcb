//! Sends many datagrams from one socket, each to its own destination, in one system call
//! (`sendmmsg`).
//!
//! Why: the bot's paced sender sends a slot's packets (thousands of calls ÷ 20 slots)
//! through a few shared sockets; one system call per packet was most of its cost.
//! Hand-rolled over `libc` for the same reason as [`super::arrival_stamp`].

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

/// Messages handed to the kernel per call at most.
const CHUNK: usize = 256;

/// Sends every `(payload, destination)`; returns (sent, failed). A datagram the kernel
/// refuses (a full buffer, say) is counted as failed and the rest still go.
pub fn send_batch(socket: &UdpSocket, datagrams: &[(&[u8], SocketAddr)]) -> (u64, u64) {
    let (mut sent, mut failed) = (0u64, 0u64);
    let mut rest = datagrams;
    while !rest.is_empty() {
        let chunk = &rest[..rest.len().min(CHUNK)];
        match send_chunk(socket, chunk) {
            Ok(0) | Err(_) => {
                // The first message of the chunk failed: skip it, send the others.
                failed += 1;
                rest = &rest[1..];
            }
            Ok(count) => {
                sent += count as u64;
                rest = &rest[count..];
            }
        }
    }
    (sent, failed)
}

fn send_chunk(socket: &UdpSocket, chunk: &[(&[u8], SocketAddr)]) -> io::Result<usize> {
    let addresses: Vec<socket2::SockAddr> = chunk
        .iter()
        .map(|(_, destination)| socket2::SockAddr::from(*destination))
        .collect();
    let mut iovs: Vec<libc::iovec> = chunk
        .iter()
        .map(|(payload, _)| libc::iovec {
            iov_base: payload.as_ptr().cast_mut().cast(),
            iov_len: payload.len(),
        })
        .collect();
    let mut headers: Vec<libc::mmsghdr> = iovs
        .iter_mut()
        .zip(&addresses)
        .map(|(iov, address)| {
            // SAFETY: all-zero is a valid mmsghdr.
            let mut header: libc::mmsghdr = unsafe { std::mem::zeroed() };
            header.msg_hdr.msg_name = address.as_ptr().cast_mut().cast();
            header.msg_hdr.msg_namelen = address.len();
            header.msg_hdr.msg_iov = iov;
            header.msg_hdr.msg_iovlen = 1;
            header
        })
        .collect();
    // SAFETY: every header points at a live address and payload of the stated sizes
    // (`addresses`, `iovs` and the caller's slices outlive the call); the kernel only reads
    // them. The payloads are never written through the `*mut` the C struct asks for.
    let result = unsafe {
        libc::sendmmsg(
            socket.as_raw_fd(),
            headers.as_mut_ptr(),
            headers.len() as libc::c_uint,
            0,
        )
    };
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn every_datagram_reaches_its_own_destination_in_order() {
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let receivers: Vec<UdpSocket> = (0..3)
            .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
            .collect();
        let payloads: Vec<Vec<u8>> = (0..6u8).map(|i| vec![i; 20 + usize::from(i)]).collect();
        let datagrams: Vec<(&[u8], SocketAddr)> = payloads
            .iter()
            .enumerate()
            .map(|(i, p)| (&p[..], receivers[i % 3].local_addr().unwrap()))
            .collect();
        assert_eq!(send_batch(&sender, &datagrams), (6, 0));
        for (r, receiver) in receivers.iter().enumerate() {
            receiver
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut buffer = [0u8; 64];
            for i in [r, r + 3] {
                let (len, from) = receiver.recv_from(&mut buffer).unwrap();
                assert_eq!(from, sender.local_addr().unwrap());
                assert_eq!(&buffer[..len], &payloads[i][..]);
            }
        }
    }

    #[test]
    fn a_refused_datagram_is_counted_and_the_others_still_go() {
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = receiver.local_addr().unwrap();
        let huge = vec![0u8; 70_000]; // larger than any UDP datagram: EMSGSIZE
        let datagrams: Vec<(&[u8], SocketAddr)> = vec![(b"a", to), (&huge, to), (b"b", to)];
        assert_eq!(send_batch(&sender, &datagrams), (2, 1));
        receiver
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut buffer = [0u8; 8];
        let (len, _) = receiver.recv_from(&mut buffer).unwrap();
        assert_eq!(&buffer[..len], b"a");
        let (len, _) = receiver.recv_from(&mut buffer).unwrap();
        assert_eq!(&buffer[..len], b"b");
    }
}
