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

    /// With --stats, --follow or --graph, list the packets too (otherwise only the reports).
    #[arg(long)]
    pub packets: bool,

    /// In the ladder view, show the sequence numbers as written in the packets next to the
    /// relative ones.
    #[arg(long)]
    pub absolute: bool,
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
