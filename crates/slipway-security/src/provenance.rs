//! Signed provenance: what built an artifact, from which source, signed by the server.
//!
//! For each artifact a run publishes, the server states how it was made as an in-toto
//! [Statement v1](https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md) whose
//! predicate is [SLSA provenance v1](https://slsa.dev/spec/v1.1/provenance) ([`statement`]:
//! the types, and [`statement()`], a pure constructor from a plain
//! [`ProvenanceInput`]). The statement's subjects are the artifact's files with their SHA-256
//! digests ([`digest`] makes them from a file or a directory, in a fixed order). The statement is
//! the payload of a [DSSE](https://github.com/secure-systems-lab/dsse) envelope signed with
//! Ed25519 ([`dsse`]: the envelope, its pre-authentication encoding, and a key-based Sigstore
//! bundle v0.3 that carries the same envelope). The keys live in a [`KeyRing`] directory kept by
//! the server: one active signing key and the public halves of the keys it replaced, which still
//! verify what they signed; [`KeySet`] is the public document the server serves at
//! [`WELL_KNOWN_KEYS_PATH`]. [`verify`] checks an attestation against a key set, the artifact's
//! digests and an optional policy (builder, repository, commit), offline, and returns a
//! [`Verification`]: each check with its outcome and message, and one [`Verdict`]; [`sarif()`]
//! writes one as a SARIF 2.1.0 log.
//!
//! Everything but [`KeyRing`] (files in a directory) and [`digest`] (reading the artifact) is
//! pure. `docs/provenance.md` describes the formats, the key ring and `slipway verify`.

pub mod digest;
pub mod dsse;
pub mod keys;
pub mod sarif;
pub mod statement;
pub mod verify;

pub use digest::{ArtifactDigests, ArtifactKind, DigestError, artifact_digests};
pub use dsse::{
    Attestation, AttestationError, BUNDLE_MEDIA_TYPE, Bundle, Envelope, PAYLOAD_TYPE, Signature, pae, parse_attestation,
};
pub use keys::{KeyRing, KeyRingError, KeySet, KeySetError, KeyStatus, PublicKeyEntry, WELL_KNOWN_KEYS_PATH, key_id};
pub use sarif::sarif;
pub use statement::{
    BUILD_TYPE, InputError, PipelineRef, Provenance, ProvenanceInput, ResourceDescriptor, SLSA_PROVENANCE_V1,
    STATEMENT_TYPE, Statement, Subject, TaskUsed, statement,
};
pub use verify::{
    Check, CheckKind, CheckStatus, MIN_COMMIT_PREFIX, Policy, Verdict, Verification, VerifyError, verify,
};
