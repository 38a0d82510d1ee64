//! The audit log's hash chain, pure: what an entry's hash is made of, and checking a run of
//! entries for the first place the chain breaks.
//!
//! An entry's hash is the SHA-256, as 64 lowercase hex digits, of its [canonical
//! bytes](canonical_bytes): a JSON object with the keys in byte order and no spaces, holding its
//! `id`, `at` (milliseconds), `actor`, `action`, `target` (or `null`), `details` (canonical JSON
//! itself: keys of every object sorted, no spaces) and `prev_hash`, the hash of the entry before
//! it ([`GENESIS`] for the first). Changing any field of an entry changes its hash; deleting or
//! moving one breaks the next entry's `prev_hash`. [`verify`] (or a [`Verifier`] fed one entry at
//! a time) finds the first break and says what it is.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An audit log entry with its place in the chain, as the server exports it (one JSON line each).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainedEntry {
    /// Its id (increasing along the chain).
    pub id: i64,
    /// When, in milliseconds since the Unix epoch.
    pub at: i64,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// To what.
    #[serde(default)]
    pub target: Option<String>,
    /// Details.
    pub details: serde_json::Value,
    /// The hash of the entry before it ([`GENESIS`] for the first); empty when it has none.
    pub prev_hash: String,
    /// Its own hash, over its fields and `prev_hash`; empty when it has none.
    pub hash: String,
}

impl ChainedEntry {
    /// The hash its fields (with its `prev_hash`) come to.
    #[must_use]
    pub fn computed_hash(&self) -> String {
        entry_hash(self.id, self.at, &self.actor, &self.action, self.target.as_deref(), &self.details, &self.prev_hash)
    }
}

/// The bytes an entry's hash is taken over: canonical JSON of its fields (see the module's
/// documentation).
#[must_use]
pub fn canonical_bytes(
    id: i64,
    at: i64,
    actor: &str,
    action: &str,
    target: Option<&str>,
    details: &serde_json::Value,
    prev_hash: &str,
) -> Vec<u8> {
    let fields = serde_json::json!({
        "action": action,
        "actor": actor,
        "at": at,
        "details": details,
        "id": id,
        "prev_hash": prev_hash,
        "target": target,
    });
    let mut out = String::new();
    write_canonical(&fields, &mut out);
    out.into_bytes()
}

/// The hash of an entry: SHA-256 of its [`canonical_bytes`], lowercase hex.
#[must_use]
pub fn entry_hash(
    id: i64,
    at: i64,
    actor: &str,
    action: &str,
    target: Option<&str>,
    details: &serde_json::Value,
    prev_hash: &str,
) -> String {
    let digest = Sha256::digest(canonical_bytes(id, at, actor, action, target, details, prev_hash));
    digest.iter().fold(String::with_capacity(64), |mut hex, byte| {
        use fmt::Write as _;
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

/// Writes `value` as canonical JSON: object keys sorted by their bytes, no spaces, strings and
/// numbers as `serde_json` writes them.
fn write_canonical(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (index, key) in keys.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_scalar(&serde_json::Value::String(key.clone()), out);
                out.push(':');
                if let Some(item) = map.get(key) {
                    write_canonical(item, out);
                }
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => write_scalar(scalar, out),
    }
}

/// Writes a JSON scalar (string, number, boolean, null) as `serde_json` does.
fn write_scalar(value: &serde_json::Value, out: &mut String) {
    // A scalar always serializes.
    out.push_str(&serde_json::to_string(value).unwrap_or_default());
}

/// How the chain breaks at an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// The entry's fields do not hash to its `hash`: it was changed.
    Changed,
    /// The entry's `prev_hash` is not the hash of the entry before it: an entry between them
    /// (or before the first) was deleted, or the one before was rewritten with a new hash.
    Deleted,
    /// The entry's id is not greater than the one before it: entries were moved.
    Reordered,
    /// The entry noted as an anchor has another hash now: the chain was rewritten up to it.
    Rewritten,
    /// The chain ends before the entry noted as an anchor: the newest entries were cut off.
    Truncated,
}

impl BreakKind {
    /// Its name (`changed`, `deleted`, `reordered`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Changed => "changed",
            Self::Deleted => "deleted",
            Self::Reordered => "reordered",
            Self::Rewritten => "rewritten",
            Self::Truncated => "truncated",
        }
    }
}

/// The first place a chain breaks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainBreak {
    /// What is wrong.
    pub kind: BreakKind,
    /// The entry where it shows (the anchor's, when rewritten or truncated).
    pub id: i64,
    /// The entry before it, if any (the newest entry, when truncated).
    pub previous_id: Option<i64>,
    /// What the chain says it should be: the entry's stored `hash` (changed), the hash of the
    /// entry before it or [`GENESIS`] (deleted), the id before it (reordered), the anchor's hash
    /// (rewritten, truncated).
    pub expected: String,
    /// What it is: the hash its fields come to (changed), its `prev_hash` (deleted), its id
    /// (reordered), the entry's hash now (rewritten), empty (truncated).
    pub found: String,
}

/// Shows a hash, or `(none)` when an entry has none.
fn shown(hash: &str) -> &str {
    if hash.is_empty() { "(none)" } else { hash }
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = self.id;
        match (self.kind, self.previous_id) {
            (BreakKind::Changed, _) => write!(
                f,
                "entry {id} was changed: its hash is {} but its fields hash to {}",
                shown(&self.expected),
                self.found
            ),
            (BreakKind::Deleted, Some(previous)) => write!(
                f,
                "the chain breaks between entries {previous} and {id}: an entry between them was deleted (or entry \
                 {previous} rewritten): entry {id}'s prev_hash is {} but entry {previous}'s hash is {}",
                shown(&self.found),
                shown(&self.expected)
            ),
            (BreakKind::Deleted, None) => write!(
                f,
                "the chain breaks before entry {id}, the first: entries before it were deleted: its prev_hash is {} \
                 but the first entry's must be {}",
                shown(&self.found),
                self.expected
            ),
            (BreakKind::Reordered, _) => {
                write!(f, "entry {id} is out of order: it comes after entry {}, but ids must increase", self.expected)
            }
            (BreakKind::Rewritten, _) => write!(
                f,
                "entry {id} is not the one noted: its hash is {} but {} was noted: the chain was rewritten up to it",
                shown(&self.found),
                self.expected
            ),
            (BreakKind::Truncated, Some(last)) => write!(
                f,
                "the chain ends at entry {last}, before entry {id} noted with hash {}: the newest entries were cut off",
                self.expected
            ),
            (BreakKind::Truncated, None) => write!(
                f,
                "the chain is empty, but entry {id} was noted with hash {}: its entries were cut off",
                self.expected
            ),
        }
    }
}

/// What checking a chain found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainReport {
    /// How many entries were checked (up to and including the first break).
    pub entries: u64,
    /// The newest entry checked: its id and hash (to note down elsewhere, so that a later check
    /// can tell that newer entries were cut off).
    pub last: Option<(i64, String)>,
    /// The first break, if any.
    pub first_break: Option<ChainBreak>,
}

impl ChainReport {
    /// Whether the chain is whole.
    #[must_use]
    pub fn intact(&self) -> bool {
        self.first_break.is_none()
    }
}

/// Checks a chain one entry at a time, oldest first, stopping at the first break.
#[derive(Clone, Debug)]
pub struct Verifier {
    /// The entry before the next: its id and stored hash.
    previous: Option<(i64, String)>,
    /// What the first entry's `prev_hash` must be.
    start: String,
    /// An entry noted earlier (id and hash) that the chain must still hold, and whether it was
    /// reached.
    anchor: Option<(i64, String, bool)>,
    report: ChainReport,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Verifier {
    /// A verifier of a whole chain, whose first entry follows [`GENESIS`].
    #[must_use]
    pub fn new() -> Self {
        Self::continuing(GENESIS)
    }

    /// A verifier of a chain whose first entry follows an entry with hash `prev_hash` (for a part
    /// of the log).
    #[must_use]
    pub fn continuing(prev_hash: &str) -> Self {
        Self {
            previous: None,
            start: prev_hash.to_owned(),
            anchor: None,
            report: ChainReport { entries: 0, last: None, first_break: None },
        }
    }

    /// This verifier, also requiring the chain to hold entry `id` with hash `hash` (noted from an
    /// earlier check): a later check that no longer reaches it finds the newest entries cut off
    /// ([`BreakKind::Truncated`]), one that finds another hash there a rewritten chain
    /// ([`BreakKind::Rewritten`]).
    #[must_use]
    pub fn with_anchor(mut self, id: i64, hash: &str) -> Self {
        self.anchor = Some((id, hash.to_owned(), false));
        self
    }

    /// Checks the next entry; gives the break it shows, if it is the first one. Entries after a
    /// break are not checked.
    pub fn push(&mut self, entry: &ChainedEntry) -> Option<&ChainBreak> {
        if self.report.first_break.is_some() {
            return None;
        }
        self.report.entries += 1;
        let found = self.check(entry);
        self.previous = Some((entry.id, entry.hash.clone()));
        self.report.last = Some((entry.id, entry.hash.clone()));
        if let Some((id, _, reached)) = &mut self.anchor {
            *reached |= entry.id >= *id;
        }
        self.report.first_break = found;
        self.report.first_break.as_ref()
    }

    fn check(&self, entry: &ChainedEntry) -> Option<ChainBreak> {
        let previous_id = self.previous.as_ref().map(|(id, _)| *id);
        if let Some(previous) = previous_id
            && entry.id <= previous
        {
            return Some(ChainBreak {
                kind: BreakKind::Reordered,
                id: entry.id,
                previous_id,
                expected: previous.to_string(),
                found: entry.id.to_string(),
            });
        }
        let expected_prev = self.previous.as_ref().map_or(self.start.as_str(), |(_, hash)| hash.as_str());
        if entry.prev_hash != expected_prev {
            return Some(ChainBreak {
                kind: BreakKind::Deleted,
                id: entry.id,
                previous_id,
                expected: expected_prev.to_owned(),
                found: entry.prev_hash.clone(),
            });
        }
        let computed = entry.computed_hash();
        if entry.hash != computed {
            return Some(ChainBreak {
                kind: BreakKind::Changed,
                id: entry.id,
                previous_id,
                expected: entry.hash.clone(),
                found: computed,
            });
        }
        match &self.anchor {
            Some((id, hash, _)) if *id == entry.id && *hash != entry.hash => Some(ChainBreak {
                kind: BreakKind::Rewritten,
                id: entry.id,
                previous_id,
                expected: hash.clone(),
                found: entry.hash.clone(),
            }),
            _ => None,
        }
    }

    /// What was found.
    #[must_use]
    pub fn report(&self) -> &ChainReport {
        &self.report
    }

    /// What was found, taken: when the chain is whole but ends before its anchor, the break
    /// is that the newest entries were cut off.
    #[must_use]
    pub fn finish(mut self) -> ChainReport {
        if self.report.first_break.is_none()
            && let Some((id, hash, false)) = self.anchor
        {
            self.report.first_break = Some(ChainBreak {
                kind: BreakKind::Truncated,
                id,
                previous_id: self.report.last.as_ref().map(|(last, _)| *last),
                expected: hash,
                found: String::new(),
            });
        }
        self.report
    }
}

/// Checks a whole chain, oldest first, from [`GENESIS`]: how many entries were checked and the
/// first break, if any.
#[must_use]
pub fn verify<'a>(entries: impl IntoIterator<Item = &'a ChainedEntry>) -> ChainReport {
    let mut verifier = Verifier::new();
    for entry in entries {
        if verifier.push(entry).is_some() {
            break;
        }
    }
    verifier.finish()
}

/// Reads an anchor written `ID:HASH` (as `slipway audit verify --anchor` takes it): an entry id
/// and a 64-digit lowercase hex hash.
#[must_use]
pub fn parse_anchor(text: &str) -> Option<(i64, String)> {
    let (id, hash) = text.trim().split_once(':')?;
    let id = id.trim().parse().ok()?;
    let hash = hash.trim();
    (hash.len() == 64 && hash.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f')))
        .then(|| (id, hash.to_owned()))
}

/// Chains entries given without hashes: sets each one's `prev_hash` and `hash` in order, the
/// first following `prev_hash`.
pub fn chain(entries: &mut [ChainedEntry], prev_hash: &str) {
    let mut previous = prev_hash.to_owned();
    for entry in entries {
        entry.prev_hash = previous;
        entry.hash = entry.computed_hash();
        previous = entry.hash.clone();
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn entries(count: i64) -> Vec<ChainedEntry> {
        let mut entries: Vec<ChainedEntry> = (1..=count)
            .map(|id| ChainedEntry {
                id,
                at: 1_000 + id,
                actor: "admin".into(),
                action: "user.create".into(),
                target: Some(format!("user-{id}")),
                details: json!({ "role": "reader", "n": id }),
                prev_hash: String::new(),
                hash: String::new(),
            })
            .collect();
        chain(&mut entries, GENESIS);
        entries
    }

    #[test]
    fn canonical_bytes_sort_keys_at_every_depth_and_have_no_spaces() {
        let details = json!({ "z": 1, "a": { "y": [ { "b": true, "a": null } ], "x": "é\"" } });
        let bytes = canonical_bytes(7, 42, "ann", "variable.set", None, &details, GENESIS);
        assert_eq!(
            String::from_utf8(bytes).ok(),
            Some(format!(
                r#"{{"action":"variable.set","actor":"ann","at":42,"details":{{"a":{{"x":"é\"","y":[{{"a":null,"b":true}}]}},"z":1}},"id":7,"prev_hash":"{GENESIS}","target":null}}"#
            ))
        );
    }

    #[test]
    fn hashes_are_lowercase_sha256_hex_and_independent_of_key_order() {
        let one = entry_hash(1, 2, "a", "b", Some("c"), &json!({ "x": 1, "y": 2 }), GENESIS);
        let two = entry_hash(
            1,
            2,
            "a",
            "b",
            Some("c"),
            &serde_json::from_str(r#"{"y":2,"x":1}"#).unwrap_or_default(),
            GENESIS,
        );
        assert_eq!(one, two);
        assert_eq!(one.len(), 64);
        assert!(one.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
        // The empty object under a known input, pinned so the format cannot drift unnoticed.
        assert_eq!(
            entry_hash(1, 0, "", "", None, &json!({}), GENESIS),
            format!(
                "{:x}",
                Sha256::digest(format!(
                    r#"{{"action":"","actor":"","at":0,"details":{{}},"id":1,"prev_hash":"{GENESIS}","target":null}}"#
                ))
            )
        );
        assert_ne!(one, entry_hash(1, 2, "a", "b", None, &json!({ "x": 1, "y": 2 }), GENESIS));
    }

    #[test]
    fn a_whole_chain_is_intact() {
        let entries = entries(5);
        let report = verify(&entries);
        assert!(report.intact());
        assert_eq!(report.entries, 5);
        assert_eq!(report.last, Some((5, entries[4].hash.clone())));
        assert!(verify(&[]).intact());
    }

    #[test]
    fn a_changed_field_is_found_at_its_entry() {
        let mut entries = entries(5);
        entries[2].details = json!({ "role": "admin", "n": 3 });
        let report = verify(&entries);
        let found = report.first_break.clone().unwrap_or_else(|| panic!("no break: {report:?}"));
        assert_eq!((found.kind, found.id, report.entries), (BreakKind::Changed, 3, 3));
        assert_eq!(found.expected, entries[2].hash);
        assert_eq!(found.found, entries[2].computed_hash());
        assert_eq!(
            found.to_string(),
            format!("entry 3 was changed: its hash is {} but its fields hash to {}", found.expected, found.found)
        );
    }

    #[test]
    fn a_deleted_entry_breaks_the_next_link() {
        let mut entries = entries(5);
        let deleted = entries.remove(2);
        let found = verify(&entries).first_break.unwrap_or_else(|| panic!("no break"));
        assert_eq!((found.kind, found.id, found.previous_id), (BreakKind::Deleted, 4, Some(2)));
        assert_eq!((found.expected.as_str(), found.found.as_str()), (entries[1].hash.as_str(), deleted.hash.as_str()));
        assert!(
            found
                .to_string()
                .starts_with("the chain breaks between entries 2 and 4: an entry between them was deleted")
        );
        // The first entry deleted: the new first does not follow the genesis.
        let found = verify(&entries[1..]).first_break.unwrap_or_else(|| panic!("no break"));
        assert_eq!(
            (found.kind, found.id, found.previous_id, found.expected.as_str()),
            (BreakKind::Deleted, 2, None, GENESIS)
        );
    }

    #[test]
    fn a_rewritten_entry_with_a_fresh_hash_breaks_the_next_link() {
        let mut entries = entries(4);
        entries[1].actor = "mallory".into();
        entries[1].hash = entries[1].computed_hash();
        let found = verify(&entries).first_break.unwrap_or_else(|| panic!("no break"));
        assert_eq!((found.kind, found.id), (BreakKind::Deleted, 3));
    }

    #[test]
    fn moved_entries_are_out_of_order() {
        let mut entries = entries(4);
        entries.swap(1, 2);
        let found = verify(&entries).first_break.unwrap_or_else(|| panic!("no break"));
        assert_eq!((found.kind, found.id), (BreakKind::Deleted, 3));
        let mut entries = self::entries(3);
        entries[2].id = 1;
        let found = verify(&entries).first_break.unwrap_or_else(|| panic!("no break"));
        assert_eq!((found.kind, found.id, found.expected.as_str()), (BreakKind::Reordered, 1, "2"));
        assert_eq!(found.to_string(), "entry 1 is out of order: it comes after entry 2, but ids must increase");
    }

    #[test]
    fn a_missing_hash_is_a_change_and_a_part_continues_from_its_anchor() {
        let mut entries = entries(3);
        entries[1].hash.clear();
        let found = verify(&entries).first_break.unwrap_or_else(|| panic!("no break"));
        assert!(found.to_string().starts_with("entry 2 was changed: its hash is (none) but"));
        let entries = self::entries(3);
        let mut verifier = Verifier::continuing(&entries[0].hash);
        for entry in &entries[1..] {
            assert!(verifier.push(entry).is_none());
        }
        assert_eq!(verifier.report().entries, 2);
    }

    #[test]
    fn an_anchor_finds_the_newest_entries_cut_off_and_a_rewritten_chain() {
        let entries = entries(5);
        let anchor = |verifier: Verifier, count: usize| {
            let mut verifier = verifier;
            for entry in &entries[..count] {
                let _ = verifier.push(entry);
            }
            verifier.finish()
        };
        let noted = (entries[3].id, entries[3].hash.clone());
        assert!(anchor(Verifier::new().with_anchor(noted.0, &noted.1), 5).intact());
        assert!(anchor(Verifier::new().with_anchor(noted.0, &noted.1), 4).intact());
        let cut =
            anchor(Verifier::new().with_anchor(noted.0, &noted.1), 3).first_break.unwrap_or_else(|| panic!("no break"));
        assert_eq!((cut.kind, cut.id, cut.previous_id), (BreakKind::Truncated, 4, Some(3)));
        assert_eq!(
            cut.to_string(),
            format!(
                "the chain ends at entry 3, before entry 4 noted with hash {}: the newest entries were cut off",
                noted.1
            )
        );
        let empty =
            anchor(Verifier::new().with_anchor(4, &noted.1), 0).first_break.unwrap_or_else(|| panic!("no break"));
        assert_eq!((empty.kind, empty.previous_id), (BreakKind::Truncated, None));
        let other =
            anchor(Verifier::new().with_anchor(4, GENESIS), 5).first_break.unwrap_or_else(|| panic!("no break"));
        assert_eq!((other.kind, other.id, other.found.as_str()), (BreakKind::Rewritten, 4, noted.1.as_str()));
        assert_eq!(parse_anchor(&format!("4:{}", noted.1)), Some(noted.clone()));
        for bad in ["4", "x:ab", "4:abc", &format!("4:{}", noted.1.to_uppercase())] {
            assert_eq!(parse_anchor(bad), None, "{bad}");
        }
    }

    #[test]
    fn entries_read_back_from_their_json_lines() {
        let entries = entries(1);
        let line = serde_json::to_string(&entries[0]).unwrap_or_default();
        let read: ChainedEntry = serde_json::from_str(&line).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(read, entries[0]);
        assert!(serde_json::from_str::<ChainedEntry>(r#"{"id":1}"#).is_err());
    }
}
