//! The command line: one argument struct per subcommand.
//!
//! The doc comments on these types are the `--help` text, so they are written for the person
//! typing the command.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::render::View;
use crate::source::topology::{LabPlan, LinkArg, Topology};

/// Learn networking by making it happen on your own machine and looking at the bytes.
///
/// Every command produces real traffic (or reads a capture) and shows each packet header by
/// header, every field placed on both the OSI model and the TCP/IP model.
#[derive(Debug, Parser)]
#[command(
    name = "wirelab",
    version,
    max_term_width = 100,
    help_expected = true,
    after_help = "Start with `wirelab tour`, or `wirelab define socket`."
)]
pub struct Cli {
    /// When to colour the output: auto colours only a terminal, and honours NO_COLOR.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// A guided tour: every lesson's demo in order, each introduced in a few lines (about a
    /// minute; --step for one step per key press).
    Tour(TourArgs),
    /// The OSI and TCP/IP models side by side, with the protocols placed on them.
    Layers,
    /// Explain a networking term in plain words, and name the command that shows it live
    /// (without a term: the list of terms).
    Define(DefineArgs),
    /// Take a capture file (pcap or pcapng) apart, packet by packet.
    Dissect(DissectArgs),
    /// The lessons, with your progress.
    Lessons,
    /// Show one lesson's text, then run its live demo.
    Lesson(LessonArgs),
    /// Grade your answers and exercises (all lessons, or one).
    Check(CheckArgs),
    /// A hint for an exercise or a trace question (without an id: the list of them).
    Hint(HintArgs),
    /// Build a large capture by repeating real frames (for the benchmarks).
    #[command(hide = true)]
    MakeCapture(MakeCaptureArgs),
    /// Capture live traffic on a network interface and show it (Ctrl-C stops).
    Capture(CaptureArgs),
    /// The lab: a private network wirelab builds for itself, no root needed: client and server,
    /// routers between them (--routers), links with a rate, delay and loss (--link).
    Lab(LabArgs),
    /// IP, the network layer: hops and TTL (traceroute), MTU, fragments and path MTU discovery.
    #[command(subcommand)]
    Ip(IpCommand),
    /// TCP: the echo demo (handshake, data, teardown, socket states), or a server and a
    /// client in two terminals.
    Tcp(TcpArgs),
    /// UDP: datagrams keep their boundaries, need no handshake, may be lost.
    Udp(UdpArgs),
    /// Send a bounded UDP flood to 127.0.0.1 (for bench/capture.sh).
    #[command(hide = true)]
    Flood(FloodArgs),
    /// Socket.IO live: a chat server, a client that shows every packet, and the lesson's demo.
    #[command(subcommand)]
    Sio(SioCommand),
    /// WebSocket: serve a chat page, connect to a server, or follow one connection (echo).
    #[command(subcommand)]
    Ws(WsCommand),
    /// Print a completion script for your shell, e.g. `wirelab completions bash`.
    Completions(CompletionsArgs),
    /// Print wirelab's manual page (roff), e.g. `wirelab man > wirelab.1; man ./wirelab.1`.
    Man(ManArgs),
}

#[derive(Debug, Subcommand)]
pub enum SioCommand {
    /// Run a Socket.IO chat server (socketioxide), with a chat page at / and a console that
    /// emits to everyone, one client or a room (/help).
    Serve(SioServeArgs),
    /// Connect wirelab's own Socket.IO client and show every packet, raw and explained.
    Connect(SioConnectArgs),
    /// One server, three clients: to all, to one, to a room, to all but the sender, acks both
    /// ways, an unhandled event; then a table of who received what.
    Demo(SioDemoArgs),
}

#[derive(Debug, Args)]
pub struct SioServeArgs {
    /// The TCP port to listen on (0 picks a free one).
    #[arg(long, short, default_value_t = 3000)]
    pub port: u16,
    /// Share rooms with other servers through this Redis (7 or later), e.g.
    /// redis://127.0.0.1:6379/?protocol=resp3. Without it, rooms live in this process only.
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// Listen on every interface instead of 127.0.0.1 only: other machines can then connect.
    #[arg(long)]
    pub public: bool,
    /// The server's name, shown in logs and sent in each welcome event.
    #[arg(long, default_value = "A")]
    pub name: String,
    /// The largest message a client may send, in bytes; bigger ones close its connection.
    #[arg(long, default_value_t = 100_000, value_name = "BYTES")]
    pub max_payload: u64,
    /// Log connections and refusals only, not every event (for benchmarks).
    #[arg(long)]
    pub quiet: bool,
    /// The time a client has to send the whole HTTP head of each request, in seconds; a
    /// connection that is slower, or idle between requests for longer, is closed.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub head_timeout: f64,
    /// The most connections open at once; one more is answered 503 Service Unavailable.
    /// Default: as many as the file-descriptor limit (ulimit -n) leaves room for, at most
    /// 10,000.
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// The most packets waiting to be written to one client (socketioxide's buffer). A
    /// client that reads too slowly to stay under it is disconnected, and the server says how
    /// many messages it missed.
    #[arg(long, value_name = "PACKETS", default_value_t = 1024)]
    pub queue: usize,
}

#[derive(Debug, Args)]
pub struct SioConnectArgs {
    /// The server: http://127.0.0.1:3000 (a path names a namespace: http://host:3000/admin).
    pub url: String,
    /// Run the commands in this file instead of reading them from the keyboard (one a line;
    /// /expect EVENT with its optional SECONDS and /wait MS help scripts); exit 1 if one fails.
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
    /// The JSON this client answers the server's ack requests with (default: an object naming
    /// the event).
    #[arg(long, value_name = "JSON")]
    pub ack_reply: Option<String>,
    /// Show the raw packets only, without the explanation under each.
    #[arg(long)]
    pub raw: bool,
}

#[derive(Debug, Args)]
#[command(mut_arg("view", |a| {
    a.hide_default_value(true).help(
        "Also show the captured traffic afterwards, in this view (without --view: only the \
         steps, the server's log and the table, and how many frames were captured); json \
         gives JSON Lines only on standard output, the steps go to standard error.",
    )
}))]
pub struct SioDemoArgs {
    /// How many servers: 2 shares rooms through Redis (a local redis-server is started when
    /// --redis is not given).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub servers: u8,
    /// The Redis to use with --servers 2, e.g. redis://127.0.0.1:6379/?protocol=resp3.
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// Do not print every packet; only the steps, the server's log and the table.
    #[arg(long)]
    pub no_wire: bool,

    /// Where to run: the lab (servers on the server host, clients on the client host,
    /// captured on the cable), the host's loopback, or a replay of the recorded trace.
    #[arg(long, value_enum, default_value_t = crate::demos::NetChoice::Auto)]
    pub net: crate::demos::NetChoice,

    /// Write the captured frames to this file (.pcapng or .pcap).
    #[arg(long, short = 'w', value_name = "FILE")]
    pub write: Option<PathBuf>,

    /// Show the captured traffic afterwards in this view too (and filter it with -Y).
    #[command(flatten)]
    pub view: ViewArgs,
}

impl Command {
    /// Does this command use the lab, and which one? The lab must be built before any thread
    /// starts, so `main` asks this first. An error is a bad `--routers`/`--link` combination.
    pub fn lab_plan(&self) -> Result<Option<LabPlan>, String> {
        use crate::demos::NetChoice;
        let wants = |n: NetChoice| matches!(n, NetChoice::Auto | NetChoice::Lab);
        let cable = Some(LabPlan {
            topology: Topology::default(),
            join: false,
        });
        Ok(match self {
            Command::Lab(a) => Some(LabPlan {
                topology: Topology::new(a.routers.unwrap_or(0), &a.links)?,
                join: a.routers.is_none() && a.links.is_empty(),
            }),
            Command::Tcp(TcpArgs {
                command: TcpCommand::Echo(a),
            }) if wants(a.net) => cable,
            Command::Udp(UdpArgs {
                command: UdpCommand::Echo(a),
            }) if wants(a.net) => cable,
            Command::Ws(WsCommand::Echo(a)) if wants(a.net) => cable,
            Command::Sio(SioCommand::Demo(a)) if wants(a.net) => cable,
            Command::Ip(IpCommand::Traceroute(a)) if wants(a.net) => Some(LabPlan {
                topology: Topology::new(a.routers, &a.links)?,
                join: false,
            }),
            Command::Tcp(TcpArgs {
                command: TcpCommand::Transfer(a),
            }) if wants(a.net) => Some(LabPlan {
                topology: a.topology()?,
                join: false,
            }),
            Command::Ip(IpCommand::Mtu(a)) if wants(a.net) => Some(LabPlan {
                topology: a.topology()?,
                join: false,
            }),
            _ => None,
        })
    }

    /// Does this command use the lab?
    pub fn wants_lab(&self) -> bool {
        matches!(self.lab_plan(), Ok(Some(_)))
    }
}

#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// The interface to capture on. Default: the lab's eth0 when run inside the lab
    /// (`wirelab lab shell`), else the loopback interface (lo on Linux, lo0 on macOS,
    /// \Device\NPF_Loopback with Npcap on Windows).
    #[arg(long, short = 'i', value_name = "IFACE")]
    pub interface: Option<String>,

    /// Also write the packets shown to this file: pcapng if the name ends in .pcapng, else
    /// pcap. The file is complete even if you stop with Ctrl-C.
    #[arg(long, short = 'w', value_name = "FILE")]
    pub write: Option<PathBuf>,

    /// Do not print packets (only count them, and write them with -w).
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// The kernel's buffer for frames waiting to be read, in MiB.
    #[arg(long, default_value_t = 32, value_name = "MIB")]
    pub buffer: usize,

    /// Capture only frames addressed to this host (do not ask for promiscuous mode).
    #[arg(long)]
    pub no_promiscuous: bool,

    /// Stop after this many seconds, with the summary, even if -c N packets have not come.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,

    /// How to read frames on Linux: batch (recvmmsg, 64 frames a system call) or pnet
    /// (pnet_datalink's receiver, one frame per poll + recvfrom). Elsewhere pnet always reads.
    #[arg(long, value_enum, default_value_t = crate::source::live::Reader::Batch)]
    pub reader: crate::source::live::Reader,

    #[command(flatten)]
    pub view: ViewArgs,

    #[command(flatten)]
    pub pace: PaceArgs,
}

/// `wirelab lab`: build the lab and show it (or say why it cannot be built here).
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  wirelab lab --routers 2\n  wirelab lab --routers 1 --link \
                        rate=10mbit,delay=20ms,queue=64 measure\n  wirelab lab --routers 1 \
                        shell --host r1 -- ip route"
)]
pub struct LabArgs {
    /// How many routers between the client and the server (0: one cable, as the first lessons
    /// use).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=8))]
    pub routers: Option<u8>,

    /// Give a link properties: rate=10mbit,delay=20ms,jitter=2ms,loss=1%,queue=64,drop=20+45,
    /// dup=1%,reorder=1%,mtu=1280,shaper=wirelab|tbf,seed=N. delay is one way (the base RTT is
    /// twice it); drop=N loses the N-th data packet from the client. The last link (the
    /// server's) unless the spec starts with its number: 1:mtu=1400. Repeat for more links.
    #[arg(long = "link", value_name = "SPEC")]
    pub links: Vec<LinkArg>,

    #[command(subcommand)]
    pub action: Option<LabAction>,
}

#[derive(Debug, Subcommand)]
pub enum LabAction {
    /// Run a shell (or a command) on one of the lab's hosts, e.g.
    /// `wirelab lab shell -- wirelab capture -c 5`. Inside it, `wirelab lab shell --host NAME`
    /// reaches another host of the same lab.
    Shell(LabShellArgs),
    /// Measure the path from client to server (delay with ICMP echoes, loss at half the rate,
    /// the rate with a UDP stream above it) and compare with the --link settings.
    Measure(LabMeasureArgs),
    /// The ARP cache (neighbour table), live: the client's table empty, one datagram to the
    /// server, the ARP request and reply it needed, and the table with the server's entry.
    Arp,
}

#[derive(Debug, Args)]
pub struct LabShellArgs {
    /// Which host: client (192.0.2.1), server (192.0.2.2, or 203.0.113.2 behind routers), or a
    /// router: r1, r2 …
    #[arg(long, default_value = "client", value_name = "NAME")]
    pub host: crate::source::topology::Host,
    /// The command to run (default: your $SHELL).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LabMeasureArgs {
    /// How many ICMP echo requests measure the delay (one every 20 ms).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub probes: u32,
    /// How long the UDP stream that measures the rate lasts, in seconds.
    #[arg(long, default_value_t = 1.5, value_name = "SECONDS")]
    pub seconds: f64,
    /// Print the results as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// The `ip` subcommands: the network layer in the lab.
#[derive(Debug, Subcommand)]
pub enum IpCommand {
    /// Traceroute across the lab's routers: probes with TTL 1, 2, 3 …, each router's ICMP Time
    /// Exceeded with its address and RTT, then the server's answer.
    Traceroute(TracerouteArgs),
    /// A link with a smaller MTU: IPv4 fragments (offsets, reassembly at the receiver), then
    /// path MTU discovery (ICMP Fragmentation Needed, and the sender's next packets smaller).
    Mtu(MtuArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  wirelab ip traceroute\n  wirelab ip traceroute --routers 5 \
                        --probe icmp\n  wirelab ip traceroute --link 2:delay=10ms --view json"
)]
pub struct TracerouteArgs {
    /// How many routers between the client and the server.
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=8))]
    pub routers: u8,

    /// Give a link properties (as for `wirelab lab --link`), e.g. 2:delay=10ms.
    #[arg(long = "link", value_name = "SPEC")]
    pub links: Vec<LinkArg>,

    /// What to send: UDP datagrams to unused ports (the server answers Port Unreachable), or
    /// ICMP echo requests (the server answers Echo Reply).
    #[arg(long, value_enum, default_value_t = crate::demos::Probe::Udp)]
    pub probe: crate::demos::Probe,

    /// Probes per TTL.
    #[arg(long, short = 'q', default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub queries: u8,

    /// Give up after this TTL.
    #[arg(long, short = 'm', default_value_t = 16, value_parser = clap::value_parser!(u8).range(1..=64))]
    pub max_hops: u8,

    /// Where to run: the lab, or a replay of the recorded trace (routers exist only in the lab).
    #[arg(long, value_enum, default_value_t = crate::demos::NetChoice::Auto)]
    pub net: crate::demos::NetChoice,

    /// Write the captured frames to this file (.pcapng or .pcap).
    #[arg(long, short = 'w', value_name = "FILE")]
    pub write: Option<PathBuf>,

    #[command(flatten)]
    pub view: ViewArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  wirelab ip mtu\n  wirelab ip mtu --mtu 1000 --view layers \
                        -Y icmp\n  wirelab ip mtu -w mtu.pcapng"
)]
pub struct MtuArgs {
    /// The MTU of link 2, between r1 and r2 (the other links keep Ethernet's 1500).
    #[arg(long, default_value_t = 1280, value_parser = clap::value_parser!(u32).range(576..=1400))]
    pub mtu: u32,

    /// The UDP payload the client sends (it must fit the client's MTU of 1500 but not link 2's).
    #[arg(long, default_value_t = 1400, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(600..=1472))]
    pub size: u32,

    /// How many routers (at least 2: the small link sits between r1 and r2, so that both ends
    /// of the path agree on a TCP MSS the middle cannot carry).
    #[arg(long, default_value_t = 2, value_name = "N", value_parser = clap::value_parser!(u8).range(2..=8))]
    pub routers: u8,

    /// Give a link other properties (as for `wirelab lab --link`).
    #[arg(long = "link", value_name = "SPEC")]
    pub links: Vec<LinkArg>,

    /// Where to run: the lab, or a replay of the recorded trace.
    #[arg(long, value_enum, default_value_t = crate::demos::NetChoice::Auto)]
    pub net: crate::demos::NetChoice,

    /// Write the captured frames to this file (.pcapng or .pcap).
    #[arg(long, short = 'w', value_name = "FILE")]
    pub write: Option<PathBuf>,

    #[command(flatten)]
    pub view: ViewArgs,
}

impl MtuArgs {
    /// The lab of the demo: link 2 gets the small MTU.
    pub fn topology(&self) -> Result<Topology, String> {
        let mut t = Topology::new(self.routers, &self.links)?;
        let mut l = t.link(2).clone();
        l.mtu = Some(self.mtu);
        t.set_link(2, l);
        Ok(t)
    }
}

#[derive(Debug, Args)]
pub struct TcpArgs {
    #[command(subcommand)]
    pub command: TcpCommand,
}

#[derive(Debug, Subcommand)]
pub enum TcpCommand {
    /// A server and a client in the lab: every socket call, the packets it causes, and the
    /// socket states the kernel reports.
    Echo(TcpEchoArgs),
    /// Be a TCP server: wait for a connection, print what arrives, send what you type.
    Serve(TcpServeArgs),
    /// Be a TCP client: connect, send what you type, print what arrives.
    Connect(TcpConnectArgs),
    /// TCP by hand: wirelab's own TCP makes the three-way handshake with the kernel's, through
    /// a TUN device; and why a raw SYN gets a RST from the kernel.
    Handshake(HandshakeArgs),
    /// A bulk transfer over the lab's emulated link: the sender's congestion window, ssthresh
    /// and RTT read from the kernel (TCP_INFO) as it runs, the phases named (slow start,
    /// congestion avoidance, fast recovery, timeout, zero window), and a summary.
    Transfer(TcpTransferArgs),
}

/// The link `tcp transfer` runs over when no --link is given.
pub const TRANSFER_LINK: &str = "rate=10mbit,delay=20ms,queue=64";

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  wirelab tcp transfer\n  wirelab tcp transfer --cc reno --link \
                        rate=10mbit,delay=20ms,loss=1% -w reno.pcapng\n  wirelab tcp transfer \
                        --compare reno,cubic\n  wirelab tcp transfer --recv-buf 65536 --read-rate \
                        200000 --bytes 300000\n  wirelab tcp transfer --view json --graph=ts.svg"
)]
pub struct TcpTransferArgs {
    /// How many bytes the client sends (at most 50 MB).
    #[arg(long, default_value_t = 2_000_000, value_parser = clap::value_parser!(u64).range(1..=50_000_000))]
    pub bytes: u64,

    /// The sender's congestion control (setsockopt TCP_CONGESTION).
    #[arg(long, value_enum, default_value_t = crate::demos::transfer::Cc::Cubic)]
    pub cc: crate::demos::transfer::Cc,

    /// Run the transfer once per algorithm over the same link and show them side by side,
    /// e.g. reno,cubic.
    #[arg(long, value_enum, value_delimiter = ',', num_args = 1.., value_name = "CC,CC")]
    pub compare: Vec<crate::demos::transfer::Cc>,

    /// The link's properties, as for `wirelab lab --link` (default:
    /// rate=10mbit,delay=20ms,queue=64; delay is one way, so the base RTT is twice it).
    #[arg(long = "link", value_name = "SPEC")]
    pub links: Vec<LinkArg>,

    /// How many routers between the client and the server.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=8))]
    pub routers: u8,

    /// The receiver's socket buffer (SO_RCVBUF, bytes; the kernel doubles it): a small one
    /// keeps the advertised window small (flow control).
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(1024..=16_777_216))]
    pub recv_buf: Option<u32>,

    /// The receiving program reads at most this many bytes per second: a slow reader lets
    /// the buffer fill and the window close (zero window, probes, window updates).
    #[arg(long, value_name = "BYTES_PER_S", value_parser = clap::value_parser!(u64).range(1000..))]
    pub read_rate: Option<u64>,

    /// Read the sender's TCP_INFO every this many milliseconds.
    #[arg(long, default_value_t = 5, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub sample_ms: u64,

    /// Give up on a transfer after this many seconds.
    #[arg(long, default_value_t = 30, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=300))]
    pub timeout: u64,

    /// The server's port.
    #[arg(long, default_value_t = 7020)]
    pub port: u16,

    /// Draw the time-sequence (Stevens) graph with cwnd and the receiver's window over it: in
    /// the terminal, or with a name ending in .svg, into that file (write --graph=ts.svg).
    #[arg(long, num_args = 0..=1, default_missing_value = "", value_name = "OUT.svg", value_parser = parse_graph)]
    pub graph: Option<GraphTarget>,

    /// Also list the captured packets (in --view).
    #[arg(long)]
    pub packets: bool,

    /// Where to run: the lab, or a replay of the recorded trace.
    #[arg(long, value_enum, default_value_t = crate::demos::NetChoice::Auto)]
    pub net: crate::demos::NetChoice,

    /// Write the captured frames to this file (.pcapng or .pcap); with --compare, the
    /// algorithm's name is added to the file name.
    #[arg(long, short = 'w', value_name = "FILE")]
    pub write: Option<PathBuf>,

    /// With --view json: the TCP_INFO samples and the summary as JSON Lines (the packets too
    /// with --packets).
    #[command(flatten)]
    pub view: ViewArgs,
}

impl TcpTransferArgs {
    /// The lab of the transfer: the --link specs, or the default link.
    pub fn topology(&self) -> Result<Topology, String> {
        if self.links.is_empty() {
            let l: LinkArg = TRANSFER_LINK.parse().map_err(|e| format!("{e}"))?;
            Topology::new(self.routers, &[l])
        } else {
            Topology::new(self.routers, &self.links)
        }
    }

    /// The algorithms to run: --compare's, else --cc.
    pub fn algorithms(&self) -> Vec<crate::demos::transfer::Cc> {
        if self.compare.is_empty() {
            vec![self.cc]
        } else {
            self.compare.clone()
        }
    }
}

#[derive(Debug, Args)]
pub struct TcpEchoArgs {
    /// Where to run: the lab, the host's loopback, or a replay of the recorded trace.
    #[arg(long, value_enum, default_value_t = crate::demos::NetChoice::Auto)]
    pub net: crate::demos::NetChoice,

    /// The server's port (default: 7007 in the lab, a free one on loopback).
    #[arg(long)]
    pub port: Option<u16>,

    /// A message the client sends and the server echoes; repeat for several rounds. `\n`
    /// stands for a newline.
    #[arg(long = "message", short = 'm', value_name = "TEXT")]
    pub messages: Vec<String>,

    /// Write the captured frames to this file (.pcapng or .pcap).
    #[arg(long, short = 'w', value_name = "FILE")]
    pub write: Option<PathBuf>,

    #[command(flatten)]
    pub sock: crate::demos::SockOpts,

    #[command(flatten)]
    pub view: ViewArgs,
}

#[derive(Debug, Args)]
pub struct TcpServeArgs {
    /// The port to listen on.
    #[arg(long, short = 'p', default_value_t = 7007)]
    pub port: u16,
    /// Listen on every interface (0.0.0.0) instead of 127.0.0.1: other machines can connect.
    #[arg(long)]
    pub public: bool,
    /// After a connection ends, wait for the next one.
    #[arg(long, short = 'k')]
    pub keep: bool,
    /// Write the bytes received to standard output exactly as they came (for a pipe or a
    /// file). Without it, control characters are shown escaped (`\x1b`), so a peer cannot
    /// drive your terminal.
    #[arg(long)]
    pub raw: bool,
    #[command(flatten)]
    pub sock: crate::demos::SockOpts,
}

#[derive(Debug, Args)]
pub struct TcpConnectArgs {
    /// Where to connect, as HOST:PORT (e.g. 127.0.0.1:7007).
    pub addr: String,
    /// Write the bytes received to standard output exactly as they came (for a pipe or a
    /// file). Without it, control characters are shown escaped (`\x1b`).
    #[arg(long)]
    pub raw: bool,
    #[command(flatten)]
    pub sock: crate::demos::SockOpts,
}

#[derive(Debug, Args)]
pub struct UdpArgs {
    #[command(subcommand)]
    pub command: UdpCommand,
}

#[derive(Debug, Subcommand)]
pub enum UdpCommand {
    /// Datagrams in the lab: N sends make N datagrams, no handshake, loss and reordering,
    /// next to TCP where N small writes arrive as fewer reads; and IP fragments.
    Echo(UdpEchoArgs),
    /// Send each MESSAGE as one datagram to HOST:PORT.
    Send(UdpSendArgs),
    /// Receive datagrams on a port and print each one.
    Recv(UdpRecvArgs),
}

#[derive(Debug, Args)]
pub struct UdpEchoArgs {
    /// Where to run: the lab, the host's loopback, or a replay of the recorded trace.
    #[arg(long, value_enum, default_value_t = crate::demos::NetChoice::Auto)]
    pub net: crate::demos::NetChoice,

    /// The port (default: 7008 in the lab, a free one on loopback).
    #[arg(long)]
    pub port: Option<u16>,

    /// How many datagrams to send.
    #[arg(long, short = 'n', default_value_t = 5)]
    pub datagrams: usize,

    /// Lose this share of the datagrams (lab only): 30% or 0.3, both thirty percent. A number
    /// of 1 or more needs its % sign (is 1 one percent or all?).
    #[arg(long, value_name = "RATE", default_value = "0", value_parser = parse_rate)]
    pub loss: f64,

    /// Deliver some datagrams out of order (lab only): this share of them is held back and
    /// overtaken, written like --loss (20% or 0.2); 35% when no value is given.
    #[arg(long, value_name = "RATE", num_args = 0..=1, default_missing_value = "35%",
          value_parser = parse_rate)]
    pub reorder: Option<f64>,

    /// Seed for the relay's random choices (the same seed makes the same losses).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,

    /// Skip the TCP comparison.
    #[arg(long)]
    pub no_tcp: bool,

    /// Size of the datagram sent to show IP fragmentation (0 to skip).
    #[arg(long, default_value_t = 3000, value_name = "BYTES")]
    pub big: usize,

    /// Write the captured frames to this file (.pcapng or .pcap).
    #[arg(long, short = 'w', value_name = "FILE")]
    pub write: Option<PathBuf>,

    #[command(flatten)]
    pub sock: crate::demos::SockOpts,

    #[command(flatten)]
    pub view: ViewArgs,
}

#[derive(Debug, Args)]
pub struct UdpSendArgs {
    /// Where to send, as HOST:PORT.
    pub addr: String,
    /// The messages; each one becomes one datagram.
    #[arg(required = true)]
    pub messages: Vec<String>,
    /// Afterwards, wait a second for replies and print them.
    #[arg(long)]
    pub replies: bool,
}

#[derive(Debug, Args)]
pub struct UdpRecvArgs {
    /// The port to receive on.
    #[arg(long, short = 'p', default_value_t = 7008)]
    pub port: u16,
    /// Receive on every interface (0.0.0.0) instead of 127.0.0.1.
    #[arg(long)]
    pub public: bool,
    /// Stop after this many datagrams.
    #[arg(long, short = 'n')]
    pub count: Option<u64>,
    /// Send each datagram back to its sender.
    #[arg(long)]
    pub echo: bool,
    /// Write each datagram to standard output exactly as it came (then a newline). Without
    /// it, each datagram is one line with its control characters (a newline too) escaped.
    #[arg(long)]
    pub raw: bool,
}

#[derive(Debug, Args)]
pub struct FloodArgs {
    /// Datagrams per second.
    #[arg(long, default_value_t = 200_000)]
    pub rate: u64,
    /// For how many seconds.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// The port on 127.0.0.1.
    #[arg(long, default_value_t = 9)]
    pub port: u16,
    /// Payload bytes per datagram.
    #[arg(long, default_value_t = 16)]
    pub size: usize,
}

/// `wirelab tcp handshake`: the hand-made TCP handshake.
///
/// It runs in a private network namespace that wirelab makes for itself (as `unshare -Urn`
/// does), so nothing on the machine's own network changes. Without --raw or --rst-demo, all
/// three parts run in turn.
#[derive(Debug, Args, Clone)]
#[command(
    after_help = "Examples:\n  wirelab tcp handshake --raw\n  wirelab tcp handshake --raw \
                        --client --view layers\n  wirelab tcp handshake --rst-demo -w rst.pcap"
)]
pub struct HandshakeArgs {
    /// wirelab's TCP, in userspace behind a TUN device, is the server: the kernel connects to
    /// it, and wirelab answers the SYN, echoes the data and closes.
    #[arg(long)]
    pub raw: bool,

    /// With --raw: wirelab's TCP is the client and connects to a kernel listener instead.
    #[arg(long, requires = "raw")]
    pub client: bool,

    /// Send a hand-made SYN through a raw socket and watch the kernel answer with RST; then drop
    /// that RST with an nftables rule (inside the private namespace) and finish the handshake.
    #[arg(long)]
    pub rst_demo: bool,

    /// The TCP port of the server side.
    #[arg(long, default_value_t = 7007, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,

    /// X in the link-local addresses 169.254.X.1 (the kernel) and 169.254.X.2 (wirelab).
    #[arg(long, default_value_t = 77, value_parser = clap::value_parser!(u8).range(1..=254))]
    pub net: u8,

    /// The message sent and echoed back.
    #[arg(long, default_value = "hello, TCP\n")]
    pub message: String,

    /// Give up on a part after this many seconds.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=120))]
    pub timeout: u64,

    /// How to show the segments: one line each (summary), every layer and field (layers), the
    /// bytes (hex), or JSON Lines with the state machine's steps (json).
    #[arg(long, value_enum, default_value_t = View::Summary)]
    pub view: View,

    /// Also write each part's frames to a capture file (pcap); with several parts, the part's
    /// name is added to the file name.
    #[arg(long, short = 'w', value_name = "FILE")]
    pub write: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MakeCaptureArgs {
    /// Capture files, or folders of them, to take Ethernet frames from.
    #[arg(long, required = true, num_args = 1..)]
    pub from: Vec<PathBuf>,
    /// How many frames to write at least.
    #[arg(long, default_value_t = 1_000_000)]
    pub packets: u64,
    /// Keep writing until the file holds at least this many bytes.
    #[arg(long, default_value_t = 0)]
    pub min_bytes: u64,
    /// The file to write (.pcap or .pcapng).
    #[arg(short = 'w', long)]
    pub write: PathBuf,
}

/// The `ws` subcommands.
#[derive(Debug, Subcommand)]
pub enum WsCommand {
    /// Serve a chat page at / and a WebSocket at /ws, printing every handshake and frame.
    Serve(WsServeArgs),
    /// Connect to a WebSocket server: each line typed is sent as a text message.
    Connect(WsConnectArgs),
    /// The WebSocket lesson: a server and a client (in the lab; else on 127.0.0.1), the
    /// Upgrade, Sec-WebSocket-Accept worked out, three messages, a ping and the close, every
    /// field explained; then the same connection as captured on the wire.
    Echo(WsEchoArgs),
    /// Benchmark load client: echo traffic against a server (used by bench/ws.sh).
    #[command(hide = true)]
    Load(WsLoadArgs),
}

#[derive(Debug, Args)]
pub struct WsServeArgs {
    /// The TCP port to listen on (0: any free port, printed at start).
    #[arg(long, default_value_t = 8765)]
    pub port: u16,

    /// Echo each message back to its sender.
    #[arg(long, conflicts_with = "chat")]
    pub echo: bool,

    /// Relay each message to every connected client (the default).
    #[arg(long)]
    pub chat: bool,

    /// Listen on every network interface instead of 127.0.0.1 only (other machines can
    /// then connect: think twice).
    #[arg(long)]
    pub public: bool,

    /// The largest message accepted, in bytes; a larger one closes the connection with
    /// code 1009 (message too big).
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_message: usize,

    /// Close a connection (code 1001) after this many seconds without a text or binary
    /// message from it (pings and pongs do not count: a client that only pings is idle).
    #[arg(long, value_name = "SECS")]
    pub idle_timeout: Option<f64>,

    /// The time a client has to send its whole HTTP request head, in seconds; a slower one
    /// is answered 408 and closed.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub head_timeout: f64,

    /// The most connections open at once; one more is answered 503 Service Unavailable.
    /// Default: as many as the file-descriptor limit (ulimit -n) leaves room for, at most
    /// 10,000.
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,

    /// Chat: the most messages waiting to be written to one client. A client that reads too
    /// slowly to stay under it is disconnected (code 1008), and the server says how many
    /// messages it missed.
    #[arg(long, value_name = "MESSAGES", default_value_t = 1024)]
    pub queue: usize,

    /// Chat: the most bytes of messages waiting for one client (one message always fits).
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024 * 1024)]
    pub queue_bytes: usize,

    /// Print nothing per connection (for benchmarks and test suites).
    #[arg(long, short = 'q')]
    pub quiet: bool,

    #[command(flatten)]
    pub view: ViewArgs,
}

#[derive(Debug, Args)]
pub struct WsConnectArgs {
    /// The server's URL, e.g. ws://127.0.0.1:8765/ws.
    pub url: String,

    /// Run the Autobahn|Testsuite fuzzing-server protocol against URL (e.g.
    /// ws://127.0.0.1:9001): fetch the case count, echo every case, update the reports.
    #[arg(long)]
    pub autobahn: bool,

    /// The agent name reported to Autobahn.
    #[arg(long, default_value = "wirelab", requires = "autobahn")]
    pub agent: String,

    /// The largest message accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_message: usize,

    #[command(flatten)]
    pub view: ViewArgs,
}

#[derive(Debug, Args)]
#[command(mut_arg("view", |a| {
    a.hide_default_value(true).help(
        "How to show the frames. Without --view: the lesson in the layer view (every field \
         explained), then the captured connection as a ladder diagram. With --view, that view \
         for both; json gives JSON Lines only (the captured frames when there is a capture).",
    )
}))]
pub struct WsEchoArgs {
    /// Wait for Enter between steps (for projecting in class).
    #[arg(long)]
    pub step: bool,

    /// Show everything: every byte of the 70,000-byte message (by default its first 64 bytes
    /// and its length), and every frame on the wire (by default long runs of segments that
    /// only carry the middle of a message are left out, and the listing says which).
    #[arg(long)]
    pub full: bool,

    /// Where to run: the lab (server and client on two private hosts, captured on the
    /// cable), the host's loopback, or a replay of the recorded trace.
    #[arg(long, value_enum, default_value_t = crate::demos::NetChoice::Auto)]
    pub net: crate::demos::NetChoice,

    /// Write the captured frames to this file (.pcapng or .pcap).
    #[arg(long, short = 'w', value_name = "FILE")]
    pub write: Option<PathBuf>,

    #[command(flatten)]
    pub view: ViewArgs,
}

#[derive(Debug, Args)]
pub struct WsLoadArgs {
    /// The echo server's URL (must be on loopback).
    pub url: String,
    /// Connections used at once.
    #[arg(long, default_value_t = 1)]
    pub connections: usize,
    /// Messages per connection at most.
    #[arg(long, default_value_t = 100_000)]
    pub messages: u64,
    /// Bytes per message.
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Messages each connection keeps in flight.
    #[arg(long, default_value_t = 32)]
    pub window: u64,
    /// Stop sending after this many seconds.
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Instead: open this many connections, hold them all open, check each still echoes.
    #[arg(long, value_name = "N")]
    pub hold: Option<usize>,
}

#[derive(Debug, Args)]
pub struct TourArgs {
    #[command(flatten)]
    pub pace: PaceArgs,
    /// Do not run the demos: replay each lesson's recorded trace instead (the same output on
    /// every machine).
    #[arg(long)]
    pub replay: bool,
    /// Show only the opening: the two layer models side by side, then a small conversation
    /// wirelab builds byte by byte and reads back (lesson 1's demo).
    #[arg(long, conflicts_with = "replay")]
    pub opening: bool,
    /// Write the conversation the tour builds to this capture file, and stop.
    #[arg(long, value_name = "FILE", hide = true)]
    pub write_trace: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DefineArgs {
    /// The term: socket, client, server, TCP, UDP, packet, "OSI model", "TCP/IP model",
    /// WebSocket, Socket.IO. Several words may be given without quotes. Without a term: the
    /// list of every term wirelab explains.
    #[arg(num_args = 0..)]
    pub term: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for. Install, e.g.: bash: `wirelab completions bash >
    /// ~/.local/share/bash-completion/completions/wirelab`; zsh: into a folder of your
    /// $fpath as `_wirelab`; fish: `> ~/.config/fish/completions/wirelab.fish`; PowerShell:
    /// `wirelab completions powershell | Out-String | Invoke-Expression` in your $PROFILE.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Instead of printing wirelab(1), write it and one page per subcommand
    /// (wirelab-dissect.1, wirelab-tcp-echo.1, …) into this folder.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LessonArgs {
    /// The lesson: its id (03_tcp), number (3) or topic (tcp).
    pub id: String,
    /// Show the text only; do not run the demo.
    #[arg(long)]
    pub no_demo: bool,
    #[command(flatten)]
    pub pace: PaceArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Only this lesson (id, number or topic); all lessons if left out.
    pub id: Option<String>,
    /// For instructors: print the right answers to the trace questions, worked out from the
    /// lessons' traces, as an answers.toml, instead of grading.
    #[arg(long)]
    pub answer_key: bool,
}

#[derive(Debug, Args)]
pub struct HintArgs {
    /// The exercise or question id, as `wirelab check` names it. Without it: every exercise
    /// and question that has a hint, lesson by lesson.
    pub id: Option<String>,
}

#[derive(Debug, Args)]
pub struct DissectArgs {
    /// The capture file to read (pcap or pcapng; - for standard input).
    pub file: PathBuf,

    #[command(flatten)]
    pub view: ViewArgs,

    /// Show only one conversation: a TCP stream number as Wireshark counts them (tcp.stream,
    /// from 0 in order of first appearance), or udp:N for a UDP one.
    #[arg(long, value_name = "N")]
    pub stream: Option<crate::stream::StreamId>,

    /// List the conversations with packets and bytes each way, and for TCP: state reached,
    /// windows, retransmissions, duplicate ACKs, round-trip times and the RFC 6298 estimate.
    #[arg(long)]
    pub stats: bool,

    /// Show the conversation's bytes in both directions, as the programs wrote them (every
    /// TCP conversation, or the one --stream names): as text, or as a hex dump.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "text", value_name = "MODE")]
    pub follow: Option<crate::render::follow::FollowMode>,

    /// Draw the time-sequence graph (relative sequence number against time) of the TCP
    /// conversation --stream names (or the one that carried the most data); with a file name
    /// ending in .svg, write it there as an SVG image instead. Put it after FILE, or write
    /// --graph=out.svg.
    #[arg(long, num_args = 0..=1, default_missing_value = "", value_name = "OUT.svg", value_parser = parse_graph)]
    pub graph: Option<GraphTarget>,

    /// One row per RTT sample (tcp.analysis.ack_rtt; none from a retransmitted segment, by
    /// Karn's rule) with EstimatedRTT (α = 1/8), DevRTT (β = 1/4) and TimeoutInterval after
    /// it (RFC 6298); with --view json, one JSON line per row.
    #[arg(long)]
    pub rtt: bool,

    /// With --stats, --follow or --graph, list the packets too (otherwise only the reports).
    #[arg(long)]
    pub packets: bool,

    /// Write the packets to a file instead of listing them: OUT.html is one self-contained
    /// page (the ladder diagram, the packet list; click a packet for its layers and bytes),
    /// OUT.svg the ladder diagram alone. --filter, --stream and -c choose the packets.
    #[arg(long, value_name = "OUT.html|OUT.svg", value_parser = parse_export)]
    pub export: Option<PathBuf>,

    /// The most packets an export embeds; the page says when there were more.
    #[arg(long, value_name = "N", default_value_t = 2000, requires = "export")]
    pub export_max: usize,

    #[command(flatten)]
    pub pace: PaceArgs,
}

/// A share of packets, for `--loss` and `--reorder`, as a fraction from 0.0 to 1.0: `30%`
/// (a percentage, up to 100%) or `0.3` (a fraction below 1). A bare number of 1 or more is
/// refused rather than guessed: `--loss 1` could mean one percent or every packet.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, percent) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (t, false),
    };
    let v: f64 = num.parse().map_err(|_| {
        format!("`{s}` is not a rate: write a percentage like 30% or a fraction like 0.3")
    })?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!(
            "`{s}`: a rate is between 0% and 100% (or 0 and 1 as a fraction)"
        ));
    }
    if percent {
        if v > 100.0 {
            return Err(format!("`{s}`: a percentage is at most 100%"));
        }
        Ok(v / 100.0)
    } else if v < 1.0 {
        Ok(v)
    } else {
        Err(format!(
            "`{s}` is ambiguous: without a % sign a rate is a fraction below 1 (0.3 is thirty \
             percent); for {v} percent write {v}%"
        ))
    }
}

fn parse_export(s: &str) -> Result<PathBuf, String> {
    let lower = s.to_ascii_lowercase();
    if lower.ends_with(".html") || lower.ends_with(".htm") || lower.ends_with(".svg") {
        Ok(PathBuf::from(s))
    } else {
        Err(format!(
            "`{s}`: --export writes a page (name ending in .html) or a ladder diagram (name ending in .svg)"
        ))
    }
}

/// Instructor mode: how fast packets appear.
#[derive(Debug, Args, Clone, Default)]
pub struct PaceArgs {
    /// Instructor mode: show one packet (or one step), then wait for a key. Space, Enter, →
    /// or Page Down shows the next; b, ← or Page Up goes back one; s runs on without
    /// pausing; q quits. Without a terminal, type the letter and Enter.
    #[arg(long)]
    pub step: bool,

    /// Pause this many milliseconds after each packet, so a class can follow.
    #[arg(long, value_name = "MS", conflicts_with = "step")]
    pub slow: Option<u64>,
}

impl PaceArgs {
    pub fn pace(&self) -> crate::instructor::Pace {
        crate::instructor::Pace::new(self.step, self.slow)
    }
}

/// Where `--graph` draws.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GraphTarget {
    Terminal,
    Svg(PathBuf),
}

fn parse_graph(s: &str) -> Result<GraphTarget, String> {
    if s.is_empty() {
        Ok(GraphTarget::Terminal)
    } else if s.to_ascii_lowercase().ends_with(".svg") {
        Ok(GraphTarget::Svg(PathBuf::from(s)))
    } else {
        Err(format!(
            "`{s}` does not end in .svg: --graph takes an SVG file name, or nothing to draw in the terminal (put --graph after the capture file)"
        ))
    }
}

/// How packets are shown; shared by every command that shows packets.
#[derive(Debug, Args, Clone, Default)]
pub struct ViewArgs {
    /// Which view: one line a packet (summary), the layer tree (layers), the bytes (hex),
    /// JSON Lines (json), or a sequence diagram of the TCP conversations (ladder).
    #[arg(long, value_enum, default_value_t = View::Summary)]
    pub view: View,

    /// Show only packets that match this display filter, e.g.
    /// 'tcp.flags.syn == 1 && ip.src == 10.0.0.1', 'dns', '!arp'.
    #[arg(long, short = 'Y', value_name = "EXPR")]
    pub filter: Option<String>,

    /// In the hex view, highlight the bytes of this field (e.g. tcp.flags).
    #[arg(long, value_name = "NAME")]
    pub field: Option<String>,

    /// A column of the fields view (repeat it: -e ip.id -e ip.ttl), as tshark -T fields -e:
    /// each row a packet, each value as tshark writes it. Implies --view fields.
    #[arg(short = 'e', value_name = "FIELD")]
    pub columns: Vec<String>,

    /// How the fields view lays its columns out, as tshark's -E: header=y (a line of names
    /// first), separator=/t|/s|C, occurrence=f|l|a, aggregator=C, quote=d|s|n.
    #[arg(short = 'E', value_name = "OPT=VALUE", requires = "columns")]
    pub layout: Vec<String>,

    /// Read each IP fragment on its own instead of putting fragmented datagrams back together
    /// in the frame that completes them (as tshark -o ip.defragment:FALSE).
    #[arg(long)]
    pub no_reassembly: bool,

    /// Stop after this many packets have been shown.
    #[arg(long, short = 'c', value_name = "N")]
    pub count: Option<u64>,

    /// Show TCP sequence and acknowledgment numbers as written in the packets: in the
    /// summary instead of the relative ones (as tshark -o tcp.relative_sequence_numbers:FALSE),
    /// in the ladder next to them.
    #[arg(long)]
    pub absolute: bool,
}

impl ViewArgs {
    /// The view to show: the one asked for, except that naming columns (`-e`) without a
    /// `--view` means the fields view, as tshark's `-e` needs `-T fields`.
    pub fn effective_view(&self) -> View {
        if !self.columns.is_empty() && self.view == View::Summary {
            View::Fields
        } else {
            self.view
        }
    }

    /// Refuse what cannot be shown: columns for a view that has none, the fields view without
    /// columns, an unknown field name (with the nearest known ones), a bad `-E` option.
    pub fn check(&self) -> Result<(), String> {
        let view = self.effective_view();
        if view != View::Fields {
            if !self.columns.is_empty() {
                return Err(format!(
                    "-e names a column of the fields view, but --view is {}: leave out --view, or write --view fields",
                    view.to_possible_value()
                        .map_or_else(String::new, |v| v.get_name().to_string())
                ));
            }
            return Ok(());
        }
        crate::render::fields::Columns::new(&self.columns)?;
        crate::render::fields::Layout::parse(&self.layout)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parse_rate_reads_percentages_and_fractions_alike() {
        assert_eq!(parse_rate("30%"), Ok(0.3));
        assert_eq!(parse_rate("0.3"), Ok(0.3));
        assert_eq!(parse_rate("0"), Ok(0.0));
        assert_eq!(parse_rate("100%"), Ok(1.0));
        assert_eq!(parse_rate(" 2.5 % "), Ok(0.025));
    }

    #[test]
    fn parse_rate_refuses_what_it_would_have_to_guess() {
        for bad in ["30", "1", "101%", "-0.1", "-5%", "lots", "NaN", "inf%"] {
            let e = parse_rate(bad).expect_err(bad);
            assert!(e.contains(bad.trim()), "{bad}: {e}");
        }
        assert!(parse_rate("30").unwrap_err().contains("30%"));
    }
}
