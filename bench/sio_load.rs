//! Load client for `bench/sio.sh`: fan a room broadcast out to many connected clients and
//! count deliveries per second. It speaks WebSocket (RFC 6455), Engine.IO v4 and Socket.IO v5
//! by hand and does as little as it can per message, so that the same client measures any
//! server (wirelab's, with socketioxide, and node's socket.io alike) without being the
//! bottleneck itself:
//!
//! * each connection reads into one buffer that is reused (no allocation, no zero-filling per
//!   read: a general WebSocket library fills its whole read buffer, 128 KiB by default, with
//!   zeros before every read, which was more than half of this client's time);
//! * a message is only looked at for its first bytes (`42["room"` counts, `2` is a PING);
//! * the sender is woken when a broadcast has reached every receiver, instead of polling.
//!
//! Every connection goes to the loopback URLs given; the run is bounded in count (`--clients`,
//! `--messages`) and in time (`--timeout-secs`), and stops by itself.
//!
//! ```text
//! cargo run --release --example sio_load -- --url http://127.0.0.1:3000 --clients 1000 --messages 200
//! ```

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser, Debug)]
#[command(about = "Room-broadcast fan-out load for a Socket.IO server (loopback only)")]
struct Args {
    /// Server URL(s), http://127.0.0.1:PORT; receivers are spread over them in turn, the
    /// sender uses the first.
    #[arg(long, required = true)]
    url: Vec<String>,
    /// How many receiving clients join the room.
    #[arg(long, default_value_t = 1000)]
    clients: u64,
    /// How many room messages the sender emits.
    #[arg(long, default_value_t = 200)]
    messages: u64,
    /// At most this many broadcasts in flight (not yet delivered to every receiver).
    #[arg(long, default_value_t = 8)]
    window: u64,
    /// Bytes of text in each message.
    #[arg(long, default_value_t = 64)]
    payload: usize,
    /// Give up after this many seconds in all.
    #[arg(long, default_value_t = 120)]
    timeout_secs: u64,
    /// A label for the result line.
    #[arg(long, default_value = "server")]
    label: String,
}

/// Only loopback: this tool must never load anyone else's machine. Returns `host:port`.
fn check_loopback(url: &str) -> Result<String, Error> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("ws://"))
        .ok_or("the URL must start with http:// or ws://")?;
    let host_port = rest.split('/').next().unwrap_or("");
    let host = host_port
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(host_port);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = if host == "localhost" {
        IpAddr::from([127, 0, 0, 1])
    } else {
        host.parse()
            .map_err(|_| format!("{host}: give a loopback IP address"))?
    };
    if !ip.is_loopback() {
        return Err(format!(
            "{ip} is not a loopback address; this load tool only targets this machine"
        )
        .into());
    }
    Ok(host_port.to_string())
}

/// The largest frame this client accepts (the bench's messages are about 150 bytes).
const MAX_FRAME: usize = 1 << 20;

/// One frame found in a connection's buffer: its opcode and where its payload is.
struct Frame {
    opcode: u8,
    start: usize,
    end: usize,
}

/// A WebSocket client connection, read through one reusable buffer.
struct Conn {
    stream: TcpStream,
    /// Bytes read and not yet parsed are `buf[pos..]`.
    buf: Vec<u8>,
    pos: usize,
    /// The masking key of the frames this client sends (RFC 6455 5.3: a client masks every
    /// frame). A new one per connection; the servers only check that a mask is there.
    mask: [u8; 4],
}

impl Conn {
    /// TCP connect and the HTTP upgrade to WebSocket on the Engine.IO path.
    async fn open(host_port: &str, n: u64) -> Result<Conn, Error> {
        let stream = TcpStream::connect(host_port).await?;
        // No Nagle delay on small writes (the servers turn it off too).
        stream.set_nodelay(true)?;
        let seed = (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5DEE_CE66).to_le_bytes();
        let mut conn = Conn {
            stream,
            buf: Vec::with_capacity(8192),
            pos: 0,
            mask: [seed[0] | 1, seed[1], seed[2], seed[3]],
        };
        // Any 16 bytes in base64 make a valid key; the answer's accept key is not checked
        // (the status line is).
        let req = format!(
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host_port}\r\n\
             Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: d2lyZWxhYiBsb2FkIGtleQ==\r\n\r\n"
        );
        conn.stream.write_all(req.as_bytes()).await?;
        let end = loop {
            if let Some(i) = conn.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if conn.buf.len() > 16 * 1024 {
                return Err("the HTTP answer's head is too long".into());
            }
            conn.fill().await?;
        };
        if !conn.buf.starts_with(b"HTTP/1.1 101") {
            let line = String::from_utf8_lossy(&conn.buf[..end]);
            let line = line.lines().next().unwrap_or("").to_string();
            return Err(format!("the upgrade was refused: {line}").into());
        }
        conn.pos = end;
        Ok(conn)
    }

    /// Read more bytes (at least one, or an error: the server closed).
    async fn fill(&mut self) -> Result<(), Error> {
        if self.pos > 0 {
            // Keep only what is not parsed yet: usually nothing, or part of one frame.
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        if self.buf.capacity() - self.buf.len() < 4096 {
            self.buf.reserve(8192);
        }
        // `read_buf` reads into the spare capacity: nothing is zero-filled first.
        if self.stream.read_buf(&mut self.buf).await? == 0 {
            return Err("the server closed the connection".into());
        }
        Ok(())
    }

    /// The next whole frame in the buffer, if one is there.
    fn parse(&mut self) -> Result<Option<Frame>, Error> {
        let b = &self.buf[self.pos..];
        if b.len() < 2 {
            return Ok(None);
        }
        let (fin, opcode) = (b[0] & 0x80 != 0, b[0] & 0x0f);
        if b[1] & 0x80 != 0 {
            return Err("a frame from the server is masked (RFC 6455 5.1 forbids it)".into());
        }
        let (len, head) = match b[1] & 0x7f {
            126 if b.len() >= 4 => (u16::from_be_bytes([b[2], b[3]]) as usize, 4),
            127 if b.len() >= 10 => {
                let n = u64::from_be_bytes(b[2..10].try_into().unwrap_or([0xff; 8]));
                (usize::try_from(n).unwrap_or(usize::MAX), 10)
            }
            126 | 127 => return Ok(None),
            n => (n as usize, 2),
        };
        if len > MAX_FRAME {
            return Err(format!("a frame of {len} bytes: more than this client takes").into());
        }
        if !fin || opcode == 0 {
            return Err("a fragmented message: this load client takes whole frames only".into());
        }
        if b.len() < head + len {
            return Ok(None);
        }
        let start = self.pos + head;
        self.pos = start + len;
        Ok(Some(Frame {
            opcode,
            start,
            end: start + len,
        }))
    }

    fn payload(&self, f: &Frame) -> &[u8] {
        &self.buf[f.start..f.end]
    }

    /// Send one masked frame.
    async fn send(&mut self, opcode: u8, payload: &[u8]) -> Result<(), Error> {
        let mut out = Vec::with_capacity(payload.len() + 14);
        out.push(0x80 | opcode);
        match payload.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n <= 0xffff => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&self.mask);
        out.extend(
            payload
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ self.mask[i % 4]),
        );
        self.stream.write_all(&out).await?;
        Ok(())
    }

    async fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.send(0x1, text.as_bytes()).await
    }

    /// Read until a text message comes: its bytes. Pings (WebSocket's and Engine.IO's) are
    /// answered on the way.
    async fn next_text(&mut self) -> Result<Vec<u8>, Error> {
        loop {
            while let Some(f) = self.parse()? {
                match f.opcode {
                    0x1 => {
                        let t = self.payload(&f).to_vec();
                        if t == b"2" {
                            self.send_text("3").await?;
                        } else {
                            return Ok(t);
                        }
                    }
                    0x8 => return Err("the server closed the WebSocket".into()),
                    0x9 => {
                        let p = self.payload(&f).to_vec();
                        self.send(0xA, &p).await?;
                    }
                    _ => {}
                }
            }
            self.fill().await?;
        }
    }
}

/// Connect, do the Engine.IO and Socket.IO handshakes.
async fn connect(host_port: &str, n: u64) -> Result<Conn, Error> {
    let mut c = Conn::open(host_port, n).await?;
    let mut opened = false;
    loop {
        let t = tokio::time::timeout(Duration::from_secs(20), c.next_text())
            .await
            .map_err(|_| "handshake timed out")??;
        if t.starts_with(b"0") && !opened {
            opened = true;
            c.send_text("40").await?;
        } else if t.starts_with(b"40") {
            return Ok(c);
        } else if t.starts_with(b"44") {
            return Err(format!("connect refused: {}", String::from_utf8_lossy(&t)).into());
        }
    }
}

/// Join the room and wait for the ack `430…`.
async fn join(c: &mut Conn) -> Result<(), Error> {
    c.send_text(r#"420["join","bench"]"#).await?;
    loop {
        let t = tokio::time::timeout(Duration::from_secs(20), c.next_text())
            .await
            .map_err(|_| "ack timed out")??;
        if t.starts_with(b"430") {
            return Ok(());
        }
    }
}

/// How far the broadcasts got: `done[s]` receivers have message `s`. Each receiver gets the
/// messages in order, so when message `s` has reached every receiver, the slowest one has at
/// least `s + 1`: the sender may send up to `s + 1 + window`.
struct Progress {
    done: Vec<AtomicU32>,
    clients: u32,
    /// Wakes the sender when a message has reached every receiver.
    complete: Notify,
}

/// A receiver: count the room messages, answer pings, until the task is aborted or the
/// server closes.
async fn receive(mut c: Conn, progress: Arc<Progress>) -> Result<(), Error> {
    let mut count = 0usize;
    loop {
        let mut pong = false;
        while let Some(f) = c.parse()? {
            if f.opcode == 0x1 {
                let t = c.payload(&f);
                if t.starts_with(br#"42["room""#) {
                    if let Some(d) = progress.done.get(count)
                        && d.fetch_add(1, Ordering::Relaxed) + 1 == progress.clients
                    {
                        progress.complete.notify_one();
                    }
                    count += 1;
                } else if t == b"2" {
                    pong = true;
                }
            } else if f.opcode == 0x8 {
                return Ok(());
            }
        }
        if pong {
            c.send_text("3").await?;
        }
        c.fill().await?;
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args = Args::parse();
    let hosts: Vec<String> = args
        .url
        .iter()
        .map(|u| check_loopback(u))
        .collect::<Result<_, _>>()?;
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    let clients = u32::try_from(args.clients).map_err(|_| "too many --clients")?;
    let progress = Arc::new(Progress {
        done: (0..args.messages).map(|_| AtomicU32::new(0)).collect(),
        clients,
        complete: Notify::new(),
    });

    // Receivers: connect (50 at a time) and join the room; then each counts room events.
    let mut receivers = Vec::new();
    let connect_start = Instant::now();
    let mut n = 0;
    while n < args.clients {
        let batch = (args.clients - n).min(50);
        let mut joins = Vec::new();
        for i in 0..batch {
            let host = hosts[((n + i) as usize) % hosts.len()].clone();
            let k = n + i;
            joins.push(tokio::spawn(async move {
                let mut c = connect(&host, k)
                    .await
                    .map_err(|e| format!("client {k}: connect: {e}"))?;
                join(&mut c)
                    .await
                    .map_err(|e| format!("client {k}: join: {e}"))?;
                Ok::<Conn, Error>(c)
            }));
        }
        for j in joins {
            let c = j.await??;
            receivers.push(tokio::spawn(receive(c, progress.clone())));
        }
        n += batch;
        if Instant::now() > deadline {
            return Err("connecting the clients took longer than --timeout-secs".into());
        }
    }
    let connect_secs = connect_start.elapsed().as_secs_f64();

    // The sender: not in the room; emits at most `window` broadcasts ahead of the slowest
    // receiver, so no socket's queue on the server holds more than `window` messages.
    let mut sender = connect(&hosts[0], args.clients).await?;
    let text = "x".repeat(args.payload);
    let start = Instant::now();
    let (mut sent, mut complete) = (0u64, 0u64);
    let mut timed_out = false;
    while complete < args.messages {
        while sent < args.messages && sent < complete + args.window {
            let msg = format!(r#"42["room",{{"room":"bench","text":"{text}","seq":{sent}}}]"#);
            sender.send_text(&msg).await?;
            sent += 1;
        }
        tokio::select! {
            _ = progress.complete.notified() => {}
            // The sender's own connection: answer its pings (nothing else comes to it).
            r = sender.fill() => {
                r.map_err(|e| format!("the sender: {e}"))?;
                let mut pong = false;
                while let Some(f) = sender.parse()? {
                    pong |= f.opcode == 0x1 && sender.payload(&f) == b"2";
                }
                if pong {
                    sender.send_text("3").await?;
                }
            }
            _ = tokio::time::sleep_until(deadline.into()) => {
                timed_out = true;
                break;
            }
        }
        while complete < args.messages
            && progress.done[complete as usize].load(Ordering::Relaxed) >= clients
        {
            complete += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let total = args.messages * args.clients;
    let got: u64 = progress
        .done
        .iter()
        .map(|d| u64::from(d.load(Ordering::Relaxed)))
        .sum();
    for r in receivers {
        r.abort();
    }
    println!(
        "{}: clients={} messages={} delivered={}/{} in {:.3} s => {:.0} deliveries/s (connect {:.1} s){}",
        args.label,
        args.clients,
        args.messages,
        got,
        total,
        secs,
        got as f64 / secs,
        connect_secs,
        if timed_out { " TIMED OUT" } else { "" }
    );
    if timed_out || got < total {
        return Err(format!("only {got} of {total} deliveries arrived").into());
    }
    Ok(())
}
