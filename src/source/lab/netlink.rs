//! Talking to the kernel's network configuration over *rtnetlink*.
//!
//! # The idea
//!
//! Tools such as `ip link add` and `ip addr add` do not edit files: they send messages to the
//! kernel over a netlink socket (`AF_NETLINK`, protocol `NETLINK_ROUTE`). Each request is a
//! header (type, flags, sequence number) followed by a fixed struct (for links: the interface
//! index and flags) and a list of type-length-value *attributes* (the name `eth0`, the MAC
//! address, the MTU…). Asking for `NLM_F_ACK` makes the kernel answer every request with an
//! error code, 0 meaning done.
//!
//! wirelab builds its lab with a handful of these requests instead of running the `ip` program,
//! so the lab works on a machine where iproute2 is not installed. The message layouts come from
//! the `netlink-packet-route` crate; this module only says which messages to send.
//!
//! A netlink socket talks to the network namespace that its thread was in when the socket was
//! made: open one [`Rtnl`] per namespace.

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::{
    DefaultNla, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkBuffer,
    NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkLayerType, LinkMessage,
    State,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::tc::{TcAttribute, TcHandle, TcMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::constants::NETLINK_ROUTE;
use netlink_sys::{Socket, SocketAddr};

/// A netlink socket to the routing subsystem of the current thread's network namespace.
pub struct Rtnl {
    sock: Socket,
    seq: u32,
}

/// One network interface as the kernel describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    pub mac: Option<[u8; 6]>,
    pub mtu: u32,
    /// Administratively up (`ip link set … up`).
    pub up: bool,
    /// The link has a carrier (for a veth: its peer is up too).
    pub lower_up: bool,
    pub kind: Option<String>,
    /// ARPHRD_ type: 1 Ethernet, 772 loopback, 65534 none (TUN).
    pub hw_type: u16,
}

/// One IPv4 address on an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addr {
    pub index: u32,
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

/// One IPv4 route of the main table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub dst: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Option<Ipv4Addr>,
    pub oif: Option<u32>,
    pub src: Option<Ipv4Addr>,
}

impl Rtnl {
    /// Open a netlink socket in the calling thread's network namespace.
    pub fn open() -> io::Result<Rtnl> {
        let mut sock = Socket::new(NETLINK_ROUTE)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        Ok(Rtnl { sock, seq: 0 })
    }

    /// Send one request and collect the answers: the messages of a dump, or nothing for a
    /// request that only needs its acknowledgment. A negative acknowledgment becomes the
    /// matching `io::Error` (EPERM, EEXIST…).
    fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.seq += 1;
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        header.sequence_number = self.seq;
        let mut req = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        req.finalize();
        let mut buf = vec![0; req.header.length as usize];
        req.serialize(&mut buf);
        self.sock.send(&buf, 0)?;

        let mut out = Vec::new();
        loop {
            let (data, _) = self.sock.recv_from_full()?;
            let mut at = 0;
            while at < data.len() {
                let len = NetlinkBuffer::new_checked(&data[at..])
                    .map_err(|e| io::Error::other(format!("bad netlink answer: {e}")))?
                    .length() as usize;
                if len == 0 {
                    break;
                }
                let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&data[at..at + len])
                    .map_err(|e| io::Error::other(format!("bad netlink answer: {e}")))?;
                at += (len + 3) & !3;
                if msg.header.sequence_number != self.seq {
                    continue;
                }
                match msg.payload {
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            // A positive acknowledgment: the request is done.
                            None => Ok(out),
                            Some(code) => Err(io::Error::from_raw_os_error(-code.get())),
                        };
                    }
                    NetlinkPayload::InnerMessage(m) => out.push(m),
                    _ => {}
                }
            }
        }
    }

    /// Every interface of this namespace.
    pub fn links(&mut self) -> io::Result<Vec<Link>> {
        let answers = self.request(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_DUMP,
        )?;
        let mut out = Vec::new();
        for m in answers {
            let RouteNetlinkMessage::NewLink(l) = m else {
                continue;
            };
            let mut link = Link {
                index: l.header.index,
                name: String::new(),
                mac: None,
                mtu: 0,
                up: l.header.flags.contains(LinkFlags::Up),
                lower_up: l.header.flags.contains(LinkFlags::LowerUp),
                kind: None,
                hw_type: u16::from(l.header.link_layer_type),
            };
            for a in &l.attributes {
                match a {
                    LinkAttribute::IfName(n) => link.name = n.clone(),
                    LinkAttribute::Address(a) if a.len() == 6 => {
                        link.mac = Some(a[..6].try_into().expect("6 bytes"));
                    }
                    LinkAttribute::Mtu(m) => link.mtu = *m,
                    LinkAttribute::OperState(State::Up) => link.lower_up = true,
                    LinkAttribute::LinkInfo(infos) => {
                        for i in infos {
                            if let LinkInfo::Kind(k) = i {
                                link.kind = Some(k.to_string());
                            }
                        }
                    }
                    _ => {}
                }
            }
            out.push(link);
        }
        Ok(out)
    }

    /// The interface with this name.
    pub fn link(&mut self, name: &str) -> io::Result<Link> {
        self.links()?
            .into_iter()
            .find(|l| l.name == name)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("there is no interface named {name} here"),
                )
            })
    }

    /// Create a veth pair: `name` here, and its peer `peer_name` moved straight into the
    /// namespace `peer_ns` (an open `/proc/…/ns/net`). A veth pair is a virtual cable: what
    /// one end transmits, the other end receives.
    pub fn create_veth(
        &mut self,
        name: &str,
        mac: [u8; 6],
        peer_name: &str,
        peer_mac: [u8; 6],
        peer_ns: BorrowedFd<'_>,
    ) -> io::Result<()> {
        let mut peer = LinkMessage::default();
        peer.attributes
            .push(LinkAttribute::IfName(peer_name.into()));
        peer.attributes
            .push(LinkAttribute::Address(peer_mac.to_vec()));
        peer.attributes
            .push(LinkAttribute::NetNsFd(peer_ns.as_raw_fd()));
        let mut link = LinkMessage::default();
        link.attributes.push(LinkAttribute::IfName(name.into()));
        link.attributes.push(LinkAttribute::Address(mac.to_vec()));
        link.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
        ]));
        self.request(
            RouteNetlinkMessage::NewLink(link),
            NLM_F_CREATE | NLM_F_EXCL,
        )?;
        Ok(())
    }

    /// Bring an interface up (`ip link set NAME up`).
    pub fn set_up(&mut self, index: u32) -> io::Result<()> {
        let mut link = LinkMessage::default();
        link.header.index = index;
        link.header.flags = LinkFlags::Up;
        link.header.change_mask = LinkFlags::Up;
        self.request(RouteNetlinkMessage::SetLink(link), 0)?;
        Ok(())
    }

    /// Give an interface an IPv4 address (`ip addr add ADDR/PREFIX dev NAME`). The kernel adds
    /// the route to the directly connected network by itself.
    pub fn add_ipv4(&mut self, index: u32, addr: Ipv4Addr, prefix: u8) -> io::Result<()> {
        let mut m = AddressMessage::default();
        m.header.family = AddressFamily::Inet;
        m.header.prefix_len = prefix;
        m.header.index = index;
        m.attributes.push(AddressAttribute::Local(IpAddr::V4(addr)));
        m.attributes
            .push(AddressAttribute::Address(IpAddr::V4(addr)));
        let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
        let bcast = Ipv4Addr::from(u32::from(addr) | !mask);
        m.attributes.push(AddressAttribute::Broadcast(bcast));
        self.request(
            RouteNetlinkMessage::NewAddress(m),
            NLM_F_CREATE | NLM_F_EXCL,
        )?;
        Ok(())
    }

    /// Every IPv4 address of this namespace.
    pub fn addresses(&mut self) -> io::Result<Vec<Addr>> {
        let mut req = AddressMessage::default();
        req.header.family = AddressFamily::Inet;
        let answers = self.request(RouteNetlinkMessage::GetAddress(req), NLM_F_DUMP)?;
        let mut out = Vec::new();
        for m in answers {
            let RouteNetlinkMessage::NewAddress(a) = m else {
                continue;
            };
            for attr in &a.attributes {
                if let AddressAttribute::Local(IpAddr::V4(ip)) = attr {
                    out.push(Addr {
                        index: a.header.index,
                        addr: *ip,
                        prefix: a.header.prefix_len,
                    });
                }
            }
        }
        Ok(out)
    }

    /// The IPv4 routes of the main routing table.
    pub fn routes(&mut self) -> io::Result<Vec<Route>> {
        let mut req = RouteMessage::default();
        req.header.address_family = AddressFamily::Inet;
        let answers = self.request(RouteNetlinkMessage::GetRoute(req), NLM_F_DUMP)?;
        let mut out = Vec::new();
        for m in answers {
            let RouteNetlinkMessage::NewRoute(r) = m else {
                continue;
            };
            // Table 254 is "main", the one `ip route` shows; 255 ("local") holds the host's
            // own addresses and is not interesting here.
            let mut table = u32::from(r.header.table);
            let mut route = Route {
                dst: Ipv4Addr::UNSPECIFIED,
                prefix: r.header.destination_prefix_length,
                gateway: None,
                oif: None,
                src: None,
            };
            for a in &r.attributes {
                match a {
                    RouteAttribute::Table(t) => table = *t,
                    RouteAttribute::Destination(RouteAddress::Inet(d)) => route.dst = *d,
                    RouteAttribute::Gateway(RouteAddress::Inet(g)) => route.gateway = Some(*g),
                    RouteAttribute::PrefSource(RouteAddress::Inet(s)) => route.src = Some(*s),
                    RouteAttribute::Oif(o) => route.oif = Some(*o),
                    _ => {}
                }
            }
            if table == 254 {
                out.push(route);
            }
        }
        Ok(out)
    }

    /// Put a `netem` queueing discipline on an interface's way out: it drops a share of the
    /// packets (`loss`, 0.0 to 1.0) and, with `reorder`, holds most packets back by `delay_ms`
    /// while letting some through at once, so they overtake the others.
    ///
    /// Fails with `ENOENT` where the kernel has no netem (the module is not built or loaded).
    pub fn add_netem(
        &mut self,
        index: u32,
        loss: f64,
        reorder: bool,
        delay_ms: u32,
    ) -> io::Result<()> {
        // struct tc_netem_qopt { latency, limit, loss, gap, duplicate, jitter } (all u32),
        // followed by optional attributes. Latency is given in nanoseconds by the
        // TCA_NETEM_LATENCY64 attribute instead, so the old tick-based field stays 0.
        let prob = |p: f64| (p.clamp(0.0, 1.0) * f64::from(u32::MAX)) as u32;
        let mut opts = Vec::new();
        for v in [0u32, 1000, prob(loss), if reorder { 1 } else { 0 }, 0, 0] {
            opts.extend_from_slice(&v.to_ne_bytes());
        }
        let mut attr = |kind: u16, value: &[u8]| {
            let len = 4 + value.len();
            opts.extend_from_slice(&(len as u16).to_ne_bytes());
            opts.extend_from_slice(&kind.to_ne_bytes());
            opts.extend_from_slice(value);
            while opts.len() % 4 != 0 {
                opts.push(0);
            }
        };
        if reorder {
            // TCA_NETEM_REORDER = 3: struct tc_netem_reorder { probability, correlation }.
            let mut r = prob(0.25).to_ne_bytes().to_vec();
            r.extend_from_slice(&0u32.to_ne_bytes());
            attr(3, &r);
        }
        if delay_ms > 0 {
            // TCA_NETEM_LATENCY64 = 10, in nanoseconds.
            attr(10, &(i64::from(delay_ms) * 1_000_000).to_ne_bytes());
        }
        let mut m = TcMessage::default();
        m.header.index = index as i32;
        m.header.parent = TcHandle::ROOT;
        m.header.handle = TcHandle { major: 1, minor: 0 };
        m.attributes.push(TcAttribute::Kind("netem".into()));
        // TCA_OPTIONS = 2; netem's options are a struct followed by attributes, which the
        // typed options of netlink-packet-route do not model, so they go in as raw bytes.
        m.attributes
            .push(TcAttribute::Other(DefaultNla::new(2, opts)));
        self.request(
            RouteNetlinkMessage::NewQueueDiscipline(m),
            NLM_F_CREATE | NLM_F_EXCL,
        )?;
        Ok(())
    }

    /// Set an interface's MTU (`ip link set NAME mtu N`): the largest IP packet it sends.
    pub fn set_mtu(&mut self, index: u32, mtu: u32) -> io::Result<()> {
        let mut link = LinkMessage::default();
        link.header.index = index;
        link.attributes.push(LinkAttribute::Mtu(mtu));
        self.request(RouteNetlinkMessage::SetLink(link), 0)?;
        Ok(())
    }

    /// Add a route (`ip route add DST/PREFIX via GATEWAY`; a prefix of 0 is the default
    /// route). The gateway must be on a directly connected network.
    pub fn add_route(&mut self, dst: Ipv4Addr, prefix: u8, via: Ipv4Addr) -> io::Result<()> {
        let mut m = RouteMessage::default();
        m.header.address_family = AddressFamily::Inet;
        m.header.destination_prefix_length = prefix;
        m.header.table = RouteHeader::RT_TABLE_MAIN;
        m.header.protocol = RouteProtocol::Static;
        m.header.scope = RouteScope::Universe;
        m.header.kind = RouteType::Unicast;
        if prefix > 0 {
            m.attributes
                .push(RouteAttribute::Destination(RouteAddress::Inet(dst)));
        }
        m.attributes
            .push(RouteAttribute::Gateway(RouteAddress::Inet(via)));
        self.request(RouteNetlinkMessage::NewRoute(m), NLM_F_CREATE | NLM_F_EXCL)?;
        Ok(())
    }

    /// Put a token bucket filter (`tbf`) on an interface's way out, with a `pfifo` queue of
    /// `queue` packets under it: what `tc qdisc add dev X root handle 1: tbf rate R burst B
    /// limit L` followed by `tc qdisc add dev X parent 1:1 pfifo limit Q` does.
    ///
    /// The filter holds a bucket of `burst` bytes of tokens, refilled at `rate_bps / 8` bytes a
    /// second; a frame may leave when the bucket holds as many tokens as it has bytes, and
    /// waits in the queue otherwise.
    pub fn add_tbf(&mut self, index: u32, rate_bps: u64, burst: u32, queue: u32) -> io::Result<()> {
        // struct tc_ratespec { u8 cell_log; u8 linklayer; u16 overhead; s16 cell_align;
        // u16 mpu; u32 rate (bytes/s) }. linklayer 1 (Ethernet) spares the kernel the old
        // rate table.
        let bytes_per_sec = (rate_bps / 8).min(u64::from(u32::MAX)) as u32;
        let mut parms = Vec::with_capacity(36);
        parms.extend_from_slice(&[0u8, 1]);
        parms.extend_from_slice(&0u16.to_ne_bytes());
        parms.extend_from_slice(&0i16.to_ne_bytes());
        parms.extend_from_slice(&0u16.to_ne_bytes());
        parms.extend_from_slice(&bytes_per_sec.to_ne_bytes());
        // peakrate: none.
        parms.extend_from_slice(&[0u8; 12]);
        // limit (bytes of the default bfifo, replaced below), buffer (ticks; TCA_TBF_BURST
        // gives it in bytes instead), mtu (peakrate only).
        let limit = queue.saturating_mul(burst.max(1514));
        for v in [limit, 0u32, 0u32] {
            parms.extend_from_slice(&v.to_ne_bytes());
        }
        let mut opts = Vec::new();
        push_nla(&mut opts, 1, &parms); // TCA_TBF_PARMS
        push_nla(&mut opts, 6, &burst.to_ne_bytes()); // TCA_TBF_BURST
        let mut m = TcMessage::default();
        m.header.index = index as i32;
        m.header.parent = TcHandle::ROOT;
        m.header.handle = TcHandle { major: 1, minor: 0 };
        m.attributes.push(TcAttribute::Kind("tbf".into()));
        m.attributes
            .push(TcAttribute::Other(DefaultNla::new(2, opts)));
        self.request(
            RouteNetlinkMessage::NewQueueDiscipline(m),
            NLM_F_CREATE | NLM_F_EXCL,
        )?;
        // The queue under it, counted in packets: pfifo with struct tc_fifo_qopt { u32 limit }.
        let mut m = TcMessage::default();
        m.header.index = index as i32;
        m.header.parent = TcHandle { major: 1, minor: 1 };
        m.header.handle = TcHandle {
            major: 10,
            minor: 0,
        };
        m.attributes.push(TcAttribute::Kind("pfifo".into()));
        m.attributes.push(TcAttribute::Other(DefaultNla::new(
            2,
            queue.to_ne_bytes().to_vec(),
        )));
        self.request(
            RouteNetlinkMessage::NewQueueDiscipline(m),
            NLM_F_CREATE | NLM_F_EXCL,
        )?;
        Ok(())
    }

    /// Remove the queueing discipline [`Rtnl::add_netem`] added.
    pub fn del_root_qdisc(&mut self, index: u32) -> io::Result<()> {
        let mut m = TcMessage::default();
        m.header.index = index as i32;
        m.header.parent = TcHandle::ROOT;
        self.request(RouteNetlinkMessage::DelQueueDiscipline(m), 0)?;
        Ok(())
    }
}

/// Append one netlink attribute (length, type, value, padding to 4 bytes) to `buf`.
fn push_nla(buf: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = 4 + value.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(value);
    while buf.len() % 4 != 0 {
        buf.push(0);
    }
}

/// The link-layer type name of an ARPHRD_ number.
pub fn hw_type_name(t: u16) -> &'static str {
    match LinkLayerType::from(t) {
        LinkLayerType::Ether => "Ethernet",
        LinkLayerType::Loopback => "loopback",
        LinkLayerType::None => "none (IP only)",
        _ => "other",
    }
}
