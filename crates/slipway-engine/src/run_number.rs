//! Run numbers (`Build.BuildNumber`) from the pipeline's `name:`, as Azure's "Run and build
//! numbers" page describes them: tokens (`$(Rev:r)`, `$(Date:yyyyMMdd)`, `$(DayOfMonth)`,
//! `$(Build.DefinitionName)`, `$(SourceBranchName)`, `$(Build.BuildId)`...) and variables, with
//! `$(Date:yyyyMMdd)$(Rev:.r)` when the pipeline has no `name:`. The formatting itself is the
//! run driver's (`slipway_driver::format_run_number`, the same as `slipway run`); this
//! module gathers its inputs and counts `$(Rev:r)` in the store, per distinct rest of the number.

use slipway_driver::{DEFAULT_RUN_NAME, DateTime, RepositoryInfo, Variable, Variables};
use slipway_plan::Plan;
use slipway_store::{PipelineId, Store, StoreError};

/// The longest run number Azure accepts.
pub const MAX_RUN_NUMBER_LENGTH: usize = 255;

/// Characters a run number may not hold (Azure's list); each is replaced with `_`.
const FORBIDDEN: &[char] = &['"', '/', ':', '<', '>', '\\', '|', '?', '@', '*'];

/// What a run number is made of.
#[derive(Clone, Debug, Default)]
pub struct NumberInputs {
    /// The `name:` format; [`DEFAULT_RUN_NAME`] when `None`.
    pub format: Option<String>,
    /// The pipeline's name (`Build.DefinitionName`).
    pub pipeline_name: String,
    /// The run's id (`Build.BuildId`), when it is known.
    pub run_id: Option<i64>,
    /// The repository, branch and commit.
    pub repository: RepositoryInfo,
    /// Variables of the trigger (`Build.Reason`...), then the pipeline's own, later ones winning.
    pub variables: Vec<(String, String)>,
}

impl NumberInputs {
    /// The format in use.
    #[must_use]
    pub fn format(&self) -> &str {
        self.format.as_deref().filter(|format| !format.trim().is_empty()).unwrap_or(DEFAULT_RUN_NAME)
    }

    /// Whether the number needs the run's id, so it can only be made once the run exists.
    #[must_use]
    pub fn needs_run_id(&self) -> bool {
        let lower = self.format().to_ascii_lowercase().replace(' ', "");
        lower.contains("$(build.buildid)") || lower.contains("$(buildid)")
    }

    fn variables(&self) -> Variables {
        let id = self.run_id.and_then(|id| u64::try_from(id).ok()).unwrap_or_default();
        let mut variables = slipway_driver::run_variables(id, &self.pipeline_name, &self.repository);
        for (name, value) in &self.variables {
            variables.force(Variable::new(name.clone(), value.clone()));
        }
        variables
    }
}

/// The variables a plan declares at its root whose values are known before it runs (not
/// `$[ ]` runtime expressions), for the run number.
#[must_use]
pub fn plan_variables(plan: &Plan) -> Vec<(String, String)> {
    plan.variables
        .iter()
        .filter_map(|variable| match variable {
            slipway_plan::Variable::Value { name, value, .. } if !value.trim_start().starts_with("$[") => {
                Some((name.clone(), value.clone()))
            }
            _ => None,
        })
        .collect()
}

/// Formats the run number at `now`, taking `$(Rev:r)` from the store's counter for the
/// pipeline and the rest of the number.
///
/// # Errors
/// When the store's counter cannot be read.
pub async fn make(
    store: &Store,
    pipeline: PipelineId,
    inputs: &NumberInputs,
    now: DateTime,
) -> Result<String, StoreError> {
    let variables = inputs.variables();
    let format = inputs.format();
    let mut key = None;
    let without_revision = slipway_driver::format_run_number(format, now, &variables, &mut |prefix| {
        key = Some(prefix.to_owned());
        0
    });
    let Some(key) = key else { return Ok(sanitize(&without_revision)) };
    // The runtime marks where the revision goes with a NUL, which PostgreSQL's text cannot hold.
    let key = key.replace('\u{0}', "$(Rev)");
    let revision = store.next_revision(pipeline, &key).await?;
    let revision = u32::try_from(revision).unwrap_or(u32::MAX);
    Ok(sanitize(&slipway_driver::format_run_number(format, now, &variables, &mut |_| revision)))
}

/// The date and time of a store timestamp, for run numbers.
#[must_use]
pub fn date_time(timestamp: slipway_store::Timestamp) -> DateTime {
    DateTime::from_unix(u64::try_from(timestamp.millis() / 1000).unwrap_or_default())
}

/// Makes a formatted number acceptable: Azure's forbidden characters become `_`, control
/// characters go, it ends with no `.` or space, it is at most 255 characters, and it is never
/// empty. (Azure fails such runs; Slipway numbers them instead.)
#[must_use]
pub fn sanitize(number: &str) -> String {
    let cleaned: String = number
        .chars()
        .filter(|character| !character.is_control())
        .map(|character| if FORBIDDEN.contains(&character) { '_' } else { character })
        .take(MAX_RUN_NUMBER_LENGTH)
        .collect();
    let trimmed = cleaned.trim().trim_end_matches(['.', ' ']);
    if trimmed.is_empty() { "_".to_owned() } else { trimmed.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(format: Option<&str>) -> NumberInputs {
        NumberInputs {
            format: format.map(str::to_owned),
            pipeline_name: "CIBuild".into(),
            run_id: Some(752),
            repository: RepositoryInfo { branch: "refs/heads/main".into(), ..RepositoryInfo::default() },
            variables: vec![("System.TeamProject".into(), "Fabrikam".into()), ("major".into(), "3".into())],
        }
    }

    /// Formats without the store: `$(Rev:r)` is 2, as for the second run of the day.
    fn format(format: Option<&str>) -> String {
        let inputs = inputs(format);
        // 2019-05-05 21:07:03 UTC, the example of Azure's page.
        let now = DateTime::from_unix(1_557_090_423);
        sanitize(&slipway_driver::format_run_number(inputs.format(), now, &inputs.variables(), &mut |_| 2))
    }

    /// The example of "Run and build numbers".
    #[test]
    fn azure_example_and_tokens() {
        assert_eq!(
            format(Some("$(TeamProject)_$(Build.DefinitionName)_$(SourceBranchName)_$(Date:yyyyMMdd).$(Rev:r)")),
            "Fabrikam_CIBuild_main_20190505.2"
        );
        assert_eq!(format(None), "20190505.2");
        assert_eq!(format(Some("$(Build.BuildId)")), "752");
        assert_eq!(format(Some("$(major).$(Rev:rr)")), "3.02");
        assert_eq!(format(Some("$(DayOfMonth)-$(Month)-$(Year:yy) $(Hours)$(Minutes)$(Seconds)")), "5-05-19 210703");
        assert_eq!(format(Some("$(DayOfYear)")), "125");
        assert_eq!(format(Some("v$(Date:yyMMdd)$(Rev:.r)")), "v190505.2");
    }

    #[test]
    fn the_run_id_is_needed_only_when_the_format_uses_it() {
        assert!(inputs(Some("$(Build.BuildId)")).needs_run_id());
        assert!(inputs(Some("x$(BuildID)")).needs_run_id());
        assert!(!inputs(None).needs_run_id());
        assert!(!inputs(Some("   ")).needs_run_id());
        assert_eq!(inputs(Some("  ")).format(), DEFAULT_RUN_NAME);
    }

    #[test]
    fn numbers_are_made_acceptable() {
        assert_eq!(sanitize("feature/x: 1."), "feature_x_ 1");
        assert_eq!(sanitize("a\u{7}b"), "ab");
        assert_eq!(sanitize("..."), "_");
        assert_eq!(sanitize(&"9".repeat(300)).len(), MAX_RUN_NUMBER_LENGTH);
    }
}
