//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// Where the shared capture corpus is: `$WIRELAB_CORPUS`, or `../shared/corpus` beside the
/// repository. `None` if neither exists.
pub fn corpus_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("WIRELAB_CORPUS") {
        let p = PathBuf::from(dir);
        return p.join("pcaps").is_dir().then_some(p);
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    p.join("pcaps").is_dir().then_some(p)
}

/// True when running in CI, where nothing may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Say that a test was skipped and why; under `CI=true`, fail instead.
pub fn skip_or_fail(test: &str, why: &str) {
    if in_ci() {
        panic!("{test}: cannot run: {why} (CI=true, so this is a failure, not a skip)");
    }
    eprintln!("SKIPPED {test}: {why}");
}
