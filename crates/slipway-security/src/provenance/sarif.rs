//! A [`Verification`] as a SARIF 2.1.0 log, so that a failed provenance check lands where code
//! scanning results do: one rule per check (`provenance/signature`, `provenance/subjects`,
//! `provenance/builder`, `provenance/repository`, `provenance/commit`), one `error` result per
//! failed check located at the artifact (a directory's checks at the directory), and the
//! verdict, the key and the attestation's path in the run's properties. A verified artifact is a
//! log with no results.

use serde_json::{Value, json};

use super::verify::{CheckKind, CheckStatus, Verification};
use crate::report::uri;

/// Every check, in the order they run.
const CHECKS: [(CheckKind, &str); 5] = [
    (CheckKind::Signature, "The attestation's DSSE signature verifies with a key of the server's key set."),
    (CheckKind::Subjects, "The artifact's SHA-256 digests are exactly the statement's subjects."),
    (CheckKind::Builder, "The provenance names the required builder."),
    (CheckKind::Repository, "The provenance names the required repository."),
    (CheckKind::Commit, "The provenance names the required commit."),
];

/// The rule id of a check.
fn rule_id(check: CheckKind) -> String {
    format!("provenance/{}", check.name())
}

/// `verification` of `artifact` (as given on the command line) with the attestation at
/// `provenance`, as a SARIF 2.1.0 log.
#[must_use]
pub fn sarif(verification: &Verification, artifact: &str, provenance: &str) -> Value {
    let rules: Vec<Value> = CHECKS
        .iter()
        .map(|(check, description)| {
            json!({
                "id": rule_id(*check),
                "name": check.name(),
                "shortDescription": { "text": description },
                "defaultConfiguration": { "level": "error" },
                "properties": { "tags": ["security", "provenance"] },
            })
        })
        .collect();
    let artifact_uri = uri(artifact.trim_end_matches('/'));
    let results: Vec<Value> = verification
        .checks
        .iter()
        .filter(|check| check.status == CheckStatus::Failed)
        .map(|check| {
            let index = CHECKS.iter().position(|(kind, _)| *kind == check.check).unwrap_or_default();
            json!({
                "ruleId": rule_id(check.check),
                "ruleIndex": index,
                "level": "error",
                "message": { "text": format!("{}: {}", check.check.name(), check.message) },
                "locations": [{ "physicalLocation": { "artifactLocation": { "uri": artifact_uri } } }],
            })
        })
        .collect();
    let mut log = crate::report::sarif_log(Some("https://slsa.dev/spec/v1.0/verifying-artifacts"), rules, results);
    log["runs"][0]["properties"] =
        json!({ "verdict": verification.verdict, "keyid": verification.keyid, "attestation": provenance });
    log
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provenance::verify::{Check, Verdict};

    fn check(kind: CheckKind, status: CheckStatus, message: &str) -> Check {
        Check { check: kind, status, message: message.to_owned() }
    }

    #[test]
    fn each_failed_check_is_an_error_at_the_artifact_and_the_log_is_valid_sarif() {
        let verification = Verification {
            verdict: Verdict::Failed,
            keyid: Some("k1".to_owned()),
            checks: vec![
                check(CheckKind::Signature, CheckStatus::Passed, "signed by k1"),
                check(CheckKind::Subjects, CheckStatus::Failed, "app.tar.gz: sha256 abc, the statement says def"),
                check(CheckKind::Builder, CheckStatus::Skipped, "not required"),
                check(CheckKind::Repository, CheckStatus::Passed, "https://example.test/r"),
                check(CheckKind::Commit, CheckStatus::Failed, "the provenance names 1234567, not 89abcde"),
            ],
            statement: None,
        };
        let log = sarif(&verification, "out/my app.tar.gz", "out/my app.tar.gz.intoto.jsonl");
        assert_eq!(slipway_testing::schemas::sarif_errors(&log), Vec::<String>::new());
        let results = log["runs"][0]["results"].as_array().cloned().unwrap_or_default();
        let ids: Vec<&str> = results.iter().filter_map(|result| result["ruleId"].as_str()).collect();
        assert_eq!(ids, ["provenance/subjects", "provenance/commit"]);
        assert_eq!(results[0]["ruleIndex"], 1);
        assert_eq!(results[1]["ruleIndex"], 4);
        assert_eq!(results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "out/my%20app.tar.gz");
        assert_eq!(results[1]["message"]["text"], "commit: the provenance names 1234567, not 89abcde");
        assert_eq!(log["runs"][0]["properties"]["verdict"], "failed");
        assert_eq!(log["runs"][0]["tool"]["driver"]["rules"].as_array().map(Vec::len), Some(5));
    }

    #[test]
    fn a_verified_artifact_has_no_results() {
        let verification = Verification {
            verdict: Verdict::Verified,
            keyid: Some("k1".to_owned()),
            checks: vec![check(CheckKind::Signature, CheckStatus::Passed, "signed by k1")],
            statement: None,
        };
        let log = sarif(&verification, "drop/", "drop.intoto.jsonl");
        assert_eq!(slipway_testing::schemas::sarif_errors(&log), Vec::<String>::new());
        assert_eq!(log["runs"][0]["results"], json!([]));
        assert_eq!(log["runs"][0]["properties"]["verdict"], "verified");
    }
}
