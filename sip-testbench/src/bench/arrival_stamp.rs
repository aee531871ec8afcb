//! Receives datagrams together with the kernel's arrival timestamps (`SO_TIMESTAMPNS`).
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

/// Datagrams read by one [`recv_batch`] call at most.
pub const BATCH: usize = 64;
/// Largest datagram a batch slot holds (RTP from the server is 172 bytes).
const SLOT_BYTES: usize = 512;

/// Buffers for [`recv_batch`]: one slot per datagram, reused call after call.
pub struct Batch {
    data: Box<[[u8; SLOT_BYTES]; BATCH]>,
    sources: Box<[libc::sockaddr_storage; BATCH]>,
    // u64 words keep each control buffer aligned for cmsghdr.
    controls: Box<[[u64; 8]; BATCH]>,
    lengths: [usize; BATCH],
    count: usize,
}

impl Default for Batch {
    fn default() -> Self {
        Batch {
            data: Box::new([[0; SLOT_BYTES]; BATCH]),
            // SAFETY: all-zero is a valid sockaddr_storage.
            sources: Box::new(unsafe { std::mem::zeroed() }),
            controls: Box::new([[0; 8]; BATCH]),
            lengths: [0; BATCH],
            count: 0,
        }
    }
}

impl Batch {
    /// The datagrams of the last [`recv_batch`]: payload, source and kernel stamp (the
    /// wall clock at return when the kernel gave none).
    pub fn datagrams(&self) -> impl Iterator<Item = (&[u8], Option<SocketAddr>, Duration)> {
        let fallback = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        (0..self.count).map(move |i| {
            (
                &self.data[i][..self.lengths[i]],
                socket_addr(&self.sources[i]),
                stamp_in(&self.controls[i]).unwrap_or(fallback),
            )
        })
    }
}

/// Receives up to [`BATCH`] datagrams with their arrival stamps in one system call
/// (`recvmmsg`): waits
/// for the first (the socket's read timeout applies), then takes what else is queued.
/// Why: at thousands of calls the bot's receiving threads spent most of their time
/// entering and leaving the kernel once per packet.
pub fn recv_batch(socket: &UdpSocket, batch: &mut Batch) -> io::Result<usize> {
    batch.count = 0;
    let mut iovs: [libc::iovec; BATCH] = std::array::from_fn(|i| libc::iovec {
        iov_base: batch.data[i].as_mut_ptr().cast(),
        iov_len: SLOT_BYTES,
    });
    // SAFETY: all-zero is a valid mmsghdr; every pointer set below refers to a slot of
    // `batch` or `iovs`, which outlive the call.
    let mut headers: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
    for (i, header) in headers.iter_mut().enumerate() {
        let message = &mut header.msg_hdr;
        message.msg_name = (&raw mut batch.sources[i]).cast();
        message.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        message.msg_iov = &raw mut iovs[i];
        message.msg_iovlen = 1;
        message.msg_control = batch.controls[i].as_mut_ptr().cast();
        message.msg_controllen = std::mem::size_of_val(&batch.controls[i]) as _;
    }
    // SAFETY: `headers` describes BATCH valid buffers; no timeout pointer.
    let received = unsafe {
        libc::recvmmsg(
            socket.as_raw_fd(),
            headers.as_mut_ptr(),
            BATCH as libc::c_uint,
            libc::MSG_WAITFORONE,
            std::ptr::null_mut(),
        )
    };
    if received < 0 {
        return Err(io::Error::last_os_error());
    }
    let count = received as usize;
    for (i, header) in headers.iter().enumerate().take(count) {
        batch.lengths[i] = (header.msg_len as usize).min(SLOT_BYTES);
        // The kernel rewrote the control length; keep only what it filled in.
        // `msg_controllen` is `size_t` on glibc but `socklen_t` on other libcs.
        #[allow(clippy::unnecessary_cast)]
        let used = header.msg_hdr.msg_controllen as usize;
        let words = used.div_ceil(8).min(batch.controls[i].len());
        batch.controls[i][words..].fill(0);
    }
    batch.count = count;
    Ok(count)
}

/// The `SCM_TIMESTAMPNS` stamp in one datagram's control buffer, if any.
fn stamp_in(control: &[u64; 8]) -> Option<Duration> {
    // SAFETY: a msghdr that only points at `control`; the CMSG macros stay within it and
    // a zeroed header (cmsg_len 0) ends the walk.
    unsafe {
        let mut message: libc::msghdr = std::mem::zeroed();
        message.msg_control = control.as_ptr().cast_mut().cast();
        message.msg_controllen = std::mem::size_of_val(control) as _;
        let mut header = libc::CMSG_FIRSTHDR(&raw const message);
        while !header.is_null() && (*header).cmsg_len > 0 {
            if (*header).cmsg_level == libc::SOL_SOCKET
                && (*header).cmsg_type == libc::SCM_TIMESTAMPNS
            {
                let time: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(header).cast());
                return Some(Duration::new(time.tv_sec as u64, time.tv_nsec as u32));
            }
            header = libc::CMSG_NXTHDR(&raw const message, header);
        }
    }
    None
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
    fn a_batch_brings_every_queued_datagram_with_its_source_and_send_stamp() {
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        enable(&receiver).unwrap();
        receiver
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        for i in 0..3u8 {
            sender
                .send_to(&[i; 100], receiver.local_addr().unwrap())
                .unwrap();
        }
        let after_send = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        std::thread::sleep(Duration::from_millis(30));
        let mut batch = Batch::default();
        assert_eq!(recv_batch(&receiver, &mut batch).unwrap(), 3);
        let got: Vec<_> = batch.datagrams().collect();
        for (i, (payload, source, stamp)) in got.iter().enumerate() {
            assert_eq!(*payload, &[i as u8; 100][..]);
            assert_eq!(*source, Some(sender.local_addr().unwrap()));
            assert!(before <= *stamp && *stamp <= after_send, "{stamp:?}");
        }
    }
}
