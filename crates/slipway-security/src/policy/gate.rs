//! The policy check on an environment, pure: policies given as `(path, text)` pairs (as the
//! server keeps them) evaluated against one JSON input (the run, the environment, and what the
//! run produced: a Terraform plan, an SBOM, vulnerability results, provenance), giving a
//! [`Decision`]: allowed, or denied with the failures' messages; warnings either way. The rules
//! are conftest's (`deny`/`violation` deny, `warn` warns, `exception` exempts), so a policy that
//! `slipway policy test` passes locally decides the same here.

use serde::Serialize;

use super::PolicyError;
use super::check::{self, CheckResult, Options, PolicyResult};
use super::input::Input;
use super::load::{PolicySet, RegoVersion};

/// What an environment's policy check evaluates against: the fields of `input`. Each is left out
/// of the input when `None`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct GateInput {
    /// `input.run`: the run (pipeline, number, branch, commit, who started it, stage).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<serde_json::Value>,
    /// `input.environment`: the environment (name, its resources).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<serde_json::Value>,
    /// `input.plan`: a Terraform/OpenTofu plan (`terraform show -json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<serde_json::Value>,
    /// `input.sbom`: the run's SBOM (CycloneDX or SPDX JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sbom: Option<serde_json::Value>,
    /// `input.vulns`: vulnerability results.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vulns: Option<serde_json::Value>,
    /// `input.provenance`: the build's provenance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<serde_json::Value>,
}

impl GateInput {
    /// The input as one JSON object.
    #[must_use]
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_else(|_| serde_json::json!({}))
    }
}

/// How the check evaluates.
#[derive(Clone, Debug, PartialEq)]
pub struct GateOptions {
    /// The namespaces whose rules decide (`main`).
    pub namespaces: Vec<String>,
    /// Data merged into `data` (an object), if any.
    pub data: Option<serde_json::Value>,
    /// Whether warnings deny too.
    pub fail_on_warn: bool,
    /// The Rego dialect.
    pub rego_version: RegoVersion,
}

impl Default for GateOptions {
    fn default() -> Self {
        Self { namespaces: vec!["main".to_owned()], data: None, fail_on_warn: false, rego_version: RegoVersion::Auto }
    }
}

/// The check's decision.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decision {
    /// Whether the stage may start: no failures (and no warnings with `fail_on_warn`).
    pub allowed: bool,
    /// The failures (`deny`, `violation`), in the order the rules gave them.
    pub failures: Vec<PolicyResult>,
    /// The warnings (`warn`).
    pub warnings: Vec<PolicyResult>,
    /// How many rules an `exception` exempted the input from.
    pub exceptions: usize,
    /// How many tests passed.
    pub successes: usize,
    /// The results per namespace (for a report: SARIF, JUnit, conftest's JSON).
    pub results: Vec<CheckResult>,
}

impl Decision {
    /// The failures' messages.
    #[must_use]
    pub fn messages(&self) -> Vec<&str> {
        self.failures.iter().map(|failure| failure.msg.as_str()).collect()
    }
}

/// Evaluates `policies` (`(path, text)` pairs) against `input`, conftest's way, and decides.
///
/// # Errors
/// [`PolicyError::NoPolicies`] without policies, [`PolicyError::Syntax`] for a policy that does
/// not parse (its `file:line:col`), [`PolicyError::Unusable`] for data that is not an object,
/// [`PolicyError::UnknownNamespace`], [`PolicyError::Evaluation`] when a rule cannot be evaluated.
pub fn evaluate(
    policies: &[(String, String)],
    input: &serde_json::Value,
    options: &GateOptions,
) -> Result<Decision, PolicyError> {
    let mut set = PolicySet::from_sources(policies, options.rego_version)?;
    if let Some(data) = &options.data {
        set.add_data("data", regorus::Value::from(data.clone()))?;
    }
    let namespaces = check::namespaces(
        &set,
        &Options { namespaces: options.namespaces.clone(), all_namespaces: false, combine: false },
    )?;
    let input = Input::from_json("input", input.clone());
    let mut results = Vec::new();
    for namespace in &namespaces {
        let mut engine = set.engine.clone();
        engine.set_input(input.value.clone());
        let (rules, count, has_exception) = check::rules_of(&set, namespace);
        results.push(check::check_document(&mut engine, namespace, "input", &rules, count, has_exception)?);
    }
    let failures: Vec<PolicyResult> = results.iter().flat_map(|result| result.failures.clone()).collect();
    let warnings: Vec<PolicyResult> = results.iter().flat_map(|result| result.warnings.clone()).collect();
    let allowed = failures.is_empty() && (!options.fail_on_warn || warnings.is_empty());
    Ok(Decision {
        allowed,
        failures,
        warnings,
        exceptions: results.iter().map(|result| result.exceptions.len()).sum(),
        successes: results.iter().map(|result| result.successes).sum(),
        results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"package main
import rego.v1

deny_production_from_main contains msg if {
  input.environment.name == "production"
  input.run.branch != "refs/heads/main"
  msg := sprintf("only main deploys to production, not %s", [input.run.branch])
}

deny_critical contains msg if {
  some vuln in input.vulns.findings
  vuln.severity == "critical"
  msg := sprintf("%s is critical", [vuln.id])
}

warn contains "no SBOM" if not input.sbom
"#;

    #[test]
    fn a_gate_allows_or_denies_with_messages() {
        let policies = vec![("policy/gate.rego".to_owned(), POLICY.to_owned())];
        let input = GateInput {
            run: Some(serde_json::json!({"branch": "refs/heads/feature"})),
            environment: Some(serde_json::json!({"name": "production"})),
            vulns: Some(serde_json::json!({"findings": [{"id": "CVE-2026-1", "severity": "critical"}]})),
            ..GateInput::default()
        };
        let decision =
            evaluate(&policies, &input.to_value(), &GateOptions::default()).unwrap_or_else(|error| panic!("{error}"));
        assert!(!decision.allowed);
        assert_eq!(
            decision.messages(),
            ["only main deploys to production, not refs/heads/feature", "CVE-2026-1 is critical"]
        );
        assert_eq!(decision.warnings.len(), 1);

        let input = GateInput {
            run: Some(serde_json::json!({"branch": "refs/heads/main"})),
            environment: Some(serde_json::json!({"name": "production"})),
            sbom: Some(serde_json::json!({"bomFormat": "CycloneDX"})),
            ..GateInput::default()
        };
        let decision =
            evaluate(&policies, &input.to_value(), &GateOptions::default()).unwrap_or_else(|error| panic!("{error}"));
        assert!(decision.allowed, "{decision:?}");
        assert_eq!(decision.successes, 3);

        let error = evaluate(
            &[("policy/bad.rego".to_owned(), "package main\n\ndeny contains msg if {\n  msg := \n}\n".to_owned())],
            &serde_json::json!({}),
            &GateOptions::default(),
        );
        assert!(
            matches!(&error, Err(PolicyError::Syntax { path, position, .. }) if path == "policy/bad.rego" && position.line >= 4),
            "{error:?}"
        );
    }
}
