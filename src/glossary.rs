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

/// The ten terms of the course, then the ones that come up along the way.
///
/// Every "See it live" command is run by tests/teaching.rs (exit 0 and some output), and every
/// port, default and command name quoted here is checked against the CLI definitions there, so
/// the glossary cannot drift from what wirelab does.
pub const TERMS: &[Term] = &[
    Term {
        name: "socket",
        aliases: &[
            "sockets",
            "socket api",
            "berkeley sockets",
            "sock_stream",
            "sock_dgram",
            "blocking",
            "blocking read",
        ],
        short: "A program's handle on one end of a network conversation.",
        text: "A socket is what a program asks the operating system for when it wants to talk over \
the network. To the program it looks much like an open file: it writes bytes into it and reads \
bytes out of it. Behind it, the operating system's network stack builds the packets, sends them \
and sorts out the ones that arrive.\n\n\
The kind of socket is chosen when it is made. socket(AF_INET, SOCK_STREAM, 0) gives a TCP \
socket: a connection that carries a stream of bytes. socket(AF_INET, SOCK_DGRAM, 0) gives a UDP \
socket: each send is one datagram, each receive returns one. (AF_INET6 makes the IPv6 kind.)\n\n\
The calls come in a fixed order. A server: socket() to create it, bind() to an address and port, \
listen() to say it accepts connections, accept() to take each one. A client: socket(), then \
connect() to the server's address and port. Then both send() and recv(), and finally close(). \
wirelab prints each of these calls next to the packets it causes.\n\n\
Unless told otherwise, the calls block: recv() waits until something has arrived, accept() until \
a client has connected, send() until the kernel's send buffer has room. A program that must serve \
several sockets at once uses threads, or non-blocking sockets and poll() or epoll to learn which \
one is ready.\n\n\
The kernel tells connections apart by their 5-tuple: the protocol, the local address and port, \
and the remote address and port. That is how one web server holds thousands of connections on \
the same port 443: each comes from a different client address or port.",
        live: &[
            (
                "wirelab tcp echo",
                "socket(AF_INET, SOCK_STREAM, 0) and every later call next to the packets it \
caused; a call that blocks shows `…` until it returns",
            ),
            (
                "wirelab udp echo",
                "SOCK_DGRAM: sendto() and recvfrom(), one datagram each, no connection",
            ),
            (
                "wirelab tcp serve",
                "terminal 1: a server narrating bind, listen and accept",
            ),
            (
                "wirelab tcp connect 127.0.0.1:7007",
                "terminal 2: the client; type lines and they come back",
            ),
        ],
        see_also: &["client", "server", "5-tuple", "port", "TCP", "UDP"],
    },
    Term {
        name: "client",
        aliases: &["clients"],
        short: "The side that starts the conversation.",
        text: "In a network conversation the client is the side that reaches out first: it knows \
the server's address and port, and connects to it (TCP) or sends it a first message (UDP). Your \
web browser is a client; so is `curl`, and so is an app fetching messages.\n\n\
A client usually does not choose its own port. The operating system picks a free one, an \
ephemeral port, when the client connects or first sends. IANA sets 49152–65535 aside for this \
(RFC 6335 §6), but Linux draws from 32768–60999 (net.ipv4.ip_local_port_range), Windows and \
macOS from 49152–65535. You will see the client's port change from run to run in the captures, \
while the server's port stays the same.\n\n\
Client and server are roles in one conversation, not kinds of computers: the same program can be \
a server to some and a client to others.",
        live: &[
            (
                "wirelab tcp connect 127.0.0.1:7007",
                "a client narrating connect, send, recv, close (start `wirelab tcp serve` first)",
            ),
            (
                "wirelab tcp echo",
                "the client's SYN opening the connection, from an ephemeral port",
            ),
        ],
        see_also: &["server", "socket", "port ranges"],
    },
    Term {
        name: "server",
        aliases: &["servers", "listen backlog", "backlog"],
        short: "The side that waits at a known address for others to start a conversation.",
        text: "A server is a program that waits to be contacted. It binds a socket to a port \
clients know in advance (80 for HTTP, 443 for HTTPS, 53 for DNS), tells the operating system it \
is listening, and then accepts each client that connects, often many at once.\n\n\
listen() takes a backlog: how many connections whose handshake the kernel has already finished \
may wait for accept(). The kernel completes handshakes by itself, even while the program is \
busy; only when that queue is full do new clients have to wait (Linux caps the number at \
net.core.somaxconn).\n\n\
Because it is reachable, a server has to be careful about who can reach it. wirelab's servers \
listen only on 127.0.0.1, the loopback address that only programs on your own machine can reach, \
unless you ask for --public.\n\n\
A listening TCP socket never carries data itself: accept() hands out a new socket for each \
connection, and the listening one goes on waiting.",
        live: &[
            (
                "wirelab tcp serve",
                "bind, listen (with its backlog) and accept, narrated as they happen",
            ),
            (
                "wirelab tcp echo --backlog 4",
                "the backlog passed to listen(), and accept() taking a finished connection",
            ),
            (
                "wirelab ws serve",
                "a WebSocket server with a chat page for your browser",
            ),
        ],
        see_also: &["client", "socket", "port ranges"],
    },
    Term {
        name: "TCP",
        aliases: &[
            "transmission control protocol",
            "tcp/ip transport",
            "sack",
            "selective acknowledgment",
        ],
        short: "Reliable, ordered byte streams between two programs, built on unreliable packets.",
        text: "TCP (RFC 9293) gives two programs a connection that behaves like a pipe: the bytes \
written at one end come out at the other, all of them, in order, once. It does this over IP, which \
may lose, duplicate or reorder packets.\n\n\
The trick is numbering. Each side numbers every byte it sends (the sequence number) and the other \
side says which byte it expects next (the acknowledgment number). Whatever is not acknowledged in \
time is sent again; whatever arrives twice is dropped; whatever arrives early waits for the gap to \
fill. With the SACK option (RFC 2018) the receiver also lists the blocks it holds beyond a gap, so \
the sender resends only what is missing.\n\n\
A connection opens with the three-way handshake: SYN (here is my starting number), SYN-ACK (here \
is mine, and I got yours), ACK. Each side closes its direction with a FIN.\n\n\
Two separate brakes limit how fast a sender may go. Flow control protects the receiver: the \
window field says how much more it can take. Congestion control protects the network: the \
sender's own congestion window grows while data gets through and shrinks when packets are lost. \
The sender keeps no more unacknowledged data in flight than the smaller of the two.\n\n\
TCP is a byte stream, not a message service: three writes of 10 bytes may arrive as one read of \
30. Protocols on top (HTTP, WebSocket) add their own framing to find message boundaries again.",
        live: &[
            (
                "wirelab tcp echo",
                "the handshake, data and teardown as a ladder with seq/ack",
            ),
            (
                "wirelab dissect lessons/03_tcp/trace.pcapng --stats",
                "retransmissions, RTT and windows of every connection",
            ),
            (
                "wirelab tcp handshake --raw",
                "the handshake done by hand, byte by byte",
            ),
        ],
        see_also: &[
            "UDP",
            "handshake",
            "flow control",
            "congestion control",
            "MSS",
            "TIME-WAIT",
        ],
    },
    Term {
        name: "UDP",
        aliases: &[
            "user datagram protocol",
            "datagram",
            "datagrams",
            "connected udp",
            "port unreachable",
        ],
        short: "Single messages (datagrams) with a port number and nothing else promised.",
        text: "UDP (RFC 768) adds almost nothing to IP: a source and destination port so the \
datagram reaches the right program, a length and a checksum. There is no connection and no \
handshake; the first packet already carries data.\n\n\
Each send becomes exactly one datagram and each receive returns exactly one, so message \
boundaries survive: send \"a\", \"b\", \"c\" and the receiver reads three messages, never \"abc\". \
But nothing is resent: a lost datagram is simply gone, and datagrams can arrive in a different \
order than they were sent. An application that cares must notice and handle it.\n\n\
A datagram to a port where no program listens is answered, if at all, with an ICMP Port \
Unreachable message (RFC 1122 §4.1.3.1). A program normally hears of it only on a connected \
UDP socket: connect() on a UDP socket sends nothing, it only fixes the peer, so that send() needs \
no address and such errors come back as ECONNREFUSED.\n\n\
The checksum may be left out (sent as 0) over IPv4, but is mandatory over IPv6 (RFC 8200 §8.1). \
The length field is 16 bits, and over IPv4 the whole packet must fit IPv4's 16-bit total length: \
at most 65,535 − 20 (IP header) − 8 (UDP header) = 65,507 bytes of data in one datagram, cut \
into IP fragments when it is larger than the link's MTU.\n\n\
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
            (
                "wirelab ip traceroute",
                "UDP probes to a port nobody listens on, answered with ICMP Port Unreachable",
            ),
            (
                "wirelab ip mtu",
                "part 3: a connected UDP socket, and the error its send() gets",
            ),
        ],
        see_also: &["TCP", "packet", "port", "fragmentation", "ICMP"],
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
A piece can only be as large as the link allows: the MTU, 1500 bytes of IP packet on Ethernet. \
A larger IPv4 packet is cut into fragments, or refused when it says Don't Fragment.\n\n\
A capture tool such as wirelab, tcpdump or Wireshark copies each frame where the kernel hands it \
to the network card or gets it from it, then takes it apart header by header. So it sees outgoing \
frames before the card has finished them (see checksum) and incoming ones after the card has \
checked and removed the preamble and the 4-byte frame check sequence (see Ethernet). Every \
field you see has a fixed place and size, written down in an RFC as a diagram of bits.",
        live: &[
            (
                "wirelab capture -i lo -c 5",
                "packets as they pass, one line each",
            ),
            (
                "wirelab dissect lessons/01_packets/trace.pcapng --view layers -c 5",
                "every header and field of each packet, explained",
            ),
            (
                "wirelab dissect lessons/01_packets/trace.pcapng --view hex -c 5",
                "the raw bytes, coloured by layer",
            ),
        ],
        see_also: &[
            "OSI model",
            "TCP/IP model",
            "Ethernet",
            "MTU",
            "fragmentation",
        ],
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
on the Internet (TLS and the application protocols take on their jobs). Its value is the \
vocabulary: \"a layer 2 switch\", \"a layer 7 load balancer\" mean the same to every network \
engineer.\n\n\
wirelab places every header it shows on the OSI model and on the TCP/IP model at once, so you can \
see where they agree and where they do not.",
        live: &[
            (
                "wirelab layers",
                "both models side by side with the protocols placed",
            ),
            (
                "wirelab dissect lessons/01_packets/trace.pcapng --view layers -c 5",
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
            "five-layer model",
            "5-layer model",
            "hybrid model",
        ],
        short: "The four layers the Internet's protocols are actually built in (RFC 1122).",
        text: "The TCP/IP model describes the Internet as it was built, in four layers (RFC 1122 \
§1.1.3): link (getting a frame to a neighbour: Ethernet, Wi-Fi, and ARP to find the neighbour's \
hardware address), internet (IP: addressing and routing packets across networks, with ICMP for \
errors), transport (TCP and UDP: conversations between programs, told apart by port), and \
application (HTTP, DNS, WebSocket … everything a program speaks).\n\n\
Compared with OSI, the TCP/IP application layer covers OSI's layers 5 to 7, and the link layer \
covers OSI's 1 and 2. Most textbooks teach a five-layer mix of the two: physical, link, network, \
transport, application, which is the TCP/IP model with its link layer split into OSI's physical \
and data link layers.\n\n\
Some protocols sit in different places in the two models: RFC 1122 describes ARP with the link \
layer, while OSI-minded books put it at layer 2, 3 or \"2.5\"; wirelab shows it at OSI layer 3, \
since it serves IP, and in the TCP/IP link layer.\n\n\
Each layer only talks to its peer layer on the other host, through the headers it adds: that is \
why a router can forward your packet without understanding anything above IP.",
        live: &[
            ("wirelab layers", "TCP/IP and OSI side by side"),
            (
                "wirelab dissect lessons/01_packets/trace.pcapng --view layers -c 5",
                "each header placed on the TCP/IP model",
            ),
        ],
        see_also: &["OSI model", "packet", "TCP", "UDP"],
    },
    Term {
        name: "WebSocket",
        aliases: &[
            "websockets",
            "web socket",
            "ws",
            "wss",
            "rfc 6455",
            "origin",
            "origin header",
        ],
        short: "A full-duplex channel for messages, on one TCP connection, that browsers can open.",
        text: "A WebSocket (RFC 6455) is a two-way channel between a client and a server over a \
single TCP connection. Either side can send a message at any time, without the request-and-reply \
rhythm of plain HTTP, which makes it the usual choice for chats, live dashboards and games in the \
browser.\n\n\
It starts life as an HTTP request carrying `Upgrade: websocket` and a random \
Sec-WebSocket-Key. The server proves it understood by answering `101 Switching Protocols` with \
Sec-WebSocket-Accept: the key with a fixed GUID appended, hashed with SHA-1, base64-encoded. From \
then on the connection carries frames: a small header (FIN, opcode for text/binary/ping/pong/close, \
a length of 7, 16 or 64 bits) and the payload. The payload of every frame from the client is \
XORed with a fresh random 4-byte key (RFC 6455 §5.3): a page's script cannot then choose the \
bytes that cross the network, so it cannot trick a proxy into caching them (§10.3). It hides \
nothing: the key travels in the frame.\n\n\
ws:// URLs use port 80 by default and wss:// (WebSocket over TLS) port 443, the ports of HTTP \
and HTTPS (RFC 6455 §3), so WebSocket passes where web traffic passes.\n\n\
Any program can be a client: a page in a browser through the JavaScript WebSocket API, or a \
command such as `wirelab ws connect`. A browser gives no page a raw TCP socket, since a script \
from any site could then talk to any service your machine can reach. WebSocket is the safe \
version: the server must answer the handshake, and the browser sends an Origin header naming the \
site whose page opened the connection, which a server should check before it accepts (RFC 6455 \
§10.2).",
        live: &[
            (
                "wirelab ws echo",
                "the Upgrade, the accept key worked out, every frame taken apart",
            ),
            (
                "wirelab ws serve --chat",
                "then open http://127.0.0.1:8765/ in two browser tabs",
            ),
            (
                "wirelab ws connect ws://127.0.0.1:8765/ws",
                "a command-line client (start `wirelab ws serve` first); type lines to send them",
            ),
        ],
        see_also: &["Socket.IO", "TCP", "TLS", "client", "server"],
    },
    Term {
        name: "Socket.IO",
        aliases: &[
            "socketio",
            "socket io",
            "socket.io",
            "engine.io",
            "engineio",
            "sticky sessions",
            "namespace",
            "namespaces",
        ],
        short: "A library protocol for events, rooms and acknowledgements, on top of WebSocket.",
        text: "Socket.IO is a protocol (and the libraries that speak it) built on top of \
WebSocket, or of plain HTTP requests where WebSocket is not available. Its lower half, \
Engine.IO, opens the session and keeps it alive: since version 4 the server sends a ping every \
pingInterval and the client answers with a pong. The reference JavaScript client starts with HTTP \
long-polling and upgrades to WebSocket when it can. The upper half, Socket.IO, sends named events \
with data, such as `42[\"chat\",\"hi\"]`: Engine.IO packet type 4 (message), Socket.IO type 2 \
(event), then a JSON array.\n\n\
So Socket.IO is not WebSocket: a plain WebSocket client cannot talk to a Socket.IO server \
(it would have to speak Engine.IO's URL and packets), and a Socket.IO client cannot talk to a \
plain WebSocket server.\n\n\
Each connected socket gets a random, unguessable id and automatically belongs to a room named by \
that id, which is how the server sends to one client. The server can also put sockets in rooms of \
its own choosing and emit to everyone, to one room, or to everyone but the sender. Sockets live \
in namespaces (`/` unless the URL names another, such as `/admin`): separate channels over the \
one connection. An event can ask for an acknowledgement: the receiver calls the callback that \
came with the event, and what it passes comes back as an ACK packet tied to the event by its id. \
An event nobody handles is simply ignored.\n\n\
Delivery is at most once: an event sent while the connection is down is lost, except that the \
client buffers its own emits while it reconnects and sends them afterwards.\n\n\
Several Socket.IO servers can act as one, passing broadcasts to each other through an adapter \
such as Redis, so a client on one server receives a room message sent from another. Behind a load \
balancer, a client that uses long-polling must reach the same server with every request (sticky \
sessions); a WebSocket-only client does not need that.",
        live: &[
            (
                "wirelab sio demo",
                "one server, three clients: all, one, room, ack, unhandled",
            ),
            (
                "wirelab sio connect http://127.0.0.1:3000",
                "every Engine.IO and Socket.IO packet, raw and explained (start `wirelab sio \
serve` first)",
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
TCP port 80 and UDP port 80 are different ports: the protocol is part of the address.",
        live: &[(
            "wirelab tcp echo",
            "the client's ephemeral port and the server's fixed one",
        )],
        see_also: &["port ranges", "5-tuple", "socket", "TCP", "UDP"],
    },
    Term {
        name: "port ranges",
        aliases: &[
            "port range",
            "ephemeral port",
            "ephemeral ports",
            "well-known ports",
            "well-known port",
            "registered ports",
            "dynamic ports",
            "ip_local_port_range",
        ],
        short: "Which port numbers are for servers, which for clients.",
        text: "IANA divides the 65,536 ports in three (RFC 6335 §6): 0–1023 are the system or \
well-known ports (HTTP's 80, DNS's 53), 1024–49151 the user or registered ports (Redis's 6379), \
49152–65535 the dynamic or private ports, never assigned to a service, for clients.\n\n\
Operating systems pick a client's ephemeral port from a range of their own: Linux from \
32768–60999 (net.ipv4.ip_local_port_range), Windows and macOS from 49152–65535. On Linux, \
binding a port below 1024 needs the CAP_NET_BIND_SERVICE capability, which is why wirelab's \
servers use higher ports.",
        live: &[(
            "wirelab tcp echo",
            "the server on port 7007 and the client's ephemeral port, a new one every run",
        )],
        see_also: &["port", "client", "server"],
    },
    Term {
        name: "5-tuple",
        aliases: &[
            "five-tuple",
            "5 tuple",
            "4-tuple",
            "connection tuple",
            "conversation",
            "flow",
        ],
        short: "Protocol, both addresses and both ports: the name of one conversation.",
        text: "A TCP connection or a UDP conversation is named by five values: the protocol, the \
source address and port, and the destination address and port. The kernel looks up this 5-tuple \
in every arriving segment to find its socket; two connections to the same server port differ at \
least in the client's address or port. Wireshark numbers each conversation it finds (tcp.stream, \
udp.stream), and so does wirelab.",
        live: &[
            (
                "wirelab dissect lessons/04_udp/trace.pcapng --stats",
                "one line per conversation, named by its addresses and ports",
            ),
            (
                "wirelab dissect lessons/03_tcp/trace.pcapng --stream 0",
                "the packets of one conversation only",
            ),
        ],
        see_also: &["socket", "port"],
    },
    Term {
        name: "IP address",
        aliases: &[
            "ip",
            "ipv4",
            "ipv6",
            "address",
            "ip addresses",
            "loopback",
            "localhost",
        ],
        short: "The address a host is reached at across networks.",
        text: "An IPv4 address is 32 bits, written as four decimal bytes (192.0.2.7); an IPv6 \
address is 128 bits, written in hexadecimal groups (2001:db8::7). Routers forward packets by \
looking at the destination address.\n\n\
All of 127.0.0.0/8 is loopback (RFC 1122 §3.2.1.3), as is ::1: a packet sent there never leaves \
the machine. wirelab's servers listen on 127.0.0.1 unless asked for --public. Its demos run in \
the lab between 192.0.2.1 and 192.0.2.2 (addresses reserved for documentation, RFC 5737, used \
only inside network namespaces wirelab makes), the hand-made handshake on 169.254.x addresses \
behind a TUN device, and on the host's loopback only where no lab can be built.",
        live: &[
            (
                "wirelab dissect lessons/02_sockets/trace.pcapng --view layers -c 3",
                "ip.src and ip.dst in every packet",
            ),
            ("wirelab lab", "the lab's hosts and their addresses"),
        ],
        see_also: &["packet", "MAC address", "TCP/IP model"],
    },
    Term {
        name: "TTL",
        aliases: &["time to live", "hop limit", "hops", "traceroute"],
        short: "How many more routers a packet may pass before it is dropped.",
        text: "Every IPv4 header carries a TTL (IPv6 calls it the hop limit). Each router lowers \
it by one and drops a packet whose TTL reaches 0, answering the sender with ICMP Time Exceeded \
(RFC 791, RFC 1812 §5.3.1), so a packet caught in a routing loop dies out. Traceroute uses this: \
it sends probes with TTL 1, 2, 3 … and each router on the path gives itself away by its Time \
Exceeded message.",
        live: &[(
            "wirelab ip traceroute",
            "probes with growing TTLs across the lab's routers, and each router's answer",
        )],
        see_also: &["ICMP", "IP address"],
    },
    Term {
        name: "ICMP",
        aliases: &["internet control message protocol", "ping", "icmpv6"],
        short: "IP's own messages: errors (unreachable, time exceeded) and ping.",
        text: "ICMP (RFC 792) rides inside IP and reports on IP: Destination Unreachable (type \
3; code 3 says no program listens on that UDP port, code 4 that a packet was too big and had Don't \
Fragment set), Time Exceeded (type 11: the TTL ran out), and Echo Request and Reply (types 8 and \
0), which is ping. An error quotes the start of the packet that caused it, so the sender's kernel \
knows which socket it was about.",
        live: &[
            (
                "wirelab ip traceroute",
                "Time Exceeded from each router, Port Unreachable from the server",
            ),
            (
                "wirelab ip mtu",
                "Fragmentation Needed, with the MTU of the link that refused the packet",
            ),
        ],
        see_also: &["TTL", "MTU", "UDP"],
    },
    Term {
        name: "MTU",
        aliases: &[
            "maximum transmission unit",
            "path mtu",
            "pmtu",
            "path mtu discovery",
            "pmtud",
        ],
        short: "The largest IP packet a link carries in one frame.",
        text: "Every link has a maximum transmission unit: 1500 bytes of IP packet on Ethernet, \
65536 on Linux's loopback. The path MTU is the smallest one on the way. A sender learns it by \
path MTU discovery (RFC 1191): it sets Don't Fragment, and a router that cannot forward a packet \
that big drops it and answers ICMP Fragmentation Needed with the MTU of its next link. Every IPv4 \
host must accept 576-byte packets (RFC 791); every IPv6 link carries at least 1280 bytes (RFC 8200 \
§5).",
        live: &[
            (
                "wirelab ip mtu",
                "a 1280-byte link between two routers: fragments, then path MTU discovery",
            ),
            (
                "wirelab lab --routers 2 --link 2:mtu=1280",
                "each interface's MTU in the lab",
            ),
        ],
        see_also: &["fragmentation", "MSS", "ICMP", "packet"],
    },
    Term {
        name: "fragmentation",
        aliases: &[
            "fragment",
            "fragments",
            "ip fragmentation",
            "reassembly",
            "ip reassembly",
        ],
        short: "Cutting an IP packet that is too big for the next link into pieces.",
        text: "An IPv4 packet larger than the next link's MTU is cut into fragments, by the \
sender or by a router on the way, unless it says Don't Fragment. Each fragment carries the \
original's Identification, its offset in 8-byte units, and the More Fragments flag, set on all \
but the last (RFC 791 §2.3). Only the destination puts them back together, and if one fragment \
is lost, the whole packet is lost. IPv6 routers never fragment: only the sender may, with a \
Fragment extension header (RFC 8200 §4.5).",
        live: &[
            (
                "wirelab ip mtu",
                "a router cutting a 1400-byte UDP payload for a 1280-byte link",
            ),
            (
                "wirelab udp echo",
                "a 3000-byte datagram leaving the sender as three fragments",
            ),
        ],
        see_also: &["MTU", "UDP", "packet"],
    },
    Term {
        name: "Ethernet",
        aliases: &[
            "ethernet ii",
            "ethernet frame",
            "fcs",
            "frame check sequence",
            "preamble",
            "padding",
        ],
        short: "The link layer of wired networks: frames between neighbours, by MAC address.",
        text: "An Ethernet II frame is a 14-byte header (destination MAC, source MAC, EtherType), \
46 to 1500 bytes of payload, and a 4-byte frame check sequence, a CRC-32 the receiving card \
checks. On the wire a 7-byte preamble and a 1-byte start-of-frame delimiter come first, so the \
receiving card can lock onto the bits. A frame is at least 64 bytes with its FCS, so a shorter \
payload is padded.\n\n\
Captures rarely show the preamble or the FCS: the card adds them when sending and checks and \
removes them when receiving, outside the capture's view. The same goes for padding on the \
sending side: the machine that sends a 42-byte ARP request captures 42 bytes, while the receiver \
sees it padded to 60 bytes (64 with the FCS).",
        live: &[(
            "wirelab dissect lessons/01_packets/trace.pcapng --view hex -c 2",
            "the Ethernet header of an ARP request, byte by byte",
        )],
        see_also: &["MAC address", "packet", "ARP"],
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
        see_also: &["IP address", "ARP", "Ethernet"],
    },
    Term {
        name: "ARP",
        aliases: &["address resolution protocol"],
        short: "Finding the MAC address of a neighbour from its IPv4 address.",
        text: "Before a host can send an IP packet to a neighbour on Ethernet, it needs the \
neighbour's MAC address. It broadcasts an ARP request (\"who has 192.0.2.2? tell 192.0.2.1\") to \
every card on the link; the owner answers with a reply sent straight to the asker (RFC 826), and \
both remember the answer for a while in their ARP caches. IPv6 does the same job with ICMPv6 \
neighbour discovery.",
        live: &[(
            "wirelab tcp echo",
            "the ARP exchange before the first SYN in the lab",
        )],
        see_also: &["ARP cache", "MAC address", "IP address"],
    },
    Term {
        name: "ARP cache",
        aliases: &[
            "neighbour table",
            "neighbor table",
            "neighbour cache",
            "neighbor cache",
            "arp table",
            "ip neigh",
        ],
        short: "The table of IP-to-MAC answers a host remembers.",
        text: "Each host keeps the ARP answers it got (and the sender addresses of the requests it \
heard) in a table, so that only the first packet to a neighbour waits for ARP. Entries age: after \
a while without confirmation the kernel checks again or forgets them (RFC 1122 §2.3.2.1). Linux \
calls it the neighbour table; `ip neigh` shows it.",
        live: &[(
            "wirelab lab shell -- sh -c 'wirelab udp send 192.0.2.2:9 hi; ip neigh'",
            "the client's neighbour table after its first datagram to the server",
        )],
        see_also: &["ARP", "MAC address"],
    },
    Term {
        name: "DNS",
        aliases: &["domain name system", "name resolution"],
        short: "Turning names like example.org into IP addresses.",
        text: "DNS is a worldwide distributed database of names. A program asks a resolver for a \
name's records (A for IPv4, AAAA for IPv6, MX for mail …); the question and answer usually travel \
as one UDP datagram each on port 53, falling back to TCP when the answer does not fit (RFC 1035, \
RFC 7766).",
        live: &[(
            "wirelab dissect lessons/01_packets/trace.pcapng --filter dns --view layers",
            "a question and its answer, field by field",
        )],
        see_also: &["UDP", "IP address"],
    },
    Term {
        name: "DHCP",
        aliases: &["dynamic host configuration protocol", "dhcpv4"],
        short: "How a host gets its IPv4 address, router and DNS server when it joins a network.",
        text: "A host without an address broadcasts a DHCP Discover from 0.0.0.0, UDP port 68, to \
255.255.255.255 port 67; servers answer with an Offer, the host Requests one, and the server \
confirms with an Ack (RFC 2131). The address is leased for a time, after which the host renews \
it. IPv6 hosts often configure themselves from router advertisements instead (SLAAC) or use \
DHCPv6. The lab gives its hosts fixed addresses, so no wirelab demo shows DHCP yet.",
        live: &[],
        see_also: &["IP address", "UDP"],
    },
    Term {
        name: "handshake",
        aliases: &[
            "three-way handshake",
            "3-way handshake",
            "syn",
            "syn-ack",
            "isn",
            "initial sequence number",
        ],
        short: "How two TCP ends agree to start: SYN, SYN-ACK, ACK.",
        text: "The client sends SYN with its initial sequence number (ISN); the server answers \
SYN-ACK with its own ISN and acknowledges the client's ISN + 1; the client acknowledges the \
server's ISN + 1. Each side now knows the other's starting number and that the other can hear \
it.\n\n\
ISNs are not simply random: RFC 9293 §3.4.1 (with RFC 6528) builds them from a clock that ticks \
every 4 µs plus a keyed hash of the addresses and ports. The clock keeps a new connection's \
numbers clear of an old one's between the same ports; the secret key keeps anyone who cannot see \
the traffic from guessing them.",
        live: &[
            ("wirelab tcp echo", "the kernel's handshake as a ladder"),
            (
                "wirelab tcp handshake --raw",
                "the same handshake built by hand, the ISN worked out",
            ),
        ],
        see_also: &["TCP", "MSS", "TIME-WAIT"],
    },
    Term {
        name: "MSS",
        aliases: &["maximum segment size"],
        short: "The most data bytes a TCP end takes in one segment.",
        text: "Each side announces in its SYN the most data, headers not counted, it will take in \
one segment (RFC 9293 §3.7.1): its MTU minus the IP and TCP headers, 1500 − 20 − 20 = 1460 on \
Ethernet with IPv4. Without the option the other side must assume 536 (IPv4) or 1220 (IPv6). On \
Linux's loopback the MTU (65536) is larger than any IPv4 packet, so the kernel announces \
65,535 − 40 = 65,495.",
        live: &[
            (
                "wirelab tcp echo --view layers -c 4",
                "tcp.options.mss_val in both SYNs",
            ),
            (
                "wirelab ip mtu",
                "part 2: segments that shrink after path MTU discovery",
            ),
        ],
        see_also: &["MTU", "TCP", "handshake"],
    },
    Term {
        name: "flow control",
        aliases: &[
            "receive window",
            "rwnd",
            "window",
            "tcp window",
            "window scaling",
            "window scale",
            "zero window",
        ],
        short: "The receiver's brake: it says how much more it can take.",
        text: "Every TCP segment carries a window: how many bytes beyond the acknowledged ones the \
receiver still has room for. The sender keeps no more than that unacknowledged in flight, and \
stops at a window of 0 until the receiver reads and opens it again, probing now and then in case \
the news is lost (RFC 9293 §3.8.6). The field is 16 bits; the window scale option in the SYNs \
multiplies it by a power of two so windows can exceed 65,535 bytes (RFC 7323 §2). Flow control \
protects the receiver; congestion control protects the network.",
        live: &[
            (
                "wirelab tcp echo --rcvbuf 4096",
                "a small receive buffer, and the smaller window it advertises",
            ),
            (
                "wirelab tcp transfer --recv-buf 65536 --read-rate 200000 --bytes 300000",
                "a slow reader: the window closes to zero, probes, window updates",
            ),
            (
                "wirelab dissect lessons/07_websocket/trace.pcapng --graph",
                "a 70,000-byte message against time, with the ACK plus the window: the most the \
sender may reach",
            ),
        ],
        see_also: &["congestion control", "TCP"],
    },
    Term {
        name: "congestion control",
        aliases: &[
            "congestion window",
            "cwnd",
            "slow start",
            "congestion avoidance",
            "aimd",
            "cubic",
            "reno",
            "bbr",
        ],
        short: "The sender's brake: it guesses how much the network can carry.",
        text: "A sender that pours data into a network faster than its slowest link can carry \
fills router queues until packets are dropped. So TCP keeps a congestion window (cwnd), a limit \
of its own that never appears in any packet: it starts at a few segments and grows by one segment \
per acknowledged segment (slow start, doubling each round trip), then by about one segment per \
round trip; when a loss shows, it shrinks (RFC 5681). Linux uses CUBIC (RFC 9438) by default, a \
faster-growing curve for fast, long paths. The data in flight stays below both cwnd and the \
receiver's window. The congestion window lives only inside the sender, never in a packet: \
`wirelab tcp transfer` reads it from the sending kernel (TCP_INFO) while a transfer crosses the \
lab's slow link, and names the phases: slow start, congestion avoidance, fast recovery after a \
loss, a retransmission timeout.",
        live: &[
            (
                "wirelab tcp transfer --cc reno --link rate=10mbit,delay=20ms",
                "cwnd doubling each round trip in slow start, then growing by one segment per \
round trip",
            ),
            (
                "wirelab tcp transfer --compare reno,cubic --link rate=10mbit,delay=20ms,loss=1%",
                "two algorithms over the same lossy link, side by side",
            ),
        ],
        see_also: &["flow control", "TCP"],
    },
    Term {
        name: "TIME-WAIT",
        aliases: &[
            "time_wait",
            "time wait",
            "2msl",
            "msl",
            "tcp states",
            "socket states",
        ],
        short: "Where the side that closed first waits before the connection is really gone.",
        text: "After both FINs are acknowledged, the side that sent the first FIN stays in \
TIME-WAIT for twice the maximum segment lifetime, 2·MSL (RFC 9293 §3.3.2; Linux waits a fixed \
60 s), for two reasons: if its last ACK is lost, the other side will send its FIN again and must \
get an answer rather than a RST; and old duplicate segments of this connection must die out \
before a new connection between the same addresses and ports could take them for its own.",
        live: &[(
            "wirelab tcp echo",
            "the states the kernel reports for each socket, ending in TIME-WAIT on the client",
        )],
        see_also: &["TCP", "handshake"],
    },
    Term {
        name: "Nagle's algorithm",
        aliases: &["nagle", "tcp_nodelay", "nodelay"],
        short: "Holding back small segments while earlier data is unacknowledged.",
        text: "A program that writes a few bytes at a time would send a segment for each. Nagle's \
algorithm (RFC 896; RFC 9293 §3.7.4) holds new small data back while any sent data is still \
unacknowledged, and sends it all in one segment when the ACK comes (or as soon as a full segment \
is ready). There is no timer: on a fast link the ACK comes quickly. TCP_NODELAY turns it off.",
        live: &[(
            "wirelab udp echo",
            "five small TCP writes on the lab's fast cable: each ACK is back before the next \
write, so Nagle holds nothing back and five segments leave (and one read takes them all)",
        )],
        see_also: &["TCP", "UDP"],
    },
    Term {
        name: "checksum",
        aliases: &["checksums", "internet checksum", "checksum offload"],
        short: "A number computed over bytes so the receiver can tell if they changed.",
        text: "IPv4, ICMP, TCP and UDP carry the Internet checksum (RFC 1071): the one's \
complement of the one's-complement sum of the bytes, taken 16 bits at a time. The receiver adds \
up the same bytes with the checksum in place and expects all ones (0xffff). It catches \
accidental damage, not tampering. Captures taken on the sending machine often show wrong TCP and \
UDP checksums because the network card fills them in after the capture took its copy (checksum \
offload).",
        live: &[
            (
                "wirelab dissect lessons/05_capture/trace.pcapng --view layers -c 2",
                "each checksum marked correct or wrong",
            ),
            (
                "wirelab tcp handshake --raw",
                "the TCP checksum worked out, pseudo-header included",
            ),
        ],
        see_also: &["packet", "TCP", "UDP"],
    },
    Term {
        name: "TLS",
        aliases: &[
            "ssl",
            "https",
            "transport layer security",
            "sni",
            "encryption",
        ],
        short: "Encryption and server authentication on top of TCP: the S in HTTPS and wss.",
        text: "TLS (version 1.3: RFC 8446) runs over a TCP connection and gives the two programs \
a private, tamper-proof channel. In its handshake the client says hello (with the server's name \
in clear, SNI), the server answers with its certificate, which proves it owns the name, and both \
derive keys; from then on a capture sees only records of encrypted bytes and their lengths. \
HTTPS is HTTP over TLS on port 443, wss:// is WebSocket over TLS. In OSI terms TLS does the work \
of the presentation layer (and some of the session layer's). wirelab's own clients speak plain \
ws:// and http:// so that every byte can be read.",
        live: &[],
        see_also: &["WebSocket", "TCP", "OSI model"],
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
        command: "no protocol of its own on the Internet: TLS encrypts and HTTP compresses, inside the application layer",
    },
    OsiRow {
        layer: Osi::Session,
        job: "opening, keeping and closing dialogues",
        pdu: "message",
        command: "no protocol of its own on the Internet: applications open and close their own dialogues",
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
        command: "wirelab ip traceroute, wirelab ip mtu",
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

/// The registered protocols ([`crate::dissect::registry`]) this term explains: `define` shows
/// their placement and their fields' explanations after the term's own text.
pub fn protocols_of(term: &Term) -> Vec<&'static crate::dissect::registry::Protocol> {
    crate::dissect::registry::all()
        .filter(|p| normalize(p.term) == normalize(term.name))
        .collect()
}

/// The protocols wirelab dissects that sit at this OSI layer (from the dissector's own
/// placement).
pub fn protocols_at(layer: Osi) -> Vec<Proto> {
    let mut v: Vec<Proto> = Proto::all()
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
