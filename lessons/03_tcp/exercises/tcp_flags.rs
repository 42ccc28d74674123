//! Exercise: read the TCP flags.
//!
//! Bytes 12 and 13 of every TCP header hold the data offset (the top 4 bits) and, below it,
//! twelve flag bits. Wireshark calls the flag bits `tcp.flags` and shows them as a hex number:
//! a SYN-ACK has `tcp.flags == 0x012`, because SYN is 0x002 and ACK is 0x010.
//!
//! The bits, from the lowest:
//!
//! | bit   | 0x001 | 0x002 | 0x004 | 0x008 | 0x010 | 0x020 | 0x040 | 0x080 | 0x100 |
//! |-------|-------|-------|-------|-------|-------|-------|-------|-------|-------|
//! | name  | FIN   | SYN   | RST   | PSH   | ACK   | URG   | ECE   | CWR   | AE    |
//!
//! Your job: complete `flag_names` so that it returns the names of the flags that are set, in
//! the order of the table (lowest bit first), e.g. `flag_names(0x012) == ["SYN", "ACK"]` and
//! `flag_names(0) == []`.
//!
//! Check your work with `wirelab check 03_tcp`; stuck? `wirelab hint tcp_flags`.

/// The names of the flags set in `flags` (the 12 flag bits of a TCP header), lowest bit first.
pub fn flag_names(flags: u16) -> Vec<&'static str> {
    // TODO: test each bit of the table above with `flags & bit != 0`, and push its name.
    let _ = flags;
    Vec::new()
}
