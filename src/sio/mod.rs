//! Socket.IO: events, ids, rooms, broadcasts and acknowledgements, live.
//!
//! # The idea
//!
//! A WebSocket gives two programs a pipe for messages. Socket.IO adds what a chat or a game
//! needs on top of it:
//!
//! * **events**: a message has a name and arguments, and the receiver runs the handler
//!   registered for that name (`socket.on("chat", …)`); an event nobody handles is ignored;
//! * **ids and rooms**: each connection (a *socket*) gets a random, unguessable id and is put
//!   in a room named by it; sockets can join other rooms by name;
//! * **who hears it**: the server can emit to everyone, to one socket, to a room, or to
//!   everyone but the sender;
//! * **acknowledgements**: the sender of an event can ask for an answer, in either direction;
//! * **one session over any transport**: Engine.IO, underneath, keeps the session alive with
//!   pings and works over WebSocket or plain HTTP long-polling;
//! * **several servers as one**: an adapter (here Redis) carries broadcasts between servers.
//!
//! The packets are text you can read: `42["chat","hi"]` is Engine.IO message (`4`) carrying
//! Socket.IO event (`2`) `chat` with argument `"hi"`. [`crate::dissect::engineio`] and
//! [`crate::dissect::socketio`] explain every part.
//!
//! # Layout
//!
//! * [`server`]: the chat server (socketioxide on axum), its handlers and its console.
//! * [`client`]: wirelab's own client (Engine.IO v4 / Socket.IO v5 on tokio-tungstenite).
//! * [`id`]: the public socket ids, and why they are not socketioxide's own.
//! * [`redis`]: a private `redis-server` for the two-server lesson.
//! * [`demo`]: `wirelab sio demo`, the whole lesson in one run.
//! * `page.html`: the chat page at `/`, with a ~150-line client in plain JavaScript.

pub mod client;
pub mod demo;
pub mod id;
pub mod redis;
pub mod roster;
pub mod server;
