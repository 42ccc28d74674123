//! The command line: one argument struct per subcommand.
//!
//! The doc comments on these types are the `--help` text, so they are written for the person
//! typing the command.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::render::View;

/// wirelab: learn networking by making it happen on your own machine and looking at the bytes.
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
    /// A guided tour: the two layer models, then real traffic taken apart layer by layer.
    Tour(TourArgs),
    /// The OSI and TCP/IP models side by side, with the protocols placed on them.
    Layers,
    /// Explain a networking term in plain words, and name the command that shows it live.
    Define(DefineArgs),
    /// Take a capture file (pcap or pcapng) apart, packet by packet.
    Dissect(DissectArgs),
    /// WebSocket: serve a chat page, connect to a server, or follow one connection (echo).
    #[command(subcommand)]
    Ws(WsCommand),
}

/// The `ws` subcommands.
#[derive(Debug, Subcommand)]
pub enum WsCommand {
    /// Serve a chat page at / and a WebSocket at /ws, printing every handshake and frame.
    Serve(WsServeArgs),
    /// Connect to a WebSocket server: each line typed is sent as a text message.
    Connect(WsConnectArgs),
    /// The lesson: a server and a client on 127.0.0.1, every byte between them explained.
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

    /// Close a connection (code 1001) after this many seconds without a message from it.
    #[arg(long, value_name = "SECS")]
    pub idle_timeout: Option<f64>,

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
pub struct WsEchoArgs {
    /// Wait for Enter between steps (for projecting in class).
    #[arg(long)]
    pub step: bool,

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
    /// Wait for Enter between steps (for projecting in class).
    #[arg(long)]
    pub step: bool,
}

#[derive(Debug, Args)]
pub struct DefineArgs {
    /// The term: socket, client, server, TCP, UDP, packet, "OSI model", "TCP/IP model",
    /// WebSocket, Socket.IO. Several words may be given without quotes.
    #[arg(required = true, num_args = 1..)]
    pub term: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DissectArgs {
    /// The capture file to read (pcap or pcapng; - for standard input).
    pub file: PathBuf,

    #[command(flatten)]
    pub view: ViewArgs,
}

/// How packets are shown; shared by every command that shows packets.
#[derive(Debug, Args, Clone, Default)]
pub struct ViewArgs {
    /// Which view: one line a packet (summary), the layer tree (layers), the bytes (hex), or
    /// JSON Lines (json).
    #[arg(long, value_enum, default_value_t = View::Summary)]
    pub view: View,

    /// Show only packets that match this display filter, e.g.
    /// 'tcp.flags.syn == 1 && ip.src == 10.0.0.1', 'dns', '!arp'.
    #[arg(long, short = 'Y', value_name = "EXPR")]
    pub filter: Option<String>,

    /// In the hex view, highlight the bytes of this field (e.g. tcp.flags).
    #[arg(long, value_name = "NAME")]
    pub field: Option<String>,

    /// Stop after this many packets have been shown.
    #[arg(long, short = 'c', value_name = "N")]
    pub count: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }
}
