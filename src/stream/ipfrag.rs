//! IP fragment reassembly: putting a datagram that was cut into pieces back together.
//!
//! # The idea
//!
//! Every link has a largest packet it carries, its MTU (1500 bytes on Ethernet). When an IP
//! datagram is bigger than the next link's MTU, IPv4 lets the sender (or a router on the way,
//! unless the "don't fragment" bit is set) cut it into *fragments* (RFC 791 §2.3, §3.2): each
//! is an IP packet of its own with a copy of the header, the same *identification*, the
//! *fragment offset* saying where its piece of data goes (in 8-byte units) and the *more
//! fragments* bit set on every piece but the last. IPv6 routers never fragment; the sender
//! does, with a Fragment extension header carrying the same three facts (RFC 8200 §4.5).
//!
//! Only the receiver puts the pieces back, and only there is the datagram whole again: the
//! UDP header (or TCP, or ICMP) is in the first piece only, and the UDP checksum covers all of
//! them. The receiver keeps the pieces of each datagram, keyed by source, destination,
//! protocol and identification, until it has every byte from 0 to the end the last piece
//! names, and then hands the whole datagram up. A piece that never comes means the whole
//! datagram is lost: the receiver throws the others away after a while (Linux: 30 s,
//! `net.ipv4.ipfrag_time`).
//!
//! # What this module does
//!
//! [`Defragmenter`] does that for a capture, as Wireshark does by default (its `ip.defragment`
//! preference), in the [`Pipeline`](crate::pipeline::Pipeline) between the dissection of a
//! frame and the stream tracking:
//!
//! * every fragment's payload is shown as data (it is a piece of something larger), and its
//!   IP layer says which piece it is;
//! * the frame whose piece completes a datagram gets the datagram's fields (`ip.fragment`,
//!   one per piece naming the frame that carried it, `ip.fragment.count`,
//!   `ip.reassembled.length`), and the layers inside the datagram (UDP, DNS…) read from the
//!   reassembled bytes, which the views show as a second dump ("Reassembled IPv4").
//!
//! Like tshark reading a file once (without `-2`), a fragment is not told the number of the
//! frame that will complete it: that frame has not been read yet.
//!
//! A capture can hold anything, so the memory is bounded: at most [`MAX_DATAGRAMS`]
//! datagrams and [`MAX_BYTES`] bytes are held at once (the oldest is dropped first), a
//! datagram never grows past [`MAX_DATAGRAM`] bytes, and pieces older than [`TIMEOUT`] seconds
//! of capture time are forgotten.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use crate::dissect::model::{Dissection, Field, Proto, Source, SourcePiece, Timestamp, Value};

/// The most datagrams held incomplete at once.
pub const MAX_DATAGRAMS: usize = 1024;
/// The most fragment bytes held at once, over all datagrams.
pub const MAX_BYTES: usize = 16 << 20;
/// The largest datagram put back together: an IPv4 packet's length is a 16-bit number.
pub const MAX_DATAGRAM: usize = 65535;
/// Seconds of capture time after which an incomplete datagram is given up.
pub const TIMEOUT: f64 = 60.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    id: u32,
}

#[derive(Clone, Debug)]
struct Piece {
    offset: u32,
    bytes: Vec<u8>,
    frame: u64,
    frame_offset: u32,
}

#[derive(Clone, Debug, Default)]
struct Datagram {
    pieces: Vec<Piece>,
    /// The datagram's length, once the last piece (no "more fragments") was seen.
    total: Option<u32>,
    /// When its first piece was captured, and in which order datagrams began (for dropping
    /// the oldest).
    first_ts: Option<Timestamp>,
    order: u64,
    held: usize,
}

impl Datagram {
    /// The whole datagram, if every byte from 0 to its end has come.
    fn complete(&self) -> Option<Vec<u8>> {
        let total = self.total? as usize;
        let mut sorted: Vec<&Piece> = self.pieces.iter().collect();
        sorted.sort_by_key(|p| p.offset);
        let mut covered = 0usize;
        for p in &sorted {
            if p.offset as usize > covered {
                return None;
            }
            covered = covered.max(p.offset as usize + p.bytes.len());
        }
        if covered < total {
            return None;
        }
        let mut out = vec![0u8; total];
        for p in sorted {
            let at = p.offset as usize;
            let n = p.bytes.len().min(total.saturating_sub(at));
            out[at..at + n].copy_from_slice(&p.bytes[..n]);
        }
        Some(out)
    }
}

/// Puts IP datagrams back together from their fragments. See the module documentation.
#[derive(Debug, Default)]
pub struct Defragmenter {
    pending: HashMap<Key, Datagram>,
    held: usize,
    started: u64,
    /// A scratch dissection the reassembled datagrams are read into.
    inner: Dissection,
    /// How many datagrams were given up (timed out or pushed out by the limits).
    pub dropped: u64,
}

impl Defragmenter {
    pub fn new() -> Defragmenter {
        Defragmenter::default()
    }

    /// Look at one frame: if it carries an IP fragment, keep its piece, show its payload as
    /// data, and if the piece completes its datagram, add the datagram's layers. `lean` is the
    /// pipeline's dissection mode, for the layers read from the datagram.
    pub fn observe(&mut self, d: &mut Dissection, lean: bool) {
        let Some(h) = d.ip.iter().find(|h| !h.quoted && h.is_fragment()).copied() else {
            return;
        };
        let li = h.layer as usize;
        let Some(layer) = d.layers.get(li) else {
            return;
        };
        let start = layer.at as usize + h.header_len as usize;
        let end = layer.at as usize + h.total_len as usize;
        // A piece the capture cut short (or a header whose lengths disagree) cannot be used:
        // the frame keeps its own reading.
        if end <= start
            || end > d.data.len()
            || h.frag_offset as usize + (end - start) > MAX_DATAGRAM
        {
            return;
        }
        if let Some(ts) = d.ts {
            self.expire(ts);
        }
        let key = Key {
            src: h.src,
            dst: h.dst,
            protocol: h.protocol,
            id: h.id,
        };
        let piece = Piece {
            offset: h.frag_offset,
            bytes: d.data[start..end].to_vec(),
            frame: d.number,
            frame_offset: start as u32,
        };
        let len = piece.bytes.len();
        let order = self.started;
        let dg = self.pending.entry(key).or_insert_with(|| Datagram {
            first_ts: d.ts,
            order,
            ..Datagram::default()
        });
        if dg.order == order {
            self.started += 1;
        }
        // A piece sent again replaces the one at the same place.
        if let Some(old) = dg.pieces.iter().position(|p| p.offset == piece.offset) {
            let gone = dg.pieces.remove(old);
            dg.held -= gone.bytes.len();
            self.held -= gone.bytes.len();
        }
        if !h.more_fragments {
            dg.total = Some(h.frag_offset + len as u32);
        }
        dg.pieces.push(piece);
        dg.held += len;
        self.held += len;

        crate::dissect::payload_as_data(d, li, start, end);
        let whole = dg.complete();
        match whole {
            Some(bytes) => {
                let dg = self.pending.remove(&key).unwrap_or_default();
                self.held -= dg.held;
                self.graft(d, li, &h, dg, bytes, lean);
            }
            None => self.limit(key),
        }
    }

    /// The datagrams still incomplete.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Forget the datagrams whose first piece is older than [`TIMEOUT`].
    fn expire(&mut self, now: Timestamp) {
        if self.pending.is_empty() {
            return;
        }
        let before = self.pending.len();
        let mut freed = 0;
        self.pending.retain(|_, dg| {
            let keep = dg.first_ts.is_none_or(|t| now.since(t) <= TIMEOUT);
            if !keep {
                freed += dg.held;
            }
            keep
        });
        self.held -= freed;
        self.dropped += (before - self.pending.len()) as u64;
    }

    /// Keep within the limits, dropping the oldest datagrams (never the one just added to).
    fn limit(&mut self, newest: Key) {
        while self.pending.len() > MAX_DATAGRAMS || self.held > MAX_BYTES {
            let Some(oldest) = self
                .pending
                .iter()
                .filter(|(k, _)| **k != newest)
                .min_by_key(|(_, dg)| dg.order)
                .map(|(k, _)| *k)
            else {
                // Only the newest is left and it alone is too big: give it up.
                if let Some(dg) = self.pending.remove(&newest) {
                    self.held -= dg.held;
                    self.dropped += 1;
                }
                return;
            };
            if let Some(dg) = self.pending.remove(&oldest) {
                self.held -= dg.held;
                self.dropped += 1;
            }
        }
    }

    /// Add the datagram's fields to the IP layer `li` and the layers read from its bytes
    /// after it.
    fn graft(
        &mut self,
        d: &mut Dissection,
        li: usize,
        h: &crate::dissect::ip::IpHeader,
        mut dg: Datagram,
        bytes: Vec<u8>,
        lean: bool,
    ) {
        dg.pieces.sort_by_key(|p| p.offset);
        // The frame's own piece was shown as data: the datagram replaces it.
        let data_layer = d.layers.len() - 1;
        if d.layers
            .get(data_layer)
            .is_some_and(|l| l.proto == Proto::Data)
            && data_layer > li
        {
            let fields_end = d.layers[data_layer].fields.start as usize;
            d.layers.truncate(data_layer);
            d.fields.truncate(fields_end);
        }
        let v6 = h.version == 6;
        let mut list = String::new();
        for (i, piece) in dg.pieces.iter().enumerate() {
            if i > 0 {
                list.push_str(", ");
            }
            let _ = write!(list, "#{} ({} bytes)", piece.frame, piece.bytes.len());
        }
        let mut fields = Vec::with_capacity(dg.pieces.len() + 3);
        fields.push(Field {
            name: if v6 { "ipv6.fragments" } else { "ip.fragments" },
            label: "Fragments",
            value: Value::None,
            meaning: format!(
                "{} {} fragments ({} bytes): {list}",
                dg.pieces.len(),
                if v6 { "IPv6" } else { "IPv4" },
                bytes.len()
            )
            .into(),
            explain: "The pieces this datagram was cut into, in order, and the frames that carried them; this frame brought the last missing one, so the datagram is whole here.",
            ..Field::BLANK
        });
        for piece in &dg.pieces {
            fields.push(Field {
                name: if v6 { "ipv6.fragment" } else { "ip.fragment" },
                label: "Fragment",
                value: Value::Uint(piece.frame),
                meaning: format!(
                    "frame {}, payload bytes {}–{}",
                    piece.frame,
                    piece.offset,
                    piece.offset as usize + piece.bytes.len().max(1) - 1
                )
                .into(),
                depth: 1,
                explain: "A frame that carried one piece of the datagram, and which of its bytes.",
                ..Field::BLANK
            });
        }
        fields.push(Field {
            name: if v6 {
                "ipv6.fragment.count"
            } else {
                "ip.fragment.count"
            },
            label: "Fragment count",
            value: Value::Uint(dg.pieces.len() as u64),
            depth: 1,
            explain: "How many pieces the datagram came in.",
            ..Field::BLANK
        });
        fields.push(Field {
            name: if v6 {
                "ipv6.reassembled.length"
            } else {
                "ip.reassembled.length"
            },
            label: "Reassembled length",
            value: Value::Uint(bytes.len() as u64),
            depth: 1,
            explain: "The datagram's payload put back together: what the layers below are read from.",
            ..Field::BLANK
        });
        let end = d.layers[li].fields.end as usize;
        d.insert_fields(li, end, fields);

        // The layers inside the datagram, read from its bytes.
        crate::dissect::dissect_ip_payload(&mut self.inner, &bytes, h.src, h.dst, h.protocol, lean);
        let pieces = dg
            .pieces
            .iter()
            .map(|p| SourcePiece {
                at: p.offset,
                len: p.bytes.len() as u32,
                frame: p.frame,
                frame_offset: p.frame_offset,
            })
            .collect();
        let s = d.add_source(Source {
            title: format!("Reassembled {}", if v6 { "IPv6" } else { "IPv4" }),
            bytes,
            pieces,
        });
        let inner = &mut self.inner;
        let base_layer = d.layers.len() as u16;
        let base_field = d.fields.len() as u32;
        d.fields.append(&mut inner.fields);
        for (i, mut l) in inner.layers.drain(..).enumerate() {
            l.fields = l.fields.start + base_field..l.fields.end + base_field;
            d.layers.push(l);
            d.set_layer_source(base_layer as usize + i, s);
        }
        d.problems.append(&mut inner.problems);
        for mut v in inner.ip.drain(..) {
            v.layer += base_layer;
            d.ip.push(v);
        }
        for mut v in inner.tcp.drain(..) {
            v.layer += base_layer;
            d.tcp.push(v);
        }
        for mut v in inner.udp.drain(..) {
            v.layer += base_layer;
            d.udp.push(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::model::{Frame, LinkType};

    /// An IPv4 packet (raw IP link type) carrying `payload` at `offset` of datagram `id`.
    fn fragment(id: u16, offset: u16, more: bool, payload: &[u8]) -> Vec<u8> {
        let total = 20 + payload.len() as u16;
        let flags = (offset / 8) | if more { 0x2000 } else { 0 };
        let mut p = vec![0x45, 0];
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(&flags.to_be_bytes());
        p.extend_from_slice(&[64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        let sum = crate::dissect::checksum::internet_checksum(&[&p]);
        p[10..12].copy_from_slice(&sum.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }

    fn udp(len: usize) -> Vec<u8> {
        let mut u = vec![0x30, 0x39, 0x1b, 0x58];
        u.extend_from_slice(&((8 + len) as u16).to_be_bytes());
        u.extend_from_slice(&[0, 0]); // no checksum
        u.extend((0..len).map(|i| b'a' + (i % 26) as u8));
        u
    }

    fn run(frames: &[Vec<u8>]) -> (Vec<Dissection>, Defragmenter) {
        let mut f = Defragmenter::new();
        let out = frames
            .iter()
            .enumerate()
            .map(|(i, bytes)| {
                let mut d = crate::dissect::dissect(&Frame {
                    number: i as u64 + 1,
                    ts: Some(Timestamp {
                        secs: i as i64,
                        nanos: 0,
                    }),
                    link: LinkType::RAW,
                    wire_len: bytes.len() as u32,
                    data: bytes,
                });
                f.observe(&mut d, false);
                crate::dissect::validate(&d).unwrap();
                d
            })
            .collect();
        (out, f)
    }

    #[test]
    fn three_pieces_in_any_order_make_one_datagram() {
        let dgram = udp(3000 - 8);
        let pieces = [
            fragment(7, 0, true, &dgram[..1480]),
            fragment(7, 1480, true, &dgram[1480..2960]),
            fragment(7, 2960, false, &dgram[2960..]),
        ];
        for order in [[0, 1, 2], [2, 0, 1], [1, 2, 0]] {
            let frames: Vec<Vec<u8>> = order.iter().map(|&i| pieces[i].clone()).collect();
            let (ds, f) = run(&frames);
            assert_eq!(f.pending(), 0);
            for d in &ds[..2] {
                assert_eq!(d.protocols(), "ip:data", "a piece alone is data");
                assert!(d.udp.is_empty());
            }
            let last = &ds[2];
            assert_eq!(last.protocols(), "ip:udp:data");
            assert_eq!(last.uint("ip.fragment.count"), Some(3));
            assert_eq!(last.uint("ip.reassembled.length"), Some(3000));
            let frames: Vec<u64> = last
                .fields_named("ip.fragment")
                .filter_map(|f| f.value.as_u64())
                .collect();
            let mut want: Vec<u64> = (1..=3).collect();
            want.sort_by_key(|&n| order[n as usize - 1]);
            assert_eq!(frames, want, "pieces listed by offset");
            assert_eq!(last.udp_datagram().unwrap().length, 3000);
            assert_eq!(last.sources[0].bytes, dgram);
            assert_eq!(last.uint("data.len"), Some(2992));
        }
    }

    #[test]
    fn a_missing_piece_leaves_the_others_as_data_and_memory_is_bounded() {
        let dgram = udp(2000);
        let (ds, f) = run(&[
            fragment(1, 0, true, &dgram[..1000]),
            fragment(1, 1008, false, &dgram[1008..]),
        ]);
        assert!(ds.iter().all(|d| d.udp.is_empty() && d.sources.is_empty()));
        assert_eq!(f.pending(), 1);

        let mut f = Defragmenter::new();
        for id in 0..(MAX_DATAGRAMS as u16 + 10) {
            let bytes = fragment(id, 0, true, &[0; 8]);
            let mut d = crate::dissect::dissect(&Frame {
                number: id as u64 + 1,
                ts: None,
                link: LinkType::RAW,
                wire_len: bytes.len() as u32,
                data: &bytes,
            });
            f.observe(&mut d, false);
        }
        assert_eq!(f.pending(), MAX_DATAGRAMS);
        assert_eq!(f.dropped, 10);
    }

    #[test]
    fn old_pieces_time_out() {
        let mut frames = vec![fragment(9, 0, true, &udp(100)[..64])];
        // 61 empty-ish frames later (one second each), the rest comes: too late.
        for i in 0..61 {
            frames.push(fragment(100 + i, 0, false, &udp(4)));
        }
        frames.push(fragment(9, 64, false, &udp(100)[64..]));
        let (ds, f) = run(&frames);
        assert!(ds.last().unwrap().udp.is_empty());
        assert_eq!(f.dropped, 1);
    }
}
