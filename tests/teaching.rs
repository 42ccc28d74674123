//! The teaching text and wirelab's behaviour, kept in step (issue 16).
//!
//! A teaching tool may not state a wrong fact, and the easiest wrong facts to make are the ones
//! that were true once: a port that changed, a flag that was renamed, a command that went away.
//! So the text is checked against what it talks about:
//!
//! * every command the glossary, the lessons and the `layers` table quote parses with the real
//!   command line (`wirelab::cli::Cli`): subcommands, flags and values all exist;
//! * every port written as `127.0.0.1:N` is a default of the command line (read from clap), or is
//!   set with `--port N` in the same text; the numbers the text quotes as defaults are the
//!   defaults;
//! * every "See it live" command of `wirelab define` runs: exit 0 and some output. Servers run
//!   with a client talking to them, clients against a server started for them; demos run on
//!   their portable path (WIRELAB_PORTABLE=1: real sockets on 127.0.0.1, the recorded trace for
//!   the packets); commands that need the lab or capture run for real where they can, and say
//!   SKIPPED where they cannot (a failure under `CI=true`);
//! * TCP states have one spelling, RFC 9293's (SYN-SENT, TIME-WAIT …), taken from the one
//!   definition in `stream::state`: the text (glossary, lessons, README, `--help`, every string
//!   and comment in src/) is scanned for other spellings;
//! * each wrong fact and misleading passage the issue listed is checked: the corrected sentence
//!   is there and the wrong one is gone.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::{CommandFactory, Parser};
use wirelab::cli::Cli;
use wirelab::glossary::{self, OSI_ROWS, TERMS};
use wirelab::stream::state::State;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_wirelab")
}

// ---------------------------------------------------------------------------------------------
// The texts

/// One piece of teaching text and where it comes from (for the failure messages).
struct Text {
    origin: String,
    body: String,
}

/// The glossary: each term's name, one-liner, paragraphs and live commands with what they show
/// (the aliases are lookup keys, not text, and deliberately include other spellings).
fn glossary_texts() -> Vec<Text> {
    let mut v = Vec::new();
    for t in TERMS {
        let mut body = format!("{}\n{}\n{}\n", t.name, t.short, t.text);
        for (cmd, what) in t.live {
            body.push_str(&format!("`{cmd}`\n{what}\n"));
        }
        v.push(Text {
            origin: format!("glossary: {}", t.name),
            body,
        });
    }
    let mut rows = String::new();
    for r in OSI_ROWS {
        rows.push_str(&format!("{}\n{}\n", r.job, r.command));
    }
    v.push(Text {
        origin: "glossary: OSI_ROWS".into(),
        body: rows,
    });
    v.push(Text {
        origin: "wirelab layers".into(),
        body: wirelab::commands::define::layers_text(100),
    });
    v
}

/// Each lesson's README.md and lesson.toml.
fn lesson_texts() -> Vec<Text> {
    let mut v = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(repo().join("lessons"))
        .expect("lessons")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for d in dirs {
        for f in ["README.md", "lesson.toml"] {
            let p = d.join(f);
            if let Ok(body) = std::fs::read_to_string(&p) {
                v.push(Text {
                    origin: p.strip_prefix(repo()).unwrap_or(&p).display().to_string(),
                    body,
                });
            }
        }
    }
    v
}

/// The `--help` of every subcommand, as a student reads it.
fn help_texts() -> Vec<Text> {
    fn walk(cmd: &mut clap::Command, path: String, out: &mut Vec<Text>) {
        out.push(Text {
            origin: format!("{path} --help"),
            body: cmd.render_long_help().to_string(),
        });
        let names: Vec<String> = cmd
            .get_subcommands()
            .map(|s| s.get_name().to_string())
            .filter(|n| n != "help")
            .collect();
        for n in names {
            let sub = cmd.find_subcommand_mut(&n).expect("subcommand");
            walk(sub, format!("{path} {n}"), out);
        }
    }
    let mut out = Vec::new();
    let mut cmd = Cli::command();
    cmd.build();
    walk(&mut cmd, "wirelab".into(), &mut out);
    out
}

/// Every string literal and comment of the Rust files (and the text of the HTML pages) under
/// `dir`: where narration, field explanations and module docs live. Identifiers are code, not
/// text (a constant may be named like a state and mean a timeout), so they are left out.
fn source_texts(dir: &Path) -> Vec<Text> {
    let mut v = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let ext = p.extension().and_then(|x| x.to_str()).unwrap_or("");
            let Ok(src) = std::fs::read_to_string(&p) else {
                continue;
            };
            // The glossary is read through `glossary_texts`, without its aliases (lookup
            // keys that list other spellings on purpose).
            if p.ends_with("src/glossary.rs") {
                continue;
            }
            let body = match ext {
                "rs" => strings_and_comments(&src).join("\n"),
                "html" | "md" | "toml" => src,
                _ => continue,
            };
            v.push(Text {
                origin: p.strip_prefix(repo()).unwrap_or(&p).display().to_string(),
                body,
            });
        }
    }
    v
}

/// The string literals and comments of a Rust source file, in order (a small lexer: it knows
/// comments, char literals, lifetimes, raw strings and escapes, which is all it must tell
/// apart).
fn strings_and_comments(src: &str) -> Vec<String> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = src[i..].find('\n').map_or(b.len(), |n| i + n);
                out.push(src[i..end].to_string());
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = src[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
                out.push(src[i..end].to_string());
                i = end;
            }
            b'\'' => {
                // A char literal ('x', '\n', '"') or a lifetime ('a).
                if b.get(i + 1) == Some(&b'\\') {
                    let end = src[i + 2..].find('\'').map_or(b.len(), |n| i + 2 + n + 1);
                    i = end;
                } else if b.get(i + 2) == Some(&b'\'') {
                    i += 3;
                } else {
                    // Maybe a multi-byte char literal: skip one char and its closing quote.
                    let c = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                    if b.get(i + 1 + c) == Some(&b'\'') {
                        i += 2 + c;
                    } else {
                        i += 1;
                    }
                }
            }
            b'r' | b'b'
                if (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
                    && raw_string_start(&b[i..]).is_some() =>
            {
                let (skip, hashes) = raw_string_start(&b[i..]).unwrap_or((1, 0));
                let start = i + skip;
                let close = format!("\"{}", "#".repeat(hashes));
                let end = src[start..].find(&close).map_or(b.len(), |n| start + n);
                out.push(src[start..end].to_string());
                i = end + close.len();
            }
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                // A line continuation (backslash, newline, indentation) is no text.
                let s = src[start..j.min(b.len())].to_string();
                let mut joined = String::new();
                let mut lines = s.split("\\\n");
                if let Some(first) = lines.next() {
                    joined.push_str(first);
                }
                for l in lines {
                    joined.push_str(l.trim_start());
                }
                out.push(joined);
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// `r"`, `r#"`, `br"` …: how many bytes the opening takes and how many `#` it has.
fn raw_string_start(b: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    if b.first() == Some(&b'b') {
        i += 1;
    }
    if b.get(i) != Some(&b'r') {
        return None;
    }
    i += 1;
    let mut hashes = 0;
    while b.get(i) == Some(&b'#') {
        hashes += 1;
        i += 1;
    }
    (b.get(i) == Some(&b'"')).then_some((i + 1, hashes))
}

fn all_texts() -> Vec<Text> {
    let mut v = glossary_texts();
    v.extend(lesson_texts());
    v.extend(help_texts());
    v.extend(source_texts(&repo().join("src")));
    for extra in ["README.md", "CHANGELOG.md"] {
        if let Ok(body) = std::fs::read_to_string(repo().join(extra)) {
            v.push(Text {
                origin: extra.into(),
                body,
            });
        }
    }
    // The exercises and solutions students read.
    for t in source_texts(&repo().join("lessons")) {
        if t.origin.ends_with(".rs") {
            v.push(t);
        }
    }
    v
}

// ---------------------------------------------------------------------------------------------
// Commands quoted in the text

/// Split a command line as a shell would (quotes and backslashes; no expansion).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut w = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => {
                if let Some(n) = chars.next() {
                    w.push(n);
                }
            }
            (Some(_), c) => w.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                if let Some(n) = chars.next() {
                    w.push(n);
                    in_word = true;
                }
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut w));
                    in_word = false;
                }
            }
            (None, c) => {
                w.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(w);
    }
    words
}

/// The `wirelab …` command lines in a text: lines of its code blocks, and inline `code` spans,
/// that start with `wirelab `. A trailing `# comment` is dropped; so is what follows a pipe or
/// a redirection (another program's business).
fn quoted_commands(body: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut in_block = false;
    for line in body.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block && line.trim_start().starts_with("wirelab ") {
            found.push(strip_comment(line.trim()).to_string());
        }
    }
    // Inline spans, which may run over a line break.
    let mut rest = body;
    while let Some(a) = rest.find('`') {
        let after = &rest[a + 1..];
        if let Some(fence) = after.strip_prefix("``") {
            rest = fence;
            continue;
        }
        let Some(z) = after.find('`') else { break };
        let span = after[..z].split_whitespace().collect::<Vec<_>>().join(" ");
        if span.starts_with("wirelab ") {
            found.push(span);
        }
        rest = &after[z + 1..];
    }
    found
}

fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev.is_whitespace() => return line[..i].trim_end(),
            _ => {}
        }
        prev = c;
    }
    line.trim_end()
}

/// The words clap should see for one quoted command: up to the first pipe, redirection or
/// command separator.
fn argv(cmd: &str) -> Vec<String> {
    let mut words = Vec::new();
    for w in shell_words(cmd) {
        if ["|", "||", "&&", ";", "&", ">", ">>", "2>", "<"].contains(&w.as_str()) {
            break;
        }
        words.push(w);
    }
    words
}

/// Every quoted command of the glossary, the lessons (text, demo and tour arrays, hints), the
/// `layers` table and the `--help` examples, with where it was found.
fn every_quoted_command() -> Vec<(String, String)> {
    let mut v = Vec::new();
    for t in TERMS {
        for (cmd, what) in t.live {
            v.push((format!("glossary {}: live", t.name), cmd.to_string()));
            for c in quoted_commands(what) {
                v.push((format!("glossary {}: live note", t.name), c));
            }
        }
        for c in quoted_commands(t.text) {
            v.push((format!("glossary {}", t.name), c));
        }
    }
    for r in OSI_ROWS {
        for part in r.command.split(", ") {
            if part.starts_with("wirelab ") {
                let cmd = part.split(" (").next().unwrap_or(part);
                v.push(("layers table".into(), cmd.to_string()));
            }
        }
    }
    for t in lesson_texts() {
        for c in quoted_commands(&t.body) {
            v.push((t.origin.clone(), c));
        }
    }
    let lessons = wirelab::lessons::load_from(&repo().join("lessons")).expect("lessons");
    for l in &lessons {
        v.push((
            format!("{} demo", l.id),
            format!("wirelab {}", l.demo.join(" ")),
        ));
        if let Some(tour) = &l.tour {
            v.push((
                format!("{} tour", l.id),
                format!("wirelab {}", tour.join(" ")),
            ));
        }
    }
    // The examples at the end of a `--help`.
    for h in help_texts() {
        let Some((_, examples)) = h.body.split_once("Examples:") else {
            continue;
        };
        for line in examples.lines() {
            let t = line.trim();
            if t.starts_with("wirelab ") {
                v.push((h.origin.clone(), t.to_string()));
            }
        }
    }
    v
}

/// Do these words name a subcommand (and nothing else)?
fn is_a_command(words: &[String]) -> bool {
    let cmd = Cli::command();
    let mut c = &cmd;
    for w in words {
        match c.find_subcommand(w) {
            Some(s) => c = s,
            None => return false,
        }
    }
    !words.is_empty()
}

#[test]
fn every_quoted_command_parses_with_the_real_command_line() {
    let all = every_quoted_command();
    assert!(all.len() > 80, "only {} commands found", all.len());
    // The reader finds commands in code blocks, inline spans, lesson.toml and --help.
    for (origin, cmd) in [
        (
            "lessons/04_udp/README.md",
            "wirelab udp send 127.0.0.1:9000 a b c",
        ),
        (
            "lessons/08_socketio/README.md",
            "wirelab sio connect http://127.0.0.1:3000/admin",
        ),
        ("02_sockets demo", "wirelab tcp echo"),
        (
            "wirelab ip mtu --help",
            "wirelab ip mtu --mtu 1000 --view layers -Y icmp",
        ),
    ] {
        assert!(
            all.iter().any(|(o, c)| o == origin && c == cmd),
            "{origin}: `{cmd}` not found"
        );
    }
    // And the check can fail.
    assert!(Cli::try_parse_from(argv("wirelab tcp frobnicate")).is_err());
    assert!(Cli::try_parse_from(argv("wirelab ws serve --prot 1")).is_err());
    let mut bad = Vec::new();
    for (origin, cmd) in &all {
        let words = argv(cmd);
        // `wirelab lab shell -- sh -c '…; ip neigh'` runs wirelab inside too: check both.
        let mut inner = Vec::new();
        if let Some(at) = words.iter().position(|w| w == "-c")
            && words.get(at - 1).is_some_and(|w| w == "sh")
            && let Some(script) = words.get(at + 1)
        {
            for part in script.split(';') {
                let part = part.trim();
                if part.starts_with("wirelab ") {
                    inner.push(argv(part));
                }
            }
        }
        for w in std::iter::once(words).chain(inner) {
            if let Err(e) = Cli::try_parse_from(&w) {
                use clap::error::ErrorKind;
                let fine = match e.kind() {
                    ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => true,
                    // Prose naming a command ("`wirelab ws connect` is one") gives it no
                    // arguments; the command itself must exist.
                    ErrorKind::MissingRequiredArgument | ErrorKind::MissingSubcommand => {
                        is_a_command(&w[1..])
                    }
                    _ => false,
                };
                if !fine {
                    bad.push(format!("{origin}: `{cmd}`:\n{e}"));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The names the text hands to `define`, `lesson`, `check` and `hint` exist: a term, a lesson,
/// an exercise or a question (placeholders in capitals, such as TERM or ID, aside).
#[test]
fn every_quoted_term_lesson_and_exercise_exists() {
    let lessons = wirelab::lessons::load_from(&repo().join("lessons")).expect("lessons");
    let ids: BTreeSet<String> = lessons
        .iter()
        .flat_map(|l| {
            l.exercises
                .iter()
                .map(|e| e.id.clone())
                .chain(l.questions.iter().map(|q| q.id.clone()))
        })
        .collect();
    let mut bad = Vec::new();
    let mut seen = 0;
    for (origin, cmd) in every_quoted_command() {
        let w = argv(&cmd);
        let rest: Vec<&str> = w.iter().skip(2).map(String::as_str).collect();
        let arg = rest.join(" ");
        if arg.is_empty() || arg.starts_with('-') || arg == arg.to_uppercase() {
            continue;
        }
        let known = match w.get(1).map(String::as_str) {
            Some("define") => glossary::lookup(&arg).is_some(),
            Some("lesson") | Some("check") => wirelab::lessons::find(&lessons, rest[0]).is_some(),
            Some("hint") => ids.contains(rest[0]),
            _ => continue,
        };
        seen += 1;
        if !known {
            bad.push(format!("{origin}: `{cmd}` names nothing that exists"));
        }
    }
    assert!(seen > 30, "only {seen} names checked");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Ports and defaults

/// The default of argument `arg` of the subcommand at `path`, from clap.
fn default_of(path: &[&str], arg: &str) -> String {
    let mut cmd = Cli::command();
    cmd.build();
    let mut c = &cmd;
    for p in path {
        c = c
            .find_subcommand(p)
            .unwrap_or_else(|| panic!("no subcommand {p} in {path:?}"));
    }
    let a = c
        .get_arguments()
        .find(|a| a.get_id() == arg)
        .unwrap_or_else(|| panic!("no argument {arg} for {path:?}"));
    let d = a.get_default_values();
    assert_eq!(d.len(), 1, "{path:?} {arg} has no single default");
    d[0].to_string_lossy().into_owned()
}

fn port_of(path: &[&str]) -> u16 {
    default_of(path, "port").parse().expect("a port")
}

/// The servers a student starts, and their default ports (from clap).
fn server_ports() -> BTreeMap<&'static str, u16> {
    BTreeMap::from([
        ("tcp serve", port_of(&["tcp", "serve"])),
        ("udp recv", port_of(&["udp", "recv"])),
        ("ws serve", port_of(&["ws", "serve"])),
        ("sio serve", port_of(&["sio", "serve"])),
    ])
}

/// The numbers after `127.0.0.1:` in a text.
fn loopback_ports(body: &str) -> Vec<u16> {
    let mut v = Vec::new();
    for (at, _) in body.match_indices("127.0.0.1:") {
        let digits: String = body[at + 10..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if let Ok(p) = digits.parse() {
            v.push(p);
        }
    }
    v
}

#[test]
fn every_loopback_port_in_the_text_is_a_default_or_set_beside_it() {
    let defaults: BTreeSet<u16> = server_ports().values().copied().collect();
    // Redis's own standard port, in lesson 9's example of a Redis the student runs.
    const NOT_OURS: &[(u16, &str)] = &[(6379, "redis://")];
    let mut bad = Vec::new();
    let mut texts = glossary_texts();
    texts.extend(lesson_texts());
    let mut seen = 0;
    for t in &texts {
        for p in loopback_ports(&t.body) {
            seen += 1;
            let set_here =
                t.body.contains(&format!("--port {p}")) || t.body.contains(&format!("-p {p}"));
            let known = NOT_OURS
                .iter()
                .any(|(n, ctx)| *n == p && t.body.contains(&format!("{ctx}127.0.0.1:{p}")));
            if !defaults.contains(&p) && !set_here && !known {
                bad.push(format!(
                    "{}: 127.0.0.1:{p} is no server's default ({defaults:?}) and no `--port {p}` sets it there",
                    t.origin
                ));
            }
        }
    }
    assert!(seen > 5, "only {seen} loopback ports found");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Numbers the text gives as what a command does by default, each checked against clap. A
/// phrase is written with `{}` where the default goes.
#[test]
fn defaults_quoted_in_the_text_are_the_defaults() {
    let ports = server_ports();
    let word = |n: &str| -> String {
        let n: usize = n.parse().expect("a number");
        [
            "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        ]
        .get(n)
        .map_or(n.to_string(), |w| w.to_string())
    };
    let term = |name: &str| -> String {
        glossary_texts()
            .into_iter()
            .find(|t| t.origin == format!("glossary: {name}"))
            .unwrap_or_else(|| panic!("no glossary entry {name}"))
            .body
    };
    let lesson = |path: &str| std::fs::read_to_string(repo().join(path)).expect(path);
    let claims: Vec<(String, String, String)> = vec![
        // (where, the text, the default it must contain)
        (
            "glossary WebSocket".into(),
            term("WebSocket"),
            format!("open http://127.0.0.1:{}/", ports["ws serve"]),
        ),
        (
            "glossary WebSocket".into(),
            term("WebSocket"),
            format!("wirelab ws connect ws://127.0.0.1:{}/ws", ports["ws serve"]),
        ),
        (
            "glossary socket".into(),
            term("socket"),
            format!("wirelab tcp connect 127.0.0.1:{}", ports["tcp serve"]),
        ),
        (
            "glossary Socket.IO".into(),
            term("Socket.IO"),
            format!(
                "wirelab sio connect http://127.0.0.1:{}",
                ports["sio serve"]
            ),
        ),
        (
            "glossary port ranges".into(),
            term("port ranges"),
            format!("the server on port {}", ports["tcp serve"]),
        ),
        (
            "glossary MTU".into(),
            term("MTU"),
            format!("a {}-byte link", default_of(&["ip", "mtu"], "mtu")),
        ),
        (
            "glossary fragmentation".into(),
            term("fragmentation"),
            format!(
                "a {}-byte UDP payload for a {}-byte link",
                default_of(&["ip", "mtu"], "size"),
                default_of(&["ip", "mtu"], "mtu")
            ),
        ),
        (
            "glossary fragmentation".into(),
            term("fragmentation"),
            format!("a {}-byte datagram", default_of(&["udp", "echo"], "big")),
        ),
        (
            "glossary Nagle's algorithm".into(),
            term("Nagle's algorithm"),
            format!(
                "{} small TCP writes",
                word(&default_of(&["udp", "echo"], "datagrams"))
            ),
        ),
        (
            "lessons/07_websocket/README.md".into(),
            lesson("lessons/07_websocket/README.md"),
            format!("wirelab's own server listens on {}", ports["ws serve"]),
        ),
        (
            "lessons/07_websocket/README.md".into(),
            lesson("lessons/07_websocket/README.md"),
            format!("open http://127.0.0.1:{}/", ports["ws serve"]),
        ),
        (
            "lessons/08_socketio/README.md".into(),
            lesson("lessons/08_socketio/README.md"),
            format!("a page at http://127.0.0.1:{}/", ports["sio serve"]),
        ),
    ];
    let mut bad = Vec::new();
    for (origin, text, want) in &claims {
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if !flat.contains(want.as_str()) {
            bad.push(format!(
                "{origin}: should say \"{want}\" (the default, from the CLI)"
            ));
        }
    }
    // `tcp echo` has no clap default for --port (it picks one on loopback); its help says
    // which port the lab uses, and that must be the server's usual one too.
    let mut cmd = Cli::command();
    cmd.build();
    let echo_help = cmd
        .find_subcommand_mut("tcp")
        .and_then(|c| c.find_subcommand_mut("echo"))
        .expect("tcp echo")
        .render_long_help()
        .to_string();
    let lab_port = format!("{} in the lab", ports["tcp serve"]);
    if !echo_help.contains(&lab_port) {
        bad.push(format!("tcp echo --help should say \"{lab_port}\""));
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// One spelling for TCP states

/// RFC 9293's names, from the one definition.
fn state_names() -> BTreeSet<&'static str> {
    [
        State::Closed,
        State::Listen,
        State::SynSent,
        State::SynReceived,
        State::Established,
        State::FinWait1,
        State::FinWait2,
        State::CloseWait,
        State::Closing,
        State::LastAck,
        State::TimeWait,
    ]
    .into_iter()
    .map(State::name)
    .collect()
}

#[test]
fn the_states_wirelab_reports_are_named_by_the_one_definition() {
    let names = state_names();
    // What `/proc/net/tcp` says, as the socket narration names it.
    for n in 1..=12 {
        let state = State::from_linux(n).expect("every state Linux numbers has a name");
        let s = state.name();
        assert!(names.contains(s), "/proc/net/tcp state {n} is called {s:?}");
        assert!(!state.meaning().is_empty(), "{s} has no meaning");
    }
    // The hand-made TCP's own machine (lesson 6) uses the same names.
    use wirelab::demos::handshake::stack::State as Hand;
    for h in [
        Hand::Closed,
        Hand::Listen,
        Hand::SynSent,
        Hand::SynReceived,
        Hand::Established,
        Hand::FinWait1,
        Hand::FinWait2,
        Hand::CloseWait,
        Hand::Closing,
        Hand::LastAck,
        Hand::TimeWait,
    ] {
        assert!(names.contains(h.name()), "{:?} is {:?}", h, h.name());
    }
}

/// Other spellings of the state names: Linux's constants (`TIME_WAIT`), words with spaces, and
/// any casing but RFC 9293's capitals.
fn wrong_state_spellings(body: &str) -> Vec<String> {
    let mut found = Vec::new();
    const STATES: &[&str] = &[
        "SYN-SENT",
        "SYN-RECEIVED",
        "FIN-WAIT-1",
        "FIN-WAIT-2",
        "CLOSE-WAIT",
        "LAST-ACK",
        "TIME-WAIT",
    ];
    let lower = body.to_lowercase();
    for rfc in STATES {
        let l = rfc.to_lowercase();
        for sep in ['_', ' '] {
            let other = l.replace('-', &sep.to_string());
            for (at, _) in lower.match_indices(&other) {
                let got = &body[at..at + other.len()];
                // Prose may say "its last ACK" or "SYN sent, waiting for…": only a name-like
                // spelling (all capitals, or a capitalised word like "Time wait") is a state
                // name; an underscore always is.
                let first = got.split(' ').next().unwrap_or("");
                let capitalised = first.starts_with(|c: char| c.is_uppercase())
                    && first.chars().skip(1).all(|c| c.is_lowercase());
                let name_like = sep == '_' || got == got.to_uppercase() || capitalised;
                if name_like {
                    found.push(got.to_string());
                }
            }
        }
        // Hyphens, but not in capitals: "Time-Wait", "time-wait".
        for (at, _) in lower.match_indices(&l) {
            let got = &body[at..at + l.len()];
            if got != *rfc {
                found.push(got.to_string());
            }
        }
    }
    for linux in ["syn_recv", "new_syn_recv", "fin_wait"] {
        for (at, _) in lower.match_indices(linux) {
            found.push(body[at..at + linux.len()].to_string());
        }
    }
    found.sort();
    found.dedup();
    found
}

#[test]
fn tcp_states_have_one_spelling_everywhere() {
    let mut bad = Vec::new();
    let texts = all_texts();
    assert!(texts.len() > 100, "only {} texts read", texts.len());
    for t in &texts {
        // The one place that reads the kernel's spellings (`/proc/net/tcp`, `ss`'s SYN_RECV)
        // into RFC 9293's names must name them.
        if t.origin == "src/stream/state.rs" {
            continue;
        }
        let w = wrong_state_spellings(&t.body);
        if !w.is_empty() {
            bad.push(format!("{}: {}", t.origin, w.join(", ")));
        }
    }
    assert!(
        bad.is_empty(),
        "TCP states are written as RFC 9293 writes them ({:?}):\n{}",
        state_names(),
        bad.join("\n")
    );
    // The scanner itself finds what it must.
    for wrong in [
        "in TIME_WAIT",
        "SYN_SENT",
        "Time wait",
        "Time-Wait",
        "fin_wait_2",
        "NEW_SYN_RECV",
    ] {
        assert!(
            !wrong_state_spellings(wrong).is_empty(),
            "{wrong} not caught"
        );
    }
    for right in [
        "SYN sent, waiting for the SYN-ACK",
        "TIME-WAIT",
        "SYN-SENT",
        "its last ACK was lost",
        "a SYN-ACK",
        "FIN-WAIT-2",
    ] {
        assert!(
            wrong_state_spellings(right).is_empty(),
            "{right} flagged: {:?}",
            wrong_state_spellings(right)
        );
    }
}

#[test]
fn websocket_is_spelled_websocket() {
    let mut bad = Vec::new();
    for t in all_texts() {
        for (at, _) in t.body.match_indices("Websocket") {
            let line = t.body[..at].lines().count();
            bad.push(format!("{} (around line {line})", t.origin));
        }
    }
    assert!(bad.is_empty(), "\"Websocket\" in:\n{}", bad.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// The wrong facts of issue 16, and the misleading passages: the right sentence is there, the
// wrong one is gone.

fn term_text(name: &str) -> String {
    let t = glossary::lookup(name).unwrap_or_else(|| panic!("no term {name}"));
    let mut s = format!("{}\n{}\n", t.short, t.text);
    for (c, w) in t.live {
        s.push_str(&format!("{c}\n{w}\n"));
    }
    s
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every text (as one string per origin), whitespace collapsed so a sentence may break lines.
fn flat(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn fact_1_the_websocket_chat_page_is_on_ws_serves_default_port() {
    let ws = flat(&term_text("WebSocket"));
    let port = port_of(&["ws", "serve"]);
    assert!(
        ws.contains(&format!(
            "then open http://127.0.0.1:{port}/ in two browser tabs"
        )),
        "{ws}"
    );
    assert!(!ws.contains("8080"), "{ws}");
}

#[test]
fn fact_2_loopback_is_all_of_127_and_the_demos_run_in_the_lab() {
    let ip = flat(&term_text("IP address"));
    assert!(
        ip.contains("All of 127.0.0.0/8 is loopback (RFC 1122 §3.2.1.3), as is ::1"),
        "{ip}"
    );
    assert!(
        ip.contains("Its demos run in the lab between 192.0.2.1 and 192.0.2.2"),
        "{ip}"
    );
    assert!(
        ip.contains("169.254.x addresses behind a TUN device"),
        "{ip}"
    );
    assert!(!ip.contains("where wirelab sends everything"), "{ip}");
    // And the demos do use those addresses: the handshake's TUN net is 169.254.X.
    assert!(
        flat(
            &Cli::command()
                .find_subcommand_mut("tcp")
                .and_then(|c| c.find_subcommand_mut("handshake"))
                .expect("tcp handshake")
                .render_long_help()
                .to_string()
        )
        .contains("169.254.X.1 (the kernel) and 169.254.X.2 (wirelab)")
    );
}

#[test]
fn fact_3_the_loopback_mss_is_65535_minus_40_not_its_mtu_minus_40() {
    // The sentence itself is built in src/demos/handshake (its unit test checks each case,
    // tests/handshake.rs the --rst-demo run); here: the old sentence is gone from the source,
    // and the glossary says the same.
    let src = read("src/demos/handshake/mod.rs");
    assert!(!src.contains("MTU minus 40 bytes of IPv4 and TCP headers"));
    assert!(src.contains("65,535, the largest IPv4 packet"));
    let mss = flat(&term_text("MSS"));
    assert!(
        mss.contains("On Linux's loopback the MTU (65536) is larger than any IPv4 packet, so the kernel announces 65,535 − 40 = 65,495"),
        "{mss}"
    );
}

#[test]
fn fact_4_the_checksum_is_the_complement_of_the_sum() {
    let c = flat(&term_text("checksum"));
    assert!(
        c.contains(
            "the one's complement of the one's-complement sum of the bytes, taken 16 bits at a time"
        ),
        "{c}"
    );
    assert!(!c.contains("a one's-complement sum of the bytes"), "{c}");
}

/// `wirelab ARGS` with no colour, its standard output.
fn wirelab_out(args: &[&str]) -> String {
    let o = Command::new(bin())
        .args(args)
        .args(["--color", "never"])
        .current_dir(repo())
        .env("COLUMNS", "200")
        .stdin(Stdio::null())
        .output()
        .expect("run wirelab");
    assert!(
        o.status.success(),
        "wirelab {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The JSON Lines view of a trace: each packet's fields by name.
fn json_packets(trace: &str, filter: &str) -> Vec<serde_json::Value> {
    wirelab_out(&["dissect", trace, "--view", "json", "-Y", filter])
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

/// The first value of field `name` anywhere in a packet's JSON.
fn field(v: &serde_json::Value, name: &str) -> Option<String> {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(x) = m.get(name) {
                return Some(match x {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Array(a) => a
                        .first()
                        .map(|f| f.as_str().map_or(f.to_string(), str::to_string))
                        .unwrap_or_default(),
                    other => other.to_string(),
                });
            }
            m.values().find_map(|x| field(x, name))
        }
        serde_json::Value::Array(a) => a.iter().find_map(|x| field(x, name)),
        _ => None,
    }
}

#[test]
fn fact_5_an_arp_replys_target_mac_is_the_askers() {
    let trace = "lessons/01_packets/trace.pcapng";
    let layers = flat(&wirelab_out(&[
        "dissect",
        trace,
        "--view",
        "layers",
        "-Y",
        "arp.opcode == 2",
    ]));
    assert!(
        layers.contains("in a reply it is the MAC address of the host that asked (RFC 826)"),
        "{layers}"
    );
    assert!(!layers.contains("still unknown, so it is zero"), "{layers}");
    // And it is: the reply's target MAC is the request's sender MAC.
    let req = &json_packets(trace, "arp.opcode == 1")[0];
    let rep = &json_packets(trace, "arp.opcode == 2")[0];
    let asker = field(req, "arp.src.hw_mac").expect("request sender MAC");
    assert_eq!(field(rep, "arp.dst.hw_mac"), Some(asker));
}

#[test]
fn fact_6_resp3_is_older_than_the_adapters_redis_7() {
    let mut bad = Vec::new();
    for t in all_texts() {
        let f = flat(&t.body);
        for wrong in [
            "RESP3 (Redis 7",
            "RESP3 (Redis 7 and later)",
            "needs RESP3 (Redis 7",
        ] {
            if f.contains(wrong) {
                bad.push(format!("{}: {wrong}", t.origin));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert!(
        flat(&read("src/sio/redis.rs")).contains("it speaks RESP3, which Redis has had since 6.0")
    );
    assert!(
        flat(&read("lessons/09_socketio_scale/README.md"))
            .contains("which Redis has had since 6.0) and asks for Redis 7 or later")
    );
}

#[test]
fn fact_7_a_connect_packet_carries_handshake_data_not_event_arguments() {
    let trace = "lessons/08_socketio/trace.pcapng";
    // The server's answer to CONNECT: 40{"sid":…}.
    let layers = flat(&wirelab_out(&[
        "dissect",
        trace,
        "--view",
        "layers",
        "-Y",
        "sio.type == 0 && tcp.srcport == 3000",
        "-c",
        "1",
    ]));
    assert!(
        layers.contains("Handshake data, not event arguments (Socket.IO protocol v5): from the server, the socket id (sid)"),
        "{layers}"
    );
    assert!(!layers.contains("The arguments, as JSON"), "{layers}");
    // An event still has arguments.
    let event = flat(&wirelab_out(&[
        "dissect",
        trace,
        "--view",
        "layers",
        "-Y",
        "sio.event == \"chat\"",
        "-c",
        "1",
    ]));
    assert!(event.contains("The arguments, as JSON"), "{event}");
}

/// The misleading passages of issue 16: (file, what it says now, what it must no longer say).
#[test]
fn the_misleading_passages_now_say_it_right() {
    let lessons = |p: &str| flat(&read(p));
    let cases: Vec<(&str, String, &[&str], &[&str])> = vec![
        (
            "Nagle is no timer (lesson 4)",
            lessons("lessons/04_udp/README.md"),
            &[
                "holds further small writes back and sends them together when the ACK arrives. There is no timer in it",
            ],
            &["waits a moment"],
        ),
        (
            "MSS counts data bytes (lesson 3)",
            lessons("lessons/03_tcp/README.md"),
            &["how many bytes of *data* (headers not counted) that side takes in one segment"],
            &["the largest segment each side wants"],
        ),
        (
            "MSS counts data bytes (tcp.options.mss_val)",
            flat(&read("src/dissect/tcp.rs")),
            &["The most data bytes (headers not counted) this end takes in one segment"],
            &["The largest segment data this end wants"],
        ),
        (
            "TIME-WAIT has two reasons (lesson 3)",
            lessons("lessons/03_tcp/README.md"),
            &[
                "if its last ACK was lost",
                "old duplicate segments of this connection must have died out",
            ],
            &[],
        ),
        (
            "TIME-WAIT has two reasons (glossary)",
            flat(&term_text("TIME-WAIT")),
            &[
                "if its last ACK is lost",
                "old duplicate segments of this connection must die out",
            ],
            &[],
        ),
        (
            "TIME-WAIT has two reasons (narration)",
            State::TimeWait.meaning().to_string(),
            &["a lost last ACK can be sent again and old duplicates die out"],
            &[],
        ),
        (
            "ISNs: clock + keyed hash (lesson 3)",
            lessons("lessons/03_tcp/README.md"),
            &["a clock plus a keyed hash of the addresses and ports, RFC 9293 §3.4.1"],
            &["picks a random starting number", "why are ISNs random"],
        ),
        (
            "ISNs: clock + keyed hash (glossary)",
            flat(&term_text("handshake")),
            &["from a clock that ticks every 4 µs plus a keyed hash"],
            &["The ISNs are random"],
        ),
        (
            "close() may send a RST (lesson 2)",
            lessons("lessons/02_sockets/README.md"),
            &[
                "it sends a FIN, or, if data arrived that the program never read, a RST (RFC 2525 §2.17)",
            ],
            &["`close()` sends a FIN."],
        ),
        (
            "close() on UDP and TCP (narration)",
            wirelab::demos::narrate::explain("close").to_string(),
            &[
                "For UDP nothing is sent",
                "or a RST if data that arrived was never read",
            ],
            &["TIME_WAIT"],
        ),
        (
            "capture point and offload (lesson 5)",
            lessons("lessons/05_capture/README.md"),
            &[
                "The copy is taken inside the kernel",
                "with TSO cut one large segment",
                "GRO merges",
            ],
            &["exactly as the network card sees it"],
        ),
        (
            "capture point (glossary packet)",
            flat(&term_text("packet")),
            &["copies each frame where the kernel hands it to the network card or gets it from it"],
            &["as the network card sees them"],
        ),
        (
            "padding happens after the sender's capture (lesson 1)",
            lessons("lessons/01_packets/README.md"),
            &[
                "(A capture on the machine that sends a short frame sees it before the padding: a 42-byte ARP request.)",
            ],
            &["short frames are padded to 60 bytes. Where"],
        ),
        (
            "any program can be a WebSocket client (glossary)",
            flat(&term_text("WebSocket")),
            &["Any program can be a client", "`wirelab ws connect`"],
            &["The client-side component runs in the browser"],
        ),
        (
            "any program can be a WebSocket client (lesson 7)",
            lessons("lessons/07_websocket/README.md"),
            &["any program can open a WebSocket, and `wirelab ws connect` is one"],
            &["The client-side component runs in the browser"],
        ),
        (
            "the payload is masked, against cache poisoning (lesson 7)",
            lessons("lessons/07_websocket/README.md"),
            &[
                "the payload of every frame from the client is XORed",
                "(§10.3)",
            ],
            &["masking key**: every frame from the client is XORed"],
        ),
        (
            "the payload is masked (glossary)",
            flat(&term_text("WebSocket")),
            &[
                "The payload of every frame from the client is XORed with a fresh random 4-byte key (RFC 6455 §5.3)",
            ],
            &["Frames from the client are masked"],
        ),
        (
            "1xx is informational (http.response.code)",
            flat(&read("src/dissect/http.rs")),
            &["1xx informational", "(RFC 9110 §15)"],
            &["1xx more to come"],
        ),
        (
            "Upgrade in a 101 is the server's (http.upgrade)",
            flat(&read("src/dissect/http.rs")),
            &["in a 101 response, the one the server switches to"],
            &["the client would like"],
        ),
        (
            "acks are a callback's argument, not a return value (lesson 8)",
            lessons("lessons/08_socketio/README.md"),
            &["what it passes to that callback travels back to the sender as an ACK packet"],
            &["return value"],
        ),
        (
            "long-polling first, then the upgrade (lesson 8)",
            lessons("lessons/08_socketio/README.md"),
            &[
                "The reference JavaScript client starts with long-polling and upgrades to WebSocket when it can",
            ],
            &["falls back to HTTP long-polling"],
        ),
        (
            "long-polling first, then the upgrade (glossary)",
            flat(&term_text("Socket.IO")),
            &[
                "The reference JavaScript client starts with HTTP long-polling and upgrades to WebSocket when it can",
            ],
            &["falls back to HTTP long-polling"],
        ),
        (
            "the two ids explained (lesson 8)",
            lessons("lessons/08_socketio/README.md"),
            &[
                "the 16-character Engine.IO session id",
                "the 24-character public id (144 random bits)",
            ],
            &[],
        ),
        (
            "the application's ack event is not Engine.IO's ping (lesson 8)",
            lessons("lessons/08_socketio/README.md"),
            &[
                "have nothing to do with Engine.IO's ping `2` and pong `3`",
                "`421[\"echo\",\"hi\"]`",
            ],
            &["421[\"ping\"]", "431[\"pong\"]", "/ack ping"],
        ),
        (
            "the server pings in Engine.IO v4 (lesson 8)",
            lessons("lessons/08_socketio/README.md"),
            &["Since Engine.IO version 4 the *server* sends a ping `2`"],
            &[],
        ),
    ];
    let mut bad = Vec::new();
    for (what, text, must, must_not) in &cases {
        for m in *must {
            if !text.contains(m) {
                bad.push(format!("{what}: missing \"{m}\""));
            }
        }
        for m in *must_not {
            if text.contains(m) {
                bad.push(format!("{what}: still says \"{m}\""));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_layers_table_agrees_with_itself() {
    let t = wirelab::commands::define::layers_text(100);
    // ARP sits in the OSI layer 3 row, whose TCP/IP column says Internet: it says it is Link.
    assert!(t.contains("ARP (TCP/IP: Link)"), "{t}");
    assert!(t.contains("RFC 1122 §2.3.2"), "{t}");
    // Layers 5 and 6 have no protocol in the table, and the list below it names none either.
    let list = t
        .split("See each layer in real traffic:")
        .nth(1)
        .expect("list");
    let flat_list = flat(list);
    for l in ["L6 Presentation", "L5 Session"] {
        let at = flat_list.find(l).expect(l);
        let line: String = flat_list[at..].split(" L").next().unwrap_or("").to_string();
        assert!(!line.contains("wirelab "), "{line}");
        assert!(line.contains("no protocol of its own"), "{line}");
    }
}

#[test]
fn every_seed_term_has_its_missing_concepts() {
    let cases: &[(&str, &[&str])] = &[
        ("socket", &["SOCK_STREAM", "SOCK_DGRAM", "5-tuple", "block"]),
        ("client", &["49152–65535", "RFC 6335 §6", "32768–60999"]),
        ("server", &["backlog"]),
        ("port ranges", &["0–1023", "1024–49151", "49152–65535"]),
        (
            "packet",
            &["MTU", "fragments", "frame check sequence", "preamble"],
        ),
        ("TCP/IP model", &["five-layer"]),
        ("TCP", &["Flow control", "Congestion control", "SACK"]),
        (
            "UDP",
            &[
                "Port Unreachable",
                "mandatory over IPv6 (RFC 8200 §8.1)",
                "connected UDP socket",
                "65,507",
            ],
        ),
        (
            "WebSocket",
            &["wss://", "port 443", "port 80", "Origin", "raw TCP socket"],
        ),
        (
            "Socket.IO",
            &[
                "not WebSocket",
                "at most once",
                "buffers",
                "namespaces",
                "sticky sessions",
                "the server sends a ping",
            ],
        ),
    ];
    let mut bad = Vec::new();
    for (term, words) in cases {
        let t = flat(&term_text(term));
        for w in *words {
            if !t.contains(w) {
                bad.push(format!("{term}: no \"{w}\""));
            }
        }
    }
    for name in [
        "port ranges",
        "5-tuple",
        "MTU",
        "fragmentation",
        "MSS",
        "flow control",
        "congestion control",
        "ARP cache",
        "TLS",
        "DHCP",
        "TTL",
        "ICMP",
        "Ethernet",
        "TIME-WAIT",
        "Nagle's algorithm",
    ] {
        if glossary::lookup(name).is_none() {
            bad.push(format!("no glossary entry {name}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Every "See it live" command runs

/// Linux only: the lab, capture on `lo` and process groups are what the course runs on
/// (tests/portable.rs covers the macOS and Windows paths).
#[cfg(target_os = "linux")]
mod live {
    use super::*;
    use std::io::Read;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    /// What a live command needs beyond a shell.
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum How {
        /// Runs anywhere as written (dissect, layers).
        Plain,
        /// A demo: run on its portable path (WIRELAB_PORTABLE=1).
        Portable,
        /// Needs the lab (lab, lab shell, ip …).
        Lab,
        /// Needs capture on the loopback, and traffic there.
        Capture,
        /// A server: run with a client talking to it.
        Server(&'static str),
        /// A client: run against a server started for it.
        Client(&'static str),
    }

    fn how(cmd: &str) -> How {
        let w = argv(cmd);
        let sub: Vec<&str> = w.iter().skip(1).take(2).map(String::as_str).collect();
        match sub.as_slice() {
            ["tcp", "serve"] => How::Server("tcp serve"),
            ["ws", "serve"] => How::Server("ws serve"),
            ["sio", "serve"] => How::Server("sio serve"),
            ["udp", "recv"] => How::Server("udp recv"),
            ["tcp", "connect"] => How::Client("tcp serve"),
            ["ws", "connect"] => How::Client("ws serve"),
            ["sio", "connect"] => How::Client("sio serve"),
            ["lab", ..] | ["ip", ..] => How::Lab,
            ["capture", ..] => How::Capture,
            ["tcp" | "udp" | "ws" | "sio", ..] => How::Portable,
            _ => How::Plain,
        }
    }

    /// A client's command line aimed at a server of the same kind listening on `port`.
    fn client_for(server: &str, port: u16) -> String {
        match server {
            "tcp serve" => format!("wirelab tcp connect 127.0.0.1:{port}"),
            "ws serve" => format!("wirelab ws connect ws://127.0.0.1:{port}/ws"),
            "sio serve" => format!("wirelab sio connect http://127.0.0.1:{port}"),
            "udp recv" => format!("wirelab udp send 127.0.0.1:{port} hello"),
            other => panic!("no client for {other}"),
        }
    }

    struct Ran {
        code: Option<i32>,
        out: String,
        err: String,
    }

    impl Ran {
        fn ok(&self) -> bool {
            self.code == Some(0) && !(self.out.trim().is_empty() && self.err.trim().is_empty())
        }
        fn tail(&self) -> String {
            let t = |s: &str| {
                let v: Vec<&str> = s.lines().collect();
                v[v.len().saturating_sub(15)..].join("\n")
            };
            format!(
                "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
                self.code,
                t(&self.out),
                t(&self.err)
            )
        }
    }

    /// The PATH with the binary under test first, so `wirelab` in a command is this build.
    fn path_env() -> String {
        let dir = Path::new(bin()).parent().expect("bin dir");
        format!(
            "{}:{}",
            dir.display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// Read a child's pipe on a thread into a shared buffer.
    fn collect(
        mut r: impl Read + Send + 'static,
    ) -> (Arc<Mutex<Vec<u8>>>, std::thread::JoinHandle<()>) {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let b = buf.clone();
        let t = std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = r.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                b.lock().expect("buffer").extend_from_slice(&chunk[..n]);
            }
        });
        (buf, t)
    }

    fn text_of(b: &Arc<Mutex<Vec<u8>>>) -> String {
        String::from_utf8_lossy(&b.lock().expect("buffer")).into_owned()
    }

    /// `bash -c CMD` in the repository (so `lessons/…` paths work), with `wirelab` this build,
    /// stdin empty, at most `limit` (then the whole process group is killed).
    fn sh(cmd: &str, portable: bool, limit: Duration) -> Ran {
        use std::os::unix::process::CommandExt;
        let mut c = Command::new("bash");
        c.args(["-c", cmd])
            .current_dir(repo())
            .env("PATH", path_env())
            .env("COLUMNS", "100")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        if portable {
            c.env("WIRELAB_PORTABLE", "1");
        } else {
            c.env_remove("WIRELAB_PORTABLE");
        }
        let mut child = c.spawn().expect("run bash");
        let (out, t1) = collect(child.stdout.take().expect("stdout"));
        let (err, t2) = collect(child.stderr.take().expect("stderr"));
        let start = Instant::now();
        let code = loop {
            if let Some(s) = child.try_wait().expect("wait") {
                break s.code();
            }
            if start.elapsed() > limit {
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .status();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let _ = (t1.join(), t2.join());
        Ran {
            code,
            out: text_of(&out),
            err: text_of(&err),
        }
    }

    /// A free TCP and UDP port on 127.0.0.1 (the kernel's choice; the race until the server binds
    /// it is harmless here).
    fn free_port() -> u16 {
        loop {
            let t = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            let p = t.local_addr().expect("addr").port();
            if std::net::UdpSocket::bind(("127.0.0.1", p)).is_ok() {
                return p;
            }
        }
    }

    /// Start `server_cmd` (a server's command line) on `port`, wait until it says it listens, run
    /// `client_cmd`, then stop the server. Returns what the server printed and the client's run.
    fn with_server(server_cmd: &str, port: u16, client_cmd: &str) -> (String, Ran) {
        let mut words = argv(server_cmd);
        words.remove(0);
        let mut child = Command::new(bin())
            .args(&words)
            .args(["--port", &port.to_string(), "--color", "never"])
            .current_dir(repo())
            .env("COLUMNS", "100")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server");
        let (out, t1) = collect(child.stdout.take().expect("stdout"));
        let (err, t2) = collect(child.stderr.take().expect("stderr"));
        let start = Instant::now();
        let ready = |s: &str| {
            let s = s.to_lowercase();
            s.contains("listening") || s.contains("receiving on") || s.contains("listen(")
        };
        while start.elapsed() < Duration::from_secs(20)
            && !ready(&format!("{}{}", text_of(&out), text_of(&err)))
            && child.try_wait().ok().flatten().is_none()
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        // Give a narrated listen() a moment to return.
        std::thread::sleep(Duration::from_millis(300));
        let ran = sh(client_cmd, false, Duration::from_secs(60));
        // A one-connection server (tcp serve) ends by itself; the others are stopped.
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline && child.try_wait().ok().flatten().is_none() {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        let _ = (t1.join(), t2.join());
        (format!("{}{}", text_of(&out), text_of(&err)), ran)
    }

    /// Is the lab, or capture on lo, available here? `None` if yes, else why not.
    fn missing(h: How) -> Option<String> {
        match h {
            How::Lab => {
                let ok = Command::new(bin())
                    .args(["lab", "--color", "never"])
                    .env_remove("WIRELAB_PORTABLE")
                    .stdin(Stdio::null())
                    .output()
                    .is_ok_and(|o| o.status.success());
                (!ok).then(|| "the lab cannot be built here (`wirelab lab` says why)".into())
            }
            How::Capture => {
                let o = Command::new(bin())
                    .args(["capture", "-i", "lo", "-c", "0"])
                    .env_remove("WIRELAB_PORTABLE")
                    .stdin(Stdio::null())
                    .output()
                    .expect("run wirelab");
                (!o.status.success()).then(|| {
                    format!(
                        "capture on lo is not allowed here: {}",
                        String::from_utf8_lossy(&o.stderr).trim()
                    )
                })
            }
            _ => None,
        }
    }

    #[test]
    fn every_define_entry_shows_it_live() {
        // Each distinct command once, with the terms that quote it.
        let mut cmds: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for t in TERMS {
            for (cmd, _) in t.live {
                cmds.entry(cmd).or_default().push(t.name);
            }
        }
        assert!(cmds.len() > 20, "only {} live commands", cmds.len());
        let lab_missing = missing(How::Lab);
        let capture_missing = missing(How::Capture);
        let jobs: Vec<(&str, Vec<&str>)> = cmds.into_iter().collect();
        let jobs = Arc::new(Mutex::new(jobs));
        let failures = Arc::new(Mutex::new(Vec::<String>::new()));
        let skipped = Arc::new(Mutex::new(Vec::<String>::new()));
        // Three at a time: the machine is shared.
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let (jobs, failures, skipped) = (jobs.clone(), failures.clone(), skipped.clone());
                let (lab_missing, capture_missing) = (lab_missing.clone(), capture_missing.clone());
                std::thread::spawn(move || {
                    loop {
                        let Some((cmd, terms)) = jobs.lock().expect("jobs").pop() else {
                            break;
                        };
                        let h = how(cmd);
                        let why_not = match h {
                            How::Lab => lab_missing.clone(),
                            How::Capture => capture_missing.clone(),
                            _ => None,
                        };
                        if let Some(why) = why_not {
                            skipped
                                .lock()
                                .expect("skipped")
                                .push(format!("`{cmd}`: {why}"));
                            continue;
                        }
                        let who = format!("`{cmd}` (define {})", terms.join(", "));
                        let started = Instant::now();
                        match h {
                            How::Plain | How::Portable | How::Lab => {
                                let r = sh(cmd, h == How::Portable, Duration::from_secs(240));
                                if !r.ok() {
                                    failures
                                        .lock()
                                        .expect("f")
                                        .push(format!("{who}\n{}", r.tail()));
                                }
                            }
                            How::Capture => {
                                // Traffic for the capture to see: datagrams to 127.0.0.1:9.
                                let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
                                let s2 = stop.clone();
                                let traffic = std::thread::spawn(move || {
                                    let sock =
                                        std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
                                    let start = Instant::now();
                                    while !s2.load(std::sync::atomic::Ordering::Relaxed)
                                        && start.elapsed() < Duration::from_secs(30)
                                    {
                                        let _ =
                                            sock.send_to(b"define example traffic", "127.0.0.1:9");
                                        std::thread::sleep(Duration::from_millis(100));
                                    }
                                });
                                let r = sh(cmd, false, Duration::from_secs(60));
                                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                                let _ = traffic.join();
                                if !r.ok() {
                                    failures
                                        .lock()
                                        .expect("f")
                                        .push(format!("{who}\n{}", r.tail()));
                                }
                            }
                            How::Server(kind) => {
                                let port = free_port();
                                let (said, client) =
                                    with_server(cmd, port, &client_for(kind, port));
                                if said.trim().is_empty() || !client.ok() {
                                    failures.lock().expect("f").push(format!(
                                        "{who}: the server said:\n{said}\nits client:\n{}",
                                        client.tail()
                                    ));
                                }
                            }
                            How::Client(kind) => {
                                let default = server_ports()[kind];
                                let port = free_port();
                                let aimed =
                                    cmd.replace(&format!(":{default}"), &format!(":{port}"));
                                assert_ne!(aimed, cmd, "{cmd} does not use {kind}'s default port");
                                let server = format!("wirelab {kind}");
                                let (said, client) = with_server(&server, port, &aimed);
                                if !client.ok() {
                                    failures.lock().expect("f").push(format!(
                                        "{who}: run as `{aimed}`:\n{}\nthe server said:\n{said}",
                                        client.tail()
                                    ));
                                }
                            }
                        }
                        eprintln!(
                            "ran {who} ({h:?}) in {:.1} s",
                            started.elapsed().as_secs_f64()
                        );
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().expect("worker");
        }
        for s in skipped.lock().expect("skipped").iter() {
            common::skip_or_fail("every_define_entry_shows_it_live", s);
        }
        let f = failures.lock().expect("failures");
        assert!(f.is_empty(), "{}", f.join("\n\n"));
    }

    #[test]
    fn the_socketio_demo_explains_its_two_ids() {
        // The portable path: real sockets on 127.0.0.1, socketioxide's server.
        let r = sh("wirelab sio demo", true, Duration::from_secs(120));
        assert!(r.ok(), "{}", r.tail());
        // Narration wraps to the screen's width: read it with its lines joined.
        let all = format!("{}{}", r.out, r.err)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            all.contains("public id: 144 random bits in 24 characters, the room others reach this socket through; the 16-character Engine.IO session id"),
            "{}",
            r.tail()
        );
        assert!(all.contains("authorises its connection over WebSocket and stays private"));
        assert!(!all.contains("Websocket"), "{}", r.tail());
        assert!(all.contains("carol emits echo with an ack id"));
    }
}
