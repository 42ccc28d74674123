//! Property tests for the Engine.IO and Socket.IO parsers: no bytes make them panic, what
//! they build they read back, and every range they report lies inside the input.

use proptest::prelude::*;
use serde_json::{Value, json};
use wirelab::dissect::cx::Cx;
use wirelab::dissect::engineio::{self, Transport};
use wirelab::dissect::model::Dissection;
use wirelab::dissect::socketio::{self, Packet, PacketType};

fn dissect(payload: &[u8], base: usize, t: Transport) -> Dissection {
    let mut d = Dissection {
        data: vec![0; base],
        ..Dissection::default()
    };
    d.data.extend_from_slice(payload);
    let mut cx = Cx::new(&mut d);
    engineio::dissect(&mut cx, payload, base, t);
    d
}

/// Text that looks like Socket.IO often enough to reach the deeper rules.
fn packetish() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        "[0-6]{1,2}[0-9]{0,3}-?(/[a-z]{0,4},)?[0-9]{0,4}(\\[\"[a-z]{0,5}\"(,[0-9]{1,3})?\\]|\\{\\}|\\[|\"x\")?"
            .prop_map(|s| s.into_bytes()),
        "([0-6][0-9\\[\\]\"a,/{}-]{0,12}\u{1e}){0,4}b?[A-Za-z0-9+/=]{0,8}".prop_map(|s| s.into_bytes()),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        ".{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z]{1,4}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn socketio_parse_never_panics(bytes in packetish()) {
        match socketio::parse(&bytes) {
            Ok(p) => {
                for r in [&p.attachments_range, &p.namespace_range, &p.ack_id_range,
                          &p.payload_range, &p.event_range].into_iter().flatten() {
                    prop_assert!(r.start <= r.end && r.end <= bytes.len());
                }
                let _ = p.explain();
            }
            Err(e) => prop_assert!(e.at <= bytes.len()),
        }
    }

    #[test]
    fn engineio_dissect_never_panics(bytes in packetish(), base in 0usize..100) {
        for t in [Transport::WebSocketText, Transport::WebSocketBinary, Transport::Polling] {
            let d = dissect(&bytes, base, t);
            for f in &d.fields {
                prop_assert!(f.at as usize >= base);
                prop_assert!(f.range().end <= base + bytes.len(), "{} {:?}", f.name, f.range());
            }
            for p in &d.problems {
                prop_assert!(p.at as usize <= base + bytes.len());
            }
        }
        let _ = engineio::explain(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn events_round_trip(name in "[a-zA-Z0-9 _-]{1,12}", args in proptest::collection::vec(json_value(), 0..4),
                         ack in proptest::option::of(0u64..1_000_000), ns in "(/[a-z]{1,6})?") {
        let mut p = Packet::event(&name, &args, ack);
        if !ns.is_empty() { p.namespace = ns.clone(); }
        let text = p.encode();
        let back = socketio::parse(text.as_bytes()).unwrap();
        prop_assert_eq!(back.kind, PacketType::Event);
        prop_assert_eq!(back.event.as_deref(), Some(name.as_str()));
        prop_assert_eq!(back.args(), &args[..]);
        prop_assert_eq!(back.ack_id, ack);
        prop_assert_eq!(back.namespace, if ns.is_empty() { "/".to_string() } else { ns });
        // The event name's range holds exactly its JSON string.
        let r = back.event_range.unwrap();
        prop_assert_eq!(&text[r], serde_json::to_string(&name).unwrap());
    }

    #[test]
    fn polling_body_splits_into_its_packets(texts in proptest::collection::vec("[0-6][a-z0-9]{0,6}", 1..6)) {
        let body = texts.join("\u{1e}");
        let (packets, problems) = engineio::split(body.as_bytes(), Transport::Polling);
        prop_assert!(problems.is_empty());
        prop_assert_eq!(packets.len(), texts.len());
        for (p, t) in packets.iter().zip(&texts) {
            prop_assert_eq!(&body[p.range.clone()], t.as_str());
        }
    }
}

#[test]
fn deeply_nested_json_is_an_error_not_a_crash() {
    let mut text = String::from("2[\"x\",");
    text.push_str(&"[".repeat(100_000));
    assert!(socketio::parse(text.as_bytes()).is_err());
}
