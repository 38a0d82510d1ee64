//! Verifying an attestation, pure: the signature with a key of the key set, then the statement
//! against the artifact's digests and an optional policy (builder, repository, commit).
//!
//! A malformed attestation or statement is an error ([`VerifyError`], bad input); everything
//! else is a [`Verification`]: each check with its outcome and a message saying what was found,
//! and the verdict. When the signature does not verify, the statement is not read (its content
//! is not trusted) and the other checks are skipped.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::digest::{ArtifactDigests, ArtifactKind};
use super::dsse::{Attestation, AttestationError, decode_base64, kind, not_json, pae};
use super::keys::{KeySet, KeyStatus};
use super::statement::{SLSA_PROVENANCE_V1, STATEMENT_TYPE, Statement};

/// What the verifier requires beyond a valid signature and matching digests; `None` accepts any.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// The builder id (the server's URL), compared without a trailing `/`.
    pub builder_id: Option<String>,
    /// The repository's URI, compared without a trailing `/` or `.git`.
    pub repository: Option<String>,
    /// The commit: the full id or a prefix of at least 7 hex digits.
    pub commit: Option<String>,
}

/// The shortest commit prefix a policy accepts.
pub const MIN_COMMIT_PREFIX: usize = 7;

/// Which check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    /// The envelope's signature, by a key of the key set.
    Signature,
    /// The artifact's files against the statement's subjects.
    Subjects,
    /// The builder.
    Builder,
    /// The repository.
    Repository,
    /// The commit.
    Commit,
}

impl CheckKind {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Signature => "signature",
            Self::Subjects => "subjects",
            Self::Builder => "builder",
            Self::Repository => "repository",
            Self::Commit => "commit",
        }
    }
}

/// A check's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// It passed.
    Passed,
    /// It failed.
    Failed,
    /// Not checked: nothing was required, or the signature failed.
    Skipped,
}

/// One check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Which.
    pub check: CheckKind,
    /// Its outcome.
    pub status: CheckStatus,
    /// What was found (several lines when several files differ).
    pub message: String,
}

/// The verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every check passed or was skipped, and the signature passed.
    Verified,
    /// A check failed.
    Failed,
}

/// The result of [`verify`], to show or to store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// The verdict.
    pub verdict: Verdict,
    /// The key that signed, when the signature verified.
    pub keyid: Option<String>,
    /// The checks, in order.
    pub checks: Vec<Check>,
    /// The statement, when the signature verified.
    pub statement: Option<Statement>,
}

impl Verification {
    /// Whether it verified.
    pub fn verified(&self) -> bool {
        self.verdict == Verdict::Verified
    }
}

/// Why verification could not be done: bad input.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// The attestation or its signed statement is malformed.
    #[error(transparent)]
    Attestation(#[from] AttestationError),
    /// A commit to require that is not a commit id or a long enough prefix.
    #[error("commit {0:?} is not a commit id or a prefix of at least {MIN_COMMIT_PREFIX} hex digits")]
    Commit(String),
}

/// Verifies an attestation of `artifact` with `keys` under `policy`.
///
/// # Errors
///
/// When the attestation's signed statement is not a SLSA provenance v1 statement, or the policy's
/// commit is not a commit id ([`VerifyError`]); a failed check is not an error.
pub fn verify(
    attestation: &Attestation,
    keys: &KeySet,
    artifact: &ArtifactDigests,
    policy: &Policy,
) -> Result<Verification, VerifyError> {
    if let Some(commit) = &policy.commit
        && (commit.len() < MIN_COMMIT_PREFIX
            || commit.len() > 64
            || !commit.bytes().all(|byte| byte.is_ascii_hexdigit()))
    {
        return Err(VerifyError::Commit(commit.clone()));
    }
    let envelope = attestation.envelope();
    let payload = envelope.payload_bytes()?;
    let (signature, keyid) = check_signature(attestation, keys, &payload)?;
    if signature.status != CheckStatus::Passed {
        let mut checks = vec![signature];
        checks.extend([CheckKind::Subjects, CheckKind::Builder, CheckKind::Repository, CheckKind::Commit].map(
            |check| Check {
                check,
                status: CheckStatus::Skipped,
                message: "not checked: the signature is not valid".into(),
            },
        ));
        return Ok(Verification { verdict: Verdict::Failed, keyid: None, checks, statement: None });
    }
    let statement = read_statement(&payload)?;
    let provenance = &statement.predicate;
    let mut checks = vec![signature, check_subjects(&statement, artifact)];

    let builder = provenance.builder_id();
    checks.push(match &policy.builder_id {
        None => skipped(CheckKind::Builder, format!("built by {builder} (no builder required)")),
        Some(expected) if same_builder(builder, expected) => passed(CheckKind::Builder, format!("built by {builder}")),
        Some(expected) => failed(CheckKind::Builder, format!("built by {builder}, not {expected}")),
    });

    let repository = provenance.repository();
    checks.push(match (&policy.repository, &repository) {
        (None, Some(found)) => skipped(CheckKind::Repository, format!("{found} (no repository required)")),
        (None, None) => skipped(CheckKind::Repository, "the statement names no repository".into()),
        (Some(expected), None) => {
            failed(CheckKind::Repository, format!("the statement names no repository, not {expected}"))
        }
        (Some(expected), Some(found)) if same_repository(found, expected) => {
            passed(CheckKind::Repository, found.clone())
        }
        (Some(expected), Some(found)) => failed(CheckKind::Repository, format!("built from {found}, not {expected}")),
    });

    let commit = provenance.commit();
    checks.push(match (&policy.commit, commit) {
        (None, Some(found)) => skipped(CheckKind::Commit, format!("{found} (no commit required)")),
        (None, None) => skipped(CheckKind::Commit, "the statement names no commit".into()),
        (Some(expected), None) => failed(CheckKind::Commit, format!("the statement names no commit, not {expected}")),
        (Some(expected), Some(found)) if found.to_ascii_lowercase().starts_with(&expected.to_ascii_lowercase()) => {
            passed(CheckKind::Commit, found.to_owned())
        }
        (Some(expected), Some(found)) => {
            failed(CheckKind::Commit, format!("built from commit {found}, not {expected}"))
        }
    });

    let verdict = if checks.iter().any(|check| check.status == CheckStatus::Failed) {
        Verdict::Failed
    } else {
        Verdict::Verified
    };
    Ok(Verification { verdict, keyid: Some(keyid), checks, statement: Some(statement) })
}

/// The signature check, and the key that passed it.
fn check_signature(
    attestation: &Attestation,
    keys: &KeySet,
    payload: &[u8],
) -> Result<(Check, String), AttestationError> {
    let envelope = attestation.envelope();
    let message = pae(&envelope.payload_type, payload);
    let mut unknown = Vec::new();
    let mut mismatched = Vec::new();
    for (index, signature) in envelope.signatures.iter().enumerate() {
        let bytes = decode_base64(&signature.sig)
            .ok_or_else(|| AttestationError::BadBase64 { field: format!("signatures[{index}].sig") })?;
        let bytes: [u8; 64] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| AttestationError::BadSignatureLength { index, length: bytes.len() })?;
        let sig = ed25519_dalek::Signature::from_bytes(&bytes);
        let named = Some(signature.keyid.as_str()).filter(|keyid| !keyid.is_empty()).or(attestation.key_hint());
        let candidates: Vec<_> = match named {
            Some(keyid) => match keys.get(keyid) {
                Some(key) => vec![key],
                None => {
                    unknown.push(keyid.to_owned());
                    continue;
                }
            },
            None => keys.keys.iter().collect(),
        };
        for key in candidates {
            let Ok(verifying) = key.verifying_key() else { continue };
            if verifying.verify_strict(&message, &sig).is_ok() {
                let status = match key.status {
                    KeyStatus::Active => "active",
                    KeyStatus::Retired => "retired",
                };
                return Ok((
                    passed(CheckKind::Signature, format!("signed by key {} ({status})", key.keyid)),
                    key.keyid.clone(),
                ));
            }
        }
        mismatched.push(named.unwrap_or("(no keyid)").to_owned());
    }
    let message = if mismatched.is_empty() {
        let known: Vec<String> = keys
            .keys
            .iter()
            .map(|key| {
                let status = match key.status {
                    KeyStatus::Active => "active",
                    KeyStatus::Retired => "retired",
                };
                format!("{} ({status})", key.keyid)
            })
            .collect();
        format!(
            "signed with a key this server does not know: {}; the keys are {}",
            unknown.join(", "),
            known.join(", ")
        )
    } else {
        format!(
            "the signature by key {} does not match the statement: it was changed after it was signed",
            mismatched.join(", ")
        )
    };
    Ok((failed(CheckKind::Signature, message), String::new()))
}

/// The signed statement, read.
fn read_statement(payload: &[u8]) -> Result<Statement, AttestationError> {
    let value: Value = serde_json::from_slice(payload)
        .map_err(|error| AttestationError::BadStatement(format!("is not JSON: {}", not_json(&error))))?;
    let field = |name: &str| match value.get(name) {
        Some(Value::String(text)) => text.clone(),
        Some(other) => format!("({})", kind(other)),
        None => "(missing)".into(),
    };
    if field("_type") != STATEMENT_TYPE {
        return Err(AttestationError::BadStatement(format!(
            "is not an in-toto Statement v1: _type is {}",
            field("_type")
        )));
    }
    if field("predicateType") != SLSA_PROVENANCE_V1 {
        return Err(AttestationError::BadStatement(format!(
            "is not SLSA provenance v1: predicateType is {}",
            field("predicateType")
        )));
    }
    serde_json::from_value(value).map_err(|error| AttestationError::BadStatement(format!("is malformed: {error}")))
}

/// The artifact's files against the subjects.
fn check_subjects(statement: &Statement, artifact: &ArtifactDigests) -> Check {
    let subjects: BTreeMap<&str, Option<&str>> = statement
        .subject
        .iter()
        .map(|subject| (subject.name.as_deref().unwrap_or("_"), subject.digest.get("sha256").map(String::as_str)))
        .collect();
    let mut problems = Vec::new();
    for file in &artifact.subjects {
        match subjects.get(file.name.as_str()) {
            Some(Some(expected)) if expected.eq_ignore_ascii_case(&file.sha256) => {}
            Some(Some(expected)) => problems
                .push(format!("{}: modified: its sha256 is {}, the statement says {expected}", file.name, file.sha256)),
            Some(None) => problems.push(format!("{}: the statement gives no sha256 digest for it", file.name)),
            None if artifact.kind == ArtifactKind::File => {
                let names: Vec<&str> = subjects.keys().copied().collect();
                let same = statement.subject.iter().find(|subject| {
                    subject.digest.get("sha256").is_some_and(|digest| digest.eq_ignore_ascii_case(&file.sha256))
                });
                let hint = same
                    .and_then(|subject| subject.name.as_deref())
                    .map(|name| format!(" (its content is subject {name}'s: renamed?)"))
                    .unwrap_or_default();
                problems.push(format!(
                    "{}: not a subject of the statement, whose subjects are {}{hint}",
                    file.name,
                    names.join(", ")
                ));
            }
            None => problems.push(format!("{}: an extra file, not in the statement", file.name)),
        }
    }
    if artifact.kind == ArtifactKind::Directory {
        for name in subjects.keys() {
            if !artifact.subjects.iter().any(|file| file.name == *name) {
                problems.push(format!("{name}: missing from the artifact"));
            }
        }
    }
    if !problems.is_empty() {
        return failed(CheckKind::Subjects, problems.join("\n"));
    }
    match (artifact.kind, artifact.subjects.as_slice()) {
        (ArtifactKind::File, [file]) if subjects.len() == 1 => {
            passed(CheckKind::Subjects, format!("{} matches the statement's sha256 digest", file.name))
        }
        (ArtifactKind::File, [file]) => passed(
            CheckKind::Subjects,
            format!("{} matches its sha256 digest (one of the statement's {} subjects)", file.name, subjects.len()),
        ),
        _ => passed(
            CheckKind::Subjects,
            format!("all {} files match the statement's sha256 digests", artifact.subjects.len()),
        ),
    }
}

/// Whether two builder ids are the same.
fn same_builder(found: &str, expected: &str) -> bool {
    found.trim_end_matches('/') == expected.trim_end_matches('/')
}

/// Whether two repository URIs are the same.
fn same_repository(found: &str, expected: &str) -> bool {
    let normal = |uri: &str| {
        let uri = uri.trim_end_matches('/');
        uri.strip_suffix(".git").unwrap_or(uri).to_owned()
    };
    normal(found) == normal(expected)
}

/// A passed check.
fn passed(check: CheckKind, message: String) -> Check {
    Check { check, status: CheckStatus::Passed, message }
}

/// A failed check.
fn failed(check: CheckKind, message: String) -> Check {
    Check { check, status: CheckStatus::Failed, message }
}

/// A skipped check.
fn skipped(check: CheckKind, message: String) -> Check {
    Check { check, status: CheckStatus::Skipped, message }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;
    use crate::provenance::dsse::Envelope;
    use crate::provenance::keys::KeyRing;
    use crate::provenance::statement::{Subject, statement, tests::input};

    struct Fixture {
        _directory: tempfile::TempDir,
        ring: KeyRing,
        envelope: Envelope,
        artifact: ArtifactDigests,
    }

    fn fixture() -> Fixture {
        let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let ring = KeyRing::open(directory.path().join("keys")).unwrap_or_else(|error| panic!("{error}"));
        let input = input();
        let envelope = ring
            .sign(&statement(&input).unwrap_or_else(|error| panic!("{error}")))
            .unwrap_or_else(|error| panic!("{error}"));
        let mut subjects = input.subjects.clone();
        subjects.iter_mut().for_each(|subject| subject.sha256 = subject.sha256.to_ascii_lowercase());
        subjects.sort();
        Fixture {
            _directory: directory,
            ring,
            envelope,
            artifact: ArtifactDigests { kind: ArtifactKind::Directory, subjects },
        }
    }

    fn run(envelope: &Envelope, keys: &KeySet, artifact: &ArtifactDigests, policy: &Policy) -> Verification {
        verify(&Attestation::Envelope(envelope.clone()), keys, artifact, policy)
            .unwrap_or_else(|error| panic!("{error}"))
    }

    fn status(verification: &Verification, check: CheckKind) -> (CheckStatus, String) {
        verification
            .checks
            .iter()
            .find(|found| found.check == check)
            .map(|found| (found.status, found.message.clone()))
            .unwrap_or((CheckStatus::Skipped, String::new()))
    }

    #[test]
    fn a_signed_statement_verifies_and_policy_is_checked() {
        let fixture = fixture();
        let keys = fixture.ring.key_set().clone();
        let policy = Policy {
            builder_id: Some("https://slipway.example.com/".into()),
            repository: Some("https://git.example.com/team/app.git".into()),
            commit: Some("0123456".into()),
        };
        let verification = run(&fixture.envelope, &keys, &fixture.artifact, &policy);
        assert!(verification.verified(), "{verification:#?}");
        assert_eq!(verification.keyid.as_deref(), Some(fixture.ring.active_key_id()));
        assert!(verification.checks.iter().all(|check| check.status == CheckStatus::Passed));

        // The same envelope in a bundle.
        let bundle = Attestation::Bundle(fixture.envelope.to_bundle());
        assert!(verify(&bundle, &keys, &fixture.artifact, &policy).is_ok_and(|found| found.verified()));

        for (policy, check, text) in [
            (
                Policy { commit: Some("fedcba9".into()), ..Policy::default() },
                CheckKind::Commit,
                "built from commit 0123456789abcdef0123456789abcdef01234567, not fedcba9",
            ),
            (
                Policy { builder_id: Some("https://other.example.com".into()), ..Policy::default() },
                CheckKind::Builder,
                "built by https://slipway.example.com, not https://other.example.com",
            ),
            (
                Policy { repository: Some("https://git.example.com/team/other".into()), ..Policy::default() },
                CheckKind::Repository,
                "built from https://git.example.com/team/app, not https://git.example.com/team/other",
            ),
        ] {
            let verification = run(&fixture.envelope, &keys, &fixture.artifact, &policy);
            assert_eq!(verification.verdict, Verdict::Failed);
            assert_eq!(status(&verification, check), (CheckStatus::Failed, text.into()));
        }
        assert_eq!(
            verify(&bundle, &keys, &fixture.artifact, &Policy { commit: Some("0123".into()), ..Policy::default() }),
            Err(VerifyError::Commit("0123".into()))
        );
    }

    #[test]
    fn modified_missing_and_extra_files_fail() {
        let fixture = fixture();
        let keys = fixture.ring.key_set().clone();
        let mut artifact = fixture.artifact.clone();
        artifact.subjects[1].sha256 = "c".repeat(64);
        artifact.subjects.remove(0);
        artifact.subjects.push(Subject::new("extra.txt", &"d".repeat(64)).unwrap_or_else(|error| panic!("{error}")));
        let verification = run(&fixture.envelope, &keys, &artifact, &Policy::default());
        assert_eq!(verification.verdict, Verdict::Failed);
        let (outcome, message) = status(&verification, CheckKind::Subjects);
        assert_eq!(outcome, CheckStatus::Failed);
        assert_eq!(
            message,
            format!(
                "bin/app: modified: its sha256 is {}, the statement says {}\nextra.txt: an extra file, not in the statement\nREADME.md: missing from the artifact",
                "c".repeat(64),
                "b".repeat(64)
            )
        );
        // One file of the artifact, on its own.
        let one = ArtifactDigests { kind: ArtifactKind::File, subjects: vec![fixture.artifact.subjects[1].clone()] };
        assert!(run(&fixture.envelope, &keys, &one, &Policy::default()).verified());
        let renamed = ArtifactDigests {
            kind: ArtifactKind::File,
            subjects: vec![Subject { name: "app (1)".into(), ..fixture.artifact.subjects[1].clone() }],
        };
        let (_, message) = status(&run(&fixture.envelope, &keys, &renamed, &Policy::default()), CheckKind::Subjects);
        assert!(message.contains("renamed?"), "{message}");
    }

    #[test]
    fn a_tampered_payload_or_a_wrong_key_fails() {
        let fixture = fixture();
        let keys = fixture.ring.key_set().clone();
        let mut tampered = fixture.envelope.clone();
        let payload = String::from_utf8(tampered.payload_bytes().unwrap_or_default())
            .unwrap_or_default()
            .replace("refs/heads/main", "refs/heads/evil");
        tampered.payload = base64::engine::general_purpose::STANDARD.encode(payload);
        let verification = run(&tampered, &keys, &fixture.artifact, &Policy::default());
        assert_eq!(verification.verdict, Verdict::Failed);
        assert!(verification.statement.is_none());
        let (outcome, message) = status(&verification, CheckKind::Signature);
        assert_eq!(outcome, CheckStatus::Failed);
        assert!(message.contains("does not match the statement"), "{message}");
        assert_eq!(status(&verification, CheckKind::Subjects).0, CheckStatus::Skipped);

        let other = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let other = KeyRing::open(other.path()).unwrap_or_else(|error| panic!("{error}"));
        let verification = run(&fixture.envelope, other.key_set(), &fixture.artifact, &Policy::default());
        let (outcome, message) = status(&verification, CheckKind::Signature);
        assert_eq!(outcome, CheckStatus::Failed);
        assert_eq!(
            message,
            format!(
                "signed with a key this server does not know: {}; the keys are {} (active)",
                fixture.ring.active_key_id(),
                other.active_key_id()
            )
        );
        // The other key claiming this key's id still fails.
        let mut impostor = other.key_set().clone();
        impostor.keys[0].keyid = fixture.ring.active_key_id().to_owned();
        let (outcome, _) =
            status(&run(&fixture.envelope, &impostor, &fixture.artifact, &Policy::default()), CheckKind::Signature);
        assert_eq!(outcome, CheckStatus::Failed);
    }

    #[test]
    fn a_rotated_key_still_verifies_what_it_signed() {
        let mut fixture = fixture();
        let old = fixture.ring.active_key_id().to_owned();
        fixture.ring.rotate().unwrap_or_else(|error| panic!("{error}"));
        let keys = fixture.ring.key_set().clone();
        let verification = run(&fixture.envelope, &keys, &fixture.artifact, &Policy::default());
        assert!(verification.verified());
        assert_eq!(status(&verification, CheckKind::Signature).1, format!("signed by key {old} (retired)"));
        let new = fixture
            .ring
            .sign(&statement(&input()).unwrap_or_else(|error| panic!("{error}")))
            .unwrap_or_else(|error| panic!("{error}"));
        assert_ne!(new.signatures[0].keyid, old);
        assert!(run(&new, &keys, &fixture.artifact, &Policy::default()).verified());
    }

    #[test]
    fn a_signed_payload_that_is_not_provenance_is_bad_input() {
        let fixture = fixture();
        let keys = fixture.ring.key_set().clone();
        let sign =
            |payload: &[u8]| Attestation::Envelope(fixture.ring.sign_payload(crate::provenance::PAYLOAD_TYPE, payload));
        let error = |payload: &[u8]| {
            verify(&sign(payload), &keys, &fixture.artifact, &Policy::default()).err().map(|error| error.to_string())
        };
        assert_eq!(
            error(b"nope").as_deref(),
            Some("the signed statement is not JSON: not JSON at line 1, column 2: expected ident")
        );
        assert_eq!(
            error(br#"{"_type": "https://in-toto.io/Statement/v1", "predicateType": "https://spdx.dev/Document"}"#)
                .as_deref(),
            Some("the signed statement is not SLSA provenance v1: predicateType is https://spdx.dev/Document")
        );
    }
}
