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
    /// Socket.IO live: a chat server, a client that shows every packet, and the lesson's demo.
    #[command(subcommand)]
    Sio(SioCommand),
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
}

#[derive(Debug, Args)]
pub struct SioConnectArgs {
    /// The server: http://127.0.0.1:3000 (a path names a namespace: http://host:3000/admin).
    pub url: String,
    /// Run the commands in this file instead of reading them from the keyboard (one a line;
    /// /expect EVENT [SECONDS] and /wait MS help scripts); exit 1 if one fails.
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
