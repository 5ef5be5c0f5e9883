//! The native subscriber process of `npm run bench:stream`
//! (`BENCH_SUBSCRIBER=native`): the same clients as `subscribers.ts`, in one
//! thread over epoll, so that the measuring side costs far less than the
//! engine it measures (the Node process took about 0.7 core for 1,010 clients
//! at 10,000 deltas/s on a 2-core machine, and every receipt waited for its
//! event loop to reach the socket).
//!
//! What it does is exactly what `subscribers.ts` does, and nothing more: a raw
//! TCP socket per client, the upgrade written by hand, one subscribe per
//! client (line i of the subscriptions file, else `{"op":"subscribe"}`); per
//! frame only the header and the seq are read (the engine writes `seq` last
//! in every JSON message). Unfiltered clients check that their seqs are
//! consecutive; receipt times (CLOCK_MONOTONIC, the clock of process.hrtime,
//! shared by every process on the machine) are kept per seq (the latest over
//! all clients) and for every sampleEvery-th seq per client. Filtered clients
//! record every receipt (client, seq, time); latency.bench.ts checks them
//! against their filters. A receipt's time is taken right after the read()
//! that returned its bytes.
//!
//! It talks to latency.bench.ts over stdin/stdout, one JSON object a line:
//! commands `{"cmd":"stats"}` and `{"cmd":"stop","file":PATH}` in, events
//! `subscribed`, `stats`, `stopped` and `failed` out, with the fields
//! subscribers.ts sends over IPC; `stop` writes the same files (raw
//! little-endian arrays).
//!
//! argv: port clients sampleEvery seqWindow [subscriptionsFile (one subscribe a line)]

use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::unix::io::AsRawFd;
use std::process::exit;

use omnistock_bench_stream::{find, ms, now_ns, wait_events, watch};

const HOST: &str = "127.0.0.1";
/// Upgrades in flight at once while connecting.
const CONNECT_BATCH: usize = 50;
/// (client, seq) receipt samples kept for unfiltered clients.
const SAMPLES_MAX: usize = 8_000_000;
/// Receipts kept for filtered clients.
const FILTERED_RECEIPTS_MAX: usize = 8_000_000;
/// One read() at most; a read that fills it is followed by another.
const READ_BYTES: usize = 64 * 1024;
const EVENTS_MAX: usize = 1024;
const OPEN_SUBSCRIBE: &[u8] = b"{\"op\":\"subscribe\"}";
const SUBSCRIBED_PREFIX: &[u8] = b"{\"type\":\"subscribed\"";
const STDIN_TOKEN: u64 = u64::MAX;

/// A masked client frame (mask key 0: the payload is sent as it is).
fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(payload.len() + 14);
    frame.push(0x80 | opcode);
    if payload.len() <= 125 {
        frame.push(0x80 | payload.len() as u8);
    } else if payload.len() <= 0xffff {
        frame.push(0x80 | 126);
        frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    } else {
        frame.push(0x80 | 127);
        frame.extend_from_slice(&(payload.len() as u64).to_be_bytes());
    }
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(payload);
    frame
}

fn emit(line: &str) {
    let mut out = io::stdout().lock();
    // The parent reads lines; a closed stdout means it is gone, and so may we be.
    if out.write_all(line.as_bytes()).and_then(|_| out.write_all(b"\n")).and_then(|_| out.flush()).is_err() {
        exit(1);
    }
}

fn fail(message: &str) -> ! {
    emit(&format!("{{\"event\":\"failed\",\"message\":{:?}}}", message));
    exit(1);
}

/// Everything measured, over all clients (the module-level state of subscribers.ts).
struct Recorder {
    base_seq: i64, // the `subscribed` seq: seqs after it are measured
    last_receipt: Vec<f64>, // per seq - base_seq - 1: latest receipt over all unfiltered clients
    receipts: Vec<u16>,     // per seq: unfiltered clients that got it
    sample_every: i64,
    sample_seq: Vec<u32>,
    sample_time: Vec<f64>,
    frames: u64,
    gaps: u64, // a seq that is not the previous + 1 (coalescing, or a bug)
    filtered_frames: u64,
    filtered_client: Vec<u16>,
    filtered_seq: Vec<u32>,
    filtered_time: Vec<f64>,
    filtered_overflow: u64, // receipts past FILTERED_RECEIPTS_MAX (not recorded)
}

struct Client {
    stream: TcpStream,
    id: usize,
    subscribe: Vec<u8>, // the subscribe frame
    filtered: bool,
    upgraded: bool,
    carry: Vec<u8>, // bytes of an incomplete frame (or upgrade answer)
    last_seq: i64,
    closed: bool,
}

/// What one text frame was.
enum Text {
    Subscribed,
    Other,
}

impl Client {
    /// Reads the frames in `carry` (bytes received at `t`); returns how many bytes were used.
    fn parse(&mut self, t: f64, rec: &mut Recorder, subscribed: &mut Vec<usize>) -> usize {
        let buf = std::mem::take(&mut self.carry);
        let n = buf.len();
        let mut at = 0;
        if !self.upgraded {
            let Some(end) = find(&buf, b"\r\n\r\n", 0) else {
                self.carry = buf;
                return 0;
            };
            if !buf.starts_with(b"HTTP/1.1 101") {
                fail(&format!("upgrade refused: {}", String::from_utf8_lossy(&buf[..end])));
            }
            self.upgraded = true;
            at = end + 4;
            let frame = std::mem::take(&mut self.subscribe);
            self.write_all(&frame);
        }
        while at + 2 <= n {
            let opcode = buf[at] & 0x0f;
            let mut len = (buf[at + 1] & 0x7f) as usize;
            let mut head = 2;
            if len == 126 {
                if at + 4 > n {
                    break;
                }
                len = u16::from_be_bytes([buf[at + 2], buf[at + 3]]) as usize;
                head = 4;
            } else if len == 127 {
                if at + 10 > n {
                    break;
                }
                let mut b = [0u8; 8];
                b.copy_from_slice(&buf[at + 2..at + 10]);
                len = u64::from_be_bytes(b) as usize;
                head = 10;
            }
            if at + head + len > n {
                break;
            }
            let start = at + head;
            let end = start + len;
            at = end;
            if opcode == 1 {
                if let Text::Subscribed = self.on_text(&buf[start..end], t, rec) {
                    subscribed.push(self.id);
                }
            } else if opcode == 9 {
                let pong = client_frame(10, &buf[start..end]);
                self.write_all(&pong);
            }
        }
        self.carry = buf;
        self.carry.drain(..at);
        at
    }

    fn on_text(&mut self, payload: &[u8], t: f64, rec: &mut Recorder) -> Text {
        // `…,"seq":123}`: digits backwards from the closing brace.
        let mut seq: i64 = 0;
        let mut scale: i64 = 1;
        let mut i = payload.len() as isize - 2;
        while i >= 0 {
            let c = payload[i as usize];
            if !c.is_ascii_digit() {
                break;
            }
            seq += (c - b'0') as i64 * scale;
            scale *= 10;
            i -= 1;
        }
        if payload.len() > 9 && payload[9] == b's' && payload.starts_with(SUBSCRIBED_PREFIX) {
            if rec.base_seq < 0 {
                rec.base_seq = seq;
            } else if rec.base_seq != seq {
                fail(&format!("subscribed at {}, others at {}: writes started too early", seq, rec.base_seq));
            }
            self.last_seq = seq;
            return Text::Subscribed;
        }
        if self.filtered {
            rec.filtered_frames += 1;
            self.last_seq = seq;
            if rec.filtered_seq.len() == FILTERED_RECEIPTS_MAX {
                rec.filtered_overflow += 1;
                return Text::Other;
            }
            rec.filtered_client.push(self.id as u16);
            rec.filtered_seq.push(seq as u32);
            rec.filtered_time.push(t);
            return Text::Other;
        }
        rec.frames += 1;
        if seq != self.last_seq + 1 {
            rec.gaps += 1;
        }
        self.last_seq = seq;
        let k = seq - rec.base_seq - 1;
        if k >= 0 && (k as usize) < rec.last_receipt.len() {
            let k = k as usize;
            if t > rec.last_receipt[k] {
                rec.last_receipt[k] = t;
            }
            rec.receipts[k] = rec.receipts[k].wrapping_add(1);
        }
        if seq % rec.sample_every == 0 && rec.sample_seq.len() < SAMPLES_MAX {
            rec.sample_seq.push(seq as u32);
            rec.sample_time.push(t);
        }
        Text::Other
    }

    /// Small control writes (subscribe, pong) on a socket the client barely writes to: all or fail.
    fn write_all(&mut self, bytes: &[u8]) {
        let mut at = 0;
        while at < bytes.len() {
            match self.stream.write(&bytes[at..]) {
                Ok(n) => at += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => fail("a client's socket refused a control frame"),
                Err(_) => return, // closed: seen on the next read
            }
        }
    }
}

struct Load {
    port: u16,
    count: usize,
    subscriptions: Vec<Vec<u8>>,
    epoll: i32,
    clients: Vec<Client>,
    started: usize,
    pending: usize, // upgrades in flight
    subscribed: usize,
    closed_early: u64,
    rec: Recorder,
    buf: Vec<u8>,
    stdin: Vec<u8>,
}

impl Load {
    fn watch(&self, fd: i32, token: u64) {
        watch(self.epoll, fd, token).unwrap_or_else(|e| fail(&format!("epoll_ctl: {}", e)));
    }

    /// Opens clients while fewer than CONNECT_BATCH upgrades are in flight.
    fn open_more(&mut self) {
        while self.pending < CONNECT_BATCH && self.started < self.count {
            let id = self.started;
            self.started += 1;
            self.pending += 1;
            let mut stream = TcpStream::connect((HOST, self.port)).unwrap_or_else(|e| fail(&format!("connect: {}", e)));
            stream.set_nodelay(true).unwrap_or_else(|e| fail(&format!("nodelay: {}", e)));
            let upgrade = format!(
                "GET /v1/stream HTTP/1.1\r\nHost: {}:{}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                HOST, self.port
            );
            stream.write_all(upgrade.as_bytes()).unwrap_or_else(|e| fail(&format!("upgrade: {}", e)));
            stream.set_nonblocking(true).unwrap_or_else(|e| fail(&format!("nonblocking: {}", e)));
            let subscribe = self.subscriptions.get(id).map(|s| s.as_slice()).unwrap_or(OPEN_SUBSCRIBE);
            self.watch(stream.as_raw_fd(), id as u64);
            self.clients.push(Client {
                stream,
                id,
                subscribe: client_frame(1, subscribe),
                filtered: subscribe != OPEN_SUBSCRIBE,
                upgraded: false,
                carry: Vec::new(),
                last_seq: -1,
                closed: false,
            });
        }
    }

    fn on_readable(&mut self, id: usize) {
        let mut subscribed = Vec::new();
        loop {
            let client = &mut self.clients[id];
            if client.closed {
                return;
            }
            match client.stream.read(&mut self.buf) {
                Ok(0) => {
                    self.close(id);
                    break;
                }
                Ok(n) => {
                    let t = ms(now_ns());
                    client.carry.extend_from_slice(&self.buf[..n]);
                    client.parse(t, &mut self.rec, &mut subscribed);
                    if n < self.buf.len() {
                        break; // the socket had no more at the time of the read
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => {
                    self.close(id);
                    break;
                }
            }
        }
        for _ in subscribed {
            self.pending -= 1;
            self.subscribed += 1;
            if self.subscribed == self.count {
                emit(&format!("{{\"event\":\"subscribed\",\"clients\":{},\"baseSeq\":{}}}", self.count, self.rec.base_seq));
            } else {
                self.open_more();
            }
        }
    }

    fn close(&mut self, id: usize) {
        let client = &mut self.clients[id];
        client.closed = true;
        self.closed_early += 1;
        // SAFETY: deregistering a valid fd; closing it happens when the stream drops.
        unsafe { libc::epoll_ctl(self.epoll, libc::EPOLL_CTL_DEL, client.stream.as_raw_fd(), std::ptr::null_mut()) };
    }

    fn on_stdin(&mut self) {
        let mut chunk = [0u8; 4096];
        // SAFETY: reading into a local buffer.
        let n = unsafe { libc::read(0, chunk.as_mut_ptr() as *mut libc::c_void, chunk.len()) };
        if n == 0 {
            exit(0); // the bench is gone
        }
        if n < 0 {
            return;
        }
        self.stdin.extend_from_slice(&chunk[..n as usize]);
        while let Some(nl) = self.stdin.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.stdin.drain(..=nl).collect();
            self.command(&String::from_utf8_lossy(&line));
        }
    }

    fn command(&mut self, line: &str) {
        if line.contains("\"cmd\":\"stats\"") {
            let seqs: Vec<String> = self.clients.iter().map(|c| c.last_seq.to_string()).collect();
            emit(&format!(
                "{{\"event\":\"stats\",\"frames\":{},\"gaps\":{},\"closedEarly\":{},\"lastSeqs\":[{}]}}",
                self.rec.frames, self.rec.gaps, self.closed_early, seqs.join(",")
            ));
        } else if line.contains("\"cmd\":\"stop\"") {
            let file = string_field(line, "file").unwrap_or_else(|| fail("stop without a file"));
            self.clients.clear(); // closes every socket
            let r = &self.rec;
            write_array(&format!("{}.seq", file), &r.sample_seq, |v| v.to_le_bytes());
            write_array(&format!("{}.time", file), &r.sample_time, |v| v.to_le_bytes());
            write_array(&format!("{}.last", file), &r.last_receipt, |v| v.to_le_bytes());
            write_array(&format!("{}.count", file), &r.receipts, |v| v.to_le_bytes());
            write_array(&format!("{}.fclient", file), &r.filtered_client, |v| v.to_le_bytes());
            write_array(&format!("{}.fseq", file), &r.filtered_seq, |v| v.to_le_bytes());
            write_array(&format!("{}.ftime", file), &r.filtered_time, |v| v.to_le_bytes());
            emit(&format!(
                "{{\"event\":\"stopped\",\"frames\":{},\"gaps\":{},\"closedEarly\":{},\"samples\":{},\"baseSeq\":{},\
                 \"filteredFrames\":{},\"filteredReceipts\":{},\"filteredOverflow\":{}}}",
                r.frames, r.gaps, self.closed_early, r.sample_seq.len(), r.base_seq, r.filtered_frames, r.filtered_seq.len(), r.filtered_overflow
            ));
            exit(0);
        } else {
            fail(&format!("unknown command {}", line.trim()));
        }
    }

    fn run(&mut self) -> ! {
        self.watch(0, STDIN_TOKEN);
        self.open_more();
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; EVENTS_MAX];
        loop {
            let ready = wait_events(self.epoll, &mut events).unwrap_or_else(|e| fail(&format!("epoll_wait: {}", e)));
            for event in ready {
                let token = event.u64;
                if token == STDIN_TOKEN {
                    self.on_stdin();
                } else {
                    self.on_readable(token as usize);
                }
            }
        }
    }
}

/// The string value of `"name":"…"` in a command line (paths here hold no quotes or escapes).
fn string_field(line: &str, name: &str) -> Option<String> {
    let key = format!("\"{}\":\"", name);
    let from = line.find(&key)? + key.len();
    let to = from + line[from..].find('"')?;
    let value = &line[from..to];
    if value.contains('\\') {
        return None;
    }
    Some(value.to_string())
}

fn write_array<T: Copy, const N: usize>(path: &str, values: &[T], bytes: impl Fn(T) -> [u8; N]) {
    let mut out = Vec::with_capacity(values.len() * N);
    for &v in values {
        out.extend_from_slice(&bytes(v));
    }
    std::fs::write(path, out).unwrap_or_else(|e| fail(&format!("{}: {}", path, e)));
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        fail("usage: port clients sampleEvery seqWindow [subscriptionsFile]");
    }
    let num = |i: usize| -> u64 { args[i].parse().unwrap_or_else(|_| fail(&format!("argument {} is not a number", i))) };
    let (port, count, sample_every, seq_window) = (num(1) as u16, num(2) as usize, num(3) as i64, num(4) as usize);
    let subscriptions: Vec<Vec<u8>> = match args.get(5) {
        Some(file) => std::fs::read(file)
            .unwrap_or_else(|e| fail(&format!("{}: {}", file, e)))
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| l.to_vec())
            .collect(),
        None => Vec::new(),
    };
    if count > u16::MAX as usize {
        fail("at most 65535 clients (client ids are recorded as u16)");
    }
    // SAFETY: plain syscall.
    let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if epoll < 0 {
        fail(&format!("epoll_create1: {}", io::Error::last_os_error()));
    }
    let mut load = Load {
        port,
        count,
        subscriptions,
        epoll,
        clients: Vec::with_capacity(count),
        started: 0,
        pending: 0,
        subscribed: 0,
        closed_early: 0,
        rec: Recorder {
            base_seq: -1,
            last_receipt: vec![0.0; seq_window],
            receipts: vec![0; seq_window],
            sample_every,
            sample_seq: Vec::with_capacity(SAMPLES_MAX),
            sample_time: Vec::with_capacity(SAMPLES_MAX),
            frames: 0,
            gaps: 0,
            filtered_frames: 0,
            filtered_client: Vec::with_capacity(FILTERED_RECEIPTS_MAX),
            filtered_seq: Vec::with_capacity(FILTERED_RECEIPTS_MAX),
            filtered_time: Vec::with_capacity(FILTERED_RECEIPTS_MAX),
            filtered_overflow: 0,
        },
        buf: vec![0; READ_BYTES],
        stdin: Vec::new(),
    };
    load.run();
}
