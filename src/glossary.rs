//! The course vocabulary, in our own words, and the two layer models side by side.
//!
//! Every term a networking course starts with has an entry here: what it is, in a few plain
//! paragraphs, and the wirelab command that makes it happen on your own machine so you can
//! look at the bytes. `wirelab define TERM` prints an entry; `wirelab layers` prints the OSI
//! and TCP/IP models next to each other with the protocols wirelab knows placed on them.
//!
//! The placement of protocols on the models is not written here a second time: it comes from
//! [`Proto::osi`] and [`Proto::tcpip`], the same functions the dissector uses to place every
//! layer of every packet, so the table and the packets can never disagree.

use crate::dissect::model::{Osi, Proto, TcpIp};

/// One entry of the glossary.
#[derive(Debug)]
pub struct Term {
    /// The name as it is usually written.
    pub name: &'static str,
    /// Other ways to ask for it (lower case).
    pub aliases: &'static [&'static str],
    /// One line.
    pub short: &'static str,
    /// A few paragraphs, separated by blank lines.
    pub text: &'static str,
    /// Commands that show it live, each with what to look for.
    pub live: &'static [(&'static str, &'static str)],
    /// Related entries.
    pub see_also: &'static [&'static str],
}

/// The ten terms of the course, then a few that come up along the way.
pub const TERMS: &[Term] = &[
    Term {
        name: "socket",
        aliases: &["sockets", "socket api", "berkeley sockets"],
        short: "A program's handle on one end of a network conversation.",
        text: "A socket is what a program asks the operating system for when it wants to talk over \
the network. To the program it looks much like an open file: it can write bytes into it and read \
bytes out of it. Behind it, the operating system's network stack does all the work of building \
packets, sending them and sorting the ones that arrive.\n\n\
A socket is identified by an address and a port on each side. A TCP connection is one socket on \
each host; the pair (local address, local port, remote address, remote port) names it uniquely, \
which is how one web server can hold thousands of connections on the same port 443.\n\n\
The calls come in a fixed order. A server: socket() to create it, bind() to an address and port, \
listen() to say it accepts connections, accept() to take each one. A client: socket(), then \
connect() to the server's address and port. Then both send() and recv(), and finally close(). \
wirelab prints each of these calls next to the packets it causes.",
        live: &[
            (
                "wirelab tcp echo",
                "each socket call interleaved with the packets it caused",
            ),
            (
                "wirelab tcp serve   and   wirelab tcp connect 127.0.0.1:PORT",
                "the two roles in two terminals",
            ),
        ],
        see_also: &["client", "server", "port", "TCP", "UDP"],
    },
    Term {
        name: "client",
        aliases: &["clients"],
        short: "The side that starts the conversation.",
        text: "In a network conversation the client is the side that reaches out first: it knows \
the server's address and port, and connects to it (TCP) or sends it a first message (UDP). Your \
web browser is a client; so is `curl`, and so is an app fetching messages.\n\n\
A client usually does not choose its own port. The operating system picks a free, high-numbered \
one (an ephemeral port) when the client connects; you will see it change from run to run in the \
captures, while the server's port stays the same.\n\n\
Client and server are roles in one conversation, not kinds of computers: the same program can be \
a server to some and a client to others.",
        live: &[
            (
                "wirelab tcp connect 127.0.0.1:PORT",
                "a client narrating connect, send, recv, close",
            ),
            (
                "wirelab tcp echo",
                "the client's SYN opening the connection",
            ),
        ],
        see_also: &["server", "socket", "port"],
    },
    Term {
        name: "server",
        aliases: &["servers"],
        short: "The side that waits at a known address for others to start a conversation.",
        text: "A server is a program that waits to be contacted. It binds a socket to a port \
everyone knows (80 for HTTP, 443 for HTTPS, 53 for DNS), tells the operating system it is \
listening, and then accepts each client that connects, often many at once.\n\n\
Because it is reachable, a server has to be careful about who can reach it. wirelab's servers \
listen only on 127.0.0.1, the loopback address that only programs on your own machine can reach, \
unless you ask for --public.\n\n\
A listening TCP socket never carries data itself: accept() hands out a new socket for each \
connection, and the listening one goes on waiting.",
        live: &[
            (
                "wirelab tcp serve",
                "bind, listen and accept, narrated as they happen",
            ),
            (
                "wirelab ws serve",
                "a WebSocket server with a chat page for your browser",
            ),
        ],
        see_also: &["client", "socket", "port"],
    },
    Term {
        name: "TCP",
        aliases: &["transmission control protocol", "tcp/ip transport"],
        short: "Reliable, ordered byte streams between two programs, built on unreliable packets.",
        text: "TCP (RFC 9293) gives two programs a connection that behaves like a pipe: the bytes \
written at one end come out at the other, all of them, in order, once. It does this over IP, which \
may lose, duplicate or reorder packets.\n\n\
The trick is numbering. Each side numbers every byte it sends (the sequence number) and the other \
side says which byte it expects next (the acknowledgment number). Whatever is not acknowledged in \
time is sent again; whatever arrives twice is dropped; whatever arrives early waits for the gap to \
fill.\n\n\
A connection opens with the three-way handshake: SYN (here is my starting number), SYN-ACK (here \
is mine, and I got yours), ACK. Each side closes its direction with a FIN. The window field tells \
the sender how much the receiver can still take, so a fast sender cannot flood a slow reader.\n\n\
TCP is a byte stream, not a message service: three writes of 10 bytes may arrive as one read of \
30. Protocols on top (HTTP, WebSocket) add their own framing to find message boundaries again.",
        live: &[
            (
                "wirelab tcp echo",
                "the handshake, data and teardown as a ladder with seq/ack",
            ),
            (
                "wirelab dissect FILE --stats",
                "retransmissions, RTT and windows of every connection",
            ),
            (
                "wirelab tcp handshake --raw",
                "the handshake done by hand, byte by byte",
            ),
        ],
        see_also: &["UDP", "socket", "packet", "port"],
    },
    Term {
        name: "UDP",
        aliases: &["user datagram protocol", "datagram", "datagrams"],
        short: "Single messages (datagrams) with a port number and nothing else promised.",
        text: "UDP (RFC 768) adds almost nothing to IP: a source and destination port so the \
datagram reaches the right program, a length and a checksum. There is no connection and no \
handshake; the first packet already carries data.\n\n\
Each send becomes exactly one datagram and each receive returns exactly one, so message \
boundaries survive: send \"a\", \"b\", \"c\" and the receiver reads three messages, never \"abc\". \
But nothing is resent: a lost datagram is simply gone, and datagrams can arrive in a different \
order than they were sent. An application that cares must notice and handle it.\n\n\
That makes UDP the choice where a late answer is worth little: DNS lookups, voice and video, \
games, and newer protocols (QUIC) that build their own reliability on top.",
        live: &[
            (
                "wirelab udp echo",
                "datagrams keeping their boundaries, next to TCP merging writes",
            ),
            (
                "wirelab udp echo --loss 0.3 --reorder",
                "what the application sees when the network misbehaves",
            ),
        ],
        see_also: &["TCP", "packet", "port"],
    },
    Term {
        name: "packet",
        aliases: &["packets", "frame", "frames", "segment", "segments", "pdu"],
        short: "One unit of data on the network: headers wrapped around a payload.",
        text: "Data crosses a network in pieces. Each piece carries, in front of the data, the \
headers that the layers below need: a TCP header (ports, sequence numbers), inside an IP header \
(addresses, TTL), inside an Ethernet header (hardware addresses). Each layer wraps what the layer \
above gave it, like envelopes inside envelopes; the receiver unwraps them in reverse.\n\n\
Each layer has its own word for its unit: a frame (link layer: Ethernet), a packet (network \
layer: IP), a segment (TCP) or a datagram (UDP), and a message at the application layer. In \
everyday speech all of them are \"packets\".\n\n\
A capture tool such as wirelab, tcpdump or Wireshark copies frames as the network card sees them \
and takes them apart header by header. Every field you see has a fixed place and size, written \
down in an RFC as a diagram of bits.",
        live: &[
            (
                "wirelab capture -i lo",
                "packets as they pass, one line each",
            ),
            (
                "wirelab dissect FILE --view layers",
                "every header and field of each packet, explained",
            ),
            (
                "wirelab dissect FILE --view hex",
                "the raw bytes, coloured by layer",
            ),
        ],
        see_also: &["OSI model", "TCP/IP model"],
    },
    Term {
        name: "OSI model",
        aliases: &["osi", "osi reference model", "seven layers", "7 layers"],
        short: "A seven-layer way of dividing up the job of networking (ISO 7498).",
        text: "The OSI reference model splits communication into seven layers, each using the one \
below it and serving the one above: 1 physical (bits on a wire or radio), 2 data link (frames \
between neighbours on one link), 3 network (packets across many links, routing), 4 transport \
(conversations between programs), 5 session, 6 presentation, 7 application.\n\n\
It was designed in the 1980s alongside a family of protocols that lost out to the Internet's, so \
no protocol in use today fits it exactly; layers 5 and 6 in particular have no separate protocols \
on the Internet (TLS and HTTP take on their jobs). Its value is the vocabulary: \"a layer 2 \
switch\", \"a layer 7 load balancer\" mean the same to every network engineer.\n\n\
wirelab places every header it shows on the OSI model and on the TCP/IP model at once, so you can \
see where they agree and where they do not.",
        live: &[
            (
                "wirelab layers",
                "both models side by side with the protocols placed",
            ),
            (
                "wirelab dissect FILE --view layers",
                "each header of a real packet with its OSI layer",
            ),
        ],
        see_also: &["TCP/IP model", "packet"],
    },
    Term {
        name: "TCP/IP model",
        aliases: &[
            "tcp/ip",
            "tcpip",
            "tcp-ip",
            "internet model",
            "internet protocol suite",
            "dod model",
            "tcp/ip stack",
        ],
        short: "The four layers the Internet's protocols are actually built in (RFC 1122).",
        text: "The TCP/IP model describes the Internet as it was built, in four layers: link \
(getting a frame to a neighbour: Ethernet, Wi-Fi, and ARP to find the neighbour's hardware \
address), internet (IP: addressing and routing packets across networks, with ICMP for errors), \
transport (TCP and UDP: conversations between programs, told apart by port), and application \
(HTTP, DNS, WebSocket … everything a program speaks).\n\n\
Compared with OSI, the TCP/IP application layer covers OSI's layers 5 to 7, and the link layer \
covers OSI's 1 and 2. Some protocols sit in different places in the two models: ARP is in the \
TCP/IP link layer (RFC 1122) while many OSI-minded books put it at layer 3 or \"2.5\".\n\n\
Each layer only talks to its peer layer on the other host, through the headers it adds: that is \
why a router can forward your packet without understanding anything above IP.",
        live: &[
            ("wirelab layers", "TCP/IP and OSI side by side"),
            (
                "wirelab dissect FILE --view layers",
                "each header placed on the TCP/IP model",
            ),
        ],
        see_also: &["OSI model", "packet", "TCP", "UDP"],
    },
    Term {
        name: "WebSocket",
        aliases: &["websockets", "web socket", "ws", "wss", "rfc 6455"],
        short: "A full-duplex channel for messages, on one TCP connection, that browsers can open.",
        text: "A WebSocket (RFC 6455) is a two-way channel between a browser (or any client) and a \
server over a single TCP connection. Either side can send a message at any time, without the \
request-and-reply rhythm of plain HTTP, which makes it the usual choice for chats, live \
dashboards and games in the browser.\n\n\
It starts life as an HTTP request carrying `Upgrade: websocket` and a random \
Sec-WebSocket-Key. The server proves it understood by answering `101 Switching Protocols` with \
Sec-WebSocket-Accept: the key with a fixed GUID appended, hashed with SHA-1, base64-encoded. From \
then on the connection carries frames: a small header (FIN, opcode for text/binary/ping/pong/close, \
a length of 7, 16 or 64 bits) and the payload. Frames from the client are masked with a random \
4-byte key, a defence against confused proxies, not a secret.\n\n\
The client-side component runs in the browser, through the JavaScript WebSocket API.",
        live: &[
            (
                "wirelab ws echo",
                "the Upgrade, the accept key worked out, every frame taken apart",
            ),
            (
                "wirelab ws serve --chat",
                "then open http://127.0.0.1:8080/ in two browser tabs",
            ),
        ],
        see_also: &["Socket.IO", "TCP", "client", "server"],
    },
    Term {
        name: "Socket.IO",
        aliases: &[
            "socketio",
            "socket io",
            "socket.io",
            "engine.io",
            "engineio",
        ],
        short: "A library protocol for events, rooms and acknowledgements, on top of WebSocket.",
        text: "Socket.IO is a protocol (and the libraries that speak it) built on top of \
WebSocket, or of plain HTTP requests where WebSocket is not available. Its lower half, \
Engine.IO, opens the connection, keeps it alive with ping and pong, and falls back to HTTP \
long-polling when it must. The upper half, Socket.IO, sends named events with data, such as \
`42[\"chat\",\"hi\"]`: packet type 4 (message), 2 (event), then a JSON array.\n\n\
Each connected socket gets a random, unguessable id and automatically belongs to a room named by \
that id, which is how the server sends to one client. The server can also put sockets in rooms of \
its own choosing and emit to everyone, to one room, or to everyone but the sender. An event can \
ask for an acknowledgement: the receiver's reply comes back tied to that event. An event nobody \
handles is simply ignored.\n\n\
Several Socket.IO servers can act as one, passing broadcasts to each other through an adapter \
such as Redis, so a client on one server receives a room message sent from another.",
        live: &[
            (
                "wirelab sio demo",
                "one server, three clients: all, one, room, ack, unhandled",
            ),
            (
                "wirelab sio connect URL",
                "every Engine.IO and Socket.IO packet, raw and explained",
            ),
        ],
        see_also: &["WebSocket", "client", "server"],
    },
    Term {
        name: "port",
        aliases: &["ports", "port number"],
        short: "A 16-bit number that says which program on a host a packet is for.",
        text: "An IP address gets a packet to a host; a port gets it to a program on that host. \
TCP and UDP each carry a source and a destination port. Servers listen on well-known ports (80 \
HTTP, 443 HTTPS, 53 DNS, 22 SSH); clients use an ephemeral port the operating system chooses. \
Ports below 1024 usually need privileges to bind on Linux.",
        live: &[(
            "wirelab tcp echo",
            "the client's ephemeral port and the server's fixed one",
        )],
        see_also: &["socket", "TCP", "UDP"],
    },
    Term {
        name: "IP address",
        aliases: &["ip", "ipv4", "ipv6", "address", "ip addresses"],
        short: "The address a host is reached at across networks.",
        text: "An IPv4 address is 32 bits, written as four decimal bytes (192.0.2.7); an IPv6 \
address is 128 bits, written in hexadecimal groups (2001:db8::7). Routers forward packets by \
looking at the destination address. 127.0.0.1 and ::1 are loopback: they never leave your \
machine, which is where wirelab sends everything it sends.",
        live: &[(
            "wirelab dissect FILE --view layers",
            "ip.src and ip.dst in every packet",
        )],
        see_also: &["packet", "MAC address", "TCP/IP model"],
    },
    Term {
        name: "MAC address",
        aliases: &["mac", "hardware address", "ethernet address"],
        short: "The 48-bit hardware address of a network card, used on one link.",
        text: "Ethernet and Wi-Fi deliver frames between neighbours by MAC address, six bytes \
written like 02:42:ac:11:00:02. It matters only on the local link: routers replace the Ethernet \
header at every hop, while the IP addresses stay the same end to end. ARP finds the MAC address \
that goes with a neighbour's IP address.",
        live: &[("wirelab lab", "the lab's two hosts and their MAC addresses")],
        see_also: &["IP address", "ARP", "packet"],
    },
    Term {
        name: "ARP",
        aliases: &["address resolution protocol"],
        short: "Finding the MAC address of a neighbour from its IPv4 address.",
        text: "Before a host can send an IP packet to a neighbour on Ethernet, it needs the \
neighbour's MAC address. It broadcasts an ARP request (\"who has 10.0.0.2? tell 10.0.0.1\") to \
every card on the link; the owner answers with its MAC address, and both remember the answer for \
a while. IPv6 does the same job with ICMPv6 neighbour discovery.",
        live: &[(
            "wirelab tcp echo",
            "the ARP exchange before the first SYN in the lab",
        )],
        see_also: &["MAC address", "IP address"],
    },
    Term {
        name: "DNS",
        aliases: &["domain name system", "name resolution"],
        short: "Turning names like example.org into IP addresses.",
        text: "DNS is a worldwide distributed database of names. A program asks a resolver for a \
name's records (A for IPv4, AAAA for IPv6, MX for mail …); the question and answer usually travel \
as one UDP datagram each on port 53, falling back to TCP for large answers.",
        live: &[(
            "wirelab dissect FILE --filter dns --view layers",
            "questions and answers field by field",
        )],
        see_also: &["UDP", "IP address"],
    },
    Term {
        name: "handshake",
        aliases: &["three-way handshake", "3-way handshake", "syn", "syn-ack"],
        short: "How two TCP ends agree to start: SYN, SYN-ACK, ACK.",
        text: "The client sends SYN with its initial sequence number (ISN); the server answers \
SYN-ACK with its own ISN and acknowledges the client's ISN + 1; the client acknowledges the \
server's ISN + 1. Each side now knows the other's starting number and that the other can hear it. \
The ISNs are random, so an attacker cannot easily guess them.",
        live: &[
            ("wirelab tcp echo", "the kernel's handshake as a ladder"),
            (
                "wirelab tcp handshake --raw",
                "the same handshake built by hand",
            ),
        ],
        see_also: &["TCP"],
    },
    Term {
        name: "checksum",
        aliases: &["checksums", "internet checksum"],
        short: "A number computed over bytes so the receiver can tell if they changed.",
        text: "IPv4, ICMP, TCP and UDP carry the Internet checksum (RFC 1071): a one's-complement \
sum of the bytes taken 16 bits at a time. The receiver adds up the same bytes plus the checksum \
and expects all ones. It catches accidental damage, not tampering. Captures taken on the sending \
machine often show wrong TCP checksums because the network card fills them in later.",
        live: &[(
            "wirelab dissect FILE --view layers",
            "each checksum marked correct or wrong",
        )],
        see_also: &["packet", "TCP", "UDP"],
    },
];

/// Find a term by name or alias, ignoring case, spaces, dashes and dots.
pub fn lookup(query: &str) -> Option<&'static Term> {
    let q = normalize(query);
    TERMS
        .iter()
        .find(|t| normalize(t.name) == q || t.aliases.iter().any(|a| normalize(a) == q))
}

/// The names nearest to an unknown query, best first (at most three).
pub fn suggest(query: &str) -> Vec<&'static str> {
    let q = normalize(query);
    let mut scored: Vec<(usize, &'static str)> = TERMS
        .iter()
        .map(|t| {
            let best = std::iter::once(t.name)
                .chain(t.aliases.iter().copied())
                .map(|n| {
                    let n = normalize(n);
                    // A query that is the start of a name is as good as a near miss.
                    if n.starts_with(&q) && !q.is_empty() {
                        0
                    } else {
                        edit_distance(&q, &n)
                    }
                })
                .min()
                .unwrap_or(usize::MAX);
            (best, t.name)
        })
        .collect();
    scored.sort();
    let limit = (q.chars().count() / 2).max(2);
    scored
        .into_iter()
        .filter(|(d, _)| *d <= limit)
        .take(3)
        .map(|(_, n)| n)
        .collect()
}

fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_' | '.' | '/'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Levenshtein distance: how many single-character edits turn one word into the other.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// What each OSI layer does, its unit of data, and which wirelab command shows it.
pub struct OsiRow {
    pub layer: Osi,
    pub job: &'static str,
    pub pdu: &'static str,
    pub command: &'static str,
}

pub const OSI_ROWS: &[OsiRow] = &[
    OsiRow {
        layer: Osi::Application,
        job: "what programs say to each other",
        pdu: "message",
        command: "wirelab ws echo, wirelab sio demo",
    },
    OsiRow {
        layer: Osi::Presentation,
        job: "encoding, compression, encryption",
        pdu: "message",
        command: "wirelab ws echo (masking, text vs binary)",
    },
    OsiRow {
        layer: Osi::Session,
        job: "opening, keeping and closing dialogues",
        pdu: "message",
        command: "wirelab ws echo (Upgrade, close handshake)",
    },
    OsiRow {
        layer: Osi::Transport,
        job: "conversations between programs: ports, reliability",
        pdu: "segment / datagram",
        command: "wirelab tcp echo, wirelab udp echo",
    },
    OsiRow {
        layer: Osi::Network,
        job: "addresses and routes across networks",
        pdu: "packet",
        command: "wirelab dissect FILE --view layers",
    },
    OsiRow {
        layer: Osi::DataLink,
        job: "frames between neighbours on one link",
        pdu: "frame",
        command: "wirelab lab, wirelab capture",
    },
    OsiRow {
        layer: Osi::Physical,
        job: "bits as signals on a wire, fibre or radio",
        pdu: "bit",
        command: "(the capture's frame record: time, length)",
    },
];

/// What each TCP/IP layer does.
pub fn tcpip_job(l: TcpIp) -> &'static str {
    match l {
        TcpIp::Application => "everything a program speaks",
        TcpIp::Transport => "program-to-program conversations",
        TcpIp::Internet => "addressing and routing packets",
        TcpIp::Link => "delivery to a neighbour on the link",
    }
}

/// The protocols wirelab dissects that sit at this OSI layer (from the dissector's own
/// placement).
pub fn protocols_at(layer: Osi) -> Vec<Proto> {
    let mut v: Vec<Proto> = Proto::ALL
        .iter()
        .copied()
        .filter(|p| p.osi() == layer && !matches!(p, Proto::Data | Proto::Sll2))
        .collect();
    v.dedup_by_key(|p| p.short());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ten_seed_terms_are_defined() {
        for term in [
            "socket",
            "WebSocket",
            "Socket.IO",
            "client",
            "server",
            "OSI model",
            "TCP/IP model",
            "TCP",
            "UDP",
            "packet",
        ] {
            let t = lookup(term).unwrap_or_else(|| panic!("{term} is not defined"));
            assert!(!t.live.is_empty(), "{term} names no live command");
            assert!(t.text.len() > 200, "{term} is too short to teach anything");
        }
    }

    #[test]
    fn lookups_ignore_case_and_punctuation() {
        assert_eq!(lookup("tcp-ip model").map(|t| t.name), Some("TCP/IP model"));
        assert_eq!(lookup("SocketIO").map(|t| t.name), Some("Socket.IO"));
        assert_eq!(lookup("osi").map(|t| t.name), Some("OSI model"));
    }

    #[test]
    fn near_misses_are_suggested() {
        assert_eq!(suggest("sockte").first(), Some(&"socket"));
        assert!(suggest("websock").contains(&"WebSocket"));
        assert!(suggest("zzzzzzzzzzzz").is_empty());
    }

    #[test]
    fn every_see_also_exists() {
        for t in TERMS {
            for s in t.see_also {
                assert!(lookup(s).is_some(), "{} refers to unknown {s}", t.name);
            }
        }
    }

    #[test]
    fn every_osi_layer_has_a_row() {
        for l in Osi::ALL {
            assert!(OSI_ROWS.iter().any(|r| r.layer == l));
        }
    }
}
