//! WebSocket, live: a server, a client and a lesson that make real WebSocket traffic and show
//! it through the engine.
//!
//! # The idea
//!
//! HTTP is request → response: the client asks, the server answers, and the server cannot
//! speak unless asked. A *WebSocket* (RFC 6455) is a full-duplex channel on a single TCP
//! connection: after an HTTP handshake that *upgrades* the connection, either side may send a
//! message whenever it likes. Chat, games, live dashboards and collaborative editors use it.
//! Its client side usually runs in the browser (`new WebSocket("ws://…")` in JavaScript); the
//! server side in a program like this one.
//!
//! On the wire a WebSocket is: one TCP connection; one HTTP/1.1 request and one `101`
//! response ([`handshake`]); then frames, each with a small header saying how long it is and
//! what it carries ([`crate::dissect::websocket`]).
//!
//! # Layout
//!
//! * [`handshake`]: Sec-WebSocket-Key → Sec-WebSocket-Accept step by step; checking a request.
//! * [`tap`]: watches a connection's bytes and turns them into dissections as they pass.
//! * [`show`]: prints those dissections through the project's views.
//! * [`server`]: `ws serve`, echo or chat, with the limits a real server needs.
//! * [`client`]: `ws connect`, interactive, or as an Autobahn|Testsuite echo client.
//! * [`lesson`]: `ws echo`, the guided tour of one connection.
//! * [`load`]: the load client the benchmark drives servers with.
//!
//! tokio-tungstenite does the talking in both roles; wirelab's own code only reads the HTTP
//! head on the server side (to serve the page and answer a bad handshake with a reason),
//! checks the handshake, and watches.

pub mod client;
pub mod handshake;
pub mod labels;
pub mod lesson;
pub mod load;
pub mod server;
pub mod show;
pub mod tap;
