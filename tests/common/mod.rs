//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// Where the capture corpus is: `tests/corpus/` in the repository (real captures from tcpdump,
/// Zeek and gopacket with tshark's reading of each; see its README), or `$WIRELAB_CORPUS` if
/// set. `None` only if it is missing, which the corpus tests treat as a failure: the corpus is
/// part of the repository, so a checkout without it is broken.
pub fn corpus_dir() -> Option<PathBuf> {
    let p = match std::env::var_os("WIRELAB_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus"),
    };
    p.join("pcaps").is_dir().then_some(p)
}

/// Every lesson's recorded trace (`lessons/*/trace.pcapng`), sorted: with the corpus, the
/// captures the whole-corpus tests read.
pub fn lesson_traces() -> Vec<PathBuf> {
    let lessons = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons");
    let mut v: Vec<PathBuf> = std::fs::read_dir(lessons)
        .expect("lessons/")
        .flatten()
        .map(|e| e.path().join("trace.pcapng"))
        .filter(|t| t.exists())
        .collect();
    v.sort();
    v
}

/// Every capture of the corpus (`pcaps/`) and every lesson's trace, sorted.
pub fn corpus_and_lesson_files(corpus: &std::path::Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(corpus.join("pcaps"))
        .expect("the corpus's pcaps/")
        .flatten()
        .map(|e| e.path())
        .collect();
    v.extend(lesson_traces());
    v.sort();
    v
}

/// The corpus directory, or a failing test saying where it was looked for.
pub fn corpus_or_fail(test: &str) -> PathBuf {
    corpus_dir().unwrap_or_else(|| {
        panic!(
            "{test}: the capture corpus is missing (looked in tests/corpus/ or $WIRELAB_CORPUS); it is part of the repository, so restore it with git"
        )
    })
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

/// A copy of the wirelab binary and of the lessons in a fresh directory that every user may
/// read, for tests that run wirelab as an unprivileged user (uid 65534). The checkout itself may
/// sit under a directory only its owner can enter (a CI clone under /root), which the
/// unprivileged user could not reach. Deleted when dropped.
pub struct PublicCopy {
    pub dir: tempfile::TempDir,
    /// The copied binary.
    pub bin: PathBuf,
    /// The copied lessons folder (pass it as WIRELAB_LESSONS).
    pub lessons: PathBuf,
}

impl PublicCopy {
    /// A command that runs this copy as user and group 65534, with no supplementary groups and
    /// no capabilities (needs root to switch, and `setpriv`), reading this copy's lessons.
    pub fn as_nobody(&self) -> std::process::Command {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&self.bin)
            .env("WIRELAB_LESSONS", &self.lessons);
        c
    }
}

/// The command that runs wirelab: the build's binary, or with `copy`, that copy as uid 65534
/// ([`PublicCopy::as_nobody`]). The copy must live as long as the command runs.
pub fn wirelab_as(copy: Option<&PublicCopy>) -> std::process::Command {
    match copy {
        Some(copy) => copy.as_nobody(),
        None => std::process::Command::new(env!("CARGO_BIN_EXE_wirelab")),
    }
}

pub fn public_copy() -> PublicCopy {
    fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).expect("create dir");
        set_mode(to, 0o755);
        for e in std::fs::read_dir(from).expect("read dir") {
            let e = e.expect("dir entry");
            let target = to.join(e.file_name());
            if e.file_type().expect("file type").is_dir() {
                copy_tree(&e.path(), &target);
            } else {
                std::fs::copy(e.path(), &target).expect("copy");
                set_mode(&target, 0o644);
            }
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    set_mode(dir.path(), 0o755);
    let bin = dir.path().join("wirelab");
    // A hard link costs nothing; where the temp folder is on another file system, copy.
    if std::fs::hard_link(env!("CARGO_BIN_EXE_wirelab"), &bin).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_wirelab"), &bin).expect("copy the binary");
    }
    set_mode(&bin, 0o755);
    let lessons = dir.path().join("lessons");
    copy_tree(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("lessons"),
        &lessons,
    );
    PublicCopy { dir, bin, lessons }
}

/// chmod, where files have Unix permissions (the copy is for another user of this machine).
fn set_mode(path: &std::path::Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
}

/// tshark 4.0 writes bytes as bare hex; wirelab writes them with colons. Compare the digits.
pub fn tshark_norm(v: &str) -> String {
    let hexish = v.len() > 2 && v.split(':').all(|p| p.len() == 2);
    if hexish {
        v.replace(':', "").to_ascii_lowercase()
    } else {
        v.to_string()
    }
}

/// `tshark -T fields` writes CR, LF and tab inside a text value as `\r`, `\n`, `\t`.
pub fn tshark_escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('\r', "\\r")
        .replace('\n', "\\n")
        .replace('\t', "\\t")
}

/// The WebSocket captures of the shared corpus (their names contain "websocket"), sorted.
pub fn ws_captures(corpus: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(corpus.join("pcaps"))
        .expect("pcaps")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains("websocket"))
        .collect();
    names.sort();
    names
}

/// Print how many cells of each column agreed (`agreed/compared`), and the total.
pub fn print_tally(what: &str, tally: &std::collections::BTreeMap<String, (u64, u64)>) {
    println!("{what}");
    let (mut n, mut ok) = (0, 0);
    for (col, (c, a)) in tally {
        println!("  {col:<42} {a}/{c}");
        n += c;
        ok += a;
    }
    println!("  {:<42} {ok}/{n}", "all");
}

/// Differences from tshark allowed in the registry agreement tests, each with its reason
/// (tests/registry_allow.tsv): (capture file name or *, frame or *, field or *).
pub fn registry_allowed() -> Vec<(String, String, String)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/registry_allow.tsv");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            assert!(
                c.len() >= 4,
                "registry_allow.tsv: a row needs file, frame, field, reason: {l}"
            );
            (c[0].to_string(), c[1].to_string(), c[2].to_string())
        })
        .collect()
}

/// tshark's values of `names` in a capture, one row per frame, one cell per name (all
/// occurrences, comma-separated), with TCP reassembly off (wirelab reads a registered
/// protocol in the segment that carries it).
pub fn tshark_field_rows(path: &std::path::Path, names: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = std::process::Command::new("tshark");
    cmd.args(["-n", "-o", "tcp.desegment_tcp_streams:FALSE", "-r"])
        .arg(path)
        .args(["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"]);
    for n in names {
        cmd.args(["-e", n]);
    }
    let out = cmd.output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// Compare every field of registered protocol `p` in one capture with tshark, frame by frame:
/// adds (compared, agreed) per field to `tally` and returns the differences not allowed.
pub fn registry_agreement(
    p: &wirelab::dissect::registry::Protocol,
    path: &std::path::Path,
    tally: &mut std::collections::BTreeMap<String, (u64, u64)>,
) -> Vec<String> {
    use wirelab::pipeline::{Config, Pipeline};
    let mut names: Vec<&str> = p
        .fields
        .iter()
        .flat_map(|t| t.iter().map(|f| f.name))
        .collect();
    names.sort();
    names.dedup();
    let allow = registry_allowed();
    let mut bad = Vec::new();
    let file = path.file_name().unwrap().to_string_lossy().to_string();
    let theirs = tshark_field_rows(path, &names);
    let frames = wirelab::source::file::read_all(path).expect("reads");
    let mut pl = Pipeline::new(Config::full());
    for (i, f) in frames.iter().enumerate() {
        let d = pl.push(&f.as_frame());
        for (k, name) in names.iter().enumerate() {
            let mine: Vec<String> = d
                .fields
                .iter()
                .enumerate()
                .filter(|(_, f)| f.name == *name)
                // tshark prints a field with no value (a heading) as 1.
                .map(|(j, f)| match f.value {
                    wirelab::dissect::Value::None => "1".to_string(),
                    _ => tshark_norm(&f.tshark(d.field_bytes(j))),
                })
                .collect();
            let mine = mine.join(",");
            let want = theirs
                .get(i)
                .and_then(|r| r.get(k))
                .map(|v| v.split(',').map(tshark_norm).collect::<Vec<_>>().join(","))
                .unwrap_or_default();
            if mine.is_empty() && want.is_empty() {
                continue;
            }
            let e = tally.entry(name.to_string()).or_default();
            e.0 += 1;
            if mine == want {
                e.1 += 1;
                continue;
            }
            let frame = (i + 1).to_string();
            let ok = allow.iter().any(|(af, an, ak)| {
                (af == "*" || *af == file)
                    && (an == "*" || *an == frame)
                    && (ak == "*" || ak == name)
            });
            if !ok {
                bad.push(format!(
                    "{file} frame {frame} {name}: wirelab {mine:?}, tshark {want:?}"
                ));
            }
        }
    }
    bad
}
