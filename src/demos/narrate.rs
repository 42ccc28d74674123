//! The narration shared by every demo: each socket call, when it was made and what it
//! returned, the socket states the kernel reports, interleaved in time with the packets the
//! calls caused.
//!
//! # The idea
//!
//! A program never sends a packet itself: it asks the kernel through *system calls* on a
//! socket (`connect`, `send`, `close`…), and the kernel's TCP or UDP code decides which
//! packets to send and when. Putting both on one time line shows cause and effect: the three
//! handshake packets appear *inside* `connect()`, between the call and its return; `send()`
//! returns as soon as the bytes are in the kernel's buffer; the last ACK arrives after
//! `close()`.
//!
//! Role threads record [`Event`]s into a shared [`Recorder`] with the same clock the kernel
//! stamps captured frames with (CLOCK_REALTIME), and [`render`] sorts events and frames by
//! time and prints them through the one [`Printer`].

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use colored::Colorize;
use serde_json::json;

use crate::dissect::Dissection;
use crate::dissect::model::Timestamp;
use crate::dissect::tcp::{Flags, WindowScale};
use crate::filter::Filter;
use crate::pipeline::{Config, Pipeline};
use crate::render::{Printer, View};
use crate::source::OwnedFrame;
use crate::source::live::now;
use crate::stream::state::State;

/// Who made a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Who {
    Client,
    Server,
    /// The lab's userspace relay standing in for a lossy network.
    Relay,
}

impl Who {
    pub fn name(self) -> &'static str {
        match self {
            Who::Client => "client",
            Who::Server => "server",
            Who::Relay => "relay",
        }
    }
}

/// What happened.
#[derive(Clone, Debug, PartialEq)]
pub enum What {
    /// A system call started: `connect`, with its arguments written out.
    Call {
        id: u64,
        name: &'static str,
        args: String,
    },
    /// The call with this id returned this result.
    Return {
        id: u64,
        name: &'static str,
        result: String,
    },
    /// The kernel's state for a socket, right after a call.
    State {
        socket: String,
        state: String,
        source: &'static str,
    },
    /// A remark by the narrator.
    Note(String),
}

/// One moment of the demo.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub ts: Timestamp,
    pub who: Who,
    pub what: What,
}

/// Collects events from every role thread.
///
/// A *live* recorder writes each event to standard error as it happens and then forgets it:
/// the interactive commands (`tcp serve`, `udp recv`…) never read their events back, and a
/// server that runs for days must not keep every line it ever printed. Only a recorder that
/// is not live keeps its events, for [`Recorder::take`].
#[derive(Default)]
pub struct Recorder {
    events: Mutex<Vec<Event>>,
    next_id: AtomicU64,
    /// When set, each event is written to standard error as it happens, and not kept (for
    /// the interactive `serve` and `connect` commands).
    pub live: bool,
    pub color: bool,
}

/// A call that has started and not yet returned.
pub struct Pending {
    id: u64,
    who: Who,
    name: &'static str,
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// A recorder whose lines are coloured (if `color`) and, if `live`, also written to
    /// standard error as they happen.
    pub fn with(color: bool, live: bool) -> Recorder {
        Recorder {
            color,
            live,
            ..Recorder::default()
        }
    }

    fn push(&self, who: Who, what: What) {
        let e = Event {
            ts: now(),
            who,
            what,
        };
        self.keep(e);
    }

    /// Print a live event (and forget it), or keep it for [`Recorder::take`].
    fn keep(&self, e: Event) {
        if self.live {
            let mut s = String::new();
            event_line(&e, None, self.color, &mut s);
            let _ = io::stderr().write_all(s.as_bytes());
            return;
        }
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(e);
    }

    /// Record the start of a call.
    pub fn begin(&self, who: Who, name: &'static str, args: impl Into<String>) -> Pending {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.push(
            who,
            What::Call {
                id,
                name,
                args: args.into(),
            },
        );
        Pending { id, who, name }
    }

    /// Record that a call returned.
    pub fn end(&self, p: Pending, result: impl Into<String>) {
        self.push(
            p.who,
            What::Return {
                id: p.id,
                name: p.name,
                result: result.into(),
            },
        );
    }

    /// Make a call and record it: `f` does the call, `show` writes its result.
    pub fn call<T>(
        &self,
        who: Who,
        name: &'static str,
        args: impl Into<String>,
        f: impl FnOnce() -> io::Result<T>,
        show: impl FnOnce(&T) -> String,
    ) -> io::Result<T> {
        let p = self.begin(who, name, args);
        match f() {
            Ok(v) => {
                self.end(p, show(&v));
                Ok(v)
            }
            Err(e) => {
                self.end(p, format!("-1 ({})", errno_name(&e)));
                Err(e)
            }
        }
    }

    /// Record a socket's state as the kernel reports it.
    pub fn state(
        &self,
        who: Who,
        socket: impl Into<String>,
        state: impl Into<String>,
        source: &'static str,
    ) {
        self.push(
            who,
            What::State {
                socket: socket.into(),
                state: state.into(),
                source,
            },
        );
    }

    /// Record a socket's state, reading it with `read` now: the event's time is the moment
    /// of reading, not of recording.
    pub fn observe(
        &self,
        who: Who,
        socket: impl Into<String>,
        read: impl FnOnce() -> String,
        source: &'static str,
    ) {
        // /proc (the kernel's socket states) is Linux's: elsewhere the states are not shown.
        if source.starts_with("/proc/") && !cfg!(target_os = "linux") {
            return;
        }
        let ts = now();
        let state = read();
        let e = Event {
            ts,
            who,
            what: What::State {
                socket: socket.into(),
                state,
                source,
            },
        };
        self.keep(e);
    }

    pub fn note(&self, who: Who, text: impl Into<String>) {
        self.push(who, What::Note(text.into()));
    }

    /// Everything recorded so far, in time order (nothing, for a live recorder).
    pub fn take(&self) -> Vec<Event> {
        let mut v = std::mem::take(&mut *self.events.lock().unwrap_or_else(|e| e.into_inner()));
        v.sort_by_key(|e| e.ts);
        v
    }
}

/// `ECONNREFUSED`-style name of an error, for the result column.
pub fn errno_name(e: &io::Error) -> String {
    let name = match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => "ECONNREFUSED",
        Some(libc::ETIMEDOUT) => "ETIMEDOUT",
        Some(libc::EAGAIN) => return "EAGAIN: the read timeout passed with nothing to read".into(),
        Some(libc::EADDRINUSE) => "EADDRINUSE",
        Some(libc::ECONNRESET) => "ECONNRESET",
        Some(libc::EPIPE) => "EPIPE",
        Some(libc::EINTR) => "EINTR",
        Some(libc::EACCES) => "EACCES",
        Some(libc::EPERM) => "EPERM",
        Some(libc::EMSGSIZE) => "EMSGSIZE",
        Some(libc::ENETUNREACH) => "ENETUNREACH",
        Some(libc::EHOSTUNREACH) => "EHOSTUNREACH",
        _ => return e.to_string(),
    };
    format!("{name}: {e}")
}

/// What each socket call does, in a sentence, shown the first time the call appears.
pub fn explain(call: &str) -> &'static str {
    match call {
        "socket" => {
            "asks the kernel for a new endpoint; it gets a file descriptor and no address yet"
        }
        "setsockopt" => "changes an option of the socket (see --help for what each one does)",
        "bind" => {
            "gives the socket its local address and port; a server binds so clients know where to find it"
        }
        "listen" => {
            "turns the socket into a listening one: the kernel now answers SYNs and queues finished handshakes (the backlog)"
        }
        "accept" => {
            "takes the next finished connection from the queue, as a new socket; it waits if there is none"
        }
        "connect" => {
            "for TCP, sends a SYN and waits for the three-way handshake to finish; for UDP, sends nothing and only fixes the peer (a connected UDP socket: send() needs no address, ICMP errors come back as errors of later calls); either way the kernel picks our port if we did not bind one"
        }
        "send" => {
            "copies bytes into the kernel's send buffer and returns; TCP decides when and how to put them in segments"
        }
        "recv" => {
            "returns whatever bytes have arrived, up to the buffer size: TCP has no message boundaries; 0 means the other side closed"
        }
        "shutdown" => {
            "SHUT_WR: we will send no more; the kernel sends a FIN, but we can still receive"
        }
        "close" => {
            "gives the descriptor back. For UDP nothing is sent: there is no connection to end. For TCP the kernel ends the connection by itself: a FIN (or a RST if data that arrived was never read, RFC 2525 §2.17), the last ACKs, and TIME-WAIT for the side that closed first"
        }
        "sendto" => {
            "sends one datagram to an address: one call, one datagram, one packet (or its fragments); no connection first"
        }
        "recvfrom" => {
            "returns exactly one datagram and who sent it; a datagram never merges with the next one"
        }
        _ => "",
    }
}

/// One line of `/proc/net/tcp`: local and remote address and the state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcTcp {
    pub local: SocketAddrV4,
    pub remote: SocketAddrV4,
    /// The state, in RFC 9293's words (the kernel numbers them; see [`State::from_linux`]).
    pub state: State,
}

/// Parse `/proc/net/tcp`. Addresses there are hex, the IPv4 address in the host's byte order.
pub fn parse_proc_tcp(text: &str) -> Vec<ProcTcp> {
    let addr = |s: &str| -> Option<SocketAddrV4> {
        let (ip, port) = s.split_once(':')?;
        let ip = u32::from_str_radix(ip, 16).ok()?;
        let port = u16::from_str_radix(port, 16).ok()?;
        // The kernel prints the address's four network-order bytes as one native-endian number.
        Some(SocketAddrV4::new(Ipv4Addr::from(ip.to_ne_bytes()), port))
    };
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let _slot = f.next()?;
            let local = addr(f.next()?)?;
            let remote = addr(f.next()?)?;
            let st = u8::from_str_radix(f.next()?, 16).ok()?;
            Some(ProcTcp {
                local,
                remote,
                state: State::from_linux(st)?,
            })
        })
        .collect()
}

/// The kernel's state for the TCP connection (or listener, if `remote` is `None`) at `local`,
/// read from `/proc/thread-self/net/tcp` (the calling thread's network namespace).
/// `"CLOSED"` if the kernel no longer lists it.
pub fn kernel_tcp_state(local: SocketAddrV4, remote: Option<SocketAddrV4>) -> String {
    let text = std::fs::read_to_string("/proc/thread-self/net/tcp").unwrap_or_default();
    parse_proc_tcp(&text)
        .into_iter()
        .find(|e| {
            e.local == local
                && match remote {
                    Some(r) => e.remote == r,
                    None => e.state == State::Listen,
                }
        })
        .map(|e| e.state.name().to_string())
        .unwrap_or_else(|| "CLOSED".to_string())
}

/// How the timeline is shown.
pub struct RenderOptions<'a> {
    pub view: View,
    pub color: bool,
    pub filter: Option<&'a Filter>,
    /// Stop after this many packets.
    pub count: Option<u64>,
}

/// A line with the relative and absolute numbers of a frame's TCP segment (as the stream
/// analysis worked them out), or `None` for other packets:
/// `seq 1 (raw 3489036042), ack 1 (raw 1857288018), window 63 × 1024 = 64512 bytes, 0 bytes of data`.
pub fn relative_line(d: &Dissection) -> Option<String> {
    let seg = d.tcp_segment()?;
    let a = seg.analysis;
    let relative = a.is_some_and(|a| a.relative);
    let mut s = String::new();
    match a {
        Some(a) if relative => {
            let _ = write!(s, "seq {} (raw {})", a.seq, seg.seq);
        }
        _ => {
            let _ = write!(s, "seq {} (raw)", seg.seq);
        }
    }
    if let Some(ack) = seg.ack() {
        match a {
            Some(a) if relative => {
                let _ = write!(s, ", ack {} (raw {ack})", a.ack);
            }
            _ => {
                let _ = write!(s, ", ack {ack} (raw)");
            }
        }
    }
    // The window field is scaled only outside SYNs, and only if both sides offered it.
    let win = seg.window;
    match a.map(|a| a.scale) {
        Some(WindowScale::Shift(sh)) if sh > 0 => {
            let _ = write!(
                s,
                ", window {win} × {} = {} bytes",
                1u32 << sh.min(14),
                a.map_or(0, |a| a.window)
            );
        }
        Some(WindowScale::Unknown) => {
            let _ = write!(
                s,
                ", window {win} (its scale is unknown: the SYNs were not captured)"
            );
        }
        _ => {
            let _ = write!(s, ", window {win}");
        }
    }
    let len = seg.len.unwrap_or(0);
    let _ = write!(s, ", {len} byte{} of data", if len == 1 { "" } else { "s" });
    if seg.flags.intersects(Flags::SYN | Flags::FIN) && len == 0 {
        s.push_str(" (SYN and FIN each count as one sequence number)");
    }
    Some(s)
}

/// Sort events and frames into one time line and print it.
///
/// Ordering at equal times: a call's start comes before the packets, its return after them.
pub fn render<W: Write>(
    events: &[Event],
    frames: &[OwnedFrame],
    printer: &mut Printer<W>,
    opts: &RenderOptions,
) -> io::Result<u64> {
    enum Item<'a> {
        Ev(&'a Event),
        Fr(&'a OwnedFrame),
    }
    let rank = |i: &Item| match i {
        Item::Ev(Event {
            what: What::Call { .. } | What::Note(_),
            ..
        }) => 0,
        Item::Fr(_) => 1,
        Item::Ev(_) => 2,
    };
    let ts = |i: &Item| match i {
        Item::Ev(e) => e.ts,
        Item::Fr(f) => f.ts.unwrap_or_default(),
    };
    let mut items: Vec<Item> = events.iter().map(Item::Ev).collect();
    items.extend(frames.iter().map(Item::Fr));
    items.sort_by(|a, b| ts(a).cmp(&ts(b)).then(rank(a).cmp(&rank(b))));

    let json = opts.view == View::Json;
    let mut explained: HashSet<&str> = HashSet::new();
    // The same pipeline as `wirelab dissect`: every frame in capture order, the stream
    // analysis as much as the view shows, the application layers in the streams.
    let names = opts.filter.map(|f| f.field_names());
    let mut pipe = Pipeline::new(Config::for_display(
        opts.view != View::Summary,
        names.as_deref(),
    ));
    let mut shown = 0u64;
    let mut i = 0;
    while i < items.len() {
        match &items[i] {
            Item::Fr(f) => {
                i += 1;
                if opts.count.is_some_and(|c| shown >= c) {
                    continue;
                }
                let d = pipe.push(&f.as_frame());
                if opts.filter.is_some_and(|flt| !flt.matches(d)) {
                    continue;
                }
                shown += 1;
                printer.print(d)?;
                let rel_line = relative_line(d);
                if !json && let Some(r) = rel_line {
                    let line = format!("{:>20}{r}\n", "");
                    if opts.color {
                        printer.text(&line.dimmed().to_string())?;
                    } else {
                        printer.text(&line)?;
                    }
                }
            }
            Item::Ev(e) => {
                i += 1;
                if json {
                    printer.text(&(event_json(e).to_string() + "\n"))?;
                    continue;
                }
                // A call whose return comes right after it (nothing in between) is one line;
                // a State right after a Return of the same role goes on the same line.
                let mut merged_return = None;
                if let What::Call { id, .. } = &e.what
                    && let Some(Item::Ev(next)) = items.get(i)
                    && matches!(&next.what, What::Return { id: rid, .. } if rid == id)
                {
                    merged_return = Some(*next);
                    i += 1;
                }
                let last = merged_return.unwrap_or(e);
                let mut state = None;
                if matches!(last.what, What::Return { .. })
                    && let Some(Item::Ev(next)) = items.get(i)
                    && next.who == e.who
                    && matches!(next.what, What::State { .. })
                {
                    state = Some(*next);
                    i += 1;
                }
                let mut s = String::new();
                event_line(e, merged_return, opts.color, &mut s);
                if let Some(st) = state {
                    s.pop();
                    state_suffix(st, opts.color, &mut s);
                }
                if let What::Call { name, .. } = &e.what
                    && explained.insert(name)
                    && !explain(name).is_empty()
                {
                    // Wrapped to the width, so it reads on a projector too.
                    let width = printer.opts.width().saturating_sub(12);
                    let mut line = String::new();
                    for (n, l) in crate::render::wrap(explain(name), width).iter().enumerate() {
                        let mark = if n == 0 { "↳" } else { " " };
                        line.push_str(&format!("{:>10}{mark} {l}\n", ""));
                    }
                    if opts.color {
                        s.push_str(&line.dimmed().to_string());
                    } else {
                        s.push_str(&line);
                    }
                }
                printer.text(&s)?;
            }
        }
    }
    Ok(shown)
}

fn who_tag(who: Who, color: bool) -> String {
    let tag = format!("{:>8} │ ", who.name());
    if !color {
        return tag;
    }
    match who {
        Who::Client => tag.green().to_string(),
        Who::Server => tag.yellow().to_string(),
        Who::Relay => tag.magenta().to_string(),
    }
}

fn state_suffix(e: &Event, color: bool, out: &mut String) {
    if let What::State {
        socket,
        state,
        source,
    } = &e.what
    {
        let meaning = State::from_name(state).map_or("", State::meaning);
        let text = format!("    {socket}: {state}");
        if color {
            out.push_str(&text.bold().to_string());
        } else {
            out.push_str(&text);
        }
        if !meaning.is_empty() {
            let _ = write!(out, " ({meaning})");
        }
        let _ = writeln!(out, " [{source}]");
    }
}

/// One event as a line of text (with the return merged in, if given).
pub fn event_line(e: &Event, ret: Option<&Event>, color: bool, out: &mut String) {
    out.push_str(&who_tag(e.who, color));
    match &e.what {
        What::Call { name, args, .. } => {
            let call = format!("{name}({args})");
            if color {
                out.push_str(&call.bold().to_string());
            } else {
                out.push_str(&call);
            }
            match ret.map(|r| &r.what) {
                Some(What::Return { result, .. }) => {
                    let _ = writeln!(out, " = {result}");
                }
                _ => out.push_str(" …\n"),
            }
        }
        What::Return { name, result, .. } => {
            let _ = writeln!(out, "… {name}() = {result}");
        }
        What::State { .. } => {
            let mut s = String::new();
            state_suffix(e, color, &mut s);
            out.push_str(s.trim_start());
        }
        What::Note(text) => {
            if color {
                let _ = writeln!(out, "{}", text.italic());
            } else {
                let _ = writeln!(out, "{text}");
            }
        }
    }
}

/// One event as a JSON object (for `--view json`): `{"event":"call",…}`. Packets are the
/// JSON view's own objects, which have no `event` key.
pub fn event_json(e: &Event) -> serde_json::Value {
    let time = e.ts.to_string();
    let who = e.who.name();
    match &e.what {
        What::Call { id, name, args } => {
            json!({"event": "call", "time": time, "who": who, "id": id, "call": name, "args": args})
        }
        What::Return { id, name, result } => {
            json!({"event": "return", "time": time, "who": who, "id": id, "call": name, "result": result})
        }
        What::State {
            socket,
            state,
            source,
        } => {
            json!({"event": "state", "time": time, "who": who, "socket": socket, "state": state, "source": source})
        }
        What::Note(text) => json!({"event": "note", "time": time, "who": who, "text": text}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_proc_tcp_reads_addresses_and_states() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 020200C0:1B5F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0\n   1: 010200C0:A1B2 020200C0:1B5F 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000\n";
        let v = parse_proc_tcp(text);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].local, "192.0.2.2:7007".parse().unwrap());
        assert_eq!(v[0].state, State::Listen);
        assert_eq!(v[1].remote, "192.0.2.2:7007".parse().unwrap());
        assert_eq!(v[1].local.port(), 0xa1b2);
        assert_eq!(v[1].state, State::TimeWait);
    }
}
