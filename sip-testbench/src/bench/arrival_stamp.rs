//! Receives a datagram together with the kernel's arrival timestamp (`SO_TIMESTAMPNS`).
//!
//! Why: on loopback the kernel stamps a packet inside the sender's `sendto`, so intervals
//! between stamps are the server's send intervals, untouched by how late our receiving
//! thread gets a core on a busy machine. When no stamp comes back, the wall clock at
//! return is used instead. The kernel turns stamping on for the whole system a moment
//! after the first socket asks (a deferred static key); until then it stamps at receive
//! time, which is why sockets enable it at start, well before any measurement.
//!
//! Hand-rolled over `libc` because the crates that wrap `recvmsg` control messages are in
//! the dependency tree only without the needed features, and enabling them would rebuild
//! the async runtime and the SIP stack for a 60-line helper.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Asks the kernel to stamp every datagram `socket` receives.
pub fn enable(socket: &UdpSocket) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: a valid socket, option and option length.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&raw const on).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Like `UdpSocket::recv_from`, plus when the datagram arrived (since the Unix epoch).
pub fn recv_from(
    socket: &UdpSocket,
    buffer: &mut [u8],
) -> io::Result<(usize, SocketAddr, Duration)> {
    // u64 words keep the control buffer aligned for cmsghdr.
    let mut control = [0u64; 16];
    // SAFETY: all-zero is a valid sockaddr_storage and msghdr.
    let mut source: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: buffer.as_mut_ptr().cast(),
        iov_len: buffer.len(),
    };
    // SAFETY: as above.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_name = (&raw mut source).cast();
    message.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    message.msg_iov = &raw mut iov;
    message.msg_iovlen = 1;
    message.msg_control = control.as_mut_ptr().cast();
    message.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: every pointer in `message` refers to a live local of the stated size.
    let received = unsafe { libc::recvmsg(socket.as_raw_fd(), &raw mut message, 0) };
    if received < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut stamp = None;
    // SAFETY: the kernel filled `message`; the CMSG macros stay within msg_controllen.
    unsafe {
        let mut header = libc::CMSG_FIRSTHDR(&raw const message);
        while !header.is_null() {
            if (*header).cmsg_level == libc::SOL_SOCKET
                && (*header).cmsg_type == libc::SCM_TIMESTAMPNS
            {
                let time: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(header).cast());
                stamp = Some(Duration::new(time.tv_sec as u64, time.tv_nsec as u32));
            }
            header = libc::CMSG_NXTHDR(&raw const message, header);
        }
    }
    let stamp = stamp.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
    });
    let source = socket_addr(&source).ok_or_else(|| io::Error::other("unknown address family"))?;
    Ok((received as usize, source, stamp))
}

fn socket_addr(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
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
    fn datagrams_come_with_source_and_a_kernel_stamp_taken_at_send() {
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        enable(&receiver).unwrap();
        // Lets the kernel's deferred switch to early stamping happen (see the module doc).
        std::thread::sleep(Duration::from_millis(200));
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        sender
            .send_to(b"first", receiver.local_addr().unwrap())
            .unwrap();
        let after_send = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        std::thread::sleep(Duration::from_millis(30));
        let mut buffer = [0u8; 64];
        let (len, source, stamp) = recv_from(&receiver, &mut buffer).unwrap();
        assert_eq!(&buffer[..len], b"first");
        assert_eq!(source, sender.local_addr().unwrap());
        assert!(
            before <= stamp && stamp <= after_send,
            "the stamp is the send time, not the (30 ms later) receive time: {before:?} {stamp:?} {after_send:?}"
        );
    }
}
