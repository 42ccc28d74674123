//! Who is connected, and who is in which room: the list the chat page shows.
//!
//! # The idea
//!
//! A room is only a name the server keeps a set of sockets under; a client cannot see rooms
//! at all unless the server tells it. The chat page asks to be told: it emits `watch`, the
//! server puts it in the room [`ROOM`] and from then on sends that room a `rooms` event each
//! time someone connects, joins, leaves or goes:
//!
//! ```text
//! 42["rooms",{"everyone":["<id>","<id>"],"rooms":{"lab":["<id>"]}}]
//! ```
//!
//! Everyone appears by their *public* id (see [`super::id`]): the Engine.IO session id stays
//! private. Which public id belongs to a socket is read from the rooms themselves: every
//! socket is in the room named by its public id, so the one room of a socket that has the
//! shape of an id is its id. That works across servers too, when they share rooms through
//! Redis: `fetch_sockets` and each socket's `rooms` then ask the other servers.
//!
//! The list is only worked out when someone watches, so a server with many clients and no
//! page open (the benchmark) does no work for it.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, SocketRef};

use super::id::looks_like_id;

/// The room of the sockets that watch the list (not shown as a room in it).
pub const ROOM: &str = "wirelab:roster";

/// `watch`: join the watchers, and get the list now (as the ack, and as a `rooms` event).
pub async fn on_watch<A: Adapter>(socket: SocketRef<A>, io: SocketIo<A>, ack: AckSender<A>) {
    socket.join(ROOM);
    let list = roster(&io, None).await;
    let _ = socket.emit("rooms", &list);
    let _ = ack.send(&list);
}

/// Someone connected, joined, left or went (`gone`: the public id of a socket that is
/// disconnecting, which may still be listed for a moment): tell the watchers.
pub fn changed<A: Adapter>(io: SocketIo<A>, gone: Option<String>) {
    tokio::spawn(async move {
        let watched = io
            .to(ROOM)
            .fetch_sockets()
            .await
            .is_ok_and(|s| !s.is_empty());
        if !watched {
            return;
        }
        let list = roster(&io, gone.as_deref()).await;
        let _ = io.to(ROOM).emit("rooms", &list).await;
    });
}

/// Everyone's public id, and each room's members, sorted.
pub async fn roster<A: Adapter>(io: &SocketIo<A>, gone: Option<&str>) -> Value {
    let Ok(sockets) = io.fetch_sockets().await else {
        return json!({ "everyone": [], "rooms": {}, "error": "the server could not list its sockets" });
    };
    let mut everyone = Vec::new();
    let mut rooms: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in sockets {
        let Ok(names) = s.rooms().await else { continue };
        let names: Vec<String> = names.iter().map(|r| r.to_string()).collect();
        let Some(id) = names.iter().find(|n| looks_like_id(n)) else {
            continue;
        };
        if gone == Some(id.as_str()) {
            continue;
        }
        for n in &names {
            if n != id && n != ROOM {
                rooms.entry(n.clone()).or_default().push(id.clone());
            }
        }
        everyone.push(id.clone());
    }
    everyone.sort();
    for members in rooms.values_mut() {
        members.sort();
    }
    json!({ "everyone": everyone, "rooms": rooms })
}
