//! What the native load processes of `npm run bench:stream` share
//! (`subscribers.rs` and `writer.rs`, each one thread over epoll): the clock
//! both stamp times with, the wait for the next events (so that both retry an
//! interrupted wait and report a failed one alike), registering a descriptor,
//! and finding bytes in a buffer.

use std::io::{self, ErrorKind};

/// Waits for events on `epoll` with no timeout, again when a signal interrupts
/// the wait; returns the ready ones, at the front of `events`.
pub fn wait_events(epoll: i32, events: &mut [libc::epoll_event]) -> io::Result<&[libc::epoll_event]> {
    loop {
        // SAFETY: events has events.len() entries.
        let n = unsafe { libc::epoll_wait(epoll, events.as_mut_ptr(), events.len() as i32, -1) };
        if n >= 0 {
            return Ok(&events[..n as usize]);
        }
        let e = io::Error::last_os_error();
        if e.kind() != ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Nanoseconds on CLOCK_MONOTONIC, the clock of `process.hrtime.bigint()`.
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid timespec; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Milliseconds, as `Number(process.hrtime.bigint()) / 1e6`.
pub fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// Adds `fd` to `epoll` for reading, its events carrying `token`.
pub fn watch(epoll: i32, fd: i32, token: u64) -> io::Result<()> {
    let mut event = libc::epoll_event { events: libc::EPOLLIN as u32, u64: token };
    // SAFETY: a valid event; the kernel checks the descriptors.
    if unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, fd, &mut event) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Where `needle` first occurs in `haystack` at or after `from`.
pub fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from >= haystack.len() {
        return None;
    }
    haystack[from..].windows(needle.len()).position(|w| w == needle).map(|i| i + from)
}
