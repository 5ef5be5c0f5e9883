//! The native writer of `npm run bench:stream` (`BENCH_WRITER=native`): what
//! writer.ts does, in one thread over epoll, so that generating the load costs
//! the shared 2-core machine little (the Node writer spent ~0.85 ms of CPU a
//! request of 50 items, which also kept it from offering many small requests).
//!
//! POST /v1/stock/adjust at a fixed rate of deltas (open loop: request i
//! leaves at start + i × period, at most `inFlight` at once, one keep-alive
//! connection each; rate 0: as fast as `inFlight` allows), each item one
//! position (so one delta). Positions are visited in writer.ts's scattered
//! order (i × 7919 mod positions), each once per round, +1 on even rounds and
//! −1 on odd ones. Records, for every (sku, location, version) an answer
//! reports, the time its answer arrived (CLOCK_MONOTONIC right after the
//! read() that completed it, the clock of process.hrtime) and the time its
//! request was sent; writes them to `outFile` as writer.ts does (JSON
//! `[key, ack, sent]`, key `sku\0location\0version`) and prints the summary
//! writer.ts sends over IPC as one JSON line on stdout.
//!
//! argv: base rate items seconds inFlight outFile positions locations

use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::unix::io::AsRawFd;
use std::process::exit;

use omnistock_bench_stream::{find, ms, now_ns, wait_events, watch};

const SCATTER: u64 = 7919; // prime: i × SCATTER mod positions visits every position once per round
const EVENTS_MAX: usize = 256;
const TIMER_TOKEN: u64 = u64::MAX;
const READ_BYTES: usize = 256 * 1024;

fn fail(message: &str) -> ! {
    eprintln!("writer failed: {}", message);
    exit(1);
}

struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
    sent_ns: u64, // the request in flight: when it was sent
}

struct Writer {
    host: String,
    port: u16,
    seconds: f64,
    items: u64,
    in_flight: usize,
    positions: u64,
    locations: u64,
    epoll: i32,
    timer: i32,
    connections: Vec<Connection>,
    idle: Vec<usize>,
    cursor: u64,
    sent: u64,
    running: usize,
    deltas: u64,
    requests: u64,
    late: u64,
    last_ack_ns: u64,
    first_send_ns: u64,
    end_ns: u64,
    period_ns: f64,
    acks: Vec<u8>, // the JSON array being built
    acks_count: u64,
    read_buf: Vec<u8>,
}

impl Writer {
    fn location_of(&self, p: u64) -> String {
        if self.locations == 1 {
            "bench".to_string()
        } else {
            format!("bench-{}", p % self.locations)
        }
    }

    fn body(&mut self) -> Vec<u8> {
        let mut body = String::with_capacity(64 * self.items as usize);
        body.push_str("{\"items\":[");
        for i in 0..self.items {
            let n = self.cursor;
            self.cursor += 1;
            let p = ((n % self.positions) * SCATTER) % self.positions;
            let delta = if (n / self.positions) % 2 == 0 { 1 } else { -1 };
            if i > 0 {
                body.push(',');
            }
            body.push_str(&format!("{{\"sku\":\"SKU-{:05}\",\"location\":\"{}\",\"delta\":{}}}", p, self.location_of(p), delta));
        }
        body.push_str("]}");
        body.into_bytes()
    }

    fn connection(&mut self) -> usize {
        if let Some(c) = self.idle.pop() {
            return c;
        }
        let stream = TcpStream::connect((self.host.as_str(), self.port)).unwrap_or_else(|e| fail(&format!("connect: {}", e)));
        stream.set_nodelay(true).unwrap_or_else(|e| fail(&format!("nodelay: {}", e)));
        let id = self.connections.len();
        watch(self.epoll, stream.as_raw_fd(), id as u64).unwrap_or_else(|e| fail(&format!("epoll_ctl: {}", e)));
        self.connections.push(Connection { stream, buf: Vec::new(), sent_ns: 0 });
        id
    }

    fn send_one(&mut self) {
        let body = self.body();
        let mut request = format!(
            "POST /v1/stock/adjust HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n",
            self.host,
            self.port,
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(&body);
        let id = self.connection();
        let c = &mut self.connections[id];
        c.sent_ns = now_ns();
        // Blocking write: a request body (a few KiB) always fits a fresh loopback socket's buffer.
        c.stream.set_nonblocking(false).ok();
        c.stream.write_all(&request).unwrap_or_else(|e| fail(&format!("write: {}", e)));
        c.stream.set_nonblocking(true).ok();
        self.running += 1;
    }

    /// writer.ts's tick(): send what is due while fewer than inFlight run, then arm the timer for the next one.
    fn tick(&mut self) {
        let t = now_ns();
        while self.running < self.in_flight && t < self.end_ns && (t as f64) >= self.first_send_ns as f64 + self.sent as f64 * self.period_ns {
            if self.period_ns > 0.0 && (t as f64) > self.first_send_ns as f64 + (self.sent + 1) as f64 * self.period_ns {
                self.late += 1;
            }
            self.sent += 1;
            self.send_one();
        }
        if now_ns() >= self.end_ns {
            if self.running == 0 {
                self.finish();
            }
        } else if self.running < self.in_flight {
            let due = (self.first_send_ns as f64 + self.sent as f64 * self.period_ns) as u64;
            self.arm(due.max(now_ns() + 1_000).min(self.end_ns));
        } // else: the next answer calls tick
    }

    fn arm(&self, at_ns: u64) {
        let spec = libc::itimerspec {
            it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
            it_value: libc::timespec { tv_sec: (at_ns / 1_000_000_000) as i64, tv_nsec: (at_ns % 1_000_000_000) as i64 },
        };
        // SAFETY: valid timerfd and spec.
        unsafe { libc::timerfd_settime(self.timer, libc::TFD_TIMER_ABSTIME, &spec, std::ptr::null_mut()) };
    }

    fn on_readable(&mut self, id: usize) {
        loop {
            let c = &mut self.connections[id];
            match c.stream.read(&mut self.read_buf) {
                Ok(0) => fail("the engine closed a connection"),
                Ok(n) => {
                    let t = now_ns();
                    c.buf.extend_from_slice(&self.read_buf[..n]);
                    self.parse(id, t);
                    if n < self.read_buf.len() {
                        break;
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => fail(&format!("read: {}", e)),
            }
        }
    }

    /// One complete answer in the connection's buffer: record its positions, free the connection.
    fn parse(&mut self, id: usize, t: u64) {
        let c = &mut self.connections[id];
        let Some(head_end) = find(&c.buf, b"\r\n\r\n", 0) else { return };
        let head = String::from_utf8_lossy(&c.buf[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
            .unwrap_or_else(|| fail("an answer without Content-Length"));
        let body_start = head_end + 4;
        if c.buf.len() < body_start + length {
            return;
        }
        if !head.starts_with("http/1.1 200") {
            fail(&format!("adjust answered {}: {}", head.lines().next().unwrap_or(""), String::from_utf8_lossy(&c.buf[body_start..body_start + length])));
        }
        let body: Vec<u8> = c.buf[body_start..body_start + length].to_vec();
        c.buf.drain(..body_start + length);
        if !c.buf.is_empty() {
            fail("bytes after an answer");
        }
        let sent_ns = c.sent_ns;
        // {"applied":n,"positions":[{"sku":"…","location":"…",…,"version":v},…]}: ids hold no escapes here.
        let mut at = 0;
        let mut seen = 0;
        while let Some(s) = find(&body, b"\"sku\":\"", at) {
            let s = s + 7;
            let s_end = find(&body, b"\"", s).unwrap_or_else(|| fail("bad answer"));
            let l = find(&body, b"\"location\":\"", s_end).unwrap_or_else(|| fail("bad answer")) + 12;
            let l_end = find(&body, b"\"", l).unwrap_or_else(|| fail("bad answer"));
            let v = find(&body, b"\"version\":", l_end).unwrap_or_else(|| fail("bad answer")) + 10;
            let mut v_end = v;
            while v_end < body.len() && body[v_end].is_ascii_digit() {
                v_end += 1;
            }
            if self.acks_count > 0 {
                self.acks.push(b',');
            }
            self.acks.extend_from_slice(b"[\"");
            self.acks.extend_from_slice(&body[s..s_end]);
            self.acks.extend_from_slice(b"\\u0000");
            self.acks.extend_from_slice(&body[l..l_end]);
            self.acks.extend_from_slice(b"\\u0000");
            self.acks.extend_from_slice(&body[v..v_end]);
            self.acks.extend_from_slice(format!("\",{},{}]", ms(t), ms(sent_ns)).as_bytes());
            self.acks_count += 1;
            seen += 1;
            at = v_end;
        }
        if seen != self.items {
            fail(&format!("an answer listed {} positions, not {}", seen, self.items));
        }
        self.deltas += self.items;
        self.requests += 1;
        self.last_ack_ns = t;
        self.running -= 1;
        self.idle.push(id);
        self.tick();
    }

    fn finish(&mut self) -> ! {
        self.acks.push(b']');
        let out = std::env::args().nth(6).unwrap();
        std::fs::write(&out, &self.acks).unwrap_or_else(|e| fail(&format!("{}: {}", out, e)));
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: valid rusage out-pointer.
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
        let cpu = usage.ru_utime.tv_sec as f64 + usage.ru_utime.tv_usec as f64 / 1e6 + usage.ru_stime.tv_sec as f64 + usage.ru_stime.tv_usec as f64 / 1e6;
        let line = format!(
            "{{\"deltas\":{},\"requests\":{},\"late\":{},\"firstSend\":{},\"lastAck\":{},\"cpuSeconds\":{}}}\n",
            self.deltas,
            self.requests,
            self.late,
            ms(self.first_send_ns),
            ms(self.last_ack_ns),
            cpu
        );
        let mut stdout = io::stdout().lock();
        stdout.write_all(line.as_bytes()).and_then(|_| stdout.flush()).ok();
        exit(0);
    }

    fn run(&mut self) -> ! {
        watch(self.epoll, self.timer, TIMER_TOKEN).unwrap_or_else(|e| fail(&format!("epoll_ctl: {}", e)));
        self.first_send_ns = now_ns();
        self.end_ns = self.first_send_ns + (self.seconds * 1e9) as u64;
        self.tick();
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; EVENTS_MAX];
        loop {
            let ready = wait_events(self.epoll, &mut events).unwrap_or_else(|e| fail(&format!("epoll_wait: {}", e)));
            for event in ready {
                if event.u64 == TIMER_TOKEN {
                    let mut expirations = [0u8; 8];
                    // SAFETY: reading the timerfd's 8-byte counter.
                    unsafe { libc::read(self.timer, expirations.as_mut_ptr() as *mut libc::c_void, 8) };
                    self.tick();
                } else {
                    self.on_readable(event.u64 as usize);
                }
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 9 {
        fail("usage: base rate items seconds inFlight outFile positions locations");
    }
    let base = args[1].strip_prefix("http://").unwrap_or_else(|| fail("base must be http://host:port"));
    let (host, port) = base.trim_end_matches('/').rsplit_once(':').unwrap_or_else(|| fail("base must name a port"));
    let num = |i: usize| -> f64 { args[i].parse().unwrap_or_else(|_| fail(&format!("argument {} is not a number", i))) };
    let (rate, items, seconds, in_flight, positions, locations) = (num(2), num(3) as u64, num(4), num(5) as usize, num(7) as u64, num(8) as u64);
    // SAFETY: plain syscalls.
    let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    let timer = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC) };
    if epoll < 0 || timer < 0 {
        fail(&format!("epoll/timerfd: {}", io::Error::last_os_error()));
    }
    let mut writer = Writer {
        host: host.to_string(),
        port: port.parse().unwrap_or_else(|_| fail("bad port")),
        seconds,
        items,
        in_flight,
        positions,
        locations,
        epoll,
        timer,
        connections: Vec::new(),
        idle: Vec::new(),
        cursor: 0,
        sent: 0,
        running: 0,
        deltas: 0,
        requests: 0,
        late: 0,
        last_ack_ns: 0,
        first_send_ns: 0,
        end_ns: 0, // run() sets it
        period_ns: if rate > 0.0 { items as f64 / rate * 1e9 } else { 0.0 },
        acks: b"[".to_vec(),
        acks_count: 0,
        read_buf: vec![0; READ_BYTES],
    };
    writer.run();
}
