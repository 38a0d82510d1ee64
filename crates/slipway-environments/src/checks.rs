//! The types of checks and their settings, read from the JSON the API takes, with every mistake
//! named by its field; pure.
//!
//! Settings use Azure's names where Azure has the check (`approvers`, `minRequiredApprovers`,
//! `requesterCannotBeApprover`, `instructions`; `allowedBranches`; business hours' `timeZone`,
//! `days`, `startTime`, `endTime`; Invoke REST API's `method`, `url`, `headers`, `body`,
//! `successCriteria`, `retryIntervalMinutes`). Checks are evaluated in Azure's order: static
//! checks (branch control), approvals, dynamic checks (business hours, REST API, metrics), and
//! the exclusive lock last.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// Azure's default timeout of a check: 30 days.
pub const DEFAULT_TIMEOUT_MINUTES: u32 = 43_200;

/// The longest timeout a check may have (a year).
pub const MAX_TIMEOUT_MINUTES: u32 = 525_600;

/// The types of checks Slipway knows, with whether each is there yet.
pub const KINDS: &[(&str, bool)] = &[
    ("approval", true),
    ("branchControl", true),
    ("businessHours", true),
    ("exclusiveLock", true),
    ("invokeRestApi", true),
    ("queryMetrics", true),
    ("requiredTemplate", true),
    ("verifyProvenance", true),
    ("policy", true),
];

/// The last of [`CheckSettings::phase`]'s values.
pub const LAST_PHASE: u8 = 4;

/// A check's settings, by type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "settings", rename_all = "camelCase")]
pub enum CheckSettings {
    /// People must approve.
    Approval(ApprovalSettings),
    /// The run's branch must be one of these.
    BranchControl(BranchControlSettings),
    /// Only within these hours.
    BusinessHours(BusinessHoursSettings),
    /// One run's stage at a time.
    ExclusiveLock(ExclusiveLockSettings),
    /// A REST API must answer as the criteria say.
    InvokeRestApi(crate::dynamic::InvokeRestApiSettings),
    /// A Prometheus query must return nothing.
    QueryMetrics(crate::dynamic::QueryMetricsSettings),
    /// The pipeline must extend one of these templates.
    RequiredTemplate(RequiredTemplateSettings),
    /// The run's artifacts must carry valid provenance signed by this server for this
    /// repository and commit.
    VerifyProvenance(VerifyProvenanceSettings),
    /// Rego policies (conftest's conventions) must not deny the deployment.
    Policy(PolicySettings),
}

impl CheckSettings {
    /// The type's name.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Approval(_) => "approval",
            Self::BranchControl(_) => "branchControl",
            Self::BusinessHours(_) => "businessHours",
            Self::ExclusiveLock(_) => "exclusiveLock",
            Self::InvokeRestApi(_) => "invokeRestApi",
            Self::QueryMetrics(_) => "queryMetrics",
            Self::RequiredTemplate(_) => "requiredTemplate",
            Self::VerifyProvenance(_) => "verifyProvenance",
            Self::Policy(_) => "policy",
        }
    }

    /// The settings alone, as JSON.
    #[must_use]
    pub fn settings_json(&self) -> Json {
        match self {
            Self::Approval(settings) => serde_json::to_value(settings),
            Self::BranchControl(settings) => serde_json::to_value(settings),
            Self::BusinessHours(settings) => serde_json::to_value(settings),
            Self::ExclusiveLock(settings) => serde_json::to_value(settings),
            Self::InvokeRestApi(settings) => serde_json::to_value(settings),
            Self::QueryMetrics(settings) => serde_json::to_value(settings),
            Self::RequiredTemplate(settings) => serde_json::to_value(settings),
            Self::VerifyProvenance(settings) => serde_json::to_value(settings),
            Self::Policy(settings) => serde_json::to_value(settings),
        }
        .unwrap_or(Json::Null)
    }

    /// When Azure evaluates it: 0 static, 1 pre-check approvals, 2 dynamic (plain approvals
    /// among them), 3 post-check approvals, 4 the exclusive lock ([`LAST_PHASE`]).
    #[must_use]
    pub fn phase(&self) -> u8 {
        match self {
            Self::BranchControl(_) | Self::RequiredTemplate(_) | Self::VerifyProvenance(_) | Self::Policy(_) => 0,
            Self::Approval(ApprovalSettings { order: ApprovalOrder::PreCheck, .. }) => 1,
            Self::Approval(ApprovalSettings { order: ApprovalOrder::Dynamic, .. })
            | Self::BusinessHours(_)
            | Self::InvokeRestApi(_)
            | Self::QueryMetrics(_) => 2,
            Self::Approval(ApprovalSettings { order: ApprovalOrder::PostCheck, .. }) => 3,
            Self::ExclusiveLock(_) => LAST_PHASE,
        }
    }

    /// Reads the settings of a check of type `kind`, naming every field that is wrong.
    ///
    /// # Errors
    /// A [`SettingsError`] for an unknown type, one not there yet, or bad settings.
    pub fn parse(kind: &str, settings: &Json) -> Result<Self, SettingsError> {
        let settings = if settings.is_null() { &Json::Object(serde_json::Map::new()) } else { settings };
        let read = |what: &str| -> Result<Self, SettingsError> {
            let wrapped = serde_json::json!({ "type": what, "settings": settings });
            serde_json::from_value::<Self>(wrapped)
                .map_err(|error| SettingsError::Invalid { kind: what.to_owned(), reason: error.to_string() })
        };
        let parsed = match kind {
            "approval" | "branchControl" | "businessHours" | "exclusiveLock" | "invokeRestApi" | "queryMetrics"
            | "requiredTemplate" | "verifyProvenance" | "policy" => read(kind)?,
            other => {
                return Err(match KINDS.iter().find(|(name, _)| *name == other) {
                    Some(_) => SettingsError::NotYet(other.to_owned()),
                    None => SettingsError::UnknownKind(other.to_owned()),
                });
            }
        };
        parsed.validate()?;
        Ok(parsed)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        let invalid = |reason: String| Err(SettingsError::Invalid { kind: self.kind().to_owned(), reason });
        match self {
            Self::Approval(settings) => {
                if settings.approvers.is_empty() || settings.approvers.iter().any(|name| name.trim().is_empty()) {
                    return invalid("'approvers' must name at least one user, and no empty name".into());
                }
                if settings.min_required_approvers as usize > settings.approvers.len() {
                    return invalid(format!(
                        "'minRequiredApprovers' is {} but 'approvers' names {}; it can be at most that (0 means all of them)",
                        settings.min_required_approvers,
                        settings.approvers.len()
                    ));
                }
                Ok(())
            }
            Self::BranchControl(settings) => {
                if settings.allowed_branches.patterns().is_empty() {
                    return invalid(
                        "'allowedBranches' must name at least one branch or pattern (such as 'refs/heads/main' or '*')"
                            .into(),
                    );
                }
                for pattern in settings.allowed_branches.patterns() {
                    if let Err(error) = crate::evaluate::branch_matcher(&pattern) {
                        return invalid(format!("'allowedBranches': {error}"));
                    }
                }
                Ok(())
            }
            Self::BusinessHours(settings) => crate::evaluate::BusinessHours::new(settings)
                .map(|_| ())
                .map_err(|reason| SettingsError::Invalid { kind: self.kind().to_owned(), reason: reason.to_string() }),
            Self::ExclusiveLock(_) => Ok(()),
            Self::InvokeRestApi(settings) => settings
                .validate()
                .map_err(|reason| SettingsError::Invalid { kind: self.kind().to_owned(), reason: reason.to_string() }),
            Self::QueryMetrics(settings) => settings
                .validate()
                .map_err(|reason| SettingsError::Invalid { kind: self.kind().to_owned(), reason: reason.to_string() }),
            Self::RequiredTemplate(settings) => {
                if settings.required_templates.is_empty() {
                    return invalid("'requiredTemplates' must name at least one template".into());
                }
                if let Some(template) =
                    settings.required_templates.iter().find(|template| template.template_path.trim().is_empty())
                {
                    return invalid(format!(
                        "a template of repository '{}' has an empty 'templatePath'",
                        template.repository_name
                    ));
                }
                Ok(())
            }
            Self::VerifyProvenance(settings) => {
                if settings.artifacts.iter().any(|name| name.trim().is_empty()) {
                    return invalid("'artifacts' names an empty artifact; leave the list out for all of them".into());
                }
                Ok(())
            }
            Self::Policy(settings) => {
                if settings.policies.is_empty() {
                    return invalid(
                        "'policies' must hold at least one Rego policy ({\"path\": \"deploy.rego\", \"rego\": \"package main ...\"})"
                            .into(),
                    );
                }
                if let Some(policy) = settings.policies.iter().find(|policy| policy.path.trim().is_empty()) {
                    return invalid(format!(
                        "a policy has an empty 'path' (its text begins {:?})",
                        policy.rego.chars().take(30).collect::<String>()
                    ));
                }
                if let Some(input) = settings
                    .inputs
                    .iter()
                    .find(|input| input.artifact.trim().is_empty() || input.path.trim().is_empty())
                {
                    return invalid(format!(
                        "an input names artifact {:?} and path {:?}; both are needed",
                        input.artifact, input.path
                    ));
                }
                crate::security_checks::compile(settings).map_err(|reason| SettingsError::Invalid {
                    kind: self.kind().to_owned(),
                    reason: reason.to_string(),
                })
            }
        }
    }
}

/// Why a check's settings were refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    /// No such type.
    #[error(
        "'{0}' is not a type of check; the types are approval, branchControl, businessHours, exclusiveLock, \
         invokeRestApi, queryMetrics, requiredTemplate, verifyProvenance and policy"
    )]
    UnknownKind(String),
    /// A type Slipway does not evaluate yet.
    #[error(
        "checks of type '{0}' are not there yet in Slipway; the types it evaluates now are approval, branchControl, \
         businessHours, exclusiveLock, invokeRestApi, queryMetrics, requiredTemplate, verifyProvenance and policy"
    )]
    NotYet(String),
    /// Bad settings.
    #[error("the settings of the {kind} check are wrong: {reason}")]
    Invalid {
        /// The type.
        kind: String,
        /// What is wrong.
        reason: String,
    },
}

/// What is wrong with one setting of a check (the `reason` of [`SettingsError::Invalid`]).
#[derive(Debug, thiserror::Error)]
pub enum InvalidSetting {
    /// A URL that is not `http://` or `https://`.
    #[error("'{field}' is '{value}'; it must be an http:// or https:// URL")]
    NotHttpUrl {
        /// The setting.
        field: &'static str,
        /// What it says.
        value: String,
    },
    /// `invokeRestApi`'s `method` is not one it sends.
    #[error("'method' is '{0}'; it must be GET, POST, PUT, PATCH or DELETE")]
    Method(String),
    /// A header name that HTTP does not allow.
    #[error("'headers' has '{0}', which is not a header name")]
    HeaderName(String),
    /// `successCriteria` does not parse.
    #[error("'successCriteria' is not an expression: {0}")]
    SuccessCriteria(#[source] slipway_expr::ParseError),
    /// `queryMetrics` without a query.
    #[error("'query' is empty; give a PromQL query that returns what is wrong")]
    EmptyQuery,
    /// A branch pattern that is not a wildcard pattern.
    #[error("'{pattern}' is not a valid branch pattern: {source}")]
    BranchPattern {
        /// The pattern.
        pattern: String,
        /// Why.
        source: globset::Error,
    },
    /// A time that is not `HH:MM`.
    #[error("'{field}' is '{value}'; write the time as HH:MM on a 24-hour clock, such as 09:00 or 17:30")]
    ClockTime {
        /// The setting (`startTime`).
        field: &'static str,
        /// What it says.
        value: String,
    },
    /// A time zone that is not an IANA name.
    #[error(
        "'timeZone' is '{0}', which is not an IANA time zone name (such as 'UTC', 'Europe/Berlin' or 'America/New_York')"
    )]
    TimeZone(String),
    /// A day that is not a day of the week.
    #[error("'days' holds '{0}', which is not a day of the week (write Monday or Mon, ..., Sunday or Sun)")]
    Day(String),
    /// Business hours that start when they end.
    #[error("'startTime' and 'endTime' are the same; the hours would be empty")]
    EmptyHours,
    /// A policy check's policy does not compile (its `file:line:col` in the message).
    #[error(transparent)]
    Policy(slipway_security::policy::PolicyError),
}

/// An approval's settings (Azure's names).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApprovalSettings {
    /// Who may approve (user names).
    pub approvers: Vec<String>,
    /// How many must approve; 0 (the default) means all of them.
    #[serde(default)]
    pub min_required_approvers: u32,
    /// Whether the person who started the run may not approve it.
    #[serde(default)]
    pub requester_cannot_be_approver: bool,
    /// What approvers should know.
    #[serde(default)]
    pub instructions: String,
    /// When it is asked, among the other checks (Azure's approval, pre-check approval and
    /// post-check approval).
    #[serde(default, skip_serializing_if = "ApprovalOrder::is_dynamic")]
    pub order: ApprovalOrder,
}

/// When an approval is asked, among a stage's checks: Azure's five categories are static
/// checks, pre-check approvals, dynamic checks (plain approvals among them), post-check
/// approvals and the exclusive lock, each asked once those before it passed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ApprovalOrder {
    /// Before the dynamic checks are asked (a pre-check approval).
    PreCheck,
    /// With the dynamic checks (Azure's plain approval).
    #[default]
    Dynamic,
    /// Once the dynamic checks passed (a post-check approval).
    PostCheck,
}

impl ApprovalOrder {
    fn is_dynamic(&self) -> bool {
        *self == Self::Dynamic
    }
}

impl ApprovalSettings {
    /// How many approvals it takes.
    #[must_use]
    pub fn required(&self) -> usize {
        match self.min_required_approvers {
            0 => self.approvers.len(),
            count => count as usize,
        }
    }
}

/// Branch control's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BranchControlSettings {
    /// The branches allowed: full refs or short names, `*` as a wildcard; a list, or one string
    /// separated by commas as Azure's form takes it.
    pub allowed_branches: Branches,
}

/// Branch patterns, as a list or as Azure's comma-separated text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Branches {
    /// `["refs/heads/main", "refs/heads/release/*"]`.
    List(Vec<String>),
    /// `"refs/heads/main, refs/heads/release/*"`.
    Text(String),
}

impl Branches {
    /// The patterns, trimmed, empty ones left out.
    #[must_use]
    pub fn patterns(&self) -> Vec<String> {
        let items: Vec<&str> = match self {
            Self::List(items) => items.iter().map(String::as_str).collect(),
            Self::Text(text) => text.split(',').collect(),
        };
        items.into_iter().map(str::trim).filter(|item| !item.is_empty()).map(str::to_owned).collect()
    }
}

/// Business hours' settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BusinessHoursSettings {
    /// An IANA time zone name (`Europe/Berlin`, `UTC`).
    pub time_zone: String,
    /// The days (`Monday` or `Mon`, any case); all seven when empty.
    #[serde(default)]
    pub days: Vec<String>,
    /// When the hours start, `HH:MM` (24-hour clock).
    pub start_time: String,
    /// When they end, `HH:MM`; earlier than the start for hours that go past midnight.
    pub end_time: String,
}

/// Required template's settings (Azure's names): the pipeline must `extends:` one of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequiredTemplateSettings {
    /// The templates allowed.
    pub required_templates: Vec<RequiredTemplate>,
}

/// One template a pipeline may extend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequiredTemplate {
    /// The repository: `self` (the pipeline's own, the default) or a repository resource's
    /// `name` (`org/templates`).
    #[serde(default = "self_repository")]
    pub repository_name: String,
    /// Its ref (`refs/heads/main`; a short name is a branch); any ref when empty.
    #[serde(default)]
    pub repository_ref: String,
    /// The template's path in it.
    pub template_path: String,
}

fn self_repository() -> String {
    "self".to_owned()
}

/// The provenance check's settings (Slipway's own check): which of the run's artifacts must
/// carry valid provenance from this server, for the pipeline's repository and the run's commit.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyProvenanceSettings {
    /// The artifacts that must verify; every artifact the run has published when empty (and at
    /// least one must have been).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<String>,
}

/// The policy check's settings (Slipway's own check): Rego policies under conftest's
/// conventions (`deny`, `violation`, `warn` in `package main`, or `namespace`), judged against
/// the run, the stage, the environment, the run's artifacts and the files of them named in
/// `inputs`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicySettings {
    /// The policies.
    pub policies: Vec<PolicyFile>,
    /// The Rego package whose rules are read (`main`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Files of the run's artifacts given to the policies as `input.files["ARTIFACT/PATH"]`
    /// (JSON, or YAML), such as a Terraform plan's JSON.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<ArtifactInput>,
    /// Whether warnings fail the check too (conftest's `--fail-on-warn`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fail_on_warn: bool,
}

/// One Rego policy of a policy check.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyFile {
    /// Its name, as errors name it (`deploy.rego`).
    pub path: String,
    /// Its text.
    pub rego: String,
}

/// A file of one of the run's artifacts given to a policy check.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArtifactInput {
    /// The artifact.
    pub artifact: String,
    /// The file's path in it.
    pub path: String,
}

/// The exclusive lock's settings: none (the stage's `lockBehavior` says how runs queue).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExclusiveLockSettings {}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn approvals_are_asked_before_with_or_after_the_dynamic_checks_as_their_order_says() {
        let phase = |settings: serde_json::Value| {
            CheckSettings::parse("approval", &settings).map(|parsed| parsed.phase()).map_err(|error| error.to_string())
        };
        assert_eq!(phase(json!({"approvers": ["ana"], "order": "preCheck"})), Ok(1));
        assert_eq!(phase(json!({"approvers": ["ana"]})), Ok(2));
        assert_eq!(phase(json!({"approvers": ["ana"], "order": "dynamic"})), Ok(2));
        assert_eq!(phase(json!({"approvers": ["ana"], "order": "postCheck"})), Ok(3));
        let dynamic = CheckSettings::parse(
            "businessHours",
            &json!({"days": ["monday"], "startTime": "09:00", "endTime": "17:00", "timeZone": "UTC"}),
        );
        assert_eq!(dynamic.map(|parsed| parsed.phase()).ok(), Some(2));
        let lock = CheckSettings::parse("exclusiveLock", &json!({})).map(|parsed| parsed.phase()).ok();
        assert_eq!(lock, Some(LAST_PHASE));
        assert!(phase(json!({"approvers": ["ana"], "order": "later"})).is_err_and(|error| {
            error.contains("unknown variant `later`, expected one of `preCheck`, `dynamic`, `postCheck`")
        }));
        // The default is not written back, so settings read the same as before.
        let settings =
            CheckSettings::parse("approval", &json!({"approvers": ["ana"]})).map(|parsed| parsed.settings_json());
        assert_eq!(
            settings.ok(),
            Some(
                json!({"approvers": ["ana"], "minRequiredApprovers": 0, "requesterCannotBeApprover": false, "instructions": ""})
            )
        );
    }

    #[test]
    fn settings_are_read_with_azure_names_and_every_mistake_named() {
        let approval =
            CheckSettings::parse("approval", &json!({"approvers": ["ana", "bo"], "minRequiredApprovers": 1}))
                .unwrap_or_else(|error| panic!("{error}"));
        assert!(matches!(&approval, CheckSettings::Approval(settings) if settings.required() == 1));
        let all = CheckSettings::parse("approval", &json!({"approvers": ["ana", "bo"]}));
        assert!(matches!(all, Ok(CheckSettings::Approval(settings)) if settings.required() == 2));
        let branches = CheckSettings::parse("branchControl", &json!({"allowedBranches": "refs/heads/main, release/*"}));
        assert!(
            matches!(branches, Ok(CheckSettings::BranchControl(settings)) if settings.allowed_branches.patterns().len() == 2)
        );
        let errors = [
            ("approval", json!({"approvers": []})),
            ("approval", json!({"approvers": ["ana"], "minRequiredApprovers": 2})),
            ("approval", json!({"approvers": ["ana"], "approver": "typo"})),
            ("branchControl", json!({"allowedBranches": []})),
            ("businessHours", json!({"timeZone": "Mars/Olympus", "startTime": "09:00", "endTime": "17:00"})),
            ("businessHours", json!({"timeZone": "UTC", "startTime": "9", "endTime": "17:00"})),
            ("businessHours", json!({"timeZone": "UTC", "days": ["Funday"], "startTime": "09:00", "endTime": "17:00"})),
            ("teleport", json!({})),
            ("invokeRestApi", json!({"url": "ftp://example"})),
            ("invokeRestApi", json!({"url": "http://127.0.0.1/", "method": "BREW"})),
            ("invokeRestApi", json!({"url": "http://127.0.0.1/", "successCriteria": "eq(root['a'],"})),
            ("queryMetrics", json!({"url": "http://127.0.0.1:9090", "query": " "})),
            ("requiredTemplate", json!({"requiredTemplates": []})),
            ("requiredTemplate", json!({"requiredTemplates": [{"repositoryName": "org/t", "templatePath": ""}]})),
            ("verifyProvenance", json!({"artifacts": [" "]})),
            ("verifyProvenance", json!({"artifact": "drop"})),
            ("policy", json!({"policies": []})),
            ("policy", json!({"policies": [{"path": "p.rego", "rego": "package main\n\ndeny contains msg if {\n  msg :=\n}\n"}]})),
            ("policy", json!({"policies": [{"path": "p.rego", "rego": "package main\n"}], "inputs": [{"artifact": "plan", "path": ""}]})),
        ]
        .map(|(kind, settings)| {
            CheckSettings::parse(kind, &settings).map(|_| ()).err().map(|error| error.to_string()).unwrap_or_default()
        });
        insta::assert_snapshot!(errors.join("\n"));
    }
}
