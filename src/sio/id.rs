//! Socket ids that nobody can guess.
//!
//! # The idea
//!
//! Every Socket.IO socket has an id, and the server puts each socket in a *room named by its
//! id*, so that "send to this one client" is just "send to the room called X". That makes the
//! id a kind of address, and sometimes a kind of key: in our chat, whoever knows your id can
//! whisper to you. So the id must be *unguessable*: drawn from a cryptographically secure
//! random number generator (CSPRNG), with enough bits that trying ids at random will never hit
//! one. With 128 random bits, a billion guesses a second for a thousand years finds a given id
//! with probability about 2^-53.
//!
//! # What socketioxide gives, and what wirelab adds
//!
//! socketioxide (0.18, through engineioxide-core 0.2) makes each id from **12 random bytes
//! (96 bits)** of `rand::rng()`, a ChaCha12 generator seeded from the operating system (a
//! CSPRNG), written as 16 characters of URL-safe base64. It also uses that same value for two
//! things the Socket.IO v5 protocol keeps apart: the *Engine.IO session id* (which authorises
//! every long-polling request of the session, so it must stay secret) and the *socket id*
//! (which other clients may learn, to address you).
//!
//! wirelab therefore gives each socket a second, public id of its own, [`PublicId`]:
//! **18 bytes (144 bits) from the operating system's CSPRNG** (`getrandom`, through
//! `rand::rngs::OsRng`), written as 24 characters of URL-safe base64 (`A–Z a–z 0–9 - _`, each
//! character carrying exactly 6 bits). The socket joins the room named by this id; whispers
//! and the server's `/to ID` use it; the Engine.IO session id is never shown to anyone but its
//! own client.

use std::fmt;

use base64::Engine;
use rand::TryRngCore;

/// How many random bytes make a public id.
pub const ID_BYTES: usize = 18;
/// How many characters the id has when written (URL-safe base64 of 18 bytes, no padding).
pub const ID_CHARS: usize = 24;
/// The entropy of an id, in bits.
pub const ID_BITS: usize = ID_BYTES * 8;

/// A socket's public id: 144 bits from the operating system's CSPRNG, base64url.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicId(String);

impl PublicId {
    /// Draw a new id. Panics only if the operating system cannot give random bytes at all, in
    /// which case no secure id can exist and refusing to go on is the right answer.
    pub fn new() -> PublicId {
        let mut bytes = [0u8; ID_BYTES];
        rand::rngs::OsRng
            .try_fill_bytes(&mut bytes)
            .expect("the operating system's random number generator failed");
        PublicId(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for PublicId {
    fn default() -> Self {
        PublicId::new()
    }
}

impl fmt::Display for PublicId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Does this text have the shape of a public id (24 URL-safe base64 characters)? Rooms of
/// that shape are private: a client may not `join` one, or it could read someone's whispers.
pub fn looks_like_id(s: &str) -> bool {
    s.len() == ID_CHARS
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_have_the_promised_shape() {
        for _ in 0..1000 {
            let id = PublicId::new();
            assert_eq!(id.as_str().len(), ID_CHARS);
            assert!(looks_like_id(id.as_str()), "{id}");
        }
    }

    #[test]
    fn ids_do_not_repeat() {
        let ids: HashSet<PublicId> = (0..10_000).map(|_| PublicId::new()).collect();
        assert_eq!(ids.len(), 10_000);
    }

    #[test]
    fn room_names_that_look_like_ids() {
        assert!(looks_like_id("AAAAAAAAAAAAAAAAAAAAAAAA"));
        assert!(!looks_like_id("lab"));
        assert!(!looks_like_id("AAAAAAAAAAAAAAAAAAAAAAA!"));
    }
}
