//! Trace questions: the right answers, worked out from the lesson's own trace by the engine.
//!
//! A question such as "what is the acknowledgment number of the SYN-ACK?" is not answered by a
//! number written down somewhere: the checker reads the lesson's `trace.pcapng`, dissects it,
//! and finds the SYN-ACK. Regenerate the trace and the right answers change with it.

use std::path::Path;

use crate::dissect::model::Field;
use crate::dissect::model::{Dissection, Proto, Value};
use crate::dissect::tcp::TcpSegment;
use crate::pipeline::{Config, Pipeline};
use crate::source::file::CaptureReader;

/// Every computation a `lesson.toml` question may name, with what it finds.
pub const COMPUTATIONS: &[(&str, &str)] = &[
    ("client_isn", "the raw sequence number of the client's SYN"),
    ("synack_ack", "the acknowledgment number of the SYN-ACK"),
    (
        "synack_ack_relative",
        "the SYN-ACK's ack number relative to the client's ISN",
    ),
    ("server_port", "the destination port of the first SYN"),
    ("client_port", "the source port of the first SYN"),
    ("mss_syn", "the MSS option of the first SYN"),
    (
        "first_data_frame",
        "the number of the first frame carrying TCP data",
    ),
    ("fin_count", "how many segments carry FIN"),
    ("tcp_data_segments", "how many TCP segments carry data"),
    ("udp_datagrams", "how many UDP datagrams the trace holds"),
    (
        "udp_length_first",
        "the UDP length field of the first datagram",
    ),
    (
        "udp_payload_first",
        "the payload bytes of the first UDP datagram",
    ),
    (
        "ports_layer_tcpip",
        "the TCP/IP layer of the header that carries the ports",
    ),
    (
        "ports_layer_osi",
        "the OSI layer number of the header that carries the ports",
    ),
    (
        "addresses_layer_osi",
        "the OSI layer number of the header that carries IP addresses",
    ),
    ("first_ethertype", "the EtherType of the first IPv4 frame"),
    ("ttl_first", "the TTL of the first IPv4 packet"),
    ("fragments", "how many frames are IPv4 fragments"),
    (
        "arp_target",
        "the IPv4 address the first ARP request asks about",
    ),
    (
        "ws_accept",
        "the Sec-WebSocket-Accept value in the 101 response",
    ),
    ("ws_first_opcode", "the opcode of the first WebSocket frame"),
    (
        "ws_client_masked",
        "whether the client's first frame is masked (1 or 0)",
    ),
    ("sio_first_event", "the name of the first Socket.IO event"),
    (
        "ws_server_masked",
        "whether the server's first frame is masked (1 or 0)",
    ),
    (
        "ws_len7_of_16bit_frame",
        "the 7-bit length field of the first frame whose length needs 16 bits",
    ),
    ("ws_close_code", "the status code of the first close frame"),
    (
        "eio_ping_interval",
        "the ping interval (ms) in the first Engine.IO open packet",
    ),
    (
        "sio_chat_deliveries",
        "how many \"chat\" events the server(s) sent to clients",
    ),
    (
        "sio_first_ack_id",
        "the ack id of the first event that asks for an acknowledgement",
    ),
    (
        "server_ports_count",
        "how many different server ports the clients connect to",
    ),
    (
        "sio_room_server_ports",
        "from how many different server ports the \"room\" event reached clients",
    ),
    (
        "min_ack_rtt_ms",
        "the smallest tcp.analysis.ack_rtt of an ACK of data, in whole milliseconds (rounded down)",
    ),
    (
        "tcp_retransmissions",
        "how many TCP segments are retransmissions",
    ),
    ("dup_acks", "how many TCP segments are duplicate ACKs"),
    (
        "tcp_data_bytes",
        "the bytes of TCP data sent, retransmissions not counted",
    ),
    (
        "time_exceeded",
        "how many ICMP Time Exceeded messages the trace holds",
    ),
    (
        "time_exceeded_routers",
        "how many different routers sent Time Exceeded",
    ),
    (
        "first_time_exceeded_src",
        "the source address of the first Time Exceeded",
    ),
];

/// Read and dissect every frame of a trace, with the messages (HTTP, WebSocket, Engine.IO,
/// Socket.IO) that the byte streams carry.
pub fn load_trace(path: &Path) -> Result<Vec<Dissection>, String> {
    let mut r = CaptureReader::open(path).map_err(|e| e.to_string())?;
    // The one pipeline, as `wirelab dissect` runs it: the answers are the views' numbers.
    let mut pipe = Pipeline::new(Config::full());
    let mut out = Vec::new();
    loop {
        match r.next_frame() {
            Ok(Some(f)) => out.push(pipe.push(&f).clone()),
            Ok(None) => {
                pipe.finish();
                return Ok(out);
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// The frame's own TCP segment, read once by the dissector (and numbered by the tracker).
fn tcp(d: &Dissection) -> Option<&TcpSegment> {
    d.tcp_segment()
}

fn first_syn(t: &[Dissection]) -> Result<&TcpSegment, String> {
    t.iter()
        .filter_map(tcp)
        .find(|s| s.flags.is_syn_only())
        .ok_or_else(|| "the trace has no SYN".to_string())
}

fn first_synack(t: &[Dissection]) -> Result<&TcpSegment, String> {
    t.iter()
        .filter_map(tcp)
        .find(|s| s.flags.is_syn_ack())
        .ok_or_else(|| "the trace has no SYN-ACK".to_string())
}

/// A segment's data length, where it has one.
/// Does the stream analysis mark this frame's TCP segment with `flag`?
fn tcp_marked(d: &Dissection, flag: u32) -> bool {
    tcp(d).and_then(|s| s.analysis).is_some_and(|a| a.has(flag))
}

/// The frames that are ICMP Time Exceeded messages (type 11).
fn time_exceeded(t: &[Dissection]) -> impl Iterator<Item = &Dissection> {
    t.iter()
        .filter(|d| d.has(Proto::Icmp) && d.uint("icmp.type") == Some(11))
}

fn data_len(d: &Dissection) -> u32 {
    tcp(d).and_then(|s| s.len).unwrap_or(0)
}

fn text_field(d: &Dissection, name: &str) -> Option<String> {
    d.field(name).map(|f: &Field| match &f.value {
        Value::Text(t) => t.clone(),
        _ => f.tshark(&d.data),
    })
}

/// Every value of the field `name` in a frame (a frame may carry several messages), as text.
fn all_text(d: &Dissection, name: &str) -> Vec<String> {
    d.fields
        .iter()
        .filter(|f| f.name == name)
        .map(|f| match &f.value {
            Value::Text(t) => t.clone(),
            _ => f.tshark(&d.data),
        })
        .collect()
}

/// The ports the clients' SYNs go to: the servers of the trace.
fn server_ports(t: &[Dissection]) -> std::collections::BTreeSet<u16> {
    t.iter()
        .filter_map(tcp)
        .filter(|s| s.flags.is_syn_only())
        .map(|s| s.dst_port)
        .collect()
}

/// The server ports that sent the Socket.IO event `event` to a client, and how many times.
fn server_sent(t: &[Dissection], event: &str) -> (std::collections::BTreeSet<u16>, usize) {
    let servers = server_ports(t);
    let mut ports = std::collections::BTreeSet::new();
    let mut count = 0;
    for d in t {
        let Some(src) = tcp(d).map(|s| s.src_port) else {
            continue;
        };
        if !servers.contains(&src) {
            continue;
        }
        let n = all_text(d, "sio.event")
            .iter()
            .filter(|e| *e == event)
            .count();
        if n > 0 {
            ports.insert(src);
            count += n;
        }
    }
    (ports, count)
}

/// The layer (of any frame) that holds the field `name`.
fn layer_holding(t: &[Dissection], name: &str) -> Result<Proto, String> {
    for d in t {
        for l in &d.layers {
            if d.layer_fields(l).iter().any(|f| f.name == name) {
                return Ok(l.proto);
            }
        }
    }
    Err(format!("no frame of the trace has {name}"))
}

/// Work out the answer `name` from the dissected trace.
pub fn compute(name: &str, t: &[Dissection]) -> Result<String, String> {
    Ok(match name {
        "client_isn" => first_syn(t)?.seq.to_string(),
        "synack_ack" => first_synack(t)?
            .ack()
            .ok_or("the SYN-ACK has no acknowledgment number")?
            .to_string(),
        "synack_ack_relative" => {
            // As every view shows it: the stream analysis' relative number.
            let a = first_synack(t)?
                .analysis
                .filter(|a| a.relative)
                .ok_or("the SYN-ACK was not numbered by the stream analysis")?;
            a.ack.to_string()
        }
        "server_port" => first_syn(t)?.dst_port.to_string(),
        "client_port" => first_syn(t)?.src_port.to_string(),
        "mss_syn" => first_syn(t)?
            .options
            .mss
            .ok_or("the first SYN has no MSS option")?
            .to_string(),
        "first_data_frame" => t
            .iter()
            .find(|d| data_len(d) > 0)
            .map(|d| d.number.to_string())
            .ok_or("no TCP segment carries data")?,
        "fin_count" => t
            .iter()
            .filter(|d| tcp(d).is_some_and(|s| s.flags.fin()))
            .count()
            .to_string(),
        "tcp_data_segments" => t.iter().filter(|d| data_len(d) > 0).count().to_string(),
        "udp_datagrams" => t.iter().filter(|d| d.has(Proto::Udp)).count().to_string(),
        "udp_length_first" => t
            .iter()
            .find_map(|d| d.udp.first())
            .ok_or("no UDP datagram")?
            .length
            .to_string(),
        "udp_payload_first" => t
            .iter()
            .find_map(|d| d.udp.first())
            .ok_or("no UDP datagram")?
            .data_len()
            .to_string(),
        "ports_layer_tcpip" => layer_holding(t, "tcp.srcport")
            .or_else(|_| layer_holding(t, "udp.srcport"))?
            .tcpip()
            .name()
            .to_string(),
        "ports_layer_osi" => layer_holding(t, "tcp.srcport")
            .or_else(|_| layer_holding(t, "udp.srcport"))?
            .osi()
            .number()
            .to_string(),
        "addresses_layer_osi" => layer_holding(t, "ip.src")
            .or_else(|_| layer_holding(t, "ipv6.src"))?
            .osi()
            .number()
            .to_string(),
        "first_ethertype" => {
            let d = t
                .iter()
                .find(|d| d.has(Proto::Ipv4))
                .ok_or("no IPv4 packet")?;
            d.field("eth.type")
                .map(|f| f.tshark(&d.data))
                .ok_or("the first IPv4 packet has no Ethernet header")?
        }
        "ttl_first" => t
            .iter()
            .find_map(|d| d.ip.first().filter(|ip| ip.version == 4))
            .ok_or("no IPv4 packet")?
            .ttl
            .to_string(),
        "fragments" => t
            .iter()
            .filter(|d| d.ip.first().is_some_and(|ip| ip.is_fragment()))
            .count()
            .to_string(),
        "arp_target" => t
            .iter()
            .find(|d| d.uint("arp.opcode") == Some(1))
            .and_then(|d| text_field(d, "arp.dst.proto_ipv4"))
            .ok_or("no ARP request")?,
        "ws_accept" => t
            .iter()
            .find_map(|d| {
                text_field(d, "websocket.accept")
                    .or_else(|| text_field(d, "http.sec_websocket_accept"))
            })
            .ok_or("no Sec-WebSocket-Accept in the trace")?,
        "ws_first_opcode" => t
            .iter()
            .find_map(|d| d.uint("websocket.opcode"))
            .map(|v| v.to_string())
            .ok_or("no WebSocket frame in the trace")?,
        "ws_client_masked" => t
            .iter()
            .find_map(|d| d.uint("websocket.mask"))
            .map(|v| v.to_string())
            .ok_or("no WebSocket frame in the trace")?,
        "sio_first_event" => t
            .iter()
            .find_map(|d| text_field(d, "sio.event"))
            .ok_or("no Socket.IO event in the trace")?,
        "ws_server_masked" => {
            let server = first_syn(t)?.dst_port;
            t.iter()
                .filter(|d| tcp(d).is_some_and(|s| s.src_port == server))
                .find_map(|d| d.uint("websocket.mask"))
                .map(|v| v.to_string())
                .ok_or("no WebSocket frame from the server in the trace")?
        }
        "ws_len7_of_16bit_frame" => t
            .iter()
            .find(|d| d.field("websocket.payload_length_ext_16").is_some())
            .and_then(|d| d.uint("websocket.payload_length"))
            .map(|v| v.to_string())
            .ok_or("no WebSocket frame with a 16-bit length in the trace")?,
        "ws_close_code" => t
            .iter()
            .find_map(|d| d.uint("websocket.payload.close.status_code"))
            .map(|v| v.to_string())
            .ok_or("no WebSocket close frame with a code in the trace")?,
        "eio_ping_interval" => t
            .iter()
            .find_map(|d| d.uint("eio.ping_interval"))
            .map(|v| v.to_string())
            .ok_or("no Engine.IO open packet in the trace")?,
        "sio_chat_deliveries" => server_sent(t, "chat").1.to_string(),
        "sio_first_ack_id" => t
            .iter()
            .find_map(|d| {
                // Fields come in order, each message's type before its ack id.
                let mut kind = None;
                d.fields.iter().find_map(|f| match f.name {
                    "sio.type" => {
                        kind = f.value.as_u64();
                        None
                    }
                    "sio.ack_id" if kind == Some(2) => f.value.as_u64(),
                    _ => None,
                })
            })
            .map(|v| v.to_string())
            .ok_or("no Socket.IO event asks for an acknowledgement")?,
        "server_ports_count" => server_ports(t).len().to_string(),
        "sio_room_server_ports" => server_sent(t, "room").0.len().to_string(),
        "min_ack_rtt_ms" => t
            .iter()
            .filter(|d| {
                // ACKs of data only (an ACK of a SYN or FIN is timed too).
                d.uint("tcp.analysis.acks_frame").is_some_and(|n| {
                    t.iter()
                        .find(|a| a.number == n)
                        .is_some_and(|a| data_len(a) > 0)
                })
            })
            .filter_map(
                |d| match d.field("tcp.analysis.ack_rtt").map(|f| &f.value) {
                    Some(Value::Time(ts)) => Some(ts.as_f64()),
                    _ => None,
                },
            )
            .reduce(f64::min)
            .map(|r| ((r * 1e3).floor() as u64).to_string())
            .ok_or("no ACK round-trip time in the trace")?,
        "tcp_retransmissions" => t
            .iter()
            .filter(|d| tcp_marked(d, crate::dissect::tcp::analysis::flag::ANY_RETRANSMISSION))
            .count()
            .to_string(),
        "dup_acks" => t
            .iter()
            .filter(|d| tcp_marked(d, crate::dissect::tcp::analysis::flag::DUPLICATE_ACK))
            .count()
            .to_string(),
        "tcp_data_bytes" => t
            .iter()
            .filter(|d| !tcp_marked(d, crate::dissect::tcp::analysis::flag::ANY_RETRANSMISSION))
            .map(|d| u64::from(data_len(d)))
            .sum::<u64>()
            .to_string(),
        "time_exceeded" => time_exceeded(t).count().to_string(),
        "time_exceeded_routers" => time_exceeded(t)
            .filter_map(|d| text_field(d, "ip.src"))
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            .to_string(),
        "first_time_exceeded_src" => time_exceeded(t)
            .find_map(|d| text_field(d, "ip.src"))
            .ok_or("no Time Exceeded in the trace")?,
        other => return Err(format!("unknown computation {other:?}")),
    })
}

/// Does a learner's answer say the same as the right one? Case, spaces and a `0x` versus
/// decimal spelling of the same number do not matter.
pub fn same_answer(given: &str, right: &str) -> bool {
    let norm = |s: &str| s.trim().trim_end_matches('.').to_ascii_lowercase();
    let (g, r) = (norm(given), norm(right));
    if g.is_empty() {
        return false;
    }
    if g == r {
        return true;
    }
    let as_num = |s: &str| {
        s.strip_prefix("0x")
            .map(|h| u64::from_str_radix(h, 16).ok())
            .unwrap_or_else(|| s.parse::<u64>().ok())
    };
    match (as_num(&g), as_num(&r)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_compare_loosely() {
        assert!(same_answer(" Transport ", "Transport"));
        assert!(same_answer("0x0800", "2048"));
        assert!(!same_answer("", "0"));
        assert!(!same_answer("5", "6"));
    }

    #[test]
    fn computations_work_on_the_tour_conversation() {
        let frames = crate::source::sample::sample_conversation();
        let t = Pipeline::collect(Config::full(), frames.iter().map(|f| f.as_frame()));
        assert_eq!(compute("client_isn", &t).unwrap(), "1000000");
        assert_eq!(compute("synack_ack", &t).unwrap(), "1000001");
        assert_eq!(compute("synack_ack_relative", &t).unwrap(), "1");
        assert_eq!(compute("ports_layer_tcpip", &t).unwrap(), "Transport");
        assert_eq!(compute("ports_layer_osi", &t).unwrap(), "4");
        assert_eq!(compute("first_ethertype", &t).unwrap(), "0x0800");
        assert_eq!(compute("fin_count", &t).unwrap(), "2");
        assert!(compute("no_such_thing", &t).is_err());
    }

    #[test]
    fn every_computation_is_known() {
        let frames = crate::source::sample::sample_conversation();
        let t = Pipeline::collect(Config::full(), frames.iter().map(|f| f.as_frame()));
        for (name, _) in COMPUTATIONS {
            if let Err(e) = compute(name, &t) {
                assert!(!e.starts_with("unknown computation"), "{name}: {e}");
            }
        }
    }
}
