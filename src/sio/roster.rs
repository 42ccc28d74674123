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
//! page open (the benchmark) does no work for it. A burst of changes (a client joining and
//! leaving in a loop) is worked out once, not once per change ([`Changes`]), and the list
//! goes out like every other message of the server: a watcher that does not read it falls
//! behind and is disconnected (see [`super::server`]), so no queue grows without bound.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;

use super::id::looks_like_id;

/// The room of the sockets that watch the list (not shown as a room in it).
pub const ROOM: &str = "wirelab:roster";

/// How many ids of sockets that went are remembered (a socket that is disconnecting may still
/// be listed for a moment; ids are never reused, so remembering a few is enough).
const GONE_KEPT: usize = 256;

/// Changes that the watchers have not been told about yet.
#[derive(Default)]
pub struct Changes {
    /// A new list is already on its way: further changes until it starts are in it too.
    queued: AtomicBool,
    /// One list at a time is worked out.
    turn: tokio::sync::Mutex<()>,
    /// The public ids of the sockets that went most recently.
    gone: Mutex<VecDeque<String>>,
}

impl Changes {
    /// Note a change (`gone`: the public id of a socket that is disconnecting). Returns
    /// whether a new list must be scheduled: false while one is already waiting to start.
    pub fn note(&self, gone: Option<String>) -> bool {
        if let Some(id) = gone {
            let mut g = self.gone.lock().unwrap_or_else(|e| e.into_inner());
            if g.len() == GONE_KEPT {
                g.pop_front();
            }
            g.push_back(id);
        }
        !self.queued.swap(true, Ordering::SeqCst)
    }

    /// Work out the list for the watchers, if anyone watches; `None` if nobody does. Changes
    /// noted from now on schedule another list.
    pub async fn list<A: Adapter>(&self, io: &SocketIo<A>) -> Option<Value> {
        let _turn = self.turn.lock().await;
        self.queued.store(false, Ordering::SeqCst);
        // No namespace: the server is closing (a socket's disconnect during `close` brings us
        // here); socketioxide's `io.to` would panic then.
        let watched = io
            .of("/")?
            .to(ROOM)
            .fetch_sockets()
            .await
            .is_ok_and(|s| !s.is_empty());
        if !watched {
            return None;
        }
        Some(roster(io, &self.gone()).await)
    }

    /// The public ids of the sockets that went most recently.
    pub fn gone(&self) -> Vec<String> {
        self.gone
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

/// Is this room one of the server's own (the watchers' room, a server's room for Redis
/// broadcasts), not one a client joined?
fn is_servers(room: &str) -> bool {
    room == ROOM || room.starts_with("server:")
}

/// Everyone's public id, and each room's members, sorted; the sockets in `gone` left out.
pub async fn roster<A: Adapter>(io: &SocketIo<A>, gone: &[String]) -> Value {
    // No namespace: the server is closing (see `Changes::list`).
    let listed = match io.of("/") {
        Some(root) => root.fetch_sockets().await.ok(),
        None => None,
    };
    let Some(sockets) = listed else {
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
        if gone.contains(id) {
            continue;
        }
        for n in &names {
            if n != id && !is_servers(n) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_changes_schedules_one_list() {
        let c = Changes::default();
        assert!(c.note(None));
        assert!(!c.note(None));
        assert!(!c.note(Some("x".into())));
        // The list starts: the next change needs a list of its own.
        c.queued.store(false, Ordering::SeqCst);
        assert!(c.note(None));
    }

    #[test]
    fn gone_ids_are_bounded() {
        let c = Changes::default();
        for i in 0..GONE_KEPT + 10 {
            c.note(Some(i.to_string()));
        }
        let g = c.gone.lock().unwrap();
        assert_eq!(g.len(), GONE_KEPT);
        assert_eq!(g.front().map(String::as_str), Some("10"));
    }

    #[test]
    fn the_servers_rooms_are_not_listed() {
        assert!(is_servers(ROOM));
        assert!(is_servers("server:A:abc"));
        assert!(!is_servers("lab"));
    }
}
