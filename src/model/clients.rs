//! Clients as sources see them: a keyed-hash id (never a MAC), the zone it was seen in, and
//! how long ago.

use std::time::Duration;

use crate::inventory::ZoneIdx;
use crate::privacy::Client;

/// A client seen by a source.
#[derive(Debug, Clone, Copy)]
pub struct Sighting {
    /// Who (a keyed hash) and whether the MAC was randomized.
    pub client: Client,
    /// Where.
    pub zone: ZoneIdx,
    /// How long ago the source last heard from it (zero: now).
    pub age: Duration,
}
