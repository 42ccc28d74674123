//! TLS between real programs, recorded now and read by wirelab and tshark: OpenSSL's
//! s_server and s_client with SNI and ALPN, TLS 1.3 and TLS 1.2, on the loopback of a network
//! namespace the capture script makes (tests/captures/tls/make.sh; no root needed). The
//! committed captures made the same way are compared in every run by
//! tests/registry_tshark.rs; this test makes fresh ones where the tools exist.
#![cfg(target_os = "linux")]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use wirelab::pipeline::{Config, Pipeline};

fn have(cmd: &str, arg: &str) -> bool {
    Command::new(cmd).arg(arg).output().is_ok()
}

#[test]
fn fresh_openssl_handshakes_agree_with_tshark() {
    for (tool, arg) in [
        ("openssl", "version"),
        ("dumpcap", "-v"),
        ("tshark", "-v"),
        ("unshare", "--version"),
    ] {
        if !have(tool, arg) {
            common::skip_or_fail("tls_live", &format!("{tool} is not installed"));
            return;
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/captures/tls/make.sh");
    let run = Command::new(&script)
        .arg(dir.path())
        .output()
        .expect("run make.sh");
    let files = ["openssl-tls13.pcap", "openssl-tls12.pcap"].map(|f| dir.path().join(f));
    if !run.status.success() || !files.iter().all(|f| f.exists()) {
        let why = format!(
            "tests/captures/tls/make.sh could not record the handshakes (user namespaces may be off): {}",
            String::from_utf8_lossy(&run.stderr)
        );
        common::skip_or_fail("tls_live", &why);
        return;
    }
    let p = wirelab::dissect::registry::by_short("tls").expect("TLS is registered");
    let mut tally = BTreeMap::new();
    let mut bad = Vec::new();
    for f in &files {
        bad.extend(common::registry_agreement(p, f, &mut tally));
        // The summary names the server the client asked for.
        let frames = wirelab::source::file::read_all(f).expect("reads");
        let mut pl = Pipeline::new(Config::full());
        let lines: Vec<String> = frames
            .iter()
            .map(|fr| {
                let d = pl.push(&fr.as_frame());
                wirelab::dissect::describe(d, d.layers.last().expect("a layer"))
            })
            .collect();
        assert!(
            lines
                .iter()
                .any(|l| l == "TLS Client Hello (SNI=example.test) (ALPN=h2)"),
            "{}: no Client Hello with SNI in {lines:#?}",
            f.display()
        );
        assert!(lines.iter().any(|l| l.starts_with("TLS Server Hello")));
    }
    common::print_tally("TLS fields of fresh handshakes (agreed/compared):", &tally);
    for name in [
        "tls.handshake.extensions_server_name",
        "tls.handshake.ciphersuite",
        "tls.handshake.extensions.supported_version",
    ] {
        assert!(
            tally.get(name).is_some_and(|t| t.0 > 0),
            "{name} was never compared"
        );
    }
    assert!(
        bad.is_empty(),
        "{} differences:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
