//! Ed25519 keys: the server's [`KeyRing`] (a directory with the active signing key and the
//! public halves of retired keys) and the public [`KeySet`] document verifiers read.
//!
//! A key's id is the lowercase hex SHA-256 of its SubjectPublicKeyInfo DER (what
//! `openssl pkey -pubin -outform DER | sha256sum` prints for its PEM), so anyone holding the
//! public key can compute it. The key ring's directory holds `keys.json` (the key set, exactly
//! the document served at [`WELL_KNOWN_KEYS_PATH`]) and `private/<keyid>.pem` (the active key,
//! PKCS#8 PEM, mode 0600, in a 0700 directory). Every file is written to a temporary file,
//! flushed and renamed into place, and `keys.json` names the active key only once its private
//! half is on disk: a process killed at any point leaves the last active key usable.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _, EncodePublicKey as _};
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::digest::sha256_hex;
use super::dsse::{Envelope, PAYLOAD_TYPE};
use super::statement::Statement;

/// Where the server serves its key set.
pub const WELL_KNOWN_KEYS_PATH: &str = "/.well-known/slipway/provenance-keys.json";
/// The key set's file in the key ring's directory.
const KEYS_FILE: &str = "keys.json";
/// The private keys' directory in the key ring's directory.
const PRIVATE_DIRECTORY: &str = "private";
/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), before the 32 key bytes.
const ED25519_SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// A key's id: the lowercase hex SHA-256 of its SubjectPublicKeyInfo DER.
pub fn key_id(key: &VerifyingKey) -> String {
    let mut der = ED25519_SPKI_PREFIX.to_vec();
    der.extend_from_slice(key.as_bytes());
    sha256_hex(&der)
}

/// Whether a key signs new statements or only verifies old ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// The key the server signs with now.
    Active,
    /// A key the server signed with before; statements it signed still verify.
    Retired,
}

/// One public key of a [`KeySet`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyEntry {
    /// [`key_id`] of the key.
    pub keyid: String,
    /// Always `ed25519`.
    pub algorithm: String,
    /// The public key, SubjectPublicKeyInfo PEM.
    #[serde(rename = "publicKeyPem")]
    pub public_key_pem: String,
    /// Active or retired.
    pub status: KeyStatus,
    /// When it was made (RFC 3339); empty for a key given as a bare PEM file.
    #[serde(default)]
    pub created: String,
    /// When it was retired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired: Option<String>,
}

impl PublicKeyEntry {
    /// The key.
    ///
    /// # Errors
    ///
    /// When the PEM is not an Ed25519 public key.
    pub fn verifying_key(&self) -> Result<VerifyingKey, KeySetError> {
        VerifyingKey::from_public_key_pem(&self.public_key_pem)
            .map_err(|error| KeySetError::BadKey { keyid: self.keyid.clone(), message: error.to_string() })
    }
}

/// The public keys verifiers trust: the document `{"keys": [...]}` the server serves.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySet {
    /// The keys, oldest first.
    pub keys: Vec<PublicKeyEntry>,
}

/// Why a key set cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeySetError {
    /// Not JSON (and not PEM).
    #[error("not a key set: not JSON at line {line}, column {column}: {message}")]
    NotJson {
        /// The line.
        line: usize,
        /// The column.
        column: usize,
        /// What serde_json says.
        message: String,
    },
    /// JSON of the wrong shape.
    #[error("not a key set ({{\"keys\": [{{keyid, algorithm, publicKeyPem, status, created}}]}}): {0}")]
    Shape(String),
    /// An algorithm other than Ed25519.
    #[error("key {keyid}: algorithm {algorithm:?} is not supported (only ed25519)")]
    Algorithm {
        /// The key.
        keyid: String,
        /// Its algorithm.
        algorithm: String,
    },
    /// A key that is not an Ed25519 public key.
    #[error("key {keyid}: not an Ed25519 public key: {message}")]
    BadKey {
        /// The key.
        keyid: String,
        /// Why.
        message: String,
    },
    /// A key id that is not the key's fingerprint.
    #[error("key {keyid}: the id is not its key's fingerprint ({fingerprint})")]
    WrongKeyId {
        /// The id given.
        keyid: String,
        /// The key's fingerprint.
        fingerprint: String,
    },
    /// A PEM private key where a public one was expected.
    #[error("a private key: give the server's public key set (or one public key), never a private key")]
    PrivateKey,
    /// A set without keys.
    #[error("the key set has no keys")]
    Empty,
}

impl KeySet {
    /// Reads a key set document, or one public key in PEM (SubjectPublicKeyInfo), checking each
    /// key and its id.
    ///
    /// # Errors
    ///
    /// When it is neither, or a key is not Ed25519 or not what its id says ([`KeySetError`]).
    pub fn parse(bytes: &[u8]) -> Result<Self, KeySetError> {
        let text = String::from_utf8_lossy(bytes);
        let trimmed = text.trim_start();
        if trimmed.starts_with("-----BEGIN") {
            if trimmed.contains("PRIVATE KEY-----") {
                return Err(KeySetError::PrivateKey);
            }
            let key = VerifyingKey::from_public_key_pem(trimmed.trim_end())
                .map_err(|error| KeySetError::BadKey { keyid: "(PEM)".into(), message: error.to_string() })?;
            return Ok(Self { keys: vec![entry(&key, KeyStatus::Active, String::new())?] });
        }
        let set: Self = serde_json::from_slice::<serde_json::Value>(bytes)
            .map_err(|error| {
                let message = error.to_string();
                KeySetError::NotJson {
                    line: error.line(),
                    column: error.column(),
                    message: message
                        .rsplit_once(" at line ")
                        .map_or(message.as_str(), |(message, _)| message)
                        .to_owned(),
                }
            })
            .and_then(|value| serde_json::from_value(value).map_err(|error| KeySetError::Shape(error.to_string())))?;
        if set.keys.is_empty() {
            return Err(KeySetError::Empty);
        }
        for key in &set.keys {
            if key.algorithm != "ed25519" {
                return Err(KeySetError::Algorithm { keyid: key.keyid.clone(), algorithm: key.algorithm.clone() });
            }
            let fingerprint = key_id(&key.verifying_key()?);
            if fingerprint != key.keyid {
                return Err(KeySetError::WrongKeyId { keyid: key.keyid.clone(), fingerprint });
            }
        }
        Ok(set)
    }

    /// The document as pretty JSON and a newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The key with this id.
    pub fn get(&self, keyid: &str) -> Option<&PublicKeyEntry> {
        self.keys.iter().find(|key| key.keyid == keyid)
    }

    /// The active key.
    pub fn active(&self) -> Option<&PublicKeyEntry> {
        self.keys.iter().find(|key| key.status == KeyStatus::Active)
    }

    /// The key of this set whose signature of `envelope` (any payload type) is valid, and the
    /// payload it signed; `None` when no signature is one of this set's keys' over it.
    pub fn signer_of(&self, envelope: &Envelope) -> Option<(&PublicKeyEntry, Vec<u8>)> {
        let payload = envelope.payload_bytes().ok()?;
        let message = super::dsse::pae(&envelope.payload_type, &payload);
        let key = envelope.signatures.iter().find_map(|signature| {
            let bytes: [u8; 64] = super::dsse::decode_base64(&signature.sig)?.as_slice().try_into().ok()?;
            let signature_bytes = ed25519_dalek::Signature::from_bytes(&bytes);
            self.keys.iter().filter(|key| signature.keyid.is_empty() || key.keyid == signature.keyid).find(|key| {
                key.verifying_key().is_ok_and(|verifying| verifying.verify_strict(&message, &signature_bytes).is_ok())
            })
        })?;
        Some((key, payload))
    }
}

/// A key set entry for a key.
fn entry(key: &VerifyingKey, status: KeyStatus, created: String) -> Result<PublicKeyEntry, KeySetError> {
    let keyid = key_id(key);
    let public_key_pem = key
        .to_public_key_pem(LineEnding::LF)
        .map_err(|error| KeySetError::BadKey { keyid: keyid.clone(), message: error.to_string() })?;
    Ok(PublicKeyEntry { keyid, algorithm: "ed25519".into(), public_key_pem, status, created, retired: None })
}

/// Why the key ring cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    /// A file cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `keys.json` is not a key set.
    #[error("{path}: {source}")]
    KeySet {
        /// The file.
        path: PathBuf,
        /// Why.
        source: KeySetError,
    },
    /// The key set names no active key, or several.
    #[error("{path}: {count} keys are active; exactly one must be")]
    Active {
        /// The file.
        path: PathBuf,
        /// How many are.
        count: usize,
    },
    /// The active key's private file is not its key.
    #[error("{path}: not the private key of {keyid}: {message}")]
    PrivateKey {
        /// The file.
        path: PathBuf,
        /// The active key.
        keyid: String,
        /// Why.
        message: String,
    },
    /// No randomness for a new key.
    #[error("no randomness for a new key: {0}")]
    Random(String),
    /// A key or a statement cannot be encoded.
    #[error("cannot encode {0}")]
    Encode(String),
}

/// The server's signing keys, kept in a directory (the server passes
/// `DATA_DIR/provenance-keys/`).
pub struct KeyRing {
    /// The directory.
    directory: PathBuf,
    /// The public keys, the active one among them.
    set: KeySet,
    /// The active key.
    active: SigningKey,
    /// Its id.
    active_id: String,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("KeyRing")
            .field("directory", &self.directory)
            .field("active", &self.active_id)
            .field("keys", &self.set.keys.len())
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Opens the key ring in `directory`, making the directory and a first active key when there
    /// is none; left-over temporary files and retired keys' private files are removed.
    ///
    /// # Errors
    ///
    /// When a file cannot be read or written, or what is there is not a key ring
    /// ([`KeyRingError`]).
    pub fn open(directory: impl Into<PathBuf>) -> Result<Self, KeyRingError> {
        let directory = directory.into();
        let private = directory.join(PRIVATE_DIRECTORY);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&private)
            .map_err(|source| io(&private, source))?;
        remove_temporary(&directory)?;
        remove_temporary(&private)?;
        let keys_file = directory.join(KEYS_FILE);
        let text = match std::fs::read(&keys_file) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let (active, entry) = new_key()?;
                let set = KeySet { keys: vec![entry] };
                let ring = Self { active_id: set.keys[0].keyid.clone(), directory, set, active };
                ring.write_private(&ring.active, &ring.active_id)?;
                ring.write_set(&ring.set)?;
                tracing::debug!(keyid = %ring.active_id, "made the first provenance signing key");
                return Ok(ring);
            }
            Err(source) => return Err(io(&keys_file, source)),
        };
        let set = KeySet::parse(&text).map_err(|source| KeyRingError::KeySet { path: keys_file.clone(), source })?;
        let active: Vec<&PublicKeyEntry> = set.keys.iter().filter(|key| key.status == KeyStatus::Active).collect();
        let [active_entry] = active.as_slice() else {
            return Err(KeyRingError::Active { path: keys_file, count: active.len() });
        };
        let active_id = active_entry.keyid.clone();
        let key_file = private.join(format!("{active_id}.pem"));
        let pem = std::fs::read_to_string(&key_file).map_err(|source| io(&key_file, source))?;
        let private_error =
            |message: String| KeyRingError::PrivateKey { path: key_file.clone(), keyid: active_id.clone(), message };
        let active = SigningKey::from_pkcs8_pem(&pem).map_err(|error| private_error(error.to_string()))?;
        if key_id(&active.verifying_key()) != active_id {
            return Err(private_error("its public key has another id".into()));
        }
        for key in set.keys.iter().filter(|key| key.status == KeyStatus::Retired) {
            let retired = private.join(format!("{}.pem", key.keyid));
            match std::fs::remove_file(&retired) {
                Ok(()) => tracing::info!(keyid = %key.keyid, "removed a retired provenance key's private half"),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(io(&retired, source)),
            }
        }
        Ok(Self { directory, set, active, active_id })
    }

    /// The public keys of the key ring in `directory`, read without opening the ring (no key
    /// made, nothing removed, the private key not read): for verifying and serving them.
    ///
    /// # Errors
    ///
    /// When `keys.json` cannot be read or is not a key set.
    pub fn public_keys(directory: &Path) -> Result<KeySet, KeyRingError> {
        let keys_file = directory.join(KEYS_FILE);
        let text = std::fs::read(&keys_file).map_err(|source| io(&keys_file, source))?;
        KeySet::parse(&text).map_err(|source| KeyRingError::KeySet { path: keys_file, source })
    }

    /// Makes a new active key; the old one is retired (its public key kept in the set, so what
    /// it signed still verifies; its private half removed).
    ///
    /// # Errors
    ///
    /// When a file cannot be written; the old key is then still the active one.
    pub fn rotate(&mut self) -> Result<(), KeyRingError> {
        let (active, entry) = new_key()?;
        let keyid = entry.keyid.clone();
        self.write_private(&active, &keyid)?;
        let now = now();
        let mut set = self.set.clone();
        for key in &mut set.keys {
            if key.status == KeyStatus::Active {
                key.status = KeyStatus::Retired;
                key.retired = Some(now.clone());
            }
        }
        set.keys.push(entry);
        self.write_set(&set)?;
        let old = self.directory.join(PRIVATE_DIRECTORY).join(format!("{}.pem", self.active_id));
        if let Err(error) = std::fs::remove_file(&old) {
            tracing::warn!(path = %old.display(), %error, "could not remove a retired provenance key's private half");
        }
        tracing::info!(old = %self.active_id, new = %keyid, "rotated the provenance signing key");
        self.set = set;
        self.active = active;
        self.active_id = keyid;
        Ok(())
    }

    /// The public key set, to serve at [`WELL_KNOWN_KEYS_PATH`].
    pub fn key_set(&self) -> &KeySet {
        &self.set
    }

    /// The active key's id.
    pub fn active_key_id(&self) -> &str {
        &self.active_id
    }

    /// The directory.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// A DSSE envelope of the statement signed with the active key (write it with
    /// [`Envelope::to_json_line`], or as a bundle with [`Envelope::to_bundle`]).
    ///
    /// # Errors
    ///
    /// When the statement cannot be encoded as JSON.
    pub fn sign(&self, statement: &Statement) -> Result<Envelope, KeyRingError> {
        let payload =
            serde_json::to_vec(statement).map_err(|error| KeyRingError::Encode(format!("the statement: {error}")))?;
        Ok(self.sign_payload(PAYLOAD_TYPE, &payload))
    }

    /// A DSSE envelope of any payload, signed with the active key (evidence bundles sign their
    /// manifest with it; check one with [`KeySet::signer_of`]).
    pub fn sign_payload(&self, payload_type: &str, payload: &[u8]) -> Envelope {
        Envelope::sign(payload_type, payload, &self.active, &self.active_id)
    }

    /// Writes a private key, mode 0600.
    fn write_private(&self, key: &SigningKey, keyid: &str) -> Result<(), KeyRingError> {
        let pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|error| KeyRingError::Encode(format!("a private key: {error}")))?;
        let path = self.directory.join(PRIVATE_DIRECTORY).join(format!("{keyid}.pem"));
        write_atomically(&path, pem.as_bytes(), 0o600)
    }

    /// Writes the key set.
    fn write_set(&self, set: &KeySet) -> Result<(), KeyRingError> {
        write_atomically(&self.directory.join(KEYS_FILE), set.to_json().as_bytes(), 0o644)
    }
}

/// A fresh key and its active entry.
fn new_key() -> Result<(SigningKey, PublicKeyEntry), KeyRingError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|error| KeyRingError::Random(error.to_string()))?;
    let key = SigningKey::from_bytes(&secret);
    let entry = entry(&key.verifying_key(), KeyStatus::Active, now())
        .map_err(|error| KeyRingError::Encode(error.to_string()))?;
    Ok((key, entry))
}

/// Now, as the key set writes times.
fn now() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// An I/O error at a path.
fn io(path: &Path, source: std::io::Error) -> KeyRingError {
    KeyRingError::Io { path: path.to_owned(), source }
}

/// The suffix of temporary files.
const TEMPORARY: &str = ".tmp";

/// Writes a file through a temporary file, flushed, renamed over it, and the directory flushed.
fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyRingError> {
    let mut name = path.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    name.push(TEMPORARY);
    let temporary = path.with_file_name(name);
    let _ = std::fs::remove_file(&temporary);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&temporary)
        .map_err(|source| io(&temporary, source))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|source| io(&temporary, source))?;
    drop(file);
    std::fs::rename(&temporary, path).map_err(|source| io(path, source))?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent).and_then(|directory| directory.sync_all()).map_err(|source| io(parent, source))?;
    }
    Ok(())
}

/// Removes temporary files a killed process left.
fn remove_temporary(directory: &Path) -> Result<(), KeyRingError> {
    let entries = std::fs::read_dir(directory).map_err(|source| io(directory, source))?;
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().ends_with(TEMPORARY) {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(|source| io(&path, source))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn a_key_id_is_the_spki_fingerprint() {
        let key = SigningKey::from_bytes(&[9; 32]).verifying_key();
        let der = key.to_public_key_der().unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(key_id(&key), sha256_hex(der.as_bytes()));
    }

    #[test]
    fn a_key_ring_is_made_kept_and_rotated() {
        let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let path = directory.path().join("provenance-keys");
        let ring = KeyRing::open(&path).unwrap_or_else(|error| panic!("{error}"));
        let first = ring.active_key_id().to_owned();
        let private = path.join("private").join(format!("{first}.pem"));
        let mode = std::fs::metadata(&private).map(|metadata| metadata.permissions().mode() & 0o777);
        assert_eq!(mode.ok(), Some(0o600));
        let set = KeySet::parse(&std::fs::read(path.join("keys.json")).unwrap_or_default())
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(&set, ring.key_set());
        assert_eq!(set.active().map(|key| key.keyid.as_str()), Some(first.as_str()));

        // Opened again: the same key.
        let mut ring = KeyRing::open(&path).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(ring.active_key_id(), first);
        ring.rotate().unwrap_or_else(|error| panic!("{error}"));
        let second = ring.active_key_id().to_owned();
        assert_ne!(first, second);
        assert_eq!(ring.key_set().keys.len(), 2);
        assert_eq!(ring.key_set().get(&first).map(|key| key.status), Some(KeyStatus::Retired));
        assert!(ring.key_set().get(&first).is_some_and(|key| key.retired.is_some()));
        assert!(!private.exists(), "the retired key's private half is removed");
        let again = KeyRing::open(&path).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(again.active_key_id(), second);
        assert_eq!(again.key_set(), ring.key_set());
    }

    #[test]
    fn the_public_keys_are_read_without_touching_the_ring() {
        let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let path = directory.path().join("provenance-keys");
        assert!(KeyRing::public_keys(&path).is_err(), "keys read where there is no key ring");
        assert!(!path.exists(), "reading the public keys made a key ring");
        let mut ring = KeyRing::open(&path).unwrap_or_else(|error| panic!("{error}"));
        ring.rotate().unwrap_or_else(|error| panic!("{error}"));
        let read = KeyRing::public_keys(&path).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(&read, ring.key_set());
        assert_eq!(read.keys.len(), 2);
    }

    #[test]
    fn a_rotation_killed_half_way_keeps_the_active_key() {
        let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let path = directory.path().to_owned();
        let ring = KeyRing::open(&path).unwrap_or_else(|error| panic!("{error}"));
        let first = ring.active_key_id().to_owned();
        // Killed after the new private key was written, and with a temporary key set half written.
        let (orphan, entry) = new_key().unwrap_or_else(|error| panic!("{error}"));
        ring.write_private(&orphan, &entry.keyid).unwrap_or_else(|error| panic!("{error}"));
        std::fs::write(path.join("keys.json.tmp"), "{\"keys\": [").unwrap_or_else(|error| panic!("{error}"));
        let reopened = KeyRing::open(&path).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(reopened.active_key_id(), first);
        assert!(!path.join("keys.json.tmp").exists());
        // Killed after the key set was renamed but before the old private half was removed.
        let mut ring = reopened;
        let old_private = path.join("private").join(format!("{first}.pem"));
        let kept = std::fs::read(&old_private).unwrap_or_default();
        ring.rotate().unwrap_or_else(|error| panic!("{error}"));
        std::fs::write(&old_private, kept).unwrap_or_else(|error| panic!("{error}"));
        let reopened = KeyRing::open(&path).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(reopened.active_key_id(), ring.active_key_id());
        assert!(!old_private.exists());
    }

    #[test]
    fn key_sets_read_back_and_bad_ones_are_named() {
        let key = SigningKey::from_bytes(&[3; 32]).verifying_key();
        let set = KeySet {
            keys: vec![
                entry(&key, KeyStatus::Active, "2026-12-07T08:00:00Z".into()).unwrap_or_else(|error| panic!("{error}")),
            ],
        };
        assert_eq!(KeySet::parse(set.to_json().as_bytes()), Ok(set.clone()));
        let pem = set.keys[0].public_key_pem.clone();
        let from_pem = KeySet::parse(pem.as_bytes()).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(from_pem.keys[0].keyid, set.keys[0].keyid);
        let mut wrong = set.clone();
        wrong.keys[0].keyid = "00".into();
        assert!(matches!(KeySet::parse(wrong.to_json().as_bytes()), Err(KeySetError::WrongKeyId { .. })));
        assert!(matches!(KeySet::parse(b"{\"keys\": 3}"), Err(KeySetError::Shape(_))));
        assert!(matches!(KeySet::parse(b"{\"keys\": []}"), Err(KeySetError::Empty)));
        assert!(matches!(KeySet::parse(b"nope"), Err(KeySetError::NotJson { line: 1, .. })));
        let private = SigningKey::from_bytes(&[3; 32])
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .unwrap_or_default();
        assert_eq!(KeySet::parse(private.as_bytes()), Err(KeySetError::PrivateKey));
    }

    #[test]
    fn a_signed_payload_names_its_signer_and_a_changed_one_none() {
        let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let ring = KeyRing::open(directory.path().join("keys")).unwrap_or_else(|error| panic!("{error}"));
        let envelope = ring.sign_payload("text/plain", b"abc  index.html\n");
        let (key, payload) = ring.key_set().signer_of(&envelope).unwrap_or_else(|| panic!("not verified"));
        assert_eq!((key.keyid.as_str(), payload.as_slice()), (ring.active_key_id(), b"abc  index.html\n".as_slice()));
        let mut changed = envelope.clone();
        changed.payload = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b"abd  index.html\n");
        assert!(ring.key_set().signer_of(&changed).is_none());
        let other = KeyRing::open(directory.path().join("other")).unwrap_or_else(|error| panic!("{error}"));
        assert!(other.key_set().signer_of(&envelope).is_none());
    }
}
