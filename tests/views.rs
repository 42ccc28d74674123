//! Snapshot tests of every view (summary, layers, hex, json), with colour off and on.
//!
//! The packets are built here with etherparse's `PacketBuilder`, so they are the same on every
//! machine: a TCP SYN with options, a DNS query over UDP, an ICMP echo request padded to the
//! Ethernet minimum, and a frame the capture cut off in the middle of its TCP header. They are
//! written to a pcap with wirelab's own `CaptureWriter`, then shown two ways:
//!
//! * by running the `wirelab` binary (`assert_cmd`), which is what a student types, and
//! * directly through `render::Printer`, which is what the lessons call,
//!
//! and both must give the same bytes. The expected text lives in `tests/snapshots/`; after an
//! intended change, review it with `cargo insta review` (or rerun with `INSTA_UPDATE=always`
//! and read the diff).
//!
//! The colour tests check the rules of `--color`: `auto` colours only a terminal (tested
//! through a pseudo-terminal made by `script`), never when `NO_COLOR` is set or `TERM=dumb`;
//! `always` and `never` win over everything.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use etherparse::{PacketBuilder, TcpOptionElement as Opt};
use wirelab::dissect::model::{LinkType, Timestamp};
use wirelab::pipeline::{Config, Pipeline};
use wirelab::render::{Options, Printer, View};
use wirelab::source::OwnedFrame;
use wirelab::source::file::CaptureWriter;

const CLIENT_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
const SERVER_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
const CLIENT: [u8; 4] = [192, 168, 56, 10];
const SERVER: [u8; 4] = [192, 168, 56, 20];

/// A DNS query for `example.com`, type A, written out by hand (RFC 1035 § 4.1).
fn dns_query() -> Vec<u8> {
    let mut q = vec![
        0x12, 0x34, // ID
        0x01, 0x00, // flags: a standard query, recursion desired
        0x00, 0x01, // one question
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // no answer, authority or additional records
    ];
    for label in ["example", "com"] {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&[0x00, 0x01, 0x00, 0x01]); // type A, class IN
    q
}

/// The four test packets, numbered from 1, a quarter of a second apart.
pub fn packets() -> Vec<OwnedFrame> {
    let mut frames: Vec<(Vec<u8>, u32)> = Vec::new();

    // 1. A TCP SYN with the options a Linux client sends.
    let syn = PacketBuilder::ethernet2(CLIENT_MAC, SERVER_MAC)
        .ipv4(CLIENT, SERVER, 64)
        .tcp(52000, 80, 1_000_000, 64240)
        .syn()
        .options(&[
            Opt::MaximumSegmentSize(1460),
            Opt::SelectiveAcknowledgementPermitted,
            Opt::Timestamp(4_000_000, 0),
            Opt::Noop,
            Opt::WindowScale(7),
        ])
        .expect("options fit");
    let mut bytes = Vec::new();
    syn.write(&mut bytes, &[]).expect("write SYN");
    let syn_bytes = bytes.clone();
    frames.push((bytes, 0));

    // 2. A DNS query over UDP.
    let mut bytes = Vec::new();
    PacketBuilder::ethernet2(CLIENT_MAC, SERVER_MAC)
        .ipv4(CLIENT, SERVER, 64)
        .udp(40000, 53)
        .write(&mut bytes, &dns_query())
        .expect("write DNS");
    frames.push((bytes, 0));

    // 3. An ICMP echo request (ping) with 4 bytes of data, padded to Ethernet's 60 bytes.
    let mut bytes = Vec::new();
    PacketBuilder::ethernet2(CLIENT_MAC, SERVER_MAC)
        .ipv4(CLIENT, SERVER, 64)
        .icmpv4_echo_request(0x0042, 1)
        .write(&mut bytes, b"ping")
        .expect("write ICMP");
    bytes.resize(60, 0);
    frames.push((bytes, 0));

    // 4. The SYN again, but the capture kept only its first 40 bytes: the TCP header is cut
    //    after 6 of its 40 bytes.
    let wire = syn_bytes.len() as u32;
    frames.push((syn_bytes[..40].to_vec(), wire));

    frames
        .into_iter()
        .enumerate()
        .map(|(i, (data, wire))| OwnedFrame {
            number: i as u64 + 1,
            ts: Some(Timestamp {
                secs: 1_700_000_000 + i as i64 / 4,
                nanos: (i as u32 % 4) * 250_000_000,
            }),
            link: LinkType::ETHERNET,
            wire_len: if wire == 0 { data.len() as u32 } else { wire },
            data,
        })
        .collect()
}

/// Write the packets to `dir/views.pcap`.
fn write_pcap(dir: &Path) -> PathBuf {
    let path = dir.join("views.pcap");
    let mut w = CaptureWriter::create(&path, LinkType::ETHERNET).expect("create pcap");
    for f in packets() {
        w.write(&f.as_frame()).expect("write frame");
    }
    w.flush().expect("flush");
    path
}

/// The wirelab binary, with an environment that cannot change its output: 100 columns, and
/// none of the variables that turn colour on or off behind the test's back.
fn wirelab() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wirelab"));
    cmd.env("COLUMNS", "100")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env("TERM", "xterm-256color");
    cmd
}

/// Run `wirelab --color COLOR dissect FILE ARGS…` and return its standard output.
fn run(color: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let pcap = write_pcap(dir.path());
    let out = wirelab()
        .arg("--color")
        .arg(color)
        .arg("dissect")
        .arg(&pcap)
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).expect("UTF-8 output")
}

/// The same packets through `render::Printer`, as a lesson would show them.
fn print(view: View, color: bool, highlight: Option<&str>, width: usize) -> String {
    let opts = Options {
        view,
        color,
        highlight: highlight.map(str::to_string),
        width,
        fit: false,
        absolute: false,
        ..Options::default()
    };
    let mut p = Printer::new(Vec::new(), opts);
    // As `wirelab dissect` does: every packet through the one pipeline, which adds the
    // analysis that needs earlier packets (relative sequence numbers, stream index…).
    let mut pipe = Pipeline::new(Config::for_display(view != View::Summary, None));
    for f in packets() {
        p.print(pipe.push(&f.as_frame())).expect("print");
    }
    String::from_utf8(p.into_inner()).expect("UTF-8 output")
}

const ESC: &str = "\x1b[";

/// Check the binary against the printer, then snapshot the text.
fn check(name: &str, view: View, color: bool, args: &[&str]) {
    let highlight = args
        .iter()
        .position(|a| *a == "--field")
        .map(|i| args[i + 1]);
    let from_bin = run(if color { "always" } else { "never" }, args);
    let from_printer = print(view, color, highlight, 100);
    assert_eq!(
        from_bin, from_printer,
        "the binary and render::Printer disagree"
    );
    assert_eq!(
        from_bin.contains(ESC),
        color,
        "escape codes present exactly when colour is on"
    );
    insta::assert_snapshot!(name, from_bin);
}

#[test]
fn summary_plain() {
    check("summary_plain", View::Summary, false, &[]);
}

#[test]
fn summary_color() {
    check("summary_color", View::Summary, true, &[]);
}

#[test]
fn layers_plain() {
    check("layers_plain", View::Layers, false, &["--view", "layers"]);
}

#[test]
fn layers_color() {
    check("layers_color", View::Layers, true, &["--view", "layers"]);
}

#[test]
fn hex_plain() {
    check("hex_plain", View::Hex, false, &["--view", "hex"]);
}

#[test]
fn hex_color() {
    check("hex_color", View::Hex, true, &["--view", "hex"]);
}

#[test]
fn hex_field_plain() {
    check(
        "hex_field_plain",
        View::Hex,
        false,
        &["--view", "hex", "--field", "tcp.flags.syn"],
    );
}

#[test]
fn hex_field_color() {
    check(
        "hex_field_color",
        View::Hex,
        true,
        &["--view", "hex", "--field", "ip.addr"],
    );
}

#[test]
fn json_lines() {
    let plain = run("never", &["--view", "json"]);
    // JSON is for programs: never coloured, even when asked.
    assert_eq!(plain, run("always", &["--view", "json"]));
    assert_eq!(plain, print(View::Json, false, None, 100));
    for line in plain.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("each line is JSON");
    }
    insta::assert_snapshot!("json", plain);
}

/// On a narrow terminal the tree still fits: every line within 60 columns.
#[test]
fn layers_fit_a_narrow_terminal() {
    let text = print(View::Layers, false, None, 60);
    for line in text.lines() {
        assert!(
            line.chars().count() <= 60,
            "line longer than 60 columns: {line:?}"
        );
    }
    insta::assert_snapshot!("layers_narrow", text);
}

/// A field name that does not exist gets suggestions, not an empty highlight.
#[test]
fn unknown_field_suggests_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pcap = write_pcap(dir.path());
    let out = wirelab()
        .args(["dissect", "--view", "hex", "--field", "tcp.flags.sin"])
        .arg(&pcap)
        .assert()
        .failure()
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "--field: unknown field name 'tcp.flags.sin' (did you mean tcp.flags.fin, tcp.flags.syn"
        ),
        "{err}"
    );
}

/// A bad filter names the column and draws a caret under the expression.
#[test]
fn bad_filter_shows_a_caret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pcap = write_pcap(dir.path());
    let out = wirelab()
        .args(["dissect", "-Y", "tcp.port === 80"])
        .arg(&pcap)
        .assert()
        .failure()
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "wirelab: error: bad display filter (--filter): column 10: expected a value after '=='\n  tcp.port === 80\n           ^^\n"
    );
    assert!(out.stdout.is_empty());
}

/// The filter reaches the views: only matching packets are printed.
#[test]
fn filter_selects_packets() {
    let text = run("never", &["-Y", "udp || icmp || ip.proto == 1"]);
    let numbers: Vec<&str> = text
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .collect();
    assert_eq!(numbers, ["2", "3"]);
}

// ---------------------------------------------------------------------------------------------
// The colour rules
// ---------------------------------------------------------------------------------------------

/// `auto` writing to a pipe: no escape codes.
#[test]
fn auto_is_plain_in_a_pipe() {
    for view in ["summary", "layers", "hex"] {
        let text = run("auto", &["--view", view]);
        assert!(!text.contains(ESC), "{view}: escape codes in a pipe");
        assert_eq!(text, run("never", &["--view", view]));
    }
}

/// `always` colours a pipe, and wins over NO_COLOR and TERM=dumb (an explicit flag beats the
/// environment, as no-color.org asks).
#[test]
fn always_wins_over_the_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pcap = write_pcap(dir.path());
    let out = wirelab()
        .env("NO_COLOR", "1")
        .env("TERM", "dumb")
        .args(["--color", "always", "dissect"])
        .arg(&pcap)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8_lossy(&out).contains(ESC));
}

/// Run wirelab with `--color auto` inside a pseudo-terminal (`script` from util-linux) of 40
/// rows and 72 columns, so its standard output *is* a terminal. Returns `None` if `script` is
/// not installed.
fn in_terminal(env: &[(&str, &str)], args: &str) -> Option<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let pcap = write_pcap(dir.path());
    let inner = format!(
        "stty rows 40 cols 72; '{}' --color auto dissect '{}' {args}",
        env!("CARGO_BIN_EXE_wirelab"),
        pcap.display()
    );
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &inner, "/dev/null"])
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("COLUMNS")
        .env("TERM", "xterm-256color")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().ok()?;
    if !out.status.success() {
        panic!("script failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Some(String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n"))
}

#[test]
fn auto_colours_a_terminal_unless_told_not_to() {
    let Some(tty) = in_terminal(&[], "-c 1") else {
        common::skip_or_fail(
            "auto_colours_a_terminal_unless_told_not_to",
            "`script` (util-linux) is not installed, so no pseudo-terminal can be made",
        );
        return;
    };
    assert!(tty.contains(ESC), "a terminal gets colour: {tty:?}");
    assert!(tty.contains("TCP"), "the summary was printed: {tty:?}");

    let no_color = in_terminal(&[("NO_COLOR", "1")], "-c 1").expect("script ran before");
    assert!(!no_color.contains(ESC), "NO_COLOR=1: {no_color:?}");
    assert!(no_color.contains("TCP"));

    // NO_COLOR set but empty does not count (no-color.org: "present and not an empty string").
    let empty = in_terminal(&[("NO_COLOR", "")], "-c 1").expect("script ran before");
    assert!(empty.contains(ESC), "NO_COLOR='': {empty:?}");

    let dumb = in_terminal(&[("TERM", "dumb")], "-c 1").expect("script ran before");
    assert!(!dumb.contains(ESC), "TERM=dumb: {dumb:?}");
}

/// Without $COLUMNS, the layer tree fits the terminal's own width (72 columns here).
#[test]
fn layers_fit_the_terminal_width() {
    let Some(text) = in_terminal(&[("NO_COLOR", "1")], "--view layers") else {
        common::skip_or_fail(
            "layers_fit_the_terminal_width",
            "`script` (util-linux) is not installed, so no pseudo-terminal can be made",
        );
        return;
    };
    assert!(text.contains("L4 Transport"), "{text}");
    let widest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(
        (60..=72).contains(&widest),
        "the widest line is {widest} columns"
    );
}

/// `--field` marks the field's line in the layer tree too.
#[test]
fn layers_mark_the_chosen_field() {
    let text = print(View::Layers, false, Some("tcp.flags.syn"), 100);
    let marked: Vec<&str> = text.lines().filter(|l| l.starts_with("  ▶ ")).collect();
    // Packet 1 has the flag; packet 4 was cut off before it.
    assert_eq!(marked.len(), 1, "{marked:?}");
    assert!(marked[0].contains("Synchronize") && marked[0].contains("tcp.flags.syn"));
}

/// `--field` with a protocol name highlights that protocol's whole header.
#[test]
fn hex_highlights_a_whole_header() {
    let text = print(View::Hex, false, Some("udp"), 100);
    assert!(
        text.contains("  ^^ udp (UDP header): bytes 34–41\n"),
        "{text}"
    );
    // Under the row at 0x20: the eight UDP bytes 0x22..0x29 are marked.
    let rows: Vec<&str> = text.lines().collect();
    let at = rows
        .iter()
        .position(|l| l.starts_with("0020  38 14 9c 40"))
        .expect("row 0x20 of packet 2");
    assert!(
        rows[at + 1].starts_with("      ip─── udp───────────────────── "),
        "{}",
        rows[at + 1]
    );
    assert_eq!(rows[at + 2], "            ^^ ^^ ^^ ^^ ^^ ^^  ^^ ^^");
}
