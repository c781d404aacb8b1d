//! The programme: sessions with a title, a start and an end, placed in the zone whose room
//! they are in.

use crate::inventory::ZoneIdx;

/// One session of the programme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Its title, unescaped (may hold anything: it is text for people, escaped where shown).
    pub title: String,
    /// Its room, as the programme names it.
    pub location: String,
    /// Start, Unix seconds.
    pub starts: i64,
    /// End, Unix seconds (after `starts`).
    pub ends: i64,
}

/// A session in a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneSession {
    /// The zone its room is.
    pub zone: ZoneIdx,
    /// Title, start and end.
    pub session: Session,
}
