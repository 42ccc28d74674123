//! Reference solution: read the TCP flags.

/// The names of the flags set in `flags` (the 12 flag bits of a TCP header), lowest bit first.
pub fn flag_names(flags: u16) -> Vec<&'static str> {
    // Each flag is one bit; walk the table from the lowest bit up and keep those that are set.
    const NAMES: [(u16, &str); 9] = [
        (0x001, "FIN"),
        (0x002, "SYN"),
        (0x004, "RST"),
        (0x008, "PSH"),
        (0x010, "ACK"),
        (0x020, "URG"),
        (0x040, "ECE"),
        (0x080, "CWR"),
        (0x100, "AE"),
    ];
    NAMES
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, name)| *name)
        .collect()
}
