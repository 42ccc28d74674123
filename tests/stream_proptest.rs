//! The stream tracker and the views drawn from it, on random segments: whatever the segments
//! say, in whatever order and at whatever times, the tracker neither panics nor loses count
//! (with reassembly, follow and graph points on), and the ladder and the graph draw whatever
//! it made of them. (An integration test: the tracker lives below the views, so its own
//! tests do not draw.)

use wirelab::dissect::dissect;
use wirelab::dissect::model::{Frame, LinkType, Timestamp};
use wirelab::stream::{Select, StreamTracker, TrackerConfig};

/// An Ethernet + IPv4 + TCP frame between two fixed ends, with the given header values.
fn tcp_frame(from_a: bool, seq: u32, ack: u32, flags: u8, win: u16, payload: &[u8]) -> Vec<u8> {
    let (a, b) = (([10, 0, 0, 1], 40000u16), ([10, 0, 0, 2], 80u16));
    let (src, dst) = if from_a { (a, b) } else { (b, a) };
    let mut h = etherparse::TcpHeader::new(src.1, dst.1, seq, win);
    h.fin = flags & 1 != 0;
    h.syn = flags & 2 != 0;
    h.rst = flags & 4 != 0;
    h.psh = flags & 8 != 0;
    if flags & 16 != 0 {
        h.ack = true;
        h.acknowledgment_number = ack;
    }
    let builder = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src.0, dst.0, 64)
        .tcp_header(h);
    let mut v = Vec::new();
    builder.write(&mut v, payload).expect("build");
    v
}

proptest::proptest! {
    /// Whatever the segments say, in whatever order and at whatever times, the tracker
    /// neither panics nor loses count, with reassembly, follow and graph points on.
    #[test]
    fn observe_never_panics(
        segs in proptest::collection::vec(
            (proptest::prelude::any::<bool>(), 0u32..3000, 0u32..3000, proptest::prelude::any::<u8>(),
             proptest::prelude::any::<u16>(), 0usize..300, -50i64..200),
            1..60),
        base in proptest::prelude::any::<u32>(),
    ) {
        let mut t = StreamTracker::new(TrackerConfig {
            follow: Select::All,
            timeseq: Select::All,
            max_waiting: 256,
            follow_limit: 512,
            ..TrackerConfig::default()
        });
        let mut ts: i64 = 1_000_000;
        // The ladder draws whatever the tracker made of it, narrow and wide.
        let mut ladder = wirelab::render::ladder::Ladder::new();
        let narrow = wirelab::render::Options { width: 10, ..Default::default() };
        let mut drawn = String::new();
        for (i, (from_a, seq, ack, flags, win, len, dt)) in segs.iter().enumerate() {
            ts += dt;
            let payload = vec![b'x'; *len];
            let bytes = tcp_frame(*from_a, base.wrapping_add(*seq), base.wrapping_add(*ack), *flags, *win, &payload);
            let frame = Frame {
                number: i as u64 + 1,
                ts: Some(Timestamp { secs: ts / 1000, nanos: (ts % 1000) as u32 * 1_000_000 }),
                link: LinkType::ETHERNET,
                wire_len: bytes.len() as u32,
                data: &bytes,
            };
            let mut d = dissect(&frame);
            t.observe(&mut d);
            proptest::prop_assert!(d.tcp_segment().and_then(|s| s.analysis).is_some());
            ladder.packet(&d, &narrow, &mut drawn);
        }
        t.finish();
        proptest::prop_assert!(drawn.lines().count() >= segs.len());
        for ts in t.timeseqs() {
            let mut g = String::new();
            wirelab::render::graph::terminal(ts, ts.data_side(), 40, false, &mut g);
            let _ = wirelab::render::graph::svg(ts, ts.data_side());
        }
        for log in t.follow_logs() {
            proptest::prop_assert!(log.kept <= 512);
        }
        let packets: u64 = t.conversations().iter().map(|c| c.packets()).sum();
        proptest::prop_assert_eq!(packets, segs.len() as u64);
    }
}
