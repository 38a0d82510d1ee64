//! `slipway verify`, end to end: a key ring and signed attestations made with
//! `slipway-security`'s provenance library, as the server will make them (a bare DSSE envelope
//! beside a file, a Sigstore bundle beside a directory), then verified by the real binary:
//! verified with a policy (exit 0), with a single PEM key, as JSON; a wrong commit, a wrong key
//! set, a tampered payload, a modified file and a modified directory (exit 1, naming what
//! differs); a malformed envelope, an envelope without signatures, a URL as `--keys`, a missing
//! attestation, a short `--commit` (exit 2). Key ids are random and replaced in the transcript.

use std::path::Path;

use slipway_security::provenance::{self, KeyRing, PipelineRef, ProvenanceInput, TaskUsed, artifact_digests};

use crate::support::{scratch_directory, slipway, transcript};

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|error| panic!("{error}"));
    }
    std::fs::write(path, text).unwrap_or_else(|error| panic!("{error}"));
}

/// A run's input for an artifact at `path`.
fn input(path: &Path) -> ProvenanceInput {
    ProvenanceInput {
        builder_id: "https://slipway.example.com".into(),
        builder_version: "0.1.0".into(),
        invocation_id: "https://slipway.example.com/pipelines/app/runs/42".into(),
        pipeline: PipelineRef { name: "app".into(), yaml_path: "azure-pipelines.yml".into() },
        repository: "https://git.example.com/team/app".into(),
        git_ref: "refs/heads/main".into(),
        commit: "0123456789abcdef0123456789abcdef01234567".into(),
        parameters: serde_json::Map::new(),
        tasks: vec![TaskUsed { name: "Bash".into(), version: "3.201.1".into() }],
        started_on: "2026-12-07T08:00:00Z".parse().unwrap_or_else(|error| panic!("{error}")),
        finished_on: "2026-12-07T08:03:10Z".parse().unwrap_or_else(|error| panic!("{error}")),
        subjects: artifact_digests(path).unwrap_or_else(|error| panic!("{error}")).subjects,
    }
}

#[test]
fn signed_provenance_verified_offline_and_what_fails() {
    let directory = scratch_directory("verify");
    write(&directory, "dist/app.tar.gz", "the application\n");
    write(&directory, "drop/bin/app", "#!/bin/sh\necho app\n");
    write(&directory, "drop/README.md", "# app\n");

    let ring = KeyRing::open(directory.join("server/provenance-keys")).unwrap_or_else(|error| panic!("{error}"));
    let other = KeyRing::open(directory.join("other/provenance-keys")).unwrap_or_else(|error| panic!("{error}"));
    write(&directory, "keys.json", &ring.key_set().to_json());
    write(&directory, "other-keys.json", &other.key_set().to_json());
    write(&directory, "key.pem", &ring.key_set().keys[0].public_key_pem);

    let sign = |path: &str| {
        let statement = provenance::statement(&input(&directory.join(path))).unwrap_or_else(|error| panic!("{error}"));
        ring.sign(&statement).unwrap_or_else(|error| panic!("{error}"))
    };
    let file_envelope = sign("dist/app.tar.gz");
    write(&directory, "dist/app.tar.gz.intoto.jsonl", &file_envelope.to_json_line());
    write(&directory, "drop.sigstore.json", &sign("drop").to_bundle().to_json());

    let mut tampered = file_envelope.clone();
    // One base64 digit of the payload changed: the statement is not what was signed.
    let digit = if tampered.payload.as_bytes()[100] == b'A' { "B" } else { "A" };
    tampered.payload.replace_range(100..101, digit);
    write(&directory, "tampered.intoto.jsonl", &tampered.to_json_line());
    write(&directory, "broken.intoto.jsonl", "{\"payloadType\": \"application/vnd.in-toto+json\",\n \"payload\": }\n");
    let mut unsigned = file_envelope.clone();
    unsigned.signatures.clear();
    write(&directory, "unsigned.intoto.jsonl", &unsigned.to_json_line());

    let keyid = ring.active_key_id().to_owned();
    let other_keyid = other.active_key_id().to_owned();
    let mut transcripts = Vec::new();
    let mut run = |title: &str, arguments: &[&str]| {
        let mut command = slipway(&directory);
        command.arg("verify").args(arguments);
        let text = transcript(&mut command).replace(&keyid, "[KEYID]").replace(&other_keyid, "[OTHER-KEYID]");
        transcripts.push(format!("$ {title}\n{text}"));
    };
    let policy = [
        "--builder",
        "https://slipway.example.com",
        "--repository",
        "https://git.example.com/team/app",
        "--commit",
        "0123456",
    ];
    run(
        "a file, its envelope beside it, with a policy",
        &[&["dist/app.tar.gz", "--keys", "keys.json"][..], &policy].concat(),
    );
    run("a directory, its bundle beside it", &["drop/", "--keys", "keys.json"]);
    run("the key as one PEM public key", &["dist/app.tar.gz", "--keys", "key.pem"]);
    run("as JSON", &["dist/app.tar.gz", "--keys", "keys.json", "--format", "json"]);
    run("a wrong commit", &["dist/app.tar.gz", "--keys", "keys.json", "--commit", "fedcba9"]);
    run("another server's keys", &["dist/app.tar.gz", "--keys", "other-keys.json"]);
    run("a tampered payload", &["dist/app.tar.gz", "--keys", "keys.json", "--provenance", "tampered.intoto.jsonl"]);
    run("a malformed envelope", &["dist/app.tar.gz", "--keys", "keys.json", "--provenance", "broken.intoto.jsonl"]);
    run(
        "an envelope without signatures",
        &["dist/app.tar.gz", "--keys", "keys.json", "--provenance", "unsigned.intoto.jsonl"],
    );
    run(
        "a URL as --keys",
        &["dist/app.tar.gz", "--keys", "https://slipway.example.com/.well-known/slipway/provenance-keys.json"],
    );
    run("no attestation beside the artifact", &["drop/README.md", "--keys", "keys.json"]);
    run("a commit prefix too short", &["dist/app.tar.gz", "--keys", "keys.json", "--commit", "0123"]);

    write(&directory, "dist/app.tar.gz", "the application, changed\n");
    write(&directory, "drop/bin/app", "#!/bin/sh\necho changed\n");
    write(&directory, "drop/extra.txt", "not built\n");
    std::fs::remove_file(directory.join("drop/README.md")).unwrap_or_else(|error| panic!("{error}"));
    run("a modified file", &["dist/app.tar.gz", "--keys", "keys.json"]);
    run("a modified directory", &["drop", "--keys", "keys.json"]);
    run(
        "a modified file and a wrong commit, as SARIF",
        &["dist/app.tar.gz", "--keys", "keys.json", "--commit", "fedcba9", "--format", "sarif"],
    );
    insta::assert_snapshot!(transcripts.join("\n"));
    let _ = std::fs::remove_dir_all(&directory);
}
