//! The lab's plan: which hosts, which links between them, which addresses, routes and link
//! properties, worked out before anything is built.
//!
//! # The idea
//!
//! A path across the Internet is a chain: your computer, a few *routers*, the server. Each
//! step of the chain is a *link* (a cable, a Wi-Fi hop, a fibre) with its own network, and each
//! router has one interface on each side. A router receives a packet on one interface, looks
//! the destination up in its *routing table*, lowers the packet's TTL by one, and sends it out
//! of the other interface towards the next hop.
//!
//! `wirelab lab --routers 2` builds exactly that:
//!
//! ```text
//!   client ──link 1── r1 ──link 2── r2 ──link 3── server
//!  192.0.2.1    192.0.2.254   198.51.100.1   198.51.100.2   203.0.113.254   203.0.113.2
//!               (r1 eth0)     (r1 eth1)      (r2 eth0)      (r2 eth1)
//! ```
//!
//! Every address comes from the three blocks that RFC 5737 reserves for documentation, so
//! none of them can be anyone's real address:
//!
//! * link 1, the client's network: 192.0.2.0/24 (TEST-NET-1); the client is .1, its router .254;
//! * the last link, the server's network: 203.0.113.0/24 (TEST-NET-3); the server is .2, its
//!   router .254;
//! * the links between two routers: 198.51.100.0/24 (TEST-NET-2), cut into /30 networks of
//!   four addresses (network, two hosts, broadcast), as operators number point-to-point links.
//!
//! With no router (`--routers 0`, the default) there is one link, 192.0.2.0/24, with the
//! client at .1 and the server at .2: the single cable the first lessons use.
//!
//! Each link can be given properties with a [`LinkSpec`] (`--link rate=10mbit,delay=20ms`):
//! see its documentation for what each property means. This module only plans; the lab
//! ([`crate::source::lab`], Linux only) builds the plan with network namespaces and veth
//! pairs and runs the link emulator.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;
use std::time::Duration;

/// The most routers a lab may have (the /30 links of 198.51.100.0/24 would allow 63; eight
/// already make a path longer than most real ones inside a country).
pub const MAX_ROUTERS: u8 = 8;

/// One host of the lab.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Host {
    Client,
    /// Router number 1, 2, … counted from the client.
    Router(u8),
    Server,
}

const ROUTER_NAMES: [&str; MAX_ROUTERS as usize] = ["r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8"];

impl Host {
    /// The host's name: `client`, `r1`, `r2` …, `server`.
    pub fn name(self) -> &'static str {
        match self {
            Host::Client => "client",
            Host::Server => "server",
            Host::Router(k) => ROUTER_NAMES
                .get(usize::from(k).wrapping_sub(1))
                .copied()
                .unwrap_or("r?"),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Host {
    type Err = String;
    /// `client`, `server`, `r1` … `r8`; `router` means `r1`.
    fn from_str(s: &str) -> Result<Host, String> {
        let l = s.to_ascii_lowercase();
        match l.as_str() {
            "client" => return Ok(Host::Client),
            "server" => return Ok(Host::Server),
            "router" => return Ok(Host::Router(1)),
            _ => {}
        }
        if let Some(n) = l.strip_prefix('r').and_then(|n| n.parse::<u8>().ok())
            && (1..=MAX_ROUTERS).contains(&n)
        {
            return Ok(Host::Router(n));
        }
        Err(format!(
            "`{s}` is not a host of the lab: the hosts are client, r1 … r{MAX_ROUTERS} (the \
             routers that exist) and server"
        ))
    }
}

/// How the link's rate limit (and its queue) is made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Shaper {
    /// wirelab's emulator sends each frame when the link would have finished sending the one
    /// before: exact to the nanosecond in its schedule, with a drop-tail queue counted in
    /// packets.
    #[default]
    Wirelab,
    /// The kernel's token bucket filter (`tbf`) on the emulator's way out, with a `pfifo`
    /// queue of `queue` packets under it.
    Tbf,
}

impl Shaper {
    pub fn name(self) -> &'static str {
        match self {
            Shaper::Wirelab => "wirelab",
            Shaper::Tbf => "tbf",
        }
    }
}

/// The properties of one link, as written after `--link`:
/// `rate=10mbit,delay=20ms,jitter=2ms,loss=1%,queue=64,drop=20+21,dup=1%,reorder=1%,mtu=1280`.
///
/// # What each property means
///
/// * **delay** (`delay=20ms`): the *propagation delay*, the time a bit needs to travel from one
///   end of the link to the other; it depends on the distance, not on the packet (light in fibre
///   covers about 200 km per millisecond). It applies in each direction, so a path whose only
///   slow link has `delay=20ms` has a base round-trip time of 40 ms.
/// * **rate** (`rate=10mbit`): the *bandwidth*, how many bits per second the link can put on
///   the wire. A frame of `L` bytes takes `8·L / rate` seconds to send (its *transmission
///   delay*): 1.2 ms for a 1514-byte frame at 10 Mbit/s. The count includes the Ethernet
///   header (14 bytes) but not the preamble and checksum a physical Ethernet adds, as Linux's
///   own `tbf` and `netem` count.
/// * **queue** (`queue=64`): when frames arrive faster than the rate, they wait in a queue in
///   front of the link (the *queueing delay*); when `queue` frames are already waiting, the
///   next one is dropped (*drop-tail*). Without `queue`, 1000 frames, Linux's default
///   `txqueuelen`.
/// * **jitter** (`jitter=2ms`): each frame's delay varies at random within ±jitter. As on a real
///   cable, a frame never overtakes the one before it: jitter alone never reorders.
/// * **loss** (`loss=1%`): each frame is lost on the wire with this probability, in each
///   direction. The random choices come from a seeded generator (`seed=N`, default 1), so the
///   same run loses the same frames.
/// * **drop** (`drop=20` or `drop=20+45`): lose exactly the 20th (and the 45th) *data packet*
///   crossing the link from the client's side to the server's side: a TCP segment that carries
///   at least one byte, a UDP datagram (or fragment of one), or an ICMP echo request.
///   Retransmissions count as new packets.
/// * **dup** (`dup=1%`): deliver a frame twice, with this probability.
/// * **reorder** (`reorder=1%`): hold a frame back, with this probability, and deliver it just
///   after the next frame going the same way (or after 10 ms if none comes).
/// * **mtu** (`mtu=1280`): the largest IP packet the link carries (its interfaces' MTU); bigger
///   packets must be fragmented or are refused with an ICMP "fragmentation needed".
/// * **shaper** (`shaper=wirelab|tbf`): who enforces rate and queue: wirelab's own emulator
///   (the default, the more accurate in `bench/link.sh`) or the kernel's token bucket filter.
/// * **seed** (`seed=7`): the seed of the random choices (loss, jitter, dup, reorder).
///
/// `--link 2:rate=10mbit` names the link by number (1 is the client's); without a number the
/// properties are for the last link, the one that reaches the server.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinkSpec {
    /// Bits per second; `None` for a link with no rate limit.
    pub rate: Option<u64>,
    pub delay: Duration,
    pub jitter: Duration,
    /// 0.0 to 1.0.
    pub loss: f64,
    /// Packets waiting before the link, at most; `None` for the default.
    pub queue: Option<usize>,
    /// The data packets (1-based, client → server) to lose, in increasing order.
    pub drop: Vec<u64>,
    pub dup: f64,
    pub reorder: f64,
    pub mtu: Option<u32>,
    pub seed: Option<u64>,
    pub shaper: Shaper,
    /// The text it was parsed from.
    pub text: String,
}

/// The queue length used when the spec gives none: Linux's default `txqueuelen`.
pub const DEFAULT_QUEUE: usize = 1000;
/// The MTU of a link that sets none: Ethernet's 1500 bytes.
pub const DEFAULT_MTU: u32 = 1500;

/// A `--link` argument that could not be read: which part, where, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    pub spec: String,
    /// Column (1-based, in characters) where the bad part starts.
    pub column: usize,
    pub part: String,
    pub why: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "--link {:?}: at column {} (`{}`): {}",
            self.spec, self.column, self.part, self.why
        )
    }
}

impl std::error::Error for SpecError {}

fn number(s: &str) -> Option<f64> {
    let v: f64 = s.parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some(v)
}

/// `10mbit` → 10 000 000 bits per second.
fn parse_rate(v: &str) -> Result<u64, String> {
    let l = v.to_ascii_lowercase();
    let l = l.strip_suffix("/s").unwrap_or(&l);
    if l.ends_with("bps") {
        return Err(format!(
            "`{v}` is ambiguous: tc reads `mbps` as megabytes per second. Write the rate in bits \
             per second: 10mbit, 500kbit, 1gbit"
        ));
    }
    let split = l.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(l.len());
    let (n, unit) = l.split_at(split);
    let mult = match unit {
        "bit" | "" => 1.0,
        "kbit" => 1e3,
        "mbit" => 1e6,
        "gbit" => 1e9,
        _ => {
            return Err(format!(
                "`{v}` is not a rate: write it like 10mbit (megabits per second), 500kbit or 1gbit"
            ));
        }
    };
    if unit.is_empty() {
        return Err(format!(
            "`{v}` has no unit: write 10mbit (megabits per second), 500kbit or 1gbit"
        ));
    }
    let n = number(n).ok_or_else(|| format!("`{v}` does not start with a number"))?;
    let bps = (n * mult).round();
    if !(8_000.0..=1e9).contains(&bps) {
        return Err(format!(
            "{v} is outside what the emulator can do: from 8kbit to 1gbit (it is measured \
             accurate from 1 to 100 Mbit/s, see BENCHMARKS.md)"
        ));
    }
    Ok(bps as u64)
}

/// `20ms` → 20 milliseconds.
fn parse_time(v: &str) -> Result<Duration, String> {
    let l = v.to_ascii_lowercase();
    let split = l
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(l.len());
    let (n, unit) = l.split_at(split);
    let mult = match unit {
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "" => {
            return Err(format!("`{v}` has no unit: write 20ms, 500us or 1s"));
        }
        _ => return Err(format!("`{v}` is not a time: write 20ms, 500us or 1s")),
    };
    let n = number(n).ok_or_else(|| format!("`{v}` does not start with a number"))?;
    let secs = n * mult;
    if secs > 10.0 {
        return Err(format!(
            "{v} is longer than the 10 s the emulator holds a frame"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `1%` → 0.01.
fn parse_percent(v: &str) -> Result<f64, String> {
    let n = v
        .strip_suffix('%')
        .ok_or_else(|| format!("`{v}` needs a % sign: write 1% or 0.5%"))?;
    let p = number(n).ok_or_else(|| format!("`{v}` is not a percentage"))?;
    if p > 100.0 {
        return Err(format!("{v} is more than 100%"));
    }
    Ok(p / 100.0)
}

impl LinkSpec {
    /// Read a spec such as `rate=10mbit,delay=20ms,loss=1%`.
    pub fn parse(text: &str) -> Result<LinkSpec, SpecError> {
        let mut spec = LinkSpec {
            text: text.to_string(),
            ..LinkSpec::default()
        };
        let mut column = 1;
        for part in text.split(',') {
            let here = column;
            column += part.chars().count() + 1;
            let err = |why: String| SpecError {
                spec: text.to_string(),
                column: here,
                part: part.to_string(),
                why,
            };
            let trimmed = part.trim();
            if trimmed.is_empty() {
                if text.trim().is_empty() {
                    return Err(err(
                        "the spec is empty: write e.g. rate=10mbit,delay=20ms".into()
                    ));
                }
                return Err(err("an empty part (two commas in a row?)".into()));
            }
            let Some((key, value)) = trimmed.split_once('=') else {
                return Err(err(format!(
                    "`{trimmed}` is not KEY=VALUE (e.g. delay=20ms); the keys are rate, delay, \
                     jitter, loss, queue, drop, dup, reorder, mtu, shaper and seed"
                )));
            };
            let value = value.trim();
            match key.trim().to_ascii_lowercase().as_str() {
                "rate" => spec.rate = Some(parse_rate(value).map_err(err)?),
                "delay" => spec.delay = parse_time(value).map_err(err)?,
                "jitter" => spec.jitter = parse_time(value).map_err(err)?,
                "loss" => spec.loss = parse_percent(value).map_err(err)?,
                "dup" | "duplicate" => spec.dup = parse_percent(value).map_err(err)?,
                "reorder" => spec.reorder = parse_percent(value).map_err(err)?,
                "queue" | "limit" => {
                    let q: usize = value.parse().map_err(|_| {
                        err(format!(
                            "`{value}` is not a number of packets (e.g. queue=64)"
                        ))
                    })?;
                    if !(1..=100_000).contains(&q) {
                        return Err(err(format!(
                            "a queue of {q} packets: it must hold from 1 to 100000"
                        )));
                    }
                    spec.queue = Some(q);
                }
                "drop" => {
                    let mut list = Vec::new();
                    for n in value.split('+') {
                        let v: u64 =
                            n.trim().parse().ok().filter(|&v| v >= 1).ok_or_else(|| {
                                err(format!(
                                    "`{n}` is not a packet number: drop=20 loses the 20th data \
                                 packet, drop=20+45 the 20th and the 45th"
                                ))
                            })?;
                        list.push(v);
                    }
                    list.sort_unstable();
                    list.dedup();
                    spec.drop = list;
                }
                "mtu" => {
                    let m: u32 = value
                        .parse()
                        .ok()
                        .filter(|m| (576..=9000).contains(m))
                        .ok_or_else(|| {
                            err(format!(
                                "`{value}` is not an MTU the lab uses: from 576 (the least \
                                 every IPv4 host must accept) to 9000 bytes"
                            ))
                        })?;
                    spec.mtu = Some(m);
                }
                "seed" => {
                    spec.seed = Some(
                        value
                            .parse()
                            .map_err(|_| err(format!("`{value}` is not a whole number")))?,
                    );
                }
                "shaper" => {
                    spec.shaper = match value.to_ascii_lowercase().as_str() {
                        "wirelab" => Shaper::Wirelab,
                        "tbf" => Shaper::Tbf,
                        _ => {
                            return Err(err(format!(
                                "`{value}`: the shaper is wirelab (the emulator) or tbf (the \
                                 kernel's token bucket filter)"
                            )));
                        }
                    }
                }
                other => {
                    return Err(err(format!(
                        "`{other}` is not a link property; the properties are rate, delay, \
                         jitter, loss, queue, drop, dup, reorder, mtu, shaper and seed"
                    )));
                }
            }
        }
        if spec.jitter > spec.delay {
            return Err(SpecError {
                spec: text.to_string(),
                column: 1,
                part: text.to_string(),
                why: format!(
                    "jitter ({:?}) is larger than delay ({:?}): a frame cannot arrive before \
                     it was sent",
                    spec.jitter, spec.delay
                ),
            });
        }
        if spec.queue.is_some() && spec.rate.is_none() {
            return Err(SpecError {
                spec: text.to_string(),
                column: 1,
                part: text.to_string(),
                why: "a queue fills only when frames arrive faster than the link sends them: \
                      give a rate too (e.g. rate=10mbit,queue=64)"
                    .into(),
            });
        }
        Ok(spec)
    }

    /// Does the link need the emulator (anything beyond its MTU)?
    pub fn is_emulated(&self) -> bool {
        self.rate.is_some()
            || !self.delay.is_zero()
            || self.loss > 0.0
            || !self.drop.is_empty()
            || self.dup > 0.0
            || self.reorder > 0.0
    }

    /// The queue length in packets.
    pub fn queue_len(&self) -> usize {
        self.queue.unwrap_or(DEFAULT_QUEUE)
    }

    /// The MTU of the link's interfaces.
    pub fn mtu(&self) -> u32 {
        self.mtu.unwrap_or(DEFAULT_MTU)
    }

    /// How long the link takes to put `bytes` bytes on the wire (zero without a rate).
    pub fn transmission_time(&self, bytes: usize) -> Duration {
        match self.rate {
            Some(r) => Duration::from_secs_f64(bytes as f64 * 8.0 / r as f64),
            None => Duration::ZERO,
        }
    }

    /// The link's properties in words, one per item.
    pub fn describe(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(r) = self.rate {
            v.push(format!(
                "rate {} ({} shaper; a 1514-byte frame takes {} to send), drop-tail queue of {} \
                 packets",
                rate_text(r),
                self.shaper.name(),
                ms_text(self.transmission_time(1514)),
                self.queue_len()
            ));
        }
        if !self.delay.is_zero() {
            v.push(format!(
                "delay {} each way (base RTT {})",
                ms_text(self.delay),
                ms_text(self.delay * 2)
            ));
        }
        if !self.jitter.is_zero() {
            v.push(format!("jitter ±{}", ms_text(self.jitter)));
        }
        if self.loss > 0.0 {
            v.push(format!("loss {} each way", pct_text(self.loss)));
        }
        if !self.drop.is_empty() {
            let list: Vec<String> = self.drop.iter().map(|n| format!("#{n}")).collect();
            v.push(format!(
                "drops data packet {} (client → server)",
                list.join(", ")
            ));
        }
        if self.dup > 0.0 {
            v.push(format!("duplicates {}", pct_text(self.dup)));
        }
        if self.reorder > 0.0 {
            v.push(format!("reorders {}", pct_text(self.reorder)));
        }
        if (self.loss > 0.0 || self.dup > 0.0 || self.reorder > 0.0 || !self.jitter.is_zero())
            && let Some(s) = self.seed
        {
            v.push(format!("seed {s}"));
        }
        v
    }
}

/// `10 Mbit/s`, `500 kbit/s`.
pub fn rate_text(bps: u64) -> String {
    let b = bps as f64;
    if bps >= 1_000_000_000 && bps % 1_000_000 == 0 {
        format!("{} Gbit/s", trim(b / 1e9))
    } else if bps >= 1_000_000 {
        format!("{} Mbit/s", trim(b / 1e6))
    } else if bps >= 1000 {
        format!("{} kbit/s", trim(b / 1e3))
    } else {
        format!("{bps} bit/s")
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `20 ms`, `1.211 ms`, `250 µs`.
pub fn ms_text(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{} µs", trim(us))
    } else {
        format!("{} ms", trim(us / 1000.0))
    }
}

fn pct_text(p: f64) -> String {
    format!("{}%", trim(p * 100.0))
}

/// One `--link` argument: the properties, and which link they are for (`None`: the last).
#[derive(Clone, Debug, PartialEq)]
pub struct LinkArg {
    pub link: Option<usize>,
    pub spec: LinkSpec,
}

impl FromStr for LinkArg {
    type Err = SpecError;
    /// `rate=10mbit` or `2:rate=10mbit`.
    fn from_str(s: &str) -> Result<LinkArg, SpecError> {
        if let Some((n, rest)) = s.split_once(':')
            && !n.is_empty()
            && n.chars().all(|c| c.is_ascii_digit())
        {
            let link: usize = n.parse().map_err(|_| SpecError {
                spec: s.to_string(),
                column: 1,
                part: n.to_string(),
                why: "not a link number".into(),
            })?;
            let mut spec = LinkSpec::parse(rest).map_err(|mut e| {
                e.column += n.len() + 1;
                e.spec = s.to_string();
                e
            })?;
            spec.text = rest.to_string();
            return Ok(LinkArg {
                link: Some(link),
                spec,
            });
        }
        Ok(LinkArg {
            link: None,
            spec: LinkSpec::parse(s)?,
        })
    }
}

/// One interface of a host, as planned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Iface {
    /// `eth0` (towards the client) or `eth1` (towards the server, on routers).
    pub name: &'static str,
    /// The link it is plugged into (1 is the client's).
    pub link: usize,
    pub mac: [u8; 6],
    pub ip: Ipv4Addr,
    pub prefix: u8,
    /// The host at the other end of the link.
    pub peer: Host,
    pub peer_ip: Ipv4Addr,
}

/// A route to a network that is not directly connected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutePlan {
    /// The network, or 0.0.0.0/0 for the default route.
    pub dst: Ipv4Addr,
    pub prefix: u8,
    /// The next hop: a neighbour's address on a directly connected link.
    pub via: Ipv4Addr,
}

/// The whole lab: how many routers, and each link's properties.
#[derive(Clone, Debug, PartialEq)]
pub struct Topology {
    routers: u8,
    /// One per link, link 1 first.
    links: Vec<LinkSpec>,
}

impl Default for Topology {
    /// The single cable of the first lessons: client and server, no router, an ideal link.
    fn default() -> Self {
        Topology {
            routers: 0,
            links: vec![LinkSpec::default()],
        }
    }
}

/// What a command asks of the lab, decided before `main` starts any thread.
#[derive(Clone, Debug, PartialEq)]
pub struct LabPlan {
    pub topology: Topology,
    /// Inside `wirelab lab shell`, join the lab that shell runs in (instead of building a new
    /// one inside it). Only the `lab` commands given no `--routers`/`--link` join.
    pub join: bool,
}

impl Topology {
    /// `routers` routers between client and server; the `--link` arguments give link
    /// properties (ideal links otherwise).
    pub fn new(routers: u8, link_args: &[LinkArg]) -> Result<Topology, String> {
        if routers > MAX_ROUTERS {
            return Err(format!(
                "--routers {routers}: the lab has at most {MAX_ROUTERS} routers"
            ));
        }
        let n = usize::from(routers) + 1;
        let mut links = vec![LinkSpec::default(); n];
        let mut given = vec![false; n];
        for a in link_args {
            let j = a.link.unwrap_or(n);
            if j == 0 || j > n {
                return Err(format!(
                    "--link {j}:…: with {routers} router{} the links are numbered 1 to {n} \
                     (1 is the client's)",
                    if routers == 1 { "" } else { "s" }
                ));
            }
            if given[j - 1] {
                return Err(format!(
                    "link {j} is given two --link specs; put all its properties in one (e.g. \
                     rate=10mbit,delay=20ms)"
                ));
            }
            given[j - 1] = true;
            links[j - 1] = a.spec.clone();
        }
        Ok(Topology { routers, links })
    }

    pub fn routers(&self) -> u8 {
        self.routers
    }

    /// Every host, from the client to the server.
    pub fn hosts(&self) -> Vec<Host> {
        let mut v = vec![Host::Client];
        v.extend((1..=self.routers).map(Host::Router));
        v.push(Host::Server);
        v
    }

    /// Is this host part of the lab?
    pub fn has(&self, h: Host) -> bool {
        match h {
            Host::Router(k) => (1..=self.routers).contains(&k),
            _ => true,
        }
    }

    /// How many links: one more than routers.
    pub fn link_count(&self) -> usize {
        usize::from(self.routers) + 1
    }

    /// Link `j`'s properties (1-based).
    pub fn link(&self, j: usize) -> &LinkSpec {
        &self.links[j.clamp(1, self.links.len()) - 1]
    }

    /// Every link's properties, link 1 first.
    pub fn links(&self) -> &[LinkSpec] {
        &self.links
    }

    /// Change link `j`'s properties (for demos that make a link of their own).
    pub fn set_link(&mut self, j: usize, spec: LinkSpec) {
        if (1..=self.links.len()).contains(&j) {
            self.links[j - 1] = spec;
        }
    }

    /// The hosts at the client's end and at the server's end of link `j`.
    pub fn link_ends(&self, j: usize) -> (Host, Host) {
        let n = self.link_count();
        let left = if j <= 1 {
            Host::Client
        } else {
            Host::Router((j - 1) as u8)
        };
        let right = if j >= n {
            Host::Server
        } else {
            Host::Router(j as u8)
        };
        (left, right)
    }

    /// Link `j`'s network and the addresses of its two ends (client's side first).
    pub fn link_net(&self, j: usize) -> (Ipv4Addr, u8, Ipv4Addr, Ipv4Addr) {
        let n = self.link_count();
        if self.routers == 0 {
            return (
                Ipv4Addr::new(192, 0, 2, 0),
                24,
                Ipv4Addr::new(192, 0, 2, 1),
                Ipv4Addr::new(192, 0, 2, 2),
            );
        }
        if j <= 1 {
            (
                Ipv4Addr::new(192, 0, 2, 0),
                24,
                Ipv4Addr::new(192, 0, 2, 1),
                Ipv4Addr::new(192, 0, 2, 254),
            )
        } else if j >= n {
            (
                Ipv4Addr::new(203, 0, 113, 0),
                24,
                Ipv4Addr::new(203, 0, 113, 254),
                Ipv4Addr::new(203, 0, 113, 2),
            )
        } else {
            let base = (4 * (j - 2)) as u8;
            (
                Ipv4Addr::new(198, 51, 100, base),
                30,
                Ipv4Addr::new(198, 51, 100, base + 1),
                Ipv4Addr::new(198, 51, 100, base + 2),
            )
        }
    }

    /// The MAC addresses of link `j`'s two ends: 02:77:6c:00:(j−1):01 and …:02. The 02 in the
    /// first byte marks them "locally administered" (no card was made with them); 77:6c is
    /// "wl".
    pub fn link_macs(&self, j: usize) -> ([u8; 6], [u8; 6]) {
        let l = (j.saturating_sub(1)) as u8;
        (
            [0x02, 0x77, 0x6c, 0, l, 0x01],
            [0x02, 0x77, 0x6c, 0, l, 0x02],
        )
    }

    /// A host's interfaces: `eth0` on the link towards the client (or the only link), and on
    /// a router `eth1` on the link towards the server.
    pub fn interfaces(&self, h: Host) -> Vec<Iface> {
        let n = self.link_count();
        let end = |j: usize, left: bool, name: &'static str| {
            let (_, prefix, l, r) = self.link_net(j);
            let (lm, rm) = self.link_macs(j);
            let (a, b) = self.link_ends(j);
            Iface {
                name,
                link: j,
                mac: if left { lm } else { rm },
                ip: if left { l } else { r },
                prefix,
                peer: if left { b } else { a },
                peer_ip: if left { r } else { l },
            }
        };
        match h {
            Host::Client => vec![end(1, true, "eth0")],
            Host::Server => vec![end(n, false, "eth0")],
            Host::Router(k) => {
                let k = usize::from(k);
                vec![end(k, false, "eth0"), end(k + 1, true, "eth1")]
            }
        }
    }

    /// A host's own address (on a router: the one on the client's side).
    pub fn ip(&self, h: Host) -> Ipv4Addr {
        self.interfaces(h)[0].ip
    }

    pub fn client_ip(&self) -> Ipv4Addr {
        self.ip(Host::Client)
    }

    pub fn server_ip(&self) -> Ipv4Addr {
        self.ip(Host::Server)
    }

    /// The routes a host needs besides its directly connected networks: the client and the
    /// server send everything else to their router (a *default route*); a router knows, for
    /// each network not its own, which neighbour is one step closer to it.
    pub fn routes(&self, h: Host) -> Vec<RoutePlan> {
        if self.routers == 0 {
            return Vec::new();
        }
        let n = self.link_count();
        match h {
            Host::Client => vec![RoutePlan {
                dst: Ipv4Addr::UNSPECIFIED,
                prefix: 0,
                via: self.link_net(1).3,
            }],
            Host::Server => vec![RoutePlan {
                dst: Ipv4Addr::UNSPECIFIED,
                prefix: 0,
                via: self.link_net(n).2,
            }],
            Host::Router(k) => {
                let k = usize::from(k);
                let mut v = Vec::new();
                for j in 1..=n {
                    if j == k || j == k + 1 {
                        continue;
                    }
                    let (dst, prefix, _, _) = self.link_net(j);
                    let via = if j < k {
                        self.link_net(k).2
                    } else {
                        self.link_net(k + 1).3
                    };
                    v.push(RoutePlan { dst, prefix, via });
                }
                v
            }
        }
    }

    /// Which host owns an address of the lab.
    pub fn host_of(&self, ip: Ipv4Addr) -> Option<(Host, &'static str)> {
        self.hosts().into_iter().find_map(|h| {
            self.interfaces(h)
                .into_iter()
                .find(|i| i.ip == ip)
                .map(|i| (h, i.name))
        })
    }

    /// The one-way delay the emulated links add up to, and the time a frame of `bytes` bytes
    /// spends being transmitted on them (each way).
    pub fn path_delay(&self, bytes: usize) -> (Duration, Duration) {
        let prop = self.links.iter().map(|l| l.delay).sum();
        let tx = self.links.iter().map(|l| l.transmission_time(bytes)).sum();
        (prop, tx)
    }

    /// The `--routers N --link J:SPEC …` arguments that build this same lab.
    pub fn args(&self) -> Vec<String> {
        let mut v = vec!["--routers".to_string(), self.routers.to_string()];
        for (i, l) in self.links.iter().enumerate() {
            if !l.text.is_empty() {
                v.push("--link".into());
                v.push(format!("{}:{}", i + 1, l.text));
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_every_property() {
        let s = LinkSpec::parse(
            "rate=10mbit,delay=20ms,jitter=2ms,loss=1%,queue=64,drop=45+20,dup=0.5%,reorder=1%,mtu=1280,seed=9,shaper=tbf",
        )
        .unwrap();
        assert_eq!(s.rate, Some(10_000_000));
        assert_eq!(s.delay, Duration::from_millis(20));
        assert_eq!(s.jitter, Duration::from_millis(2));
        assert!((s.loss - 0.01).abs() < 1e-12);
        assert_eq!(s.queue, Some(64));
        assert_eq!(s.drop, vec![20, 45]);
        assert!((s.dup - 0.005).abs() < 1e-12);
        assert!((s.reorder - 0.01).abs() < 1e-12);
        assert_eq!(s.mtu, Some(1280));
        assert_eq!(s.seed, Some(9));
        assert_eq!(s.shaper, Shaper::Tbf);
        assert!(s.is_emulated());
    }

    #[test]
    fn parse_units() {
        assert_eq!(parse_rate("1gbit"), Ok(1_000_000_000));
        assert_eq!(parse_rate("500kbit"), Ok(500_000));
        assert_eq!(parse_rate("1.5Mbit/s"), Ok(1_500_000));
        assert!(parse_rate("10mbps").unwrap_err().contains("megabytes"));
        assert!(parse_rate("10").unwrap_err().contains("no unit"));
        assert!(parse_rate("10gbit").unwrap_err().contains("outside"));
        assert_eq!(parse_time("500us"), Ok(Duration::from_micros(500)));
        assert_eq!(parse_time("1.5ms"), Ok(Duration::from_micros(1500)));
        assert!(parse_time("20").unwrap_err().contains("no unit"));
        assert!(parse_percent("1").unwrap_err().contains('%'));
    }

    #[test]
    fn parse_errors_name_the_column() {
        let e = LinkSpec::parse("rate=10mbit,delay=2x").unwrap_err();
        assert_eq!(e.column, 13);
        assert_eq!(e.part, "delay=2x");
        assert!(e.to_string().contains("column 13"), "{e}");
        let e = LinkSpec::parse("rate=10mbit,,delay=2ms").unwrap_err();
        assert!(e.why.contains("empty"), "{e}");
        let e = LinkSpec::parse("speed=1mbit").unwrap_err();
        assert!(e.why.contains("not a link property"), "{e}");
        let e = LinkSpec::parse("delay=1ms,jitter=2ms").unwrap_err();
        assert!(e.why.contains("jitter"), "{e}");
        let e = LinkSpec::parse("queue=10").unwrap_err();
        assert!(e.why.contains("rate"), "{e}");
        let e: SpecError = "3:delay=x".parse::<LinkArg>().unwrap_err();
        assert_eq!(e.column, 3, "{e}");
    }

    #[test]
    fn link_arg_takes_a_link_number() {
        let a: LinkArg = "2:delay=5ms".parse().unwrap();
        assert_eq!(a.link, Some(2));
        assert_eq!(a.spec.delay, Duration::from_millis(5));
        assert_eq!(a.spec.text, "delay=5ms");
        let a: LinkArg = "delay=5ms".parse().unwrap();
        assert_eq!(a.link, None);
    }

    #[test]
    fn default_topology_is_the_single_cable() {
        let t = Topology::default();
        assert_eq!(t.hosts(), vec![Host::Client, Host::Server]);
        assert_eq!(t.client_ip(), Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(t.server_ip(), Ipv4Addr::new(192, 0, 2, 2));
        let c = &t.interfaces(Host::Client)[0];
        assert_eq!(c.mac, [0x02, 0x77, 0x6c, 0, 0, 1]);
        assert_eq!(
            t.interfaces(Host::Server)[0].mac,
            [0x02, 0x77, 0x6c, 0, 0, 2]
        );
        assert!(t.routes(Host::Client).is_empty());
    }

    #[test]
    fn three_routers_are_addressed_and_routed() {
        let t = Topology::new(3, &[]).unwrap();
        assert_eq!(t.link_count(), 4);
        assert_eq!(t.server_ip(), Ipv4Addr::new(203, 0, 113, 2));
        let r2 = t.interfaces(Host::Router(2));
        assert_eq!(r2[0].ip, Ipv4Addr::new(198, 51, 100, 2));
        assert_eq!(r2[0].peer, Host::Router(1));
        assert_eq!(r2[1].ip, Ipv4Addr::new(198, 51, 100, 5));
        assert_eq!(r2[1].peer_ip, Ipv4Addr::new(198, 51, 100, 6));
        assert_eq!(r2[1].prefix, 30);
        // r2 reaches the client's network through r1 and the server's through r3.
        let routes = t.routes(Host::Router(2));
        assert!(routes.contains(&RoutePlan {
            dst: Ipv4Addr::new(192, 0, 2, 0),
            prefix: 24,
            via: Ipv4Addr::new(198, 51, 100, 1),
        }));
        assert!(routes.contains(&RoutePlan {
            dst: Ipv4Addr::new(203, 0, 113, 0),
            prefix: 24,
            via: Ipv4Addr::new(198, 51, 100, 6),
        }));
        assert_eq!(routes.len(), 2);
        // r1 needs routes to link 3 and link 4, both via r2.
        let r1 = t.routes(Host::Router(1));
        assert_eq!(r1.len(), 2);
        assert!(r1.iter().all(|r| r.via == Ipv4Addr::new(198, 51, 100, 2)));
        assert_eq!(t.routes(Host::Client)[0].via, Ipv4Addr::new(192, 0, 2, 254));
        assert_eq!(
            t.routes(Host::Server)[0].via,
            Ipv4Addr::new(203, 0, 113, 254)
        );
        assert_eq!(
            t.host_of(Ipv4Addr::new(198, 51, 100, 6)),
            Some((Host::Router(3), "eth0"))
        );
        // Every address is unique.
        let mut all: Vec<Ipv4Addr> = t
            .hosts()
            .into_iter()
            .flat_map(|h| t.interfaces(h))
            .map(|i| i.ip)
            .collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
    }

    #[test]
    fn link_args_go_to_the_right_link() {
        let t = Topology::new(
            2,
            &["rate=1mbit".parse().unwrap(), "1:mtu=1280".parse().unwrap()],
        )
        .unwrap();
        assert_eq!(t.link(3).rate, Some(1_000_000));
        assert_eq!(t.link(1).mtu(), 1280);
        assert!(!t.link(2).is_emulated());
        assert!(Topology::new(1, &["3:delay=1ms".parse().unwrap()]).is_err());
        assert!(
            Topology::new(
                1,
                &["delay=1ms".parse().unwrap(), "2:delay=2ms".parse().unwrap()]
            )
            .unwrap_err()
            .contains("two --link specs")
        );
        assert!(Topology::new(9, &[]).is_err());
        let args = t.args();
        assert_eq!(
            args,
            [
                "--routers",
                "2",
                "--link",
                "1:mtu=1280",
                "--link",
                "3:rate=1mbit"
            ]
        );
    }

    #[test]
    fn host_names_round_trip() {
        for h in Topology::new(8, &[]).unwrap().hosts() {
            assert_eq!(h.name().parse::<Host>(), Ok(h));
        }
        assert_eq!("router".parse::<Host>(), Ok(Host::Router(1)));
        assert!("r9".parse::<Host>().is_err());
    }

    #[test]
    fn describe_speaks_in_units() {
        let s = LinkSpec::parse("rate=10mbit,delay=20ms,queue=64").unwrap();
        let d = s.describe().join("; ");
        assert!(d.contains("rate 10 Mbit/s"), "{d}");
        assert!(d.contains("1.211 ms to send"), "{d}");
        assert!(d.contains("queue of 64 packets"), "{d}");
        assert!(d.contains("base RTT 40 ms"), "{d}");
        assert_eq!(rate_text(1_500_000), "1.5 Mbit/s");
        assert_eq!(ms_text(Duration::from_micros(250)), "250 µs");
    }
}
