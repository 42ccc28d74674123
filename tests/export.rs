//! `wirelab dissect FILE --export`: the ladder as a standalone SVG image (well-formed XML,
//! one arrow per TCP segment), the page (self-contained, the packets embedded in the JSON
//! view's shape), the cap on large captures, and the page in a real browser
//! (tests/interop/export, headless Chromium).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_wirelab")
}

fn lesson_trace(lesson: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("lessons")
        .join(lesson)
        .join("trace.pcapng")
}

fn wirelab(args: &[&str]) -> std::process::Output {
    let out = Command::new(bin())
        .args(args)
        .args(["--color", "never"])
        .output()
        .expect("run wirelab");
    assert!(
        out.status.success(),
        "wirelab {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The packets of a capture as the JSON view gives them.
fn json_packets(file: &Path) -> Vec<Value> {
    let out = wirelab(&["dissect", file.to_str().unwrap(), "--view", "json"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// How many packets carry a TCP segment the ladder draws (TCP, not quoted in an ICMP error).
fn tcp_segments(packets: &[Value]) -> usize {
    packets
        .iter()
        .filter(|p| {
            let protos = p["protocols"].as_str().unwrap_or("");
            protos.split(':').any(|x| x == "tcp") && !protos.contains("icmp")
        })
        .count()
}

/// The arrows of an SVG ladder: `<g class="arrow …" data-packet="N">`, checked well formed.
fn arrows(svg: &str) -> Vec<usize> {
    let doc = roxmltree::Document::parse(svg)
        .unwrap_or_else(|e| panic!("the SVG is not well-formed XML: {e}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    doc.descendants()
        .filter(|n| {
            n.has_tag_name("g")
                && n.attribute("class")
                    .is_some_and(|c| c.split(' ').any(|w| w == "arrow"))
        })
        .map(|n| n.attribute("data-packet").unwrap().parse().unwrap())
        .collect()
}

fn check_svg(file: &Path) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ladder.svg");
    wirelab(&[
        "dissect",
        file.to_str().unwrap(),
        "--export",
        out.to_str().unwrap(),
    ]);
    let svg = std::fs::read_to_string(&out).unwrap();
    let a = arrows(&svg);
    let want = tcp_segments(&json_packets(file));
    assert_eq!(
        a.len(),
        want,
        "{}: one arrow per TCP segment",
        file.display()
    );
    let mut unique = a.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), a.len(), "each arrow names its own packet");
    a.len()
}

#[test]
fn svg_export_is_well_formed_with_one_arrow_per_segment() {
    let n = check_svg(&lesson_trace("03_tcp"));
    assert!(n >= 10, "the TCP lesson's trace has a whole conversation");
    // A trace with UDP and IP fragments besides TCP: only the TCP segments are arrows.
    check_svg(&lesson_trace("04_udp"));
}

#[test]
fn svg_export_of_corpus_captures() {
    let corpus = common::corpus_or_fail("svg_export_of_corpus_captures");
    let mut done = 0;
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus.join("pcaps"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.len() < 2_000_000)
                && p.extension()
                    .is_some_and(|e| e == "pcap" || e == "pcapng" || e == "cap")
        })
        .collect();
    files.sort();
    for f in files.iter().take(40) {
        // Damaged captures are part of the corpus; the export must still be well formed
        // for whatever could be read, so only files wirelab reads to the end are compared.
        let probe = Command::new(bin())
            .args(["dissect", f.to_str().unwrap(), "--view", "json"])
            .output()
            .unwrap();
        if !probe.status.success() {
            continue;
        }
        check_svg(f);
        done += 1;
    }
    assert!(done > 0, "no corpus capture was exported");
}

/// The embedded data of a page.
fn page_data(html: &str) -> Value {
    let start = html
        .find("<script type=\"application/json\" id=\"data\">")
        .expect("the page embeds its data");
    let rest = &html[start..];
    let body = &rest[rest.find('>').unwrap() + 1..rest.find("</script>").unwrap()];
    serde_json::from_str(body).expect("the embedded data is JSON")
}

#[test]
fn html_export_is_self_contained_and_embeds_the_json_view() {
    let file = lesson_trace("03_tcp");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("trace.html");
    wirelab(&[
        "dissect",
        file.to_str().unwrap(),
        "--export",
        out.to_str().unwrap(),
    ]);
    let html = std::fs::read_to_string(&out).unwrap();
    // Nothing to fetch: no external script, style sheet, image or font.
    for bad in [
        "<script src",
        "<link",
        "@import",
        "url(http",
        "src=\"http",
        "href=\"http",
    ] {
        assert!(
            !html.contains(bad),
            "the page refers to something outside: {bad}"
        );
    }
    assert!(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    let data = page_data(&html);
    let packets = data["packets"].as_array().unwrap();
    let json = json_packets(&file);
    assert_eq!(packets.len(), json.len());
    assert_eq!(data["total"], json.len());
    assert!(data["note"].is_null());
    for (p, j) in packets.iter().zip(&json) {
        // The JSON view's shape, with the page's additions (each layer's colour, a field's
        // value as a person reads it).
        for key in ["number", "time", "protocols", "fields", "problems"] {
            assert_eq!(p[key], j[key].clone(), "{key} of packet {}", j["number"]);
        }
        let mut layers = p["layers"].clone();
        for l in layers.as_array_mut().unwrap() {
            assert!(l["color"].as_str().unwrap().starts_with('#'));
            l.as_object_mut().unwrap().remove("color");
            for f in l["fields"].as_array_mut().unwrap() {
                f.as_object_mut().unwrap().remove("display");
            }
        }
        assert_eq!(layers, j["layers"], "layers of packet {}", j["number"]);
        assert_eq!(
            p["bytes"].as_str().unwrap().len(),
            2 * j["cap_len"].as_u64().unwrap() as usize
        );
        assert!(
            p["line"]
                .as_str()
                .unwrap()
                .contains(j["number"].to_string().as_str())
        );
    }
    // Explanations, once per field name.
    assert!(
        data["explain"]["tcp.srcport"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    // The ladder inside the page has one arrow per segment too.
    let svg_start = html.find("<svg").unwrap();
    let svg_end = html.find("</svg>").unwrap() + "</svg>".len();
    assert_eq!(arrows(&html[svg_start..svg_end]).len(), tcp_segments(&json));
}

#[test]
fn export_caps_large_captures_and_says_so() {
    let file = lesson_trace("03_tcp");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("trace.html");
    let o = wirelab(&[
        "dissect",
        file.to_str().unwrap(),
        "--export",
        out.to_str().unwrap(),
        "--export-max",
        "5",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    let total = json_packets(&file).len();
    assert!(
        stderr.contains(&format!("{} more were left out", total - 5)),
        "{stderr}"
    );
    let html = std::fs::read_to_string(&out).unwrap();
    let data = page_data(&html);
    assert_eq!(data["packets"].as_array().unwrap().len(), 5);
    assert_eq!(data["total"], total);
    assert!(html.contains(&format!("only the first 5 of {total} packets")));
    // A name that is neither a page nor an image is refused, naming the flag.
    let bad = Command::new(bin())
        .args(["dissect", file.to_str().unwrap(), "--export", "out.txt"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--export"));
}

/// The page in headless Chromium: tests/interop/export/run.sh (needs node, npm and
/// chromium; under CI=true they must be there). It also checks the projector layout at
/// 1280×720 (no sideways scrolling, list beside detail, bytes beside fields, the A−/A+
/// control) and keeps screenshots in tests/artifacts/export/.
#[test]
fn html_export_in_chromium() {
    let test = "html_export_in_chromium";
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/export");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let has = |cmd: &str| {
        Command::new(cmd)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !Path::new(&chromium).exists() {
        return common::skip_or_fail(test, &format!("no chromium at {chromium}"));
    }
    if !has("node") || !has("npm") {
        return common::skip_or_fail(test, "node and npm are not installed");
    }
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/artifacts/export");
    let out = Command::new("bash")
        .arg(here.join("run.sh"))
        .env("WIRELAB_BIN", bin())
        .env("ARTIFACTS", &artifacts)
        .output()
        .expect("run tests/interop/export/run.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let line = stdout
        .lines()
        .rfind(|l| l.starts_with("export-interop: "))
        .unwrap_or_else(|| panic!("no result line from run.sh:\n{stdout}"));
    assert!(line.ends_with(" 0 failed"), "{line}");
    assert!(out.status.success(), "{line}");
    for shot in ["export-packet.png", "export-1280x720.png"] {
        assert!(
            artifacts.join(shot).is_file(),
            "the screenshot {shot} is kept"
        );
    }
}
