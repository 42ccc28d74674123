//! Reference solution: write a Socket.IO event packet.

/// The text of the WebSocket frame carrying a Socket.IO event (Engine.IO `4` included).
pub fn event_packet(namespace: &str, event: &str, args: &[&str], ack_id: Option<u64>) -> String {
    let mut s = String::from("42"); // Engine.IO MESSAGE, Socket.IO EVENT
    if namespace != "/" {
        s.push_str(namespace);
        s.push(',');
    }
    if let Some(id) = ack_id {
        s.push_str(&id.to_string());
    }
    s.push('[');
    // The name as a JSON string; a name with quotes or backslashes would need escaping, which
    // the checks do not ask for.
    s.push('"');
    s.push_str(event);
    s.push('"');
    for a in args {
        s.push(',');
        s.push_str(a);
    }
    s.push(']');
    s
}
