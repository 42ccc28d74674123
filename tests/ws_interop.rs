//! wirelab's WebSocket against peers no one here wrote: python `websockets`, node `ws`, and
//! headless Chromium opening the chat pages (the WebSocket one, and Socket.IO's).
//!
//! The suites live in `tests/interop/ws/` (runnable on their own with `run.sh`); this test
//! runs each against the `wirelab` binary cargo just built, when its peer is installed. A
//! missing peer is a `SKIPPED` line, except under `CI=true`, where it is a failure.
//! Installing them: `pip install -r tests/interop/ws/requirements.txt`,
//! `(cd tests/interop/ws && npm ci)`, `apt-get install -y chromium`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/ws")
}

fn works(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .current_dir(dir())
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run_suite(name: &str) {
    let out = Command::new("bash")
        .arg(dir().join("run.sh"))
        .arg(name)
        .env("WIRELAB_BIN", env!("CARGO_BIN_EXE_wirelab"))
        .output()
        .expect("run.sh runs");
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "the {name} interop suite failed:\n{text}"
    );
    assert!(text.contains(" 0 failed"));
}

#[test]
fn python_websockets_peers() {
    if !works(
        "python3",
        &[
            "-c",
            "import websockets, sys; sys.exit(int(websockets.__version__.split('.')[0]) < 17)",
        ],
    ) {
        common::skip_or_fail(
            "ws_interop python",
            "python3 with websockets 17 is not installed (pip install -r tests/interop/ws/requirements.txt)",
        );
        return;
    }
    run_suite("python");
}

#[test]
fn node_ws_peers() {
    if !works("node", &["-e", "require.resolve('ws')"]) {
        common::skip_or_fail(
            "ws_interop node",
            "node with the ws package is not installed (cd tests/interop/ws && npm ci)",
        );
        return;
    }
    run_suite("node");
}

#[test]
fn chromium_chat_page() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists()
        || !works("node", &["-e", "require.resolve('playwright-core')"])
    {
        common::skip_or_fail(
            "ws_interop browser",
            "chromium (apt-get install -y chromium) or playwright-core (cd tests/interop/ws && npm ci) is missing",
        );
        return;
    }
    run_suite("browser");
}

/// The Socket.IO chat page of `sio serve` in headless Chromium: "your id" whole and
/// copyable, the Engine.IO session labelled private, the rooms and who is in each
/// (tests/interop/ws/sio_page.mjs; it uses this folder's playwright-core).
#[test]
fn chromium_sio_chat_page() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists()
        || !works("node", &["-e", "require.resolve('playwright-core')"])
    {
        common::skip_or_fail(
            "ws_interop sio-page",
            "chromium (apt-get install -y chromium) or playwright-core (cd tests/interop/ws && npm ci) is missing",
        );
        return;
    }
    run_suite("sio-page");
}

/// Autobahn|Testsuite in both roles (a few minutes). Needs Python 2.7; the virtualenv with
/// the pinned autobahntestsuite is made under target/autobahn on first use.
#[test]
fn autobahn_testsuite() {
    let pyenv_py2 = Command::new("pyenv")
        .arg("root")
        .output()
        .ok()
        .map(|o| {
            Path::new(String::from_utf8_lossy(&o.stdout).trim()).join("versions/2.7.18/bin/python")
        })
        .is_some_and(|p| p.exists());
    if !pyenv_py2 && !works("python2.7", &["--version"]) {
        common::skip_or_fail(
            "ws_interop autobahn",
            "Python 2.7 is not installed (pyenv install 2.7.18), so Autobahn|Testsuite cannot run",
        );
        return;
    }
    run_suite("autobahn");
}
