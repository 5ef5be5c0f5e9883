//! What the native load processes of `npm run bench:stream` share
//! (`subscribers.rs` and `writer.rs`, each one thread over epoll): the wait
//! for the next events, so that both retry an interrupted wait and report a
//! failed one alike.

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
