//! TCP by hand: a three-way handshake made in userspace, next to the kernel doing it.
//!
//! # The idea
//!
//! Every TCP connection starts the same way:
//!
//! ```text
//!   client                                   server (LISTEN)
//!     │ ── SYN      seq=x ──────────────────────> │  "my numbers start at x"
//!     │ <─ SYN,ACK  seq=y ack=x+1 ─────────────── │  "mine start at y; I got your x"
//!     │ ── ACK      seq=x+1 ack=y+1 ────────────> │  "I got your y"
//! ```
//!
//! Normally the kernel does all of it: a program calls `connect()` or `accept()` and sees only
//! the result. Here wirelab does one side itself, byte by byte, with the small state machine in
//! [`stack`], so every number can be shown and explained.
//!
//! # Three ways to watch it
//!
//! * [`tun`] with wirelab as the **server**: a TUN device is a network interface whose other end
//!   is a program instead of a cable. The kernel gets address 169.254.X.1 on it; everything it
//!   sends to 169.254.X.2 comes out of the device into wirelab, and what wirelab writes into the
//!   device arrives as if from the network. A kernel socket `connect()`s to 169.254.X.2, and
//!   wirelab's TCP answers: SYN-ACK, data echoed back, FIN.
//! * [`tun`] with wirelab as the **client**: wirelab sends the SYN to a kernel listener on
//!   169.254.X.1 and completes the handshake itself.
//! * [`rst`]: a hand-made SYN sent through a *raw socket* to a kernel listener on the loopback.
//!   The listener answers, but the SYN-ACK arrives at a port where the kernel has no socket
//!   (the raw socket is not a TCP socket), so the kernel resets the connection. Inside the
//!   demo's own network namespace an nftables rule then drops that RST, and the handshake can be
//!   completed by hand.
//!
//! Everything runs in a private network namespace ([`sys::enter_private_netns`]) made for the
//! occasion; the machine's own network is never touched.
//!
//! # How the parts fit
//!
//! A [`Wire`] moves IP packets (the TUN device, or a raw socket plus a packet capture). A
//! [`Session`] drives one connection: it records every frame as a
//! [`source::OwnedFrame`](crate::source::OwnedFrame), runs arriving segments through the
//! [`stack::Tcb`], sends what it answers, and reports each frame, each step of the state
//! machine and each explanation as an [`Event`] to a [`Sink`]. The command prints the events
//! through the engine's views; tests collect them.

// The state machine and the session are portable; the wires (a TUN device, a raw socket and
// a packet capture in a private network namespace) are Linux's. Elsewhere `tcp handshake`
// says so and replays the lesson's trace (see `commands::elsewhere`).
#[cfg(target_os = "linux")]
pub mod rst;
pub mod stack;
#[cfg(target_os = "linux")]
pub mod sys;
#[cfg(target_os = "linux")]
pub mod tun;

use std::collections::HashSet;
use std::io;
use std::net::SocketAddrV4;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::dissect::model::{LinkType, Timestamp};
use crate::source::OwnedFrame;
use stack::{Flags, ParseError, Reaction, Segment, State, Step, Tcb};

/// Who put a frame on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sender {
    /// The kernel's TCP, on the other side.
    Kernel,
    /// wirelab's own TCP.
    Wirelab,
    /// The kernel of wirelab's own side, answering for a port where it has no socket.
    OurKernel,
}

impl Sender {
    pub fn label(self) -> &'static str {
        match self {
            Sender::Kernel => "kernel",
            Sender::Wirelab => "wirelab",
            Sender::OurKernel => "kernel!",
        }
    }
}

/// Something the demo wants shown.
#[derive(Clone, Debug)]
pub enum Event {
    /// A part of the demo begins.
    Part { id: &'static str, title: String },
    /// A sentence of narration.
    Say(String),
    /// Text to show as it is (a rule set, a command).
    Code(String),
    /// A frame seen or sent.
    Frame { frame: OwnedFrame, from: Sender },
    /// What the state machine did, and the frame that caused it (`None`: the application,
    /// such as a `close()`).
    Step { frame: Option<u64>, step: Step },
    /// A concept explained the first time it matters: ISN, checksum, MSS…
    Explain { topic: &'static str, text: String },
    /// Did the part do what it set out to do?
    Result {
        check: &'static str,
        ok: bool,
        detail: String,
    },
}

/// Where events go: the command prints them, tests keep them.
pub trait Sink {
    fn event(&mut self, e: Event) -> io::Result<()>;
}

impl Sink for Vec<Event> {
    fn event(&mut self, e: Event) -> io::Result<()> {
        self.push(e);
        Ok(())
    }
}

/// A captured frame and where its IP packet starts.
#[derive(Clone, Debug)]
pub struct Captured {
    pub link: LinkType,
    pub data: Vec<u8>,
    /// Offset of the IP header in `data` (0 on a TUN device, 14 behind an Ethernet header).
    pub ip_at: usize,
}

/// Moves IP packets between wirelab's TCP and the kernel.
pub trait Wire {
    /// Send one IPv4 packet.
    fn send(&mut self, packet: &[u8]) -> io::Result<()>;
    /// The next frame, or `None` if none came within `timeout`.
    fn recv(&mut self, timeout: Duration) -> io::Result<Option<Captured>>;
    /// True if the frames wirelab sends are captured too (a capture on the loopback): they
    /// are then recorded when seen, as they were on the wire.
    fn captures_own(&self) -> bool;
    /// True if frames never leave this machine (the loopback), so a TCP checksum the sending
    /// kernel left unfinished for a network card ("checksum offload") is to be expected.
    fn local_offload(&self) -> bool {
        false
    }
}

/// What a captured frame turned out to be.
#[derive(Debug)]
pub enum Seen {
    /// A frame wirelab sent (seen again by the capture).
    Ours,
    /// A frame for wirelab's TCP, and what the state machine did with it.
    Theirs { frame: u64, reaction: Reaction },
    /// A frame from wirelab's address and port that wirelab did not send: its own kernel
    /// speaking up (the RST of the raw-socket demo).
    OurKernel { frame: u64, segment: Segment },
    /// Traffic that has nothing to do with this connection (not recorded).
    Unrelated,
}

/// The time now, as the engine writes timestamps.
pub fn now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        secs: d.as_secs() as i64,
        nanos: d.subsec_nanos(),
    }
}

/// One connection driven by wirelab's TCP over a [`Wire`], with everything it does reported.
pub struct Session<'a> {
    pub wire: &'a mut dyn Wire,
    sink: &'a mut dyn Sink,
    pub tcb: Tcb,
    /// Every frame recorded, in order, ready for any view (the ladder included).
    pub frames: Vec<OwnedFrame>,
    /// The transitions so far, in order.
    pub transitions: Vec<(State, State)>,
    /// Who is on the other side, for the labels.
    pub peer: Sender,
    /// Replies are kept here instead of being sent (the raw-socket demo holds its ACK back).
    pub hold_replies: bool,
    pub held: Vec<Segment>,
    explained: HashSet<&'static str>,
    last_in: Option<Segment>,
    /// Segments sent and not yet seen by the capture (when the wire captures its own).
    in_flight: Vec<Segment>,
}

impl Session<'_> {
    /// Everything sent has been seen by the capture (always true when the wire does not
    /// capture its own frames).
    pub fn all_seen(&self) -> bool {
        self.in_flight.is_empty()
    }
}

impl<'a> Session<'a> {
    pub fn new(wire: &'a mut dyn Wire, sink: &'a mut dyn Sink, tcb: Tcb) -> Session<'a> {
        Session {
            wire,
            sink,
            tcb,
            frames: Vec::new(),
            transitions: Vec::new(),
            peer: Sender::Kernel,
            hold_replies: false,
            held: Vec::new(),
            explained: HashSet::new(),
            last_in: None,
            in_flight: Vec::new(),
        }
    }

    pub fn say(&mut self, text: impl Into<String>) -> io::Result<()> {
        self.sink.event(Event::Say(text.into()))
    }

    pub fn emit(&mut self, e: Event) -> io::Result<()> {
        self.sink.event(e)
    }

    /// Explain a topic, only the first time it comes up.
    pub fn explain(&mut self, topic: &'static str, text: impl Into<String>) -> io::Result<()> {
        if self.explained.insert(topic) {
            self.sink.event(Event::Explain {
                topic,
                text: text.into(),
            })?;
        }
        Ok(())
    }

    /// Report the steps of a reaction (and remember its transitions).
    pub fn report(&mut self, frame: Option<u64>, r: &Reaction) -> io::Result<()> {
        for s in &r.steps {
            if let Step::Transition { from, to, .. } = s {
                self.transitions.push((*from, *to));
            }
            self.sink.event(Event::Step {
                frame,
                step: s.clone(),
            })?;
        }
        Ok(())
    }

    /// Keep a frame and show it.
    pub fn record(&mut self, link: LinkType, data: Vec<u8>, from: Sender) -> io::Result<u64> {
        let number = self.frames.len() as u64 + 1;
        let frame = OwnedFrame {
            number,
            ts: Some(now()),
            link,
            wire_len: data.len() as u32,
            data,
        };
        self.frames.push(frame.clone());
        self.sink.event(Event::Frame { frame, from })?;
        Ok(number)
    }

    /// Send segments (replies of the state machine, or its output).
    pub fn transmit(&mut self, segs: Vec<Segment>) -> io::Result<()> {
        for seg in segs {
            let bytes = seg.to_bytes(self.tcb.next_ip_id());
            self.wire.send(&bytes)?;
            if self.wire.captures_own() {
                self.in_flight.push(seg);
            } else {
                self.record(LinkType::RAW, bytes, Sender::Wirelab)?;
                self.explain_ours(&seg)?;
            }
        }
        Ok(())
    }

    /// Send whatever the state machine has to send now.
    pub fn flush(&mut self) -> io::Result<()> {
        let out = self.tcb.poll_output();
        self.transmit(out)
    }

    /// Close our side (the application's `close()`), and send the FIN.
    pub fn close(&mut self) -> io::Result<()> {
        let r = self.tcb.close();
        self.report(None, &r)?;
        self.flush()
    }

    /// Take one captured frame: record it and, if it is for us, run it through the state
    /// machine and send the replies.
    pub fn handle(&mut self, cap: Captured) -> io::Result<Seen> {
        let mut ip = cap.data.get(cap.ip_at..).unwrap_or(&[]).to_vec();
        let mut parsed = Segment::parse(&ip);
        let mut offload = None;
        if self.wire.local_offload()
            && let Err(ParseError::BadTcpChecksum {
                offload: true,
                stored,
                should_be,
            }) = parsed
        {
            // Finish the checksum the sending kernel left for a network card, in our copy;
            // the frame itself is kept as it was captured.
            let at = (ip[0] & 0x0f) as usize * 4 + 16;
            ip[at..at + 2].copy_from_slice(&should_be.to_be_bytes());
            parsed = Segment::parse(&ip);
            offload = Some((stored, should_be));
        }
        let parsed = parsed.ok();
        if self.wire.captures_own() {
            let Some(seg) = parsed.as_ref() else {
                return Ok(Seen::Unrelated);
            };
            if let Some(i) = self.in_flight.iter().position(|s| s == seg) {
                self.in_flight.remove(i);
                self.record(cap.link, cap.data, Sender::Wirelab)?;
                self.explain_ours(seg)?;
                return Ok(Seen::Ours);
            }
            if seg.src == self.tcb.local {
                let frame = self.record(cap.link, cap.data, Sender::OurKernel)?;
                return Ok(Seen::OurKernel {
                    frame,
                    segment: seg.clone(),
                });
            }
            if seg.dst != self.tcb.local {
                return Ok(Seen::Unrelated);
            }
        }
        let frame = self.record(cap.link, cap.data, self.peer)?;
        let mut reaction = self.tcb.on_packet(&ip);
        if offload.is_some()
            && let Some(Step::Checked { what }) = reaction.steps.first_mut()
        {
            *what = "IPv4 checksum right; the TCP checksum was left unfinished (checksum \
                     offload), which only the loopback may do"
                .into();
        }
        self.report(Some(frame), &reaction)?;
        if let Some((stored, should_be)) = offload {
            self.explain(
                "offload",
                format!(
                    "Frame {frame}'s TCP checksum 0x{stored:04x} is unfinished: it holds only the \
                     sum of the pseudo-header. The sending kernel leaves the rest to the network \
                     card (\"checksum offload\"); on the loopback no card ever computes it, and \
                     the receiving kernel, knowing the packet never left the machine, does not \
                     check. Wireshark flags such frames too (\"maybe caused by TCP checksum \
                     offload\"). wirelab accepts one only from the loopback, and only when the \
                     field holds exactly the pseudo-header's sum; finished, it would be \
                     0x{should_be:04x}."
                ),
            )?;
        }

        if let Some(seg) = parsed {
            self.explain_theirs(&seg)?;
            if seg.dst == self.tcb.local {
                self.last_in = Some(seg);
            }
        }
        if self.hold_replies {
            self.held.extend(reaction.replies.iter().cloned());
        } else {
            self.transmit(reaction.replies.clone())?;
        }
        Ok(Seen::Theirs { frame, reaction })
    }

    /// Receive and handle frames until `done` says so or the deadline passes; after each
    /// frame for us, `app` plays the application's part. Returns whether `done` was reached.
    pub fn pump(
        &mut self,
        deadline: Instant,
        app: &mut dyn FnMut(&mut Session, &Seen) -> io::Result<()>,
        done: &dyn Fn(&Session) -> bool,
    ) -> io::Result<bool> {
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            if let Some(cap) = self.wire.recv(left.min(Duration::from_millis(100)))? {
                let seen = self.handle(cap)?;
                if !matches!(seen, Seen::Unrelated) {
                    app(self, &seen)?;
                }
            } else {
                app(self, &Seen::Unrelated)?;
            }
        }
        Ok(true)
    }

    /// Explanations for a segment the kernel sent us.
    fn explain_theirs(&mut self, seg: &Segment) -> io::Result<()> {
        if seg.has(Flags::SYN) {
            let opts = if seg.other_options.is_empty() {
                String::new()
            } else {
                format!(
                    " It also offers {}; wirelab's small TCP answers with MSS only, and an \
                     option is used only if both SYNs carry it, so this connection does without \
                     them.",
                    seg.other_options.join(", ")
                )
            };
            self.explain(
                "their_syn",
                format!(
                    "The kernel picked its initial sequence number (ISN), {}, from a clock and a \
                     keyed hash of the addresses and ports, so that nobody who cannot see the \
                     traffic can predict it (RFC 9293 §3.4.1, RFC 6528). It announces a window \
                     of {} bytes and a maximum segment size (MSS) of {}.{opts}",
                    seg.seq,
                    seg.window,
                    mss_why(seg.mss),
                ),
            )?;
        }
        if seg.has(Flags::FIN) {
            self.explain(
                "their_fin",
                format!(
                    "A FIN says \"I will send no more\". Like a SYN it takes one sequence number, \
                     so its acknowledgment is {} + {} = {}.",
                    seg.seq,
                    seg.payload.len() + 1,
                    seg.seq + seg.seg_len()
                ),
            )?;
        }
        Ok(())
    }

    /// Explanations for a segment wirelab sent: the ISN, the checksum, MSS and window, and the
    /// arithmetic of its numbers.
    fn explain_ours(&mut self, seg: &Segment) -> io::Result<()> {
        if seg.has(Flags::SYN)
            && let Some(isn) = self.tcb.chosen_isn
        {
            self.explain(
                "isn",
                format!(
                    "wirelab's initial sequence number (ISN) is {}. RFC 9293 §3.4.1 (with RFC \
                     6528) asks for ISN = M + F, modulo 2³²: M = {} is a clock ticking every 4 µs, so a new \
                     connection between the same ports starts ahead of any old one's numbers; \
                     F = {} is a hash of the two addresses and ports, keyed with a secret chosen \
                     at random when wirelab started, so nobody who cannot see this traffic can \
                     guess the number and forge a segment this connection would accept.",
                    isn.value, isn.m, isn.f
                ),
            )?;
        }
        if !self.explained.contains("checksum") {
            let w = seg.checksum_workings();
            self.explain(
                "checksum",
                format!(
                    "The checksum 0x{:04x} covers a 12-byte pseudo-header that is never sent \
                     (below: source address, destination address, a zero byte, protocol 6 = \
                     TCP, and the TCP length {}), then the {} bytes of TCP header and data with \
                     the checksum field set to zero. Their one's-complement sum, 16 bits at a \
                     time, is 0x{:04x}; the checksum is its NOT, 0x{:04x}. The receiver sums the \
                     same bytes with the checksum in place and must get 0xffff. Because the \
                     addresses are in the sum, a segment delivered to the wrong host fails the \
                     check. wirelab checks every segment that arrives this way and drops any \
                     that fails (RFC 9293 §3.1).",
                    w.checksum, w.tcp_len, w.tcp_len, w.sum, w.checksum
                ),
            )?;
            let hex = |r: std::ops::Range<usize>| {
                w.pseudo[r]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let (src, dst) = (seg.src.ip().to_string(), seg.dst.ip().to_string());
            let (w1, w2) = (src.len().max(11), dst.len().max(11));
            self.emit(Event::Code(format!(
                "pseudo-header  {:<w1$}  {:<w2$}  {:<4}  {:<4}  {}\n               \
                 {src:<w1$}  {dst:<w2$}  zero  TCP   length {}",
                hex(0..4),
                hex(4..8),
                hex(8..9),
                hex(9..10),
                hex(10..12),
                w.tcp_len
            )))?;
        }
        if seg.has(Flags::SYN) {
            self.explain(
                "mss_window",
                format!(
                    "Our SYN announces MSS {} (a 1500-byte packet minus 20 bytes of IPv4 and 20 \
                     of TCP header) and a window of {} bytes: how much more we can take beyond \
                     what we have acknowledged. Each side sends segments no larger than the \
                     other's MSS and never has more unacknowledged bytes in flight than the \
                     other's window. Without the window-scale option the field is a plain byte \
                     count, at most 65,535.",
                    seg.mss.unwrap_or(stack::OUR_MSS),
                    seg.window
                ),
            )?;
        }
        if seg.has(Flags::ACK)
            && let Some(last) = self.last_in.clone()
            && seg.ack == last.seq + last.seg_len()
            && last.seg_len() > 0
        {
            let mut parts = Vec::new();
            if !last.payload.is_empty() {
                parts.push(format!("{} data bytes", last.payload.len()));
            }
            if last.has(Flags::SYN) {
                parts.push("1 for the SYN".to_string());
            }
            if last.has(Flags::FIN) {
                parts.push("1 for the FIN".to_string());
            }
            let topic = if last.has(Flags::SYN) {
                "ack_syn"
            } else if last.has(Flags::FIN) {
                "ack_fin"
            } else {
                "ack_data"
            };
            self.explain(
                topic,
                format!(
                    "ack {} = their seq {} + {}: the number of the next byte we expect, which \
                     says every byte before it has arrived.",
                    seg.ack,
                    last.seq,
                    parts.join(" + ")
                ),
            )?;
        }
        if !seg.has(Flags::SYN)
            && (!seg.payload.is_empty() || seg.has(Flags::FIN))
            && seg.seq == self.tcb.iss + 1
        {
            self.explain(
                "seq_after_syn",
                format!(
                    "Our seq {} = our ISN {} + 1: the SYN used up number {}, so the first data \
                     byte (or the FIN) gets the next one.",
                    seg.seq, self.tcb.iss, self.tcb.iss
                ),
            )?;
        }
        Ok(())
    }
}

/// Text for a few bytes of data: printable as it is, with escapes for the rest.
pub fn show_bytes(data: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in data.iter().take(60) {
        match b {
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'"' => s.push_str("\\\""),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    if data.len() > 60 {
        s.push('…');
    }
    s.push('"');
    s
}

/// A TCP port on `ip` that no socket uses right now (the kernel picks it).
pub fn free_port(ip: std::net::Ipv4Addr) -> io::Result<u16> {
    let l = std::net::TcpListener::bind(SocketAddrV4::new(ip, 0))?;
    Ok(l.local_addr()?.port())
}

/// The MSS a kernel's SYN announces, and where the number comes from (RFC 9293 § 3.7.1: the
/// largest IP packet the interface takes, less 20 bytes of IPv4 and 20 of TCP header).
fn mss_why(mss: Option<u16>) -> String {
    match mss {
        // The loopback's MTU (65536) is larger than any IPv4 packet: the limit is then IPv4's
        // own, the 16-bit total length.
        Some(65495) => "65495 bytes: 65,535, the largest IPv4 packet (its total length field has 16 \
                        bits, RFC 791), minus 20 bytes of IPv4 and 20 of TCP header. The loopback's \
                        MTU, 65536, is larger than any IPv4 packet, so IPv4's own limit applies"
            .to_string(),
        Some(m) => format!(
            "{m} bytes: the MTU of the interface it sends on, {}, minus 20 bytes of IPv4 and 20 \
             of TCP header",
            u32::from(m) + 40
        ),
        None => "none, so the other side must assume 536 bytes".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::net::Ipv4Addr;

    use super::stack::{IsnClock, Seq};
    use super::*;

    const KERNEL: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(169, 254, 77, 1), 40_000);
    const US: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(169, 254, 77, 2), 7007);

    /// A wire that hands out prepared packets and keeps what is sent: a TUN device without
    /// the kernel.
    struct FakeTun {
        incoming: VecDeque<Vec<u8>>,
        sent: Vec<Vec<u8>>,
    }

    impl Wire for FakeTun {
        fn send(&mut self, packet: &[u8]) -> io::Result<()> {
            self.sent.push(packet.to_vec());
            Ok(())
        }
        fn recv(&mut self, _: Duration) -> io::Result<Option<Captured>> {
            Ok(self.incoming.pop_front().map(|data| Captured {
                link: LinkType::RAW,
                data,
                ip_at: 0,
            }))
        }
        fn captures_own(&self) -> bool {
            false
        }
    }

    fn seg(
        src: SocketAddrV4,
        dst: SocketAddrV4,
        seq: u32,
        ack: u32,
        f: Flags,
        d: &[u8],
    ) -> Segment {
        Segment {
            src,
            dst,
            seq: Seq(seq),
            ack: Seq(ack),
            flags: f,
            window: 64_240,
            mss: f.syn().then_some(1460),
            other_options: Vec::new(),
            payload: d.to_vec(),
        }
    }

    fn steps(events: &[Event]) -> Vec<&Step> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Step { step, .. } => Some(step),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn session_ignores_ipv6_drops_bad_checksums_and_serves_the_rest() {
        let mut rs = vec![0x60, 0, 0, 0, 0, 8, 58, 255]; // an IPv6 router solicitation
        rs.extend([0u8; 40]);
        let mut bad = seg(KERNEL, US, 1000, 0, Flags::SYN, b"").to_bytes(1);
        bad[30] ^= 0x40; // one bit of the sequence number
        let mut wire = FakeTun {
            incoming: VecDeque::from([
                rs,
                bad,
                seg(KERNEL, US, 1000, 0, Flags::SYN, b"").to_bytes(2),
                seg(KERNEL, US, 1001, 5001, Flags::ACK, b"").to_bytes(3),
                seg(KERNEL, US, 1001, 5001, Flags::ACK | Flags::PSH, b"hi").to_bytes(4),
                seg(KERNEL, US, 1003, 5003, Flags::ACK | Flags::FIN, b"").to_bytes(5),
            ]),
            sent: Vec::new(),
        };
        let mut events: Vec<Event> = Vec::new();
        let (tcb, _) = Tcb::listen(US, IsnClock::fixed(5000));
        let mut s = Session::new(&mut wire, &mut events, tcb);
        let mut app = |s: &mut Session, _: &Seen| -> io::Result<()> {
            let data = std::mem::take(&mut s.tcb.received);
            s.tcb.send(&data);
            s.flush()
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        s.pump(deadline, &mut app, &|s| s.tcb.state == State::CloseWait)
            .unwrap();
        // 6 frames in, 3 out (SYN-ACK, echo, ACK of the FIN), numbered in order.
        assert_eq!(s.frames.len(), 9);
        assert!(
            s.frames
                .iter()
                .enumerate()
                .all(|(i, f)| f.number == i as u64 + 1)
        );
        assert_eq!(
            s.transitions,
            [
                (State::Listen, State::SynReceived),
                (State::SynReceived, State::Established),
                (State::Established, State::CloseWait)
            ]
        );
        drop(s);
        let st = steps(&events);
        assert!(matches!(st[0], Step::Ignored { why } if why.contains("IPv6")));
        assert!(matches!(st[1], Step::Dropped { why, .. } if why.contains("checksum")));
        let sent: Vec<Segment> = wire
            .sent
            .iter()
            .map(|b| Segment::parse(b).unwrap())
            .collect();
        assert_eq!(sent[0].flags, Flags::SYN | Flags::ACK);
        assert_eq!(
            (sent[1].payload.as_slice(), sent[1].ack),
            (&b"hi"[..], Seq(1003))
        );
        assert_eq!((sent[2].flags, sent[2].ack), (Flags::ACK, Seq(1004)));
        // Each idea is explained once.
        let topics: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                Event::Explain { topic, .. } => Some(*topic),
                _ => None,
            })
            .collect();
        let mut unique = topics.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(topics.len(), unique.len(), "{topics:?}");
        assert!(topics.contains(&"checksum") && topics.contains(&"isn"));
    }

    /// A loopback: what is sent comes back through the capture (behind an Ethernet header),
    /// along with whatever the test adds.
    struct FakeLoopback {
        queue: VecDeque<Vec<u8>>,
        later: VecDeque<Vec<u8>>,
    }

    fn eth(ip: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend([0x08, 0x00]);
        f.extend_from_slice(ip);
        f
    }

    impl Wire for FakeLoopback {
        fn send(&mut self, packet: &[u8]) -> io::Result<()> {
            self.queue.push_back(eth(packet));
            // What the "kernel" says after the packet we send.
            self.queue.extend(self.later.drain(..));
            Ok(())
        }
        fn recv(&mut self, _: Duration) -> io::Result<Option<Captured>> {
            Ok(self.queue.pop_front().map(|data| Captured {
                link: LinkType::ETHERNET,
                data,
                ip_at: 14,
            }))
        }
        fn captures_own(&self) -> bool {
            true
        }
        fn local_offload(&self) -> bool {
            true
        }
    }

    #[test]
    fn loopback_session_tells_ours_theirs_and_our_kernels_apart() {
        let lo = Ipv4Addr::LOCALHOST;
        let me = SocketAddrV4::new(lo, 41_000);
        let listener = SocketAddrV4::new(lo, 8080);
        // The SYN-ACK with an unfinished checksum (only the pseudo-header's sum), as the
        // loopback carries it.
        let synack = seg(listener, me, 9000, 101, Flags::SYN | Flags::ACK, b"");
        let mut bytes = synack.to_bytes(1);
        let pseudo = synack.pseudo_header((bytes.len() - 20) as u16);
        let partial = crate::dissect::checksum::ones_complement_sum(&[&pseudo]);
        bytes[36..38].copy_from_slice(&partial.to_be_bytes());
        let rst = seg(me, listener, 101, 0, Flags::RST, b"").to_bytes(2);
        let mut wire = FakeLoopback {
            queue: VecDeque::new(),
            later: VecDeque::from([eth(&bytes), eth(&rst)]),
        };
        let mut events: Vec<Event> = Vec::new();
        let (tcb, r) = Tcb::connect(me, listener, IsnClock::fixed(100));
        let mut s = Session::new(&mut wire, &mut events, tcb);
        s.hold_replies = true;
        s.transmit(r.replies).unwrap();
        let mut seen = Vec::new();
        while let Some(cap) = s.wire.recv(Duration::ZERO).unwrap() {
            seen.push(s.handle(cap).unwrap());
        }
        assert!(matches!(seen[0], Seen::Ours));
        assert!(matches!(seen[1], Seen::Theirs { .. }));
        assert!(matches!(&seen[2], Seen::OurKernel { segment, .. } if segment.has(Flags::RST)));
        assert_eq!(
            s.tcb.state,
            State::Established,
            "the offloaded checksum was accepted"
        );
        assert_eq!(s.held.len(), 1, "the ACK is held back");
        drop(s);
        assert!(events.iter().any(|e| matches!(
            e,
            Event::Explain {
                topic: "offload",
                ..
            }
        )));
        let senders: Vec<Sender> = events
            .iter()
            .filter_map(|e| match e {
                Event::Frame { from, .. } => Some(*from),
                _ => None,
            })
            .collect();
        assert_eq!(
            senders,
            [Sender::Wirelab, Sender::Kernel, Sender::OurKernel]
        );
    }

    #[test]
    fn an_unfinished_checksum_is_refused_off_the_loopback() {
        let synack = seg(KERNEL, US, 9000, 101, Flags::SYN | Flags::ACK, b"");
        let mut bytes = synack.to_bytes(1);
        let pseudo = synack.pseudo_header((bytes.len() - 20) as u16);
        let partial = crate::dissect::checksum::ones_complement_sum(&[&pseudo]);
        bytes[36..38].copy_from_slice(&partial.to_be_bytes());
        assert!(matches!(
            Segment::parse(&bytes),
            Err(ParseError::BadTcpChecksum { offload: true, .. })
        ));
        let (mut tcb, _) = Tcb::connect(US, KERNEL, IsnClock::fixed(100));
        assert!(tcb.on_packet(&bytes).dropped());
        assert_eq!(tcb.state, State::SynSent);
    }

    #[test]
    fn the_mss_is_explained_by_where_it_comes_from() {
        // The loopback (issue 16): 65495 is not "its MTU minus 40" (lo's MTU is 65536).
        let lo = mss_why(Some(65495));
        assert!(lo.contains("65,535, the largest IPv4 packet"), "{lo}");
        assert!(lo.contains("MTU, 65536, is larger"), "{lo}");
        assert!(!lo.contains("its MTU minus 40"), "{lo}");
        // An Ethernet-sized interface such as the TUN device: 1500 − 40.
        let tun = mss_why(Some(1460));
        assert!(
            tun.contains("the MTU of the interface it sends on, 1500"),
            "{tun}"
        );
        assert!(mss_why(None).contains("536"));
    }
}
