//! Exercise: write a Socket.IO event packet.
//!
//! Socket.IO packets travel as text inside WebSocket frames. An event looks like this:
//!
//! ```text
//! 42["chat","hi"]
//! │└─ Socket.IO packet type 2: EVENT
//! └── Engine.IO packet type 4: MESSAGE (this frame carries a Socket.IO packet)
//! ```
//!
//! After the two digits come, in order and only when needed:
//!
//! * the namespace, if it is not the main one `/`, followed by a comma: `42/admin,["x"]`;
//! * an acknowledgment id, if the sender wants an answer: `421["echo"]` asks for ack 1, and the
//!   receiver answers `431[...]` (type 3, ACK, with the same id);
//! * a JSON array: the event's name, then its arguments.
//!
//! So `42/admin,7["move",{"x":1}]` is event "move" with one argument `{"x":1}`, in namespace
//! `/admin`, asking for ack 7.
//!
//! Your job: complete `event_packet`. `args` are already JSON texts (such as `"\"hi\""` or
//! `"{\"x\":1}"`): put them after the name, separated by commas. The event name must be written
//! as a JSON string (with quotes; for plain names `format!("\"{name}\"")` is enough).
//!
//! Check your work with `wirelab check 08_socketio`; stuck? `wirelab hint sio_event`.

/// The text of the WebSocket frame carrying a Socket.IO event (Engine.IO `4` included).
pub fn event_packet(namespace: &str, event: &str, args: &[&str], ack_id: Option<u64>) -> String {
    // TODO: "42", then the namespace and a comma (unless "/"), then the ack id, then the array.
    let _ = (namespace, event, args, ack_id);
    String::new()
}
