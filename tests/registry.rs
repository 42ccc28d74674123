//! The protocol registry keeps its promise: a protocol is one file plus one line, and a
//! registered protocol has every piece the rest of wirelab reads (src/dissect/registry.rs).
//!
//! Fails when a file in src/dissect is neither one of the engine's files, a built-in protocol
//! nor registered; when a registered protocol has no field table, a field without a learner's
//! explanation, a field table rustfmt may spread over many lines, no placement or reason for
//! it, a glossary term that does not exist, no way to be recognised, no unit tests, or no
//! capture to check it against tshark (tests/captures/<name>/, see tests/registry_tshark.rs).

use std::collections::BTreeSet;
use std::path::Path;

use wirelab::dissect::model::Proto;
use wirelab::dissect::registry::{self, BUILT_IN, ENGINE, Reg};
use wirelab::dissect::{REGISTERED, REGISTERED_FILES};

fn dissect_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/dissect")
}

#[test]
fn every_protocol_file_is_registered() {
    let files: BTreeSet<String> = std::fs::read_dir(dissect_dir())
        .expect("src/dissect")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".rs").map(str::to_string)
        })
        .collect();
    for f in &files {
        assert!(
            ENGINE.contains(&f.as_str())
                || BUILT_IN.contains(&f.as_str())
                || REGISTERED_FILES.contains(&f.as_str()),
            "src/dissect/{f}.rs is a protocol file that is not registered: add `{f},` to the \
             protocols! list in src/dissect/mod.rs (and give it a `pub static PROTOCOL`)"
        );
    }
    for f in ENGINE.iter().chain(BUILT_IN).chain(REGISTERED_FILES) {
        assert!(
            files.contains(*f),
            "the registry names src/dissect/{f}.rs, which does not exist"
        );
    }
    assert_eq!(REGISTERED.len(), REGISTERED_FILES.len());
}

#[test]
fn every_registered_protocol_has_its_pieces() {
    let mut shorts = BTreeSet::new();
    for (p, file) in REGISTERED.iter().zip(REGISTERED_FILES) {
        let who = format!("{} (src/dissect/{file}.rs)", p.name);
        assert!(
            shorts.insert(p.short),
            "{who}: short name {} registered twice",
            p.short
        );
        assert!(
            !Proto::ALL.iter().any(|b| b.short() == p.short),
            "{who}: short name {} is a built-in protocol's",
            p.short
        );
        assert_eq!(
            Proto::from_short(p.short),
            Some(Proto::Reg(Reg(p))),
            "{who}: not found by its filter name"
        );
        assert!(!p.name.is_empty(), "{who}: no name");
        assert!(
            p.about.len() > 60,
            "{who}: no learner's explanation (about)"
        );
        assert!(
            p.placement.len() > 60,
            "{who}: its OSI/TCP-IP placement gives no reason"
        );
        assert!(
            p.osi.tcpip() == p.tcpip,
            "{who}: OSI {:?} and TCP/IP {:?} disagree; if on purpose, the test must learn why",
            p.osi,
            p.tcpip
        );
        assert!(!p.recognise.is_empty(), "{who}: no way to recognise it");
        let term = wirelab::glossary::lookup(p.term)
            .unwrap_or_else(|| panic!("{who}: glossary term {:?} is not defined", p.term));
        assert!(
            wirelab::glossary::protocols_of(term)
                .iter()
                .any(|q| q.short == p.short),
            "{who}: `define {}` does not show it",
            p.term
        );
        assert!(
            wirelab::glossary::protocols_at(p.osi).contains(&Proto::Reg(Reg(p))),
            "{who}: `wirelab layers` does not place it"
        );
        assert!(!p.fields.is_empty(), "{who}: no field table");
        for f in p.fields.iter().flat_map(|t| t.iter()) {
            assert!(
                f.name.starts_with(&format!("{}.", p.short)),
                "{who}: field {} does not start with {}.",
                f.name,
                p.short
            );
            assert!(
                f.explain.len() > 20 && f.explain.ends_with('.'),
                "{who}: field {} has no explanation for a learner",
                f.name
            );
            assert!(!f.label.is_empty(), "{who}: field {} has no label", f.name);
            assert!(
                wirelab::filter::is_known_field(f.name),
                "{who}: the filter does not know {}",
                f.name
            );
            assert_eq!(
                registry::field(f.name).map(|d| d.name),
                Some(f.name),
                "{who}: `define {}` does not find it",
                f.name
            );
        }
        let text = std::fs::read_to_string(dissect_dir().join(format!("{file}.rs"))).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if l.contains(": &[FieldDef] = &[") {
                assert_eq!(
                    lines[i.saturating_sub(1)].trim(),
                    "#[rustfmt::skip]",
                    "{who}: the field table at line {} must be #[rustfmt::skip] (one row a line)",
                    i + 1
                );
            }
        }
        assert!(text.contains("#[cfg(test)]"), "{who}: no unit tests");
        let caps = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/captures")
            .join(p.short);
        let n = std::fs::read_dir(&caps).map_or(0, |d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().contains(".pcap"))
                .count()
        });
        assert!(
            n > 0,
            "{who}: no capture in tests/captures/{}/ to check it against tshark",
            p.short
        );
    }
}
