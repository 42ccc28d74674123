//! The one-line summary of a long capture, on every core.
//!
//! # The idea
//!
//! Each line of `wirelab dissect FILE` is made in five steps. Three of them must go in
//! capture order, two need nothing but the frame itself:
//!
//! ```text
//!  read the records ─> dissect each frame ─> number the segments, ─> write each ─> write the
//!  from the file       on its own (its       link DNS, reassemble    frame's line   lines out
//!                      headers)              HTTP and WebSocket      (a text)
//!  in order            any order             in order                any order      in order
//! ```
//!
//! The file is read from front to back; a TCP segment's relative sequence number can only be
//! known from the segments before it, and the lines must come out in the order of the frames.
//! But the dissection of one frame (a third of the work) and the writing of its line (another
//! third) need no other frame, so two cores can do them for different frames at once.
//!
//! So the capture is cut into *batches* of [`BATCH`] frames, numbered as they are read, and
//! every thread (the calling one and one more per core) runs the same loop: take the next
//! batch from the file, dissect its frames, wait for the batch's *turn* to run the in-order
//! steps (the [`Pipeline`]'s stream tracker, DNS links and HTTP/WebSocket reassembly, which
//! both threads share), write its lines into a text of its own, and wait for its turn again
//! to write that text out. With two threads, while one runs its batch's in-order steps the
//! other is dissecting or writing lines, so the two rarely wait for each other:
//!
//! ```text
//!  thread 1:  read 0 │ dissect 0 │ in order 0 │ lines 0  │ out 0 │ read 2 │ dissect 2 │ …
//!  thread 2:          read 1 │ dissect 1 │ (wait) │ in order 1 │ lines 1 │ out 1 │ read 3 …
//! ```
//!
//! A thread keeps its batch from the file to the screen: the frames' bytes, dissections and
//! text stay in its own core's cache and are reused for its next batch, and only the
//! pipeline's state (a table of conversations) moves between the cores, once per batch. That
//! is why a batch is small ([`BATCH`], 64 frames, about 80 µs of work): 64 dissections fit in
//! a core's cache, 512 did not, and on one core the bigger batches cost a third more time
//! than the one-thread loop (BENCHMARKS.md, issue 15). A thread that must wait for its turn
//! looks for it for up to [`SPIN`] (the turn usually comes within microseconds) and then
//! sleeps (a [`Condvar`]), so a thread the machine's other work keeps off a core costs little
//! while it waits. At most one batch per thread is in hand, so the memory stays bounded
//! however long the capture. Each frame goes through the same code as on one thread
//! ([`FrontHalf::dissect`] then [`Pipeline::push_dissected`] is [`Pipeline::push`]; each
//! thread's [`Printer`] has the same options), so the output is the same, byte for byte.
//!
//! `wirelab dissect` starts here only for the summary shown whole (no filter, `--stream`,
//! report, export or `--pace`), on a machine with more than one core that other programs
//! leave free ([`threads`]), and only after [`START_AFTER`] frames on one thread: a small
//! capture never starts a thread.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::commands::progress::Progress;
use crate::dissect::model::{Dissection, Frame, LinkType, Timestamp};
use crate::pipeline::{FrontHalf, Pipeline};
use crate::render::{Options, Printer};
use crate::source::file::{CaptureError, CaptureReader};

/// Frames shown on the calling thread before the other cores join. Below it, starting a thread
/// would save less than it costs.
pub const START_AFTER: u64 = 5_000;
/// Frames a thread takes from the file at a time.
pub const BATCH: usize = 64;
/// How long a thread waiting for its turn keeps looking before it sleeps. A batch's in-order
/// steps take some tens of microseconds; a wait longer than this means the thread whose turn
/// it is was taken off its core, and then sleeping is better than burning a core.
pub const SPIN: Duration = Duration::from_micros(100);

/// Frames shown on one thread before the others join in: [`START_AFTER`] on a machine with more
/// than one core, never on one. `WIRELAB_THREADS_AFTER` changes it (`never`, or a number of
/// frames: the tests use 1 to run every capture through the threads).
pub fn start_after() -> u64 {
    let usual = if cores() > 1 { START_AFTER } else { u64::MAX };
    match std::env::var("WIRELAB_THREADS_AFTER").ok().as_deref() {
        Some("never") => u64::MAX,
        Some(n) => n.parse().unwrap_or(usual),
        None => usual,
    }
}

/// The cores this process may use (`taskset` and container limits count).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Threads to run: one per core that is free, at most four. The in-order steps are about a
/// quarter of the work, so more threads would only wait for their turns.
///
/// A core another program keeps busy is no help: the threads would take turns on the cores
/// that are left, and waiting for each other's turns would make the summary *slower* than
/// on one thread (measured: a third slower with two busy programs on a 2-core machine,
/// BENCHMARKS.md, issue 15). So the cores busy with other work are left out: `busy_before`
/// and [`busy_elsewhere`] now, two looks a few milliseconds apart, the smaller counting (a
/// program that ran for a moment is not a busy core). With `WIRELAB_THREADS_AFTER` set (the
/// tests) every core is used.
pub fn threads(busy_before: usize) -> usize {
    let all = cores().min(4);
    if std::env::var_os("WIRELAB_THREADS_AFTER").is_some() {
        return all;
    }
    all.saturating_sub(busy_before.min(busy_elsewhere())).max(1)
}

/// How many other threads want a core right now: on Linux, the fourth field of
/// `/proc/loadavg` ("running/all") counts the threads running or ready to run on the whole
/// machine, this one among them. Elsewhere (and if it cannot be read) 0: every core is
/// taken as free.
pub fn busy_elsewhere() -> usize {
    #[cfg(target_os = "linux")]
    {
        let running = std::fs::read_to_string("/proc/loadavg").ok().and_then(|s| {
            s.split_whitespace()
                .nth(3)?
                .split('/')
                .next()?
                .parse::<usize>()
                .ok()
        });
        running.map_or(0, |r| r.saturating_sub(1))
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}

/// What the summary of the rest of a capture works with: everything the command set up, and
/// the state of the frames it already showed on one thread.
pub struct Summary<'a, W: Write + Send> {
    pub reader: &'a mut CaptureReader,
    /// The pipeline, which has taken at least the capture's first frame (its time is the clock).
    pub pipe: &'a mut Pipeline,
    pub printer: &'a mut Printer<W>,
    pub progress: &'a mut Progress,
    /// Frames still to show (`--count`), or all of them.
    pub limit: Option<u64>,
}

/// Show every frame left in the file, in order, on `threads` threads (the calling one among
/// them), `batch` frames at a time ([`BATCH`]; the tests try others). Returns how the reading
/// ended (the end of the file, or the damage met, after every frame before it was shown) and
/// how many frames were shown; an error only if the lines could not be written.
pub fn show_rest<W: Write + Send>(
    job: Summary<'_, W>,
    threads: usize,
    batch: usize,
) -> io::Result<(Result<(), CaptureError>, u64)> {
    let Some(front) = job.pipe.front_half() else {
        return Err(io::Error::other(
            "the summary starts on several threads only after the first frame",
        ));
    };
    let opts = job.printer.opts.clone();
    let shared = Shared {
        batch: batch.max(1),
        read: Mutex::new(Reading {
            reader: job.reader,
            progress: job.progress,
            left: job.limit.unwrap_or(u64::MAX),
            next_turn: 0,
            end: None,
            stop: false,
            shown: 0,
        }),
        in_order: InTurn::new(job.pipe),
        out: InTurn::new(Writing {
            printer: job.printer,
            error: None,
        }),
    };
    std::thread::scope(|s| {
        for _ in 1..threads.max(1) {
            // A thread the system cannot start is one fewer to share the work.
            let _ = std::thread::Builder::new().spawn_scoped(s, || work(&shared, front, &opts));
        }
        work(&shared, front, &opts);
    });
    if let Some(e) = lock(&shared.out.state).value.error.take() {
        return Err(e);
    }
    let mut read = lock(&shared.read);
    Ok((read.end.take().unwrap_or(Ok(())), read.shown))
}

/// What the threads share.
struct Shared<'a, W: Write> {
    /// Frames in a batch.
    batch: usize,
    /// The file, and the number of the next batch (taken in turn by whichever thread is free).
    read: Mutex<Reading<'a>>,
    /// The pipeline's in-order steps, batch by batch.
    in_order: InTurn<&'a mut Pipeline>,
    /// The output, batch by batch.
    out: InTurn<Writing<'a, W>>,
}

struct Reading<'a> {
    reader: &'a mut CaptureReader,
    progress: &'a mut Progress,
    /// Frames still to read (`--count`).
    left: u64,
    next_turn: u64,
    /// How the reading ended, once it did.
    end: Option<Result<(), CaptureError>>,
    /// Read no more: the output failed, or a thread panicked.
    stop: bool,
    /// Frames read (each is shown).
    shown: u64,
}

struct Writing<'a, W: Write> {
    printer: &'a mut Printer<W>,
    /// The first error writing, after which nothing more is written.
    error: Option<io::Error>,
}

/// One thread's batch: the frames read, their dissections. Reused from batch to batch.
#[derive(Default)]
struct Batch {
    /// The frames' bytes, one after another.
    bytes: Vec<u8>,
    frames: Vec<Record>,
    /// At least as many as `frames` (kept for reuse).
    dissections: Vec<Dissection>,
}

/// A frame of a batch, its bytes in `Batch::bytes[start..end]`.
struct Record {
    number: u64,
    ts: Option<Timestamp>,
    link: LinkType,
    wire_len: u32,
    start: usize,
    end: usize,
}

impl Batch {
    fn clear(&mut self) {
        self.bytes.clear();
        self.frames.clear();
    }

    fn add(&mut self, f: &Frame) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(f.data);
        self.frames.push(Record {
            number: f.number,
            ts: f.ts,
            link: f.link,
            wire_len: f.wire_len,
            start,
            end: self.bytes.len(),
        });
    }

    /// Step 1 for every frame: each on its own.
    fn dissect(&mut self, front: FrontHalf) {
        let n = self.frames.len();
        if self.dissections.len() < n {
            self.dissections.resize_with(n, Dissection::default);
        }
        for (r, d) in self.frames.iter().zip(&mut self.dissections) {
            let frame = Frame {
                number: r.number,
                ts: r.ts,
                link: r.link,
                wire_len: r.wire_len,
                data: &self.bytes[r.start..r.end],
            };
            front.dissect(&frame, d);
        }
    }

    fn dissections(&mut self) -> &mut [Dissection] {
        &mut self.dissections[..self.frames.len()]
    }
}

/// A thread's loop (see the module documentation).
fn work<W: Write + Send>(shared: &Shared<'_, W>, front: FrontHalf, opts: &Options) {
    // Should this thread panic, the others must not wait for its turn for ever.
    let _guard = Abandon(shared);
    let mut batch = Batch::default();
    let mut printer = Printer::new(Vec::new(), opts.clone());
    while let Some(turn) = shared.read_batch(&mut batch) {
        batch.dissect(front);
        let numbered = shared.in_order.take_turn(turn, |pipe| {
            for d in batch.dissections() {
                pipe.push_dissected(d);
            }
        });
        if numbered.is_none() {
            return;
        }
        printer.writer_mut().clear();
        for d in batch.dissections() {
            // Writing into memory cannot fail.
            let _ = printer.print(d);
        }
        let clipped = std::mem::take(&mut printer.clipped);
        let written = shared.out.take_turn(turn, |out| {
            if out.error.is_none()
                && let Err(e) = out.printer.write_drawn(printer.writer_mut(), clipped)
            {
                out.error = Some(e);
                true
            } else {
                out.error.is_some()
            }
        });
        match written {
            Some(false) => {}
            // The output failed (a closed pipe): read no more.
            Some(true) => {
                lock(&shared.read).stop = true;
                return;
            }
            None => return,
        }
    }
}

impl<W: Write> Shared<'_, W> {
    /// Read the next batch (in order, whichever thread asks): its turn, or `None` at the end.
    fn read_batch(&self, batch: &mut Batch) -> Option<u64> {
        let mut guard = lock(&self.read);
        let r = &mut *guard;
        if r.end.is_some() || r.stop || r.left == 0 {
            return None;
        }
        batch.clear();
        while batch.frames.len() < self.batch && r.left > 0 {
            r.progress
                .frame(r.reader.frames_read(), r.reader.bytes_read());
            match r.reader.next_frame() {
                Ok(Some(f)) => batch.add(&f),
                Ok(None) => {
                    r.end = Some(Ok(()));
                    break;
                }
                Err(e) => {
                    r.end = Some(Err(e));
                    break;
                }
            }
            r.left -= 1;
        }
        if batch.frames.is_empty() {
            return None;
        }
        r.shown += batch.frames.len() as u64;
        r.next_turn += 1;
        Some(r.next_turn - 1)
    }
}

/// Work that must be done batch by batch in capture order, by whichever thread holds the
/// batch: each waits for its turn.
struct InTurn<T> {
    state: Mutex<Turns<T>>,
    next: Condvar,
    /// The turn being taken, readable without the lock: a thread whose turn is just about
    /// to come looks at it for a few microseconds before it goes to sleep.
    now: AtomicU64,
}

struct Turns<T> {
    value: T,
    /// The batch whose turn it is.
    turn: u64,
    /// A thread panicked: no turn will come.
    abandoned: bool,
    /// Threads waiting for their turn (to be woken only if there are some).
    waiting: u32,
}

impl<T> InTurn<T> {
    fn new(value: T) -> InTurn<T> {
        InTurn {
            state: Mutex::new(Turns {
                value,
                turn: 0,
                abandoned: false,
                waiting: 0,
            }),
            next: Condvar::new(),
            now: AtomicU64::new(0),
        }
    }

    /// Wait for batch `turn`'s turn, do `f`, and give the turn to the next batch. `None` if
    /// another thread panicked.
    fn take_turn<R>(&self, turn: u64, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        // The turn usually comes within microseconds (another thread is numbering its
        // batch): look for it for up to `SPIN` before sleeping, which would cost a context
        // switch each way.
        if self.now.load(Ordering::Acquire) != turn {
            let until = Instant::now() + SPIN;
            while self.now.load(Ordering::Acquire) != turn && Instant::now() < until {
                for _ in 0..32 {
                    std::hint::spin_loop();
                }
            }
        }
        let mut s = lock(&self.state);
        while s.turn != turn && !s.abandoned {
            s.waiting += 1;
            s = self.next.wait(s).unwrap_or_else(|e| e.into_inner());
            s.waiting -= 1;
        }
        if s.abandoned {
            return None;
        }
        let r = f(&mut s.value);
        s.turn += 1;
        self.now.store(s.turn, Ordering::Release);
        let wake = s.waiting > 0;
        drop(s);
        if wake {
            self.next.notify_all();
        }
        Some(r)
    }

    fn abandon(&self) {
        lock(&self.state).abandoned = true;
        self.next.notify_all();
    }
}

/// On a thread's panic, tell the others to stop waiting (the panic itself is passed on when
/// the threads are joined).
struct Abandon<'s, 'a, W: Write>(&'s Shared<'a, W>);

impl<W: Write> Drop for Abandon<'_, '_, W> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            lock(&self.0.read).stop = true;
            self.0.in_order.abandon();
            self.0.out.abandon();
        }
    }
}

/// Lock, also after another thread panicked holding the lock (the panic is passed on anyway).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
