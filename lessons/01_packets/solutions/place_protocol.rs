//! Reference solution: place protocols on the two layer models.

/// The OSI layer number (1–7) and TCP/IP layer name of a protocol, by its short name.
pub fn place(protocol: &str) -> Option<(u8, &'static str)> {
    Some(match protocol {
        "eth" => (2, "Link"),
        // ARP serves the network layer (an IP address in, a MAC address out), so OSI books put
        // it at 3; but it travels directly inside Ethernet, and RFC 1122 puts it in the link
        // layer of the TCP/IP model.
        "arp" => (3, "Link"),
        "ip" | "ipv6" | "icmp" => (3, "Internet"),
        "tcp" | "udp" => (4, "Transport"),
        "dns" | "http" | "websocket" => (7, "Application"),
        _ => return None,
    })
}
