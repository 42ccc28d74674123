//! DNS: which response answers which query, and how long the answer took.
//!
//! # The idea
//!
//! A DNS client sends a query and waits for a response. Over UDP nothing ties the two together
//! but what the client chose: its source port and the 16-bit *transaction ID* (`dns.id`,
//! RFC 1035 §4.1.1), which the server copies into its response. A client matches a response
//! to its query by both (and so should a reader of a capture): same two addresses, same two
//! ports, same ID. The time between the query and its response is the lookup time a user
//! waits; a query that never gets one was lost, or the server is down.
//!
//! [`DnsLinker`] does that matching as the frames come, as Wireshark does: each query is
//! remembered by its conversation (addresses, ports, transport) and ID; a response gets
//! `dns.response_to` (the query's frame) and `dns.time` (seconds since the query), and its
//! description says "answers #N after T". Like tshark reading a file once, a query is not told
//! the frame of its response (it has not been read yet). At most [`MAX_QUERIES`] unanswered
//! queries are remembered (the oldest is forgotten first).

use std::collections::HashMap;
use std::net::IpAddr;

use crate::dissect::model::{Dissection, Field, Proto, Timestamp, Value};
use crate::stream::fields::duration;
use crate::stream::tcp::nanos;

/// The most queries remembered at once.
pub const MAX_QUERIES: usize = 16384;

/// One end of a DNS conversation.
type End = (IpAddr, u16);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    /// The two ends, the smaller first, so a query and its response give the same key.
    a: End,
    b: End,
    tcp: bool,
    id: u16,
}

#[derive(Clone, Copy, Debug)]
struct Query {
    frame: u64,
    ts: Option<Timestamp>,
}

/// Links DNS responses to their queries. See the module documentation.
#[derive(Debug, Default)]
pub struct DnsLinker {
    queries: HashMap<Key, Query>,
}

impl DnsLinker {
    pub fn new() -> DnsLinker {
        DnsLinker::default()
    }

    /// Look at one frame: remember its DNS query, or link its DNS response.
    pub fn observe(&mut self, d: &mut Dissection) {
        let Some(li) = d.layers.iter().position(|l| l.proto == Proto::Dns) else {
            return;
        };
        let Some(key) = key(d, li) else { return };
        let layer = &d.layers[li];
        let flags = d
            .layer_field(layer, "dns.flags")
            .and_then(|f| f.value.as_u64())
            .unwrap_or(0);
        if flags & 0x8000 == 0 {
            if self.queries.len() >= MAX_QUERIES {
                // Forget the oldest query.
                if let Some(old) = self
                    .queries
                    .iter()
                    .min_by_key(|(_, q)| q.frame)
                    .map(|(k, _)| *k)
                {
                    self.queries.remove(&old);
                }
            }
            self.queries.insert(
                key,
                Query {
                    frame: d.number,
                    ts: d.ts,
                },
            );
            return;
        }
        // A response: the latest query of the same conversation and ID. (A second response
        // to the same query, a retransmission, is linked to it too.)
        let Some(q) = self.queries.get(&key).copied() else {
            return;
        };
        let mut fields = vec![Field {
            name: "dns.response_to",
            label: "Response to",
            value: Value::Uint(q.frame),
            meaning: format!("the query in frame {}", q.frame).into(),
            explain: "The frame of the query this response answers: the same addresses, ports and transaction ID.",
            ..Field::BLANK
        }];
        if let (Some(t0), Some(t1)) = (q.ts, d.ts) {
            fields.push(Field {
                name: "dns.time",
                label: "Time",
                value: duration(nanos(t1) - nanos(t0)),
                explain: "Seconds from the query to this response: how long the lookup took.",
                ..Field::BLANK
            });
        }
        let end = d.layers[li].fields.end as usize;
        d.insert_fields(li, end, fields);
    }
}

/// The conversation and transaction ID of the DNS layer `li`, from the typed views around it.
fn key(d: &Dissection, li: usize) -> Option<Key> {
    let ip = d.ip_around(li)?;
    if ip.quoted {
        return None;
    }
    let (ports, tcp) = match (d.udp_datagram(), d.tcp_segment()) {
        (Some(u), _) if (u.layer as usize) < li => ((u.src_port, u.dst_port), false),
        (_, Some(t)) if (t.layer as usize) < li => ((t.src_port, t.dst_port), true),
        _ => return None,
    };
    let id = d
        .layer_field(&d.layers[li], "dns.id")
        .and_then(|f| f.value.as_u64())? as u16;
    let x = (ip.src, ports.0);
    let y = (ip.dst, ports.1);
    let (a, b) = if x <= y { (x, y) } else { (y, x) };
    Some(Key { a, b, tcp, id })
}
