//! Client identity without personal data: a MAC address becomes a keyed hash at once.
//!
//! The key is a per-event secret kept in the state folder (mode 0600), so one device keeps one
//! id for the whole event while nobody without the key can link an id back to a MAC. Ids never
//! leave the agent: they are counted, not shown.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use siphasher::sip::SipHasher24;

/// The per-event secret that keys client ids.
#[derive(Clone)]
pub struct ClientKey([u8; 16]);

/// A client's pseudonymous id: SipHash-2-4 of its MAC under the event key (64 bits).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(u64);

/// What a source learns about a client: its id and whether its MAC was randomized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    /// Keyed hash of the MAC address.
    pub id: ClientId,
    /// The MAC had its locally-administered bit set (a randomized, private address).
    pub randomized: bool,
}

impl ClientId {
    /// The hash itself, for sketches that need uniform bits (never for display).
    pub(crate) fn as_u64(self) -> u64 {
        self.0
    }
}

// Ids are deliberately opaque in logs and panics.
impl std::fmt::Debug for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientId(..)")
    }
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientKey(..)")
    }
}

impl ClientKey {
    /// A key from fixed bytes (tests, or a key read from elsewhere).
    pub fn from_bytes(bytes: [u8; 16]) -> ClientKey {
        ClientKey(bytes)
    }

    /// A fresh random key that lives only as long as the process.
    ///
    /// # Panics
    /// The system gives no random bytes (`getrandom(2)` and `/dev/urandom` both fail).
    pub fn ephemeral() -> ClientKey {
        // Only a system without an entropy source fails here, and no key made without one
        // would keep client ids private: stopping is the right answer.
        ClientKey::random().expect("the system gives random bytes")
    }

    /// A fresh key from the operating system's random source.
    fn random() -> io::Result<ClientKey> {
        let mut key = [0; 16];
        getrandom::getrandom(&mut key)?;
        Ok(ClientKey(key))
    }

    /// Reads the event key at `path`, creating it (mode 0600, and its folder) when absent.
    /// A key other users can read is made private (mode 0600) and a warning logged. The key
    /// must be a regular file of its own: a symbolic link is refused without being followed,
    /// so an error never tells anything about another file.
    ///
    /// # Errors
    /// The folder cannot be created, or the file cannot be read or written, or it is a link,
    /// not a regular file, or holds something other than a 16-byte key.
    pub fn load_or_create(path: &Path) -> io::Result<ClientKey> {
        match open_key(path) {
            Ok(file) => read_key(path, file),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent() {
                    fs::create_dir_all(dir)?;
                }
                let key = ClientKey::random()?;
                let mut file = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)?;
                file.write_all(&key.0)?;
                file.sync_all()?;
                Ok(key)
            }
            Err(e) => Err(e),
        }
    }

    /// The client behind a MAC address.
    pub fn client(&self, mac: &[u8; 6]) -> Client {
        let hasher = SipHasher24::new_with_key(&self.0);
        Client {
            id: ClientId(hasher.hash(mac)),
            randomized: mac[0] & 0x02 != 0,
        }
    }

    /// The client behind an identifier that holds no MAC (a DHCPv6 DUID, a client-id).
    /// Such clients are never counted as randomized: nothing says so.
    pub fn client_of_id(&self, id: &[u8]) -> Client {
        let mut hasher = SipHasher24::new_with_key(&self.0);
        // A prefix no 6-byte MAC hash input has, so the two kinds of ids never collide.
        std::hash::Hasher::write(&mut hasher, b"venuemon-opaque-id:");
        std::hash::Hasher::write(&mut hasher, id);
        Client {
            id: ClientId(std::hash::Hasher::finish(&hasher)),
            randomized: false,
        }
    }
}

/// Opens the key file without following a link and without blocking on a FIFO.
fn open_key(path: &Path) -> io::Result<fs::File> {
    let refuse = |what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is {what}, not a venuemon event key: the key must be a regular file of its \
                 own; remove it (a new key is made, and client ids change) or put the event's \
                 key file back",
                path.display()
            ),
        )
    };
    let kind = |meta: &fs::Metadata| {
        let file_type = meta.file_type();
        if file_type.is_symlink() {
            Some("a symbolic link")
        } else if !file_type.is_file() {
            Some("not a regular file")
        } else {
            None
        }
    };
    if let Some(what) = kind(&fs::symlink_metadata(path)?) {
        return Err(refuse(what));
    }
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => refuse("a symbolic link"),
            _ => e,
        })?;
    match kind(&file.metadata()?) {
        Some(what) => Err(refuse(what)),
        None => Ok(file),
    }
}

/// Reads a 16-byte key from `file`, making the file private if others could read it.
fn read_key(path: &Path, file: fs::File) -> io::Result<ClientKey> {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let mode = file.metadata()?.permissions().mode();
    if mode & 0o077 != 0 {
        match file.set_permissions(fs::Permissions::from_mode(0o600)) {
            Ok(()) => tracing::warn!(
                path = %path.display(),
                mode = format!("{:04o}", mode & 0o7777),
                "the event key was readable by other users; its mode is now 0600"
            ),
            Err(e) => tracing::warn!(
                path = %path.display(),
                mode = format!("{:04o}", mode & 0o7777),
                error = %e,
                "the event key is readable by other users: chmod 600 it, as the user venuemon runs as"
            ),
        }
    }
    let mut bytes = Vec::with_capacity(17);
    file.take(17).read_to_end(&mut bytes)?;
    let key: [u8; 16] = bytes.as_slice().try_into().map_err(|_| {
        let found = if bytes.len() > 16 {
            "more than 16".to_string()
        } else {
            bytes.len().to_string()
        };
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} is not a venuemon event key (expected 16 bytes, found {found}): put the \
                 event's key file back, or remove it to start a new key (client ids change)",
                path.display()
            ),
        )
    })?;
    Ok(ClientKey(key))
}

/// Whether a hardware address is one a client device could hold: six bytes, unicast, not zero.
pub fn client_mac(bytes: &[u8]) -> Option<[u8; 6]> {
    let mac: [u8; 6] = bytes.try_into().ok()?;
    let multicast = mac[0] & 0x01 != 0;
    (!multicast && mac != [0; 6]).then_some(mac)
}

/// Parses `aa:bb:cc:dd:ee:ff` (or `-` separated, one or two hex digits a byte) into bytes.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    parse_mac_bytes(text.as_bytes())
}

/// [`parse_mac`] over bytes (lease files need not be UTF-8).
pub fn parse_mac_bytes(text: &[u8]) -> Option<[u8; 6]> {
    // The form every lease file writes, `aa:bb:cc:dd:ee:ff`, decoded directly.
    if let Ok(fixed) = <&[u8; 17]>::try_from(text) {
        let hex = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
        let mut mac = [0u8; 6];
        let mut ok = true;
        for (i, byte) in mac.iter_mut().enumerate() {
            let at = i * 3;
            let separator_ok = i == 5 || matches!(fixed[at + 2], b':' | b'-');
            match (hex(fixed[at]), hex(fixed[at + 1])) {
                (Some(hi), Some(lo)) if separator_ok => *byte = hi << 4 | lo,
                _ => ok = false,
            }
        }
        return ok.then_some(mac);
    }
    let mut mac = [0u8; 6];
    let mut parts = text.split(|b| *b == b':' || *b == b'-');
    for byte in &mut mac {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 2 {
            return None;
        }
        *byte = part.iter().try_fold(0u8, |acc, c| {
            Some(acc * 16 + char::from(*c).to_digit(16)? as u8)
        })?;
    }
    parts.next().is_none().then_some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_mac_same_id_different_key_different_id() {
        let a = ClientKey::from_bytes([1; 16]);
        let b = ClientKey::from_bytes([2; 16]);
        let mac = [0x00, 0x16, 0x3e, 0x01, 0x02, 0x03];
        assert_eq!(a.client(&mac).id, a.client(&mac).id);
        assert_ne!(a.client(&mac).id, b.client(&mac).id);
    }

    #[test]
    fn fresh_keys_are_random_and_never_zero() {
        let (a, b) = (ClientKey::ephemeral(), ClientKey::ephemeral());
        assert_ne!(a.0, b.0);
        assert_ne!(a.0, [0; 16]);
    }

    #[test]
    fn locally_administered_bit_marks_randomized() {
        let key = ClientKey::from_bytes([0; 16]);
        assert!(key.client(&[0x02, 0, 0, 0, 0, 1]).randomized);
        assert!(key.client(&[0xda, 0xa1, 0x19, 0, 0, 1]).randomized);
        assert!(!key.client(&[0x00, 0x16, 0x3e, 0, 0, 1]).randomized);
    }

    #[test]
    fn debug_never_shows_the_hash() {
        let key = ClientKey::from_bytes([7; 16]);
        let id = key.client(&[0, 1, 2, 3, 4, 5]).id;
        assert_eq!(format!("{id:?}"), "ClientId(..)");
        assert_eq!(format!("{key:?}"), "ClientKey(..)");
    }

    #[test]
    fn parses_macs_and_rejects_garbage() {
        assert_eq!(
            parse_mac("cc:aa:dd:ee:aa:bb"),
            Some([0xcc, 0xaa, 0xdd, 0xee, 0xaa, 0xbb])
        );
        assert_eq!(parse_mac("0-1-2-3-4-5"), Some([0, 1, 2, 3, 4, 5]));
        for bad in [
            "",
            "cc:aa:dd:ee:aa",
            "cc:aa:dd:ee:aa:bb:00",
            "zz:aa:dd:ee:aa:bb",
            "ccc:a:d:e:a:b",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_unicast_nonzero_six_byte_addresses_are_clients() {
        assert!(client_mac(&[0, 1, 2, 3, 4, 5]).is_some());
        assert!(client_mac(&[1, 0, 0x5e, 0, 0, 1]).is_none());
        assert!(client_mac(&[0; 6]).is_none());
        assert!(client_mac(&[0, 1, 2, 3]).is_none());
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("state/event.key");
        let first = ClientKey::load_or_create(&path).expect("create");
        let second = ClientKey::load_or_create(&path).expect("reuse");
        assert_eq!(first.0, second.0);
        let mode = fs::metadata(&path).expect("metadata").permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
        fs::write(&path, b"short").expect("overwrite");
        let err = ClientKey::load_or_create(&path).expect_err("bad key");
        assert!(
            err.to_string().contains("expected 16 bytes, found 5"),
            "{err}"
        );
    }

    #[test]
    fn a_key_others_can_read_is_made_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("event.key");
        fs::write(&path, [7u8; 16]).expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        let key = ClientKey::load_or_create(&path).expect("a readable key is still the key");
        assert_eq!(key.0, [7u8; 16]);
        let mode = fs::metadata(&path).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_key_that_is_a_link_or_a_fifo_is_refused_without_reading_what_it_names() {
        let dir = tempfile::tempdir().expect("temp dir");
        let secret = dir.path().join("other-file");
        fs::write(&secret, "a file of 27 bytes, secret\n").expect("write");
        let link = dir.path().join("event.key");
        std::os::unix::fs::symlink(&secret, &link).expect("symlink");
        let err = ClientKey::load_or_create(&link).expect_err("a link is refused");
        let message = err.to_string();
        assert!(message.contains("is a symbolic link"), "{message}");
        assert!(
            !message.contains("27") && !message.contains("other-file"),
            "{message}"
        );
        let fifo = dir.path().join("fifo.key");
        crate::files::mkfifo(&fifo);
        let err = ClientKey::load_or_create(&fifo).expect_err("a FIFO is refused at once");
        assert!(err.to_string().contains("not a regular file"), "{err}");
        fs::write(dir.path().join("long.key"), [1u8; 4096]).expect("write");
        let err = ClientKey::load_or_create(&dir.path().join("long.key")).expect_err("too long");
        assert!(err.to_string().contains("found more than 16"), "{err}");
    }
}
