//! DHCP between real programs, recorded now and read by wirelab and tshark: Debian's dnsmasq
//! as the server, busybox udhcpc as the client, in a network namespace the capture script
//! makes (tests/captures/dhcp/make.sh; no root needed). The committed capture made the same
//! way is compared in every run by tests/registry_tshark.rs; this test makes a fresh one where
//! the tools exist.
#![cfg(target_os = "linux")]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn have(cmd: &str, arg: &str) -> bool {
    Command::new(cmd).arg(arg).output().is_ok()
}

#[test]
fn a_fresh_dnsmasq_udhcpc_exchange_agrees_with_tshark() {
    for (tool, arg) in [
        ("dnsmasq", "--version"),
        ("busybox", "--help"),
        ("dumpcap", "-v"),
        ("tshark", "-v"),
        ("unshare", "--version"),
    ] {
        if !have(tool, arg) {
            common::skip_or_fail("dhcp_live", &format!("{tool} is not installed"));
            return;
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("dhcp.pcap");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/captures/dhcp/make.sh");
    let run = Command::new(&script)
        .arg(&out)
        .output()
        .expect("run make.sh");
    if !run.status.success() || !out.exists() {
        let why = format!(
            "tests/captures/dhcp/make.sh could not record an exchange (user namespaces may be off): {}",
            String::from_utf8_lossy(&run.stderr)
        );
        common::skip_or_fail("dhcp_live", &why);
        return;
    }
    let p = wirelab::dissect::registry::by_short("dhcp").expect("DHCP is registered");
    let mut tally = BTreeMap::new();
    let bad = common::registry_agreement(p, &out, &mut tally);
    common::print_tally("DHCP fields of a fresh exchange (agreed/compared):", &tally);
    // The four messages of the exchange, in order.
    let kinds = tally.get("dhcp.option.dhcp").map_or(0, |t| t.0);
    assert!(
        kinds >= 4,
        "expected Discover, Offer, Request, ACK; compared {kinds}"
    );
    assert!(
        bad.is_empty(),
        "{} differences:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
