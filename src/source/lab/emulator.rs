//! The link emulator: a cable with a length, a speed, a queue and a few faults, made in
//! userspace because this kernel (like many distributions' kernels) has no `netem`.
//!
//! # The idea
//!
//! How long does a packet take to cross a link? Textbooks split the time in parts:
//!
//! * **Queueing delay**: the link sends one frame at a time. A frame that arrives while
//!   others are being sent waits its turn in a *queue*. The queue has a size; when it is full,
//!   the frame that arrives is thrown away (*drop-tail*). This is where most loss on the
//!   Internet happens, and how TCP learns that it sends too fast.
//! * **Transmission delay**: putting a frame of `L` bytes on a link of rate `R` bits per second
//!   takes `8·L / R` seconds: 1.2 ms for a full Ethernet frame (1514 bytes) at 10 Mbit/s, 121 µs
//!   at 100 Mbit/s. The rate is what people call the link's *bandwidth*.
//! * **Propagation delay**: the last bit then travels the length of the cable, about 5 µs per
//!   kilometre of fibre: the link's `delay`, the same for every frame.
//! * And sometimes a frame is damaged on the way and never arrives (*loss*), arrives twice
//!   (*duplication*), or is overtaken by the next one (*reordering*).
//!
//! A frame that finds the queue empty thus arrives `8·L/R + delay` after it was sent; the
//! *round-trip time* of a small packet and its answer is about twice the delay.
//!
//! # Where the emulator sits
//!
//! ```text
//!     r1                  the wire of link 2                      server
//!   ┌──────┐         ┌────────────────────────────┐          ┌──────────┐
//!   │ eth1 ├══veth═══┤ eth0 ─► wirelab's thread ─► eth1 ├══veth══┤ eth0     │
//!   └──────┘         │      ◄─                   ◄─    │          └──────────┘
//!                    └────────────────────────────┘
//! ```
//!
//! An emulated link is cut in the middle: each host keeps its own end, an ordinary veth
//! interface, and the two veth pairs end in a small network namespace of their own, *the wire*,
//! which has no IP address and forwards nothing. wirelab opens a packet socket (`AF_PACKET`) on
//! each of the wire's two interfaces, reads every frame a host sends, and writes it out on the
//! other side at the moment the link would deliver it. The hosts see an ordinary Ethernet link:
//! ARP, MAC addresses, TTL and MTU behave as on a cable, and routers still route in their own
//! kernels. The emulator only ever moves frames between the two interfaces of its own
//! namespace; it cannot send anything anywhere else.
//!
//! # How it makes each property
//!
//! Each direction of the link has its own [`Schedule`]. Times are nanoseconds of one monotonic
//! clock. For a frame of `L` bytes arriving at time `t`:
//!
//! 1. **Arrival**: `t` is the kernel's own timestamp of the frame (`SO_TIMESTAMPNS`), taken when
//!    the frame entered the wire, not when wirelab got round to reading it; so a late wake-up
//!    of the emulator does not lengthen the link.
//! 2. **Queue**: the frames accepted but not yet being transmitted are the queue. If `queue`
//!    frames are waiting, this one is dropped.
//! 3. **Transmission**: `start = max(t, busy_until)`, `busy_until = start + 8·L/rate`. This is a
//!    *virtual clock*: each frame's schedule follows from the previous frame's schedule, never
//!    from the moment wirelab happened to send it, so the average rate is exact however late
//!    the thread wakes.
//! 4. **Loss on the wire**: `drop=N` loses the N-th data packet put on the wire from the
//!    client's side; `loss=P` loses each frame with probability P. A lost frame used its
//!    transmission time, as a frame damaged on a real cable does.
//! 5. **Propagation**: `due = busy_until + delay`, plus a jitter drawn within ±jitter, but
//!    never earlier than the frame before it (a cable does not reorder).
//! 6. The frame waits in the [`DelayLine`] until `due`, then is written to the other
//!    interface (twice if duplicated; after the next frame if chosen for reordering).
//!
//! # Accuracy on a shared machine
//!
//! tokio's timers count whole milliseconds, too coarse for a 121 µs transmission time, so the
//! emulator has a thread of its own that sleeps in `ppoll` with a nanosecond timeout until the
//! next frame is due or a frame arrives. Linux lets a sleep end up to the thread's *timer
//! slack* late (50 µs by default) to save wake-ups; the thread sets its slack to 1 ns
//! (`PR_SET_TIMERSLACK`). It never spins: on two shared cores a spinning thread would steal the
//! time the hosts' TCP needs. Every frame due at a wake-up is sent in that wake-up, and every
//! frame waiting in the socket is read. How late each frame left compared with its schedule is
//! counted ([`DirReport::late_us`]), along with the thread's CPU time, so each run reports its
//! own accuracy; `bench/link.sh` measures it from outside with `ping` and a TCP transfer.
//!
//! With `shaper=tbf`, the rate and the queue are left to the kernel's token bucket filter on
//! the wire's way out (see [`super::netlink::Rtnl::add_tbf`]); the emulator still makes the
//! delay, jitter and faults.

// Unsafe code: none here; the packet socket's system calls are in `port`.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use nix::poll::{PollFd, PollFlags, ppoll};
use nix::sched::{CloneFlags, setns};
use nix::sys::time::TimeSpec;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::port::Port;
use crate::source::topology::{LinkSpec, Shaper};

/// Nanoseconds in a second.
const NS: u64 = 1_000_000_000;
/// How long a frame chosen for reordering waits for a next frame to overtake it.
const REORDER_WAIT: u64 = 10_000_000;
/// The most frames one direction holds at once (frames in the queue and on the wire). At
/// 100 Mbit/s and 1 s of delay that is 8 300 full frames; beyond this bound a frame is
/// dropped and counted as the emulator's own loss, never silently.
const MAX_IN_FLIGHT: usize = 50_000;
/// The longest the thread sleeps with nothing due, so that a stop request is seen soon.
const IDLE_WAIT: Duration = Duration::from_millis(20);

/// What happens to one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// The queue was full: dropped on arrival (drop-tail).
    QueueFull,
    /// Lost on the wire at random (`loss=`).
    Lost,
    /// Lost on purpose: it was data packet number N (`drop=`).
    Dropped(u64),
    /// Delivered at time `at`; `dup`: twice; `hold`: after the next frame.
    Deliver { at: u64, dup: bool, hold: bool },
}

/// One direction of a link: when each frame leaves, or why it does not. No I/O, no clock:
/// the caller gives the arrival times, so the arithmetic can be tested exactly.
pub struct Schedule {
    /// Bits per second, when the emulator enforces the rate itself.
    rate: Option<u64>,
    queue: usize,
    delay: u64,
    jitter: u64,
    loss: f64,
    dup: f64,
    reorder: f64,
    /// Data packets to lose, by number (sorted); empty in the server → client direction.
    drops: Vec<u64>,
    rng: StdRng,
    /// When the transmitter finishes the frames accepted so far.
    busy_until: u64,
    /// Transmission start times of the accepted frames still waiting (the queue).
    waiting: VecDeque<u64>,
    /// When the previous frame is delivered (jitter never reorders).
    last_due: u64,
    /// Data packets put on the wire so far in this direction.
    data_sent: u64,
}

impl Schedule {
    /// The schedule of one direction of a link with properties `spec`. `forward` is the
    /// client → server direction, the one `drop=` counts in; `dir` picks the random stream.
    pub fn new(spec: &LinkSpec, forward: bool, dir: u64) -> Schedule {
        let seed = spec.seed.unwrap_or(1);
        Schedule {
            rate: match spec.shaper {
                Shaper::Wirelab => spec.rate,
                Shaper::Tbf => None,
            },
            queue: spec.queue_len(),
            delay: spec.delay.as_nanos() as u64,
            jitter: spec.jitter.as_nanos() as u64,
            loss: spec.loss,
            dup: spec.dup,
            reorder: spec.reorder,
            drops: if forward {
                spec.drop.clone()
            } else {
                Vec::new()
            },
            rng: StdRng::seed_from_u64(seed.wrapping_mul(2).wrapping_add(dir)),
            busy_until: 0,
            waiting: VecDeque::new(),
            last_due: 0,
            data_sent: 0,
        }
    }

    /// A frame of `len` bytes arrives at time `t` (`data`: it carries data, for `drop=`).
    pub fn arrive(&mut self, t: u64, len: usize, data: bool) -> Fate {
        // The queue and the transmitter.
        let tx_end = match self.rate {
            Some(rate) => {
                while self.waiting.front().is_some_and(|&s| s <= t) {
                    self.waiting.pop_front();
                }
                if self.waiting.len() >= self.queue {
                    return Fate::QueueFull;
                }
                let start = t.max(self.busy_until);
                let bits = len as u128 * 8;
                let tx = (bits * u128::from(NS)).div_ceil(u128::from(rate)) as u64;
                self.busy_until = start + tx;
                if start > t {
                    self.waiting.push_back(start);
                }
                self.busy_until
            }
            None => t,
        };
        // Faults on the wire.
        if data {
            self.data_sent += 1;
            if self.drops.binary_search(&self.data_sent).is_ok() {
                return Fate::Dropped(self.data_sent);
            }
        }
        if self.loss > 0.0 && self.rng.random::<f64>() < self.loss {
            return Fate::Lost;
        }
        // Propagation, with jitter that never reorders.
        let mut due = tx_end + self.delay;
        if self.jitter > 0 {
            let j = self.rng.random_range(0..=2 * self.jitter);
            due = (due + j).saturating_sub(self.jitter).max(tx_end);
        }
        due = due.max(self.last_due);
        self.last_due = due;
        let dup = self.dup > 0.0 && self.rng.random::<f64>() < self.dup;
        let hold = self.reorder > 0.0 && self.rng.random::<f64>() < self.reorder;
        Fate::Deliver { at: due, dup, hold }
    }
}

/// Frames on their way, in the order they will be delivered, and at most one frame held back
/// to be overtaken.
pub struct DelayLine<T> {
    line: VecDeque<(u64, T)>,
    /// A frame chosen for reordering, and when it goes out anyway.
    held: Option<(u64, T)>,
}

impl<T> Default for DelayLine<T> {
    fn default() -> Self {
        DelayLine {
            line: VecDeque::new(),
            held: None,
        }
    }
}

impl<T> DelayLine<T> {
    /// Add a frame due at `due`. With `hold` (and no frame held yet), it waits for the next
    /// frame and goes right after it.
    pub fn push(&mut self, due: u64, item: T, hold: bool) {
        if hold && self.held.is_none() {
            self.held = Some((due + REORDER_WAIT, item));
            return;
        }
        let due = due.max(self.line.back().map_or(0, |b| b.0));
        self.line.push_back((due, item));
        if let Some((_, h)) = self.held.take() {
            self.line.push_back((due, h));
        }
    }

    /// The next frame due by `now`, if any.
    pub fn pop_due(&mut self, now: u64) -> Option<T> {
        if self.held.as_ref().is_some_and(|(dl, _)| *dl <= now)
            && let Some((dl, h)) = self.held.take()
        {
            let due = dl.max(self.line.back().map_or(0, |b| b.0));
            self.line.push_back((due, h));
        }
        if self.line.front().is_some_and(|(d, _)| *d <= now) {
            return self.line.pop_front().map(|(_, t)| t);
        }
        None
    }

    /// When the next frame is due.
    pub fn next_due(&self) -> Option<u64> {
        let a = self.line.front().map(|f| f.0);
        let b = self.held.as_ref().map(|h| h.0);
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn len(&self) -> usize {
        self.line.len() + usize::from(self.held.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Does this Ethernet frame carry data, for `drop=`: a TCP segment with payload, a UDP
/// datagram (or a fragment of one), or an ICMP echo request, over IPv4?
pub fn is_data(frame: &[u8]) -> bool {
    let Some(ip) = frame.get(14..) else {
        return false;
    };
    if frame[12..14] != [0x08, 0x00] || ip.len() < 20 || ip[0] >> 4 != 4 {
        return false;
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let frag_offset = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff;
    match ip[9] {
        17 => true,
        6 if frag_offset > 0 => true,
        6 => ip
            .get(ihl + 12)
            .is_some_and(|&doff| total > ihl + usize::from(doff >> 4) * 4),
        1 => frag_offset > 0 || ip.get(ihl) == Some(&8),
        _ => false,
    }
}

/// How late frames left compared with their schedule: bucket upper bounds, in µs.
pub const LATE_BUCKETS_US: [u64; 11] = [
    10,
    25,
    50,
    100,
    250,
    500,
    1000,
    2000,
    5000,
    10_000,
    u64::MAX,
];

/// The counters of one direction, shared with whoever reports them.
#[derive(Default)]
pub struct DirCounters {
    frames: AtomicU64,
    bytes: AtomicU64,
    delivered: AtomicU64,
    queue_full: AtomicU64,
    lost: AtomicU64,
    dropped: AtomicU64,
    duplicated: AtomicU64,
    reordered: AtomicU64,
    overflow: AtomicU64,
    send_errors: AtomicU64,
    kernel_drops: AtomicU64,
    late: [AtomicU64; 11],
}

/// One direction's counters at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DirReport {
    /// Frames that entered the link, and their bytes.
    pub frames: u64,
    pub bytes: u64,
    /// Frames written out at the other end (duplicates included).
    pub delivered: u64,
    /// Asked for: dropped by the full queue, lost at random, dropped by number.
    pub queue_full: u64,
    pub lost: u64,
    pub dropped: u64,
    pub duplicated: u64,
    pub reordered: u64,
    /// Not asked for: the emulator's own buffer was full, a write failed, or the kernel
    /// dropped frames before the emulator could read them.
    pub overflow: u64,
    pub send_errors: u64,
    pub kernel_drops: u64,
    /// How many frames left late by at most each bound of [`LATE_BUCKETS_US`].
    pub late_hist: Vec<u64>,
}

impl DirReport {
    /// Frames lost that the spec did not ask to lose.
    pub fn unasked_loss(&self) -> u64 {
        self.overflow + self.send_errors + self.kernel_drops
    }

    /// The lateness (µs) that fraction `q` of the frames stayed within, as a bucket bound.
    pub fn late_us(&self, q: f64) -> Option<u64> {
        let total: u64 = self.late_hist.iter().sum();
        if total == 0 {
            return None;
        }
        let want = (total as f64 * q).ceil() as u64;
        let mut seen = 0;
        for (i, n) in self.late_hist.iter().enumerate() {
            seen += n;
            if seen >= want {
                return Some(LATE_BUCKETS_US[i]);
            }
        }
        None
    }
}

/// A running link's counters.
pub struct LinkStats {
    pub link: usize,
    dirs: [DirCounters; 2],
    cpu_ns: AtomicU64,
    started: Instant,
}

/// A link's counters at one moment: client → server first.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LinkReport {
    pub link: usize,
    pub dirs: [DirReport; 2],
    /// CPU time the emulator's thread used, and the time it has run.
    pub cpu: Duration,
    pub wall: Duration,
}

impl LinkStats {
    fn new(link: usize) -> LinkStats {
        LinkStats {
            link,
            dirs: Default::default(),
            cpu_ns: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    /// The counters now.
    pub fn report(&self) -> LinkReport {
        let dir = |c: &DirCounters| {
            let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
            DirReport {
                frames: g(&c.frames),
                bytes: g(&c.bytes),
                delivered: g(&c.delivered),
                queue_full: g(&c.queue_full),
                lost: g(&c.lost),
                dropped: g(&c.dropped),
                duplicated: g(&c.duplicated),
                reordered: g(&c.reordered),
                overflow: g(&c.overflow),
                send_errors: g(&c.send_errors),
                kernel_drops: g(&c.kernel_drops),
                late_hist: c.late.iter().map(g).collect(),
            }
        };
        LinkReport {
            link: self.link,
            dirs: [dir(&self.dirs[0]), dir(&self.dirs[1])],
            cpu: Duration::from_nanos(self.cpu_ns.load(Ordering::Relaxed)),
            wall: self.started.elapsed(),
        }
    }
}

impl LinkReport {
    /// The report in words, a few lines.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        for (i, d) in self.dirs.iter().enumerate() {
            let way = if i == 0 {
                "client → server"
            } else {
                "server → client"
            };
            let mut asked = Vec::new();
            if d.queue_full > 0 {
                asked.push(format!("{} dropped by the full queue", d.queue_full));
            }
            if d.lost > 0 {
                asked.push(format!("{} lost at random", d.lost));
            }
            if d.dropped > 0 {
                asked.push(format!("{} dropped by number", d.dropped));
            }
            if d.duplicated > 0 {
                asked.push(format!("{} duplicated", d.duplicated));
            }
            if d.reordered > 0 {
                asked.push(format!("{} reordered", d.reordered));
            }
            s.push_str(&format!(
                "  link {} {way}: {} frames in, {} out{}; lost without being asked: {}",
                self.link,
                d.frames,
                d.delivered,
                if asked.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", asked.join(", "))
                },
                d.unasked_loss()
            ));
            if let (Some(p50), Some(p99)) = (d.late_us(0.5), d.late_us(0.99)) {
                s.push_str(&format!(
                    "; sent within {} µs of schedule for half the frames, {} for 99%",
                    p50,
                    if p99 == u64::MAX {
                        "more than 10 ms".to_string()
                    } else {
                        format!("{p99} µs")
                    }
                ));
            }
            s.push('\n');
        }
        let wall = self.wall.as_secs_f64();
        s.push_str(&format!(
            "  link {} emulator: {:.3} s of CPU in {:.1} s ({:.1}% of one core)\n",
            self.link,
            self.cpu.as_secs_f64(),
            wall,
            if wall > 0.0 {
                100.0 * self.cpu.as_secs_f64() / wall
            } else {
                0.0
            }
        ));
        s
    }
}

/// A link emulator running on its own thread.
pub struct Emulator {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<io::Result<()>>>,
    pub stats: Arc<LinkStats>,
}

impl Emulator {
    /// Start emulating link `link` with properties `spec`, between the two interfaces `eth0`
    /// (the client's side) and `eth1` (the server's side) of the namespace `wire`. Returns
    /// when the packet sockets are open, or with the reason they could not be.
    pub fn start(link: usize, spec: &LinkSpec, wire: &OwnedFd) -> io::Result<Emulator> {
        let wire = wire.try_clone()?;
        let spec = spec.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(LinkStats::new(link));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<io::Result<()>>();
        let (flag, counters) = (stop.clone(), stats.clone());
        let handle = std::thread::Builder::new()
            .name(format!("link{link}"))
            .spawn(move || {
                let opened = (|| -> io::Result<[Port; 2]> {
                    setns(wire.as_fd(), CloneFlags::CLONE_NEWNET)?;
                    // Sleep no later than asked (see the module's notes on accuracy).
                    nix::sys::prctl::set_timerslack(1)?;
                    Ok([Port::open("eth0")?, Port::open("eth1")?])
                })();
                let ports = match opened {
                    Ok(p) => {
                        let _ = ready_tx.send(Ok(()));
                        p
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(io::Error::new(e.kind(), e.to_string())));
                        return Err(e);
                    }
                };
                run(&ports, &spec, &flag, &counters)
            })?;
        ready_rx
            .recv()
            .map_err(|_| io::Error::other("the emulator thread ended before it started"))??;
        Ok(Emulator {
            stop,
            handle: Some(handle),
            stats,
        })
    }

    /// Stop the thread and return the final counters.
    pub fn stop(mut self) -> LinkReport {
        self.halt();
        self.stats.report()
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.halt();
    }
}

fn thread_cpu() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map(|t| t.tv_sec() as u64 * NS + t.tv_nsec() as u64)
        .unwrap_or(0)
}

/// The emulator's loop: read what arrives, send what is due, sleep until the next of either.
fn run(ports: &[Port; 2], spec: &LinkSpec, stop: &AtomicBool, stats: &LinkStats) -> io::Result<()> {
    let epoch = Instant::now();
    let now_ns = || epoch.elapsed().as_nanos() as u64;
    let mut sched = [Schedule::new(spec, true, 0), Schedule::new(spec, false, 1)];
    let mut lines: [DelayLine<Vec<u8>>; 2] = Default::default();
    let tbf = spec.shaper == Shaper::Tbf && spec.rate.is_some();
    let mut buf = vec![0u8; 65_600];
    let mut last_poll_stats = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        // Send everything that is due.
        let now = now_ns();
        for d in 0..2 {
            let out = &ports[1 - d];
            let c = &stats.dirs[d];
            while let Some(due) = lines[d].next_due()
                && due <= now
            {
                let Some(frame) = lines[d].pop_due(now) else {
                    break;
                };
                let late_us = now.saturating_sub(due) / 1000;
                let bucket = LATE_BUCKETS_US
                    .iter()
                    .position(|&b| late_us <= b)
                    .unwrap_or(LATE_BUCKETS_US.len() - 1);
                c.late[bucket].fetch_add(1, Ordering::Relaxed);
                match out.send(&frame) {
                    Ok(()) => {
                        c.delivered.fetch_add(1, Ordering::Relaxed);
                    }
                    // With tbf, a full queue refuses the frame: the drop-tail that was asked.
                    Err(e) if tbf && e.raw_os_error() == Some(libc::ENOBUFS) => {
                        c.queue_full.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        c.send_errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        // Sleep until the next frame is due, or one arrives.
        let now = now_ns();
        let next = lines.iter().filter_map(DelayLine::next_due).min();
        let wait = match next {
            Some(n) => Duration::from_nanos(n.saturating_sub(now)).min(IDLE_WAIT),
            None => IDLE_WAIT,
        };
        // (With a frame already due, the poll does not wait: it only says which side has
        // frames, which saves a failed read on the other.)
        let mut fds = [
            PollFd::new(ports[0].as_fd(), PollFlags::POLLIN),
            PollFd::new(ports[1].as_fd(), PollFlags::POLLIN),
        ];
        let readable = match ppoll(&mut fds, Some(TimeSpec::from_duration(wait)), None) {
            Ok(_) => fds.map(|f| f.revents().is_some_and(|r| !r.is_empty())),
            Err(nix::errno::Errno::EINTR) => [false; 2],
            Err(e) => return Err(e.into()),
        };
        // Read everything that arrived.
        for d in 0..2 {
            if !readable[d] {
                continue;
            }
            let c = &stats.dirs[d];
            // At most 64 frames per side per round (about 200 µs of work), so that frames due
            // meanwhile are not held back by a burst of arrivals.
            for _ in 0..64 {
                let Some((len, stamp)) = ports[d].recv(&mut buf)? else {
                    break;
                };
                if len > buf.len() {
                    c.overflow.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let frame = &buf[..len];
                c.frames.fetch_add(1, Ordering::Relaxed);
                c.bytes.fetch_add(len as u64, Ordering::Relaxed);
                // The kernel's timestamp, moved onto our monotonic clock.
                let now = now_ns();
                let age = stamp
                    .and_then(|s| SystemTime::now().duration_since(s).ok())
                    .map_or(0, |a| a.as_nanos() as u64);
                let t = if age < NS {
                    now.saturating_sub(age)
                } else {
                    now
                };
                match sched[d].arrive(t, len, d == 0 && is_data(frame)) {
                    Fate::QueueFull => c.queue_full.fetch_add(1, Ordering::Relaxed),
                    Fate::Lost => c.lost.fetch_add(1, Ordering::Relaxed),
                    Fate::Dropped(_) => c.dropped.fetch_add(1, Ordering::Relaxed),
                    Fate::Deliver { at, dup, hold } => {
                        if lines[d].len() >= MAX_IN_FLIGHT {
                            c.overflow.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        if hold {
                            c.reordered.fetch_add(1, Ordering::Relaxed);
                        }
                        lines[d].push(at, frame.to_vec(), hold);
                        if dup {
                            c.duplicated.fetch_add(1, Ordering::Relaxed);
                            lines[d].push(at, frame.to_vec(), false);
                        }
                        0
                    }
                };
            }
        }
        if last_poll_stats.elapsed() > Duration::from_millis(250) {
            last_poll_stats = Instant::now();
            collect(ports, stats);
        }
    }
    collect(ports, stats);
    Ok(())
}

/// Move the kernel's drop counts and the thread's CPU time into the shared counters.
fn collect(ports: &[Port; 2], stats: &LinkStats) {
    for (d, p) in ports.iter().enumerate() {
        if let Ok(k) = p.kernel_stats() {
            stats.dirs[d]
                .kernel_drops
                .fetch_add(k.dropped, Ordering::Relaxed);
        }
    }
    stats.cpu_ns.store(thread_cpu(), Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(s: &str) -> LinkSpec {
        LinkSpec::parse(s).unwrap()
    }

    const MS: u64 = 1_000_000;

    #[test]
    fn delay_alone_adds_exactly_the_delay() {
        let mut s = Schedule::new(&spec("delay=20ms"), true, 0);
        for t in [0, 5 * MS, 5 * MS + 1, 100 * MS] {
            assert_eq!(
                s.arrive(t, 1514, true),
                Fate::Deliver {
                    at: t + 20 * MS,
                    dup: false,
                    hold: false
                }
            );
        }
    }

    #[test]
    fn rate_spaces_frames_by_their_transmission_time() {
        // 1514 bytes at 10 Mbit/s: 1 211 200 ns.
        let mut s = Schedule::new(&spec("rate=10mbit,delay=1ms"), true, 0);
        let tx = 1_211_200;
        for i in 0..10 {
            // Ten frames arriving together leave one transmission time apart.
            assert_eq!(
                s.arrive(0, 1514, true),
                Fate::Deliver {
                    at: (i + 1) * tx + MS,
                    dup: false,
                    hold: false
                }
            );
        }
        // A frame arriving after the link went idle waits only its own transmission.
        let t = 100 * MS;
        assert_eq!(
            s.arrive(t, 1514, true),
            Fate::Deliver {
                at: t + tx + MS,
                dup: false,
                hold: false
            }
        );
    }

    #[test]
    fn the_queue_drops_at_its_tail() {
        let mut s = Schedule::new(&spec("rate=1mbit,queue=3"), true, 0);
        // The first frame is transmitted at once; three more wait; the fifth is dropped.
        let fates: Vec<Fate> = (0..6).map(|_| s.arrive(0, 1000, false)).collect();
        assert!(matches!(fates[0], Fate::Deliver { .. }));
        assert!(
            fates[1..4]
                .iter()
                .all(|f| matches!(f, Fate::Deliver { .. }))
        );
        assert_eq!(fates[4], Fate::QueueFull);
        assert_eq!(fates[5], Fate::QueueFull);
        // Once the first has gone (8 ms at 1 Mbit/s), there is room for one more.
        assert!(matches!(
            s.arrive(8 * MS, 1000, false),
            Fate::Deliver { .. }
        ));
        assert_eq!(s.arrive(8 * MS, 1000, false), Fate::QueueFull);
    }

    #[test]
    fn drop_loses_exactly_the_numbered_data_packets() {
        let mut s = Schedule::new(&spec("drop=3+5"), true, 0);
        let mut fates = Vec::new();
        for i in 0..8 {
            // An ACK without data in between does not count.
            assert!(matches!(s.arrive(i, 66, false), Fate::Deliver { .. }));
            fates.push(s.arrive(i, 1000, true));
        }
        assert_eq!(fates[2], Fate::Dropped(3));
        assert_eq!(fates[4], Fate::Dropped(5));
        let delivered = fates
            .iter()
            .filter(|f| matches!(f, Fate::Deliver { .. }))
            .count();
        assert_eq!(delivered, 6);
        // The other direction never drops by number.
        let mut back = Schedule::new(&spec("drop=1"), false, 1);
        assert!(matches!(back.arrive(0, 1000, true), Fate::Deliver { .. }));
    }

    #[test]
    fn loss_is_about_right_and_repeatable() {
        let run = |seed: u64| {
            let mut s = Schedule::new(&spec(&format!("loss=10%,seed={seed}")), true, 0);
            (0..10_000)
                .map(|i| s.arrive(i, 100, false) == Fate::Lost)
                .collect::<Vec<bool>>()
        };
        let a = run(1);
        let lost = a.iter().filter(|&&l| l).count();
        assert!((900..=1100).contains(&lost), "{lost} of 10000 lost at 10%");
        assert_eq!(a, run(1), "the same seed loses the same frames");
        assert_ne!(a, run(2));
        let mut none = Schedule::new(&spec("delay=1ms"), true, 0);
        assert!((0..10_000).all(|i| none.arrive(i, 100, true) != Fate::Lost));
    }

    #[test]
    fn jitter_stays_within_bounds_and_never_reorders() {
        let mut s = Schedule::new(&spec("delay=20ms,jitter=5ms"), true, 0);
        let mut last = 0;
        for i in 0..1000u64 {
            let t = i * 100_000;
            let Fate::Deliver { at, .. } = s.arrive(t, 100, false) else {
                panic!("no loss asked")
            };
            assert!(at >= last, "frame {i} overtook the one before");
            assert!(at >= t + 15 * MS, "frame {i} arrived too early");
            // Never later than +jitter, except to wait for the frame before.
            assert!(at <= (t + 25 * MS).max(last), "frame {i} arrived too late");
            last = at;
        }
    }

    #[test]
    fn delay_line_reorders_a_held_frame_after_the_next() {
        let mut l = DelayLine::default();
        l.push(10, "a", true);
        l.push(12, "b", false);
        l.push(13, "c", false);
        assert_eq!(l.pop_due(11), None);
        assert_eq!(l.pop_due(12), Some("b"));
        assert_eq!(l.pop_due(12), Some("a"));
        assert_eq!(l.pop_due(13), Some("c"));
        // A held frame with no successor goes out after REORDER_WAIT.
        l.push(100, "z", true);
        assert_eq!(l.next_due(), Some(100 + REORDER_WAIT));
        assert_eq!(l.pop_due(100), None);
        assert_eq!(l.pop_due(100 + REORDER_WAIT), Some("z"));
        assert!(l.is_empty());
    }

    #[test]
    fn is_data_tells_data_from_acks() {
        let mut f = vec![0u8; 14 + 20 + 20];
        f[12] = 0x08;
        f[14] = 0x45;
        f[14 + 9] = 6;
        f[14 + 20 + 12] = 5 << 4;
        f[14 + 2..14 + 4].copy_from_slice(&40u16.to_be_bytes());
        assert!(!is_data(&f), "a bare ACK");
        f[14 + 2..14 + 4].copy_from_slice(&41u16.to_be_bytes());
        assert!(is_data(&f), "one byte of data");
        f[14 + 9] = 17;
        assert!(is_data(&f), "UDP");
        f[12] = 0x08;
        f[13] = 0x06;
        assert!(!is_data(&f), "ARP");
        assert!(!is_data(&[0u8; 10]));
    }

    #[test]
    fn report_quantiles_come_from_the_histogram() {
        let d = DirReport {
            late_hist: vec![90, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            ..DirReport::default()
        };
        assert_eq!(d.late_us(0.5), Some(10));
        assert_eq!(d.late_us(0.99), Some(25));
        assert_eq!(d.late_us(1.0), Some(u64::MAX));
    }
}
