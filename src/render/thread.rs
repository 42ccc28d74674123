//! Drawing packets on several cores while the first one dissects the next ones.
//!
//! # The idea
//!
//! Showing a packet in a detailed view is two jobs. *Dissecting* it, with the stream analysis,
//! must go in capture order: a segment's relative sequence number or a retransmission can
//! only be known from the frames before it. *Drawing* it (its layer tree, its JSON object, its
//! hex dump) needs nothing but the packet itself, and it is most of the work: the layer tree
//! of a packet is about ten kilobytes of text, its dissection a few microseconds. So once a
//! packet is dissected, any core can draw it. The calling thread reads and dissects, and hands
//! the dissections, in numbered batches, to one drawing thread per core; each draws its batch
//! into a text of its own, and the calling thread writes the texts out in the order of their
//! numbers, whichever was finished first.
//!
//! ```text
//!  calling thread:  read ─ dissect ─ stream analysis ──> batch 7, batch 8, …
//!                                                          │          │
//!  drawing threads:                        draw batch 7 <──┘          └──> draw batch 8
//!                                               │                            │
//!  calling thread:  write batch 7, then batch 8 (in order) <─────────────────┘
//!                   and reuse their dissections' memory for the next frames
//! ```
//!
//! Each drawing thread has a [`Printer`] with the same options, and draws a packet with the
//! same code as on one thread, so the output is byte for byte the same: the same texts, in
//! the same order. Only views that draw each packet on its own go on several threads (the
//! layer tree, JSON, the hex dump); the ladder remembers the conversations it drew, the fields
//! view its header. The summary's line is too cheap to be worth a hand-over on its own:
//! `wirelab dissect` puts the summary on several cores its own way (`commands::cores`), where
//! one thread takes a batch of frames from the file to the screen, its dissection included. The dissections travel in batches (a hand-over for every packet
//! would cost more than some packets take to draw) and come back to be filled again, so
//! their memory is reused as on one thread. At most a few batches per thread are in flight,
//! so the memory stays bounded however long the capture.
//!
//! A small capture never starts a thread: the first [`START_AFTER`] packets are drawn on the
//! calling thread, and only a capture that goes on hands the rest to the drawing threads. On a
//! machine with one core nothing moves.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::{Options, Printer, View};
use crate::dissect::model::{Dissection, Timestamp};

/// Packets drawn on the calling thread before drawing threads take over. Below it threads
/// would save less than they cost to start.
pub const START_AFTER: u64 = 2_000;
/// Dissections handed over at a time.
const BATCH: usize = 32;
/// Batches handed over and not yet written, per drawing thread.
const IN_FLIGHT: usize = 4;

/// Where packets go: a [`Printer`] on this thread, or drawing threads. See the module
/// documentation.
pub struct Output<W: Write> {
    state: State<W>,
    /// Packets to draw here before starting the threads (`u64::MAX`: never).
    start_after: u64,
    printed: u64,
}

// One per command, never copied per packet: its size does not matter.
#[allow(clippy::large_enum_variant)]
enum State<W: Write> {
    Here(Printer<W>),
    There(Box<Pool<W>>),
    /// Only while the printer changes hands.
    Moving,
}

/// A batch of dissections to draw, numbered in capture order.
struct Job {
    seq: u64,
    batch: Vec<Dissection>,
    /// Where to draw (an empty buffer, reused).
    text: Vec<u8>,
    /// The time the capture's packets are shown relative to ([`Printer::first_time`]).
    first: Option<Timestamp>,
}

/// A batch drawn.
struct Drawn {
    seq: u64,
    batch: Vec<Dissection>,
    text: Vec<u8>,
    /// Lines cut to the width ([`Printer::clipped`]).
    clipped: u64,
}

/// The drawing threads, and what the calling thread keeps to write their work in order.
struct Pool<W: Write> {
    /// The calling thread's printer: it writes what the threads drew.
    printer: Printer<W>,
    jobs: Option<Sender<Job>>,
    drawn: Receiver<Drawn>,
    threads: Vec<JoinHandle<()>>,
    /// The batch being filled.
    batch: Vec<Dissection>,
    /// Dissections and buffers that came back, to be used again.
    spare: Vec<Dissection>,
    spare_text: Vec<Vec<u8>>,
    /// The number of the next batch to hand over, and of the next one to write.
    next_seq: u64,
    next_write: u64,
    /// Batches drawn before the ones ahead of them, waiting for their turn.
    waiting: BTreeMap<u64, Drawn>,
    in_flight_max: usize,
}

impl<W: Write> Output<W> {
    /// Draw on every core once a capture passes [`START_AFTER`] packets, if this machine has
    /// more than one and the view draws each packet on its own.
    pub fn new(printer: Printer<W>) -> Output<W> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let n = if cores > 1 && parallel_view(&printer.opts) {
            START_AFTER
        } else {
            u64::MAX
        };
        Output::starting_after(printer, n)
    }

    /// Draw on this thread only.
    pub fn here(printer: Printer<W>) -> Output<W> {
        Output::starting_after(printer, u64::MAX)
    }

    /// Draw the first `n` packets here and the rest on drawing threads (0: all of them
    /// there; `u64::MAX`: none). Views that cannot be drawn apart stay here.
    pub fn starting_after(printer: Printer<W>, n: u64) -> Output<W> {
        let n = if parallel_view(&printer.opts) {
            n
        } else {
            u64::MAX
        };
        Output {
            state: State::Here(printer),
            start_after: n,
            printed: 0,
        }
    }

    /// Show one packet. The dissection may be taken (swapped with an empty one whose memory
    /// the caller reuses): the caller must not need it afterwards.
    pub fn print(&mut self, d: &mut Dissection) -> io::Result<()> {
        self.printed += 1;
        if let State::Here(p) = &mut self.state {
            if self.printed <= self.start_after {
                return p.print(d);
            }
            self.start();
        }
        let State::There(pool) = &mut self.state else {
            unreachable!("the printer is here or with the pool")
        };
        pool.add(d)
    }

    /// Start the drawing threads, one per core.
    fn start(&mut self) {
        let State::Here(printer) = std::mem::replace(&mut self.state, State::Moving) else {
            return;
        };
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
        let (jobs, from) = channel::<Job>();
        let from = Arc::new(Mutex::new(from));
        let (give, drawn) = channel::<Drawn>();
        let threads = (0..cores)
            .map(|_| {
                let (from, give, opts) = (from.clone(), give.clone(), printer.opts.clone());
                std::thread::spawn(move || draw_batches(&from, &give, opts))
            })
            .collect();
        self.state = State::There(Box::new(Pool {
            printer,
            jobs: Some(jobs),
            drawn,
            threads,
            batch: Vec::with_capacity(BATCH),
            spare: Vec::new(),
            spare_text: Vec::new(),
            next_seq: 0,
            next_write: 0,
            waiting: BTreeMap::new(),
            in_flight_max: IN_FLIGHT * cores,
        }));
    }

    /// Wait until every packet given is drawn and written, stop the threads, and keep the
    /// printer on this thread.
    fn stop(&mut self) -> io::Result<&mut Printer<W>> {
        if matches!(self.state, State::There(_))
            && let State::There(mut pool) = std::mem::replace(&mut self.state, State::Moving)
        {
            let result = pool.finish();
            self.state = State::Here(pool.printer);
            // From now on, packets (if any) are drawn here.
            self.start_after = u64::MAX;
            result?;
        }
        match &mut self.state {
            State::Here(p) => Ok(p),
            _ => unreachable!("the printer is back"),
        }
    }

    /// Every packet drawn and written: the printer, for what comes after the packets.
    pub fn printer(&mut self) -> io::Result<&mut Printer<W>> {
        self.stop()
    }

    /// Every packet drawn and written: the printer itself.
    pub fn into_printer(mut self) -> io::Result<Printer<W>> {
        self.stop()?;
        match std::mem::replace(&mut self.state, State::Moving) {
            State::Here(p) => Ok(p),
            _ => unreachable!("the printer is back"),
        }
    }
}

/// Views whose every packet is drawn on its own, from its dissection and the options alone.
fn parallel_view(opts: &Options) -> bool {
    matches!(opts.view, View::Layers | View::Json | View::Hex)
}

/// A drawing thread: take the next batch, draw it with a printer of its own, give it back.
fn draw_batches(jobs: &Mutex<Receiver<Job>>, drawn: &Sender<Drawn>, opts: Options) {
    let mut printer = Printer::new(Vec::new(), opts);
    loop {
        // The lock is held only to take a job, not to draw it.
        let job = jobs.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok(Job {
            seq,
            batch,
            text,
            first,
        }) = job
        else {
            return; // no more jobs
        };
        *printer.writer_mut() = text;
        printer.set_first_time(first);
        for d in &batch {
            // Writing into memory cannot fail.
            let _ = printer.print(d);
        }
        let done = Drawn {
            seq,
            batch,
            text: std::mem::take(printer.writer_mut()),
            clipped: std::mem::take(&mut printer.clipped),
        };
        if drawn.send(done).is_err() {
            return; // the calling thread gave up (it could not write)
        }
    }
}

impl<W: Write> Pool<W> {
    /// Take the dissection into the batch being filled, leaving an empty one in its place.
    fn add(&mut self, d: &mut Dissection) -> io::Result<()> {
        // The time every packet is shown relative to, known from the first one.
        self.printer.first_time(d);
        let mut taken = self.spare.pop().unwrap_or_default();
        std::mem::swap(d, &mut taken);
        self.batch.push(taken);
        if self.batch.len() >= BATCH {
            self.hand_over()?;
        }
        Ok(())
    }

    /// Hand the batch over to the drawing threads; write what they have finished, waiting
    /// for them when too many batches are in flight.
    fn hand_over(&mut self) -> io::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let job = Job {
            seq: self.next_seq,
            batch: std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH)),
            text: self.spare_text.pop().unwrap_or_default(),
            first: self.printer.first,
        };
        self.next_seq += 1;
        if let Some(jobs) = &self.jobs {
            jobs.send(job).map_err(|_| gone())?;
        }
        self.write_ready(false)?;
        while (self.next_seq - self.next_write) as usize > self.in_flight_max {
            self.write_ready(true)?;
        }
        Ok(())
    }

    /// Write the drawn batches whose turn it is. With `wait`, wait for one batch first.
    fn write_ready(&mut self, wait: bool) -> io::Result<()> {
        let mut wait = wait;
        loop {
            let got = if wait {
                wait = false;
                self.drawn.recv().map_err(|_| gone())?
            } else {
                match self.drawn.try_recv() {
                    Ok(d) => d,
                    Err(TryRecvError::Empty) => return Ok(()),
                    Err(TryRecvError::Disconnected) => return Err(gone()),
                }
            };
            self.waiting.insert(got.seq, got);
            while let Some(mut done) = self.waiting.remove(&self.next_write) {
                self.printer.write_drawn(&done.text, done.clipped)?;
                self.next_write += 1;
                done.text.clear();
                self.spare_text.push(done.text);
                self.spare.append(&mut done.batch);
            }
        }
    }

    /// Hand over the last batch, write everything, and stop the threads.
    fn finish(&mut self) -> io::Result<()> {
        self.hand_over()?;
        while self.next_write < self.next_seq {
            self.write_ready(true)?;
        }
        self.jobs = None; // the threads see the end of the jobs and return
        for t in self.threads.drain(..) {
            if let Err(panic) = t.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Ok(())
    }
}

/// The drawing threads stopped before their work was done: only a panic in one of them does
/// that, and the panic itself is reported when the thread is joined.
fn gone() -> io::Error {
    io::Error::other("a drawing thread stopped")
}
