//! Exercise: cut an IPv4 packet into fragments, as a router does.
//!
//! A router must forward an IPv4 packet whose *data* (everything after its 20-byte header) is
//! `data_len` bytes long over a link whose MTU is `mtu` bytes. Without the Don't Fragment flag
//! it cuts the data into fragments. Each fragment is a complete IP packet: its own 20-byte
//! header, then a piece of the data. The rules (RFC 791):
//!
//! * each fragment, header included, fits in the MTU;
//! * every fragment but the last carries a multiple of 8 bytes of data, because the
//!   *fragment offset* field counts in units of 8 bytes;
//! * the fragment offset says where the piece starts in the original data, in those units;
//! * the *more fragments* (MF) flag is set on every fragment except the last.
//!
//! Example: 1408 bytes of data over an MTU of 1280: at most 1260 bytes fit after the header,
//! rounded down to a multiple of 8 that is 1256. So two fragments: offset 0 with 1256 bytes
//! and MF set, then offset 157 (1256 / 8) with the remaining 152 bytes and MF clear.
//!
//! Your job: complete `fragment` so that it returns, for each fragment in order,
//! `(offset_in_8_byte_units, data_bytes, more_fragments)`. Data that fits needs no cutting:
//! one entry `(0, data_len, false)`.
//!
//! Check your work with `wirelab check 10_ip`; stuck? `wirelab hint fragments`.

/// The IPv4 header without options, in bytes.
pub const HEADER: usize = 20;

/// The fragments of `data_len` bytes of IP data over a link of `mtu` bytes (at least 68, the
/// smallest MTU IPv4 allows).
pub fn fragment(data_len: usize, mtu: usize) -> Vec<(u16, usize, bool)> {
    // TODO: work out how much data fits in one fragment (a multiple of 8), then cut.
    let _ = (data_len, mtu, HEADER);
    Vec::new()
}
