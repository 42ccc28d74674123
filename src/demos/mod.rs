//! Demos: lessons that make their own traffic and hand it to the engine.
//!
//! * [`handshake`]: a TCP three-way handshake made by hand in userspace, over a TUN device and
//!   a raw socket, next to the kernel's TCP.

pub mod handshake;
