//! The course's code exercises, checked three ways.
//!
//! Every exercise in `lessons/*/exercises/` is compiled here, next to its reference solution in
//! `lessons/*/solutions/`, and checked by a function in `checks.rs` that compares it with
//! wirelab's own implementation and with real packets from the lesson's trace.
//!
//! * `shipped_ID_fails` (the project's test): the exercise as shipped must fail its check, so an
//!   exercise can never be "done" before the learner does it. If the learner has edited the file
//!   (its SHA-1 differs from `shipped_sha1` in lesson.toml), this test steps aside and says so —
//!   unless `CI=true`, where an edited exercise means someone forgot to update the hash.
//! * `solution_ID_passes` (the project's test): the reference solution must pass.
//! * `learner_ID` (ignored by default): the learner's own check, run by `wirelab check`, which
//!   calls `cargo test --test exercises -- --ignored --exact learner_ID`.
//!
//! So `cargo test` proves the course works, and never turns red because a learner is halfway
//! through an exercise.

mod checks;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use sha1::{Digest, Sha1};

/// Run a check, turning a panic in the learner's code (a `todo!()`, an index out of bounds)
/// into a failure message instead of a crash.
fn attempt(check: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    match catch_unwind(AssertUnwindSafe(check)) {
        Ok(r) => r,
        Err(p) => Err(format!(
            "your code panicked: {}",
            p.downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| p.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)")
        )),
    }
}

/// Is the exercise file as it was shipped? Compares its SHA-1 with lesson.toml's.
fn untouched(lesson: &str, id: &str) -> bool {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons");
    let lessons = wirelab::lessons::load_from(&root).expect("lessons load");
    let l = lessons
        .iter()
        .find(|l| l.id == lesson)
        .expect("lesson exists");
    let ex = l
        .exercises
        .iter()
        .find(|e| e.id == id)
        .unwrap_or_else(|| panic!("lesson {lesson} lists no exercise {id}"));
    let bytes = std::fs::read(l.dir.join(&ex.file)).expect("exercise file");
    let sha = format!("{:x}", Sha1::digest(&bytes));
    if sha == ex.shipped_sha1 {
        return true;
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "{}: the file's SHA-1 is {sha}, but lesson.toml says shipped_sha1 = {:?}. If you changed the shipped exercise, update lesson.toml.",
        ex.file, ex.shipped_sha1
    );
    eprintln!(
        "SKIPPED shipped_{id}_fails: you have edited {} (it is yours now; `wirelab check` grades it)",
        ex.file
    );
    false
}

/// Declare one exercise: its shipped and solution files, and its three tests.
macro_rules! exercise {
    (
        $module:ident, $lesson:literal,
        shipped: $shipped_mod:ident, solution: $solution_mod:ident,
        tests: $fails:ident, $passes:ident, $learner:ident,
        check: $check:path, entry: $entry:ident
    ) => {
        mod $module {
            pub(crate) use super::$shipped_mod as shipped;
            pub(crate) use super::$solution_mod as solution;
        }

        #[test]
        fn $fails() {
            if untouched($lesson, stringify!($module)) {
                let r = attempt(|| $check($module::shipped::$entry));
                assert!(r.is_err(), "the shipped exercise already passes its check");
            }
        }

        #[test]
        fn $passes() {
            if let Err(e) = attempt(|| $check($module::solution::$entry)) {
                panic!("the reference solution fails: {e}");
            }
        }

        #[test]
        #[ignore = "the learner's check: run `wirelab check`"]
        fn $learner() {
            if let Err(e) = attempt(|| $check($module::shipped::$entry)) {
                panic!("not yet: {e}");
            }
        }
    };
}

// Paths are relative to tests/exercises/.
#[path = "../../lessons/01_packets/exercises/place_protocol.rs"]
mod place_protocol_shipped;
#[path = "../../lessons/01_packets/solutions/place_protocol.rs"]
mod place_protocol_solution;
exercise!(place_protocol, "01_packets",
    shipped: place_protocol_shipped, solution: place_protocol_solution,
    tests: shipped_place_protocol_fails, solution_place_protocol_passes, learner_place_protocol,
    check: checks::place_protocol, entry: place);

#[path = "../../lessons/02_sockets/exercises/echo_server.rs"]
mod echo_server_shipped;
#[path = "../../lessons/02_sockets/solutions/echo_server.rs"]
mod echo_server_solution;
exercise!(echo_server, "02_sockets",
    shipped: echo_server_shipped, solution: echo_server_solution,
    tests: shipped_echo_server_fails, solution_echo_server_passes, learner_echo_server,
    check: checks::echo_server, entry: echo_once);

#[path = "../../lessons/03_tcp/exercises/tcp_flags.rs"]
mod tcp_flags_shipped;
#[path = "../../lessons/03_tcp/solutions/tcp_flags.rs"]
mod tcp_flags_solution;
exercise!(tcp_flags, "03_tcp",
    shipped: tcp_flags_shipped, solution: tcp_flags_solution,
    tests: shipped_tcp_flags_fails, solution_tcp_flags_passes, learner_tcp_flags,
    check: checks::tcp_flags, entry: flag_names);

#[path = "../../lessons/04_udp/exercises/udp_header.rs"]
mod udp_header_shipped;
#[path = "../../lessons/04_udp/solutions/udp_header.rs"]
mod udp_header_solution;
exercise!(udp_header, "04_udp",
    shipped: udp_header_shipped, solution: udp_header_solution,
    tests: shipped_udp_header_fails, solution_udp_header_passes, learner_udp_header,
    check: checks::udp_header, entry: parse_udp);

#[path = "../../lessons/05_capture/exercises/ipv4_checksum.rs"]
mod ipv4_checksum_shipped;
#[path = "../../lessons/05_capture/solutions/ipv4_checksum.rs"]
mod ipv4_checksum_solution;
exercise!(ipv4_checksum, "05_capture",
    shipped: ipv4_checksum_shipped, solution: ipv4_checksum_solution,
    tests: shipped_ipv4_checksum_fails, solution_ipv4_checksum_passes, learner_ipv4_checksum,
    check: checks::ipv4_checksum, entry: ipv4_checksum);

#[path = "../../lessons/06_tcp_by_hand/exercises/next_ack.rs"]
mod next_ack_shipped;
#[path = "../../lessons/06_tcp_by_hand/solutions/next_ack.rs"]
mod next_ack_solution;
exercise!(next_ack, "06_tcp_by_hand",
    shipped: next_ack_shipped, solution: next_ack_solution,
    tests: shipped_next_ack_fails, solution_next_ack_passes, learner_next_ack,
    check: checks::next_ack, entry: ack_for);

#[path = "../../lessons/07_websocket/exercises/ws_accept.rs"]
mod ws_accept_shipped;
#[path = "../../lessons/07_websocket/solutions/ws_accept.rs"]
mod ws_accept_solution;
exercise!(ws_accept, "07_websocket",
    shipped: ws_accept_shipped, solution: ws_accept_solution,
    tests: shipped_ws_accept_fails, solution_ws_accept_passes, learner_ws_accept,
    check: checks::ws_accept, entry: accept_for);

#[path = "../../lessons/08_socketio/exercises/sio_event.rs"]
mod sio_event_shipped;
#[path = "../../lessons/08_socketio/solutions/sio_event.rs"]
mod sio_event_solution;
exercise!(sio_event, "08_socketio",
    shipped: sio_event_shipped, solution: sio_event_solution,
    tests: shipped_sio_event_fails, solution_sio_event_passes, learner_sio_event,
    check: checks::sio_event, entry: event_packet);

#[path = "../../lessons/10_ip/exercises/fragments.rs"]
mod fragments_shipped;
#[path = "../../lessons/10_ip/solutions/fragments.rs"]
mod fragments_solution;
exercise!(fragments, "10_ip",
    shipped: fragments_shipped, solution: fragments_solution,
    tests: shipped_fragments_fails, solution_fragments_passes, learner_fragments,
    check: checks::fragments, entry: fragment);

#[path = "../../lessons/11_congestion/exercises/rto.rs"]
mod rto_shipped;
#[path = "../../lessons/11_congestion/solutions/rto.rs"]
mod rto_solution;
exercise!(rto, "11_congestion",
    shipped: rto_shipped, solution: rto_solution,
    tests: shipped_rto_fails, solution_rto_passes, learner_rto,
    check: checks::rto, entry: estimate);

/// Every exercise listed in a lesson.toml is declared above, and the other way round.
#[test]
fn every_listed_exercise_is_checked() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons");
    let declared = [
        "place_protocol",
        "echo_server",
        "tcp_flags",
        "udp_header",
        "ipv4_checksum",
        "next_ack",
        "ws_accept",
        "sio_event",
        "fragments",
        "rto",
    ];
    let lessons = wirelab::lessons::load_from(&root).expect("lessons load");
    let listed: Vec<String> = lessons
        .iter()
        .flat_map(|l| l.exercises.iter().map(|e| e.id.clone()))
        .collect();
    for id in &listed {
        assert!(
            declared.contains(&id.as_str()),
            "{id} is listed but not checked here"
        );
    }
    for id in declared {
        assert!(
            listed.iter().any(|l| l == id),
            "{id} is checked here but no lesson lists it"
        );
    }
}
