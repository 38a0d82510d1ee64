//! Evaluating one check of a stage's checkpoint: pure, from the check's settings, what the run
//! is (branch, who started it), the approvers' decisions and the time; the exclusive lock, which
//! needs the other runs, is the gate's.

use globset::{GlobBuilder, GlobMatcher};
use jiff::civil::Weekday;
use jiff::tz::TimeZone;
use slipway_store::{ApprovalDecision, CheckRunState};

use crate::checks::{ApprovalSettings, BranchControlSettings, BusinessHoursSettings, CheckSettings, InvalidSetting};

/// What the run is, as checks see it.
#[derive(Clone, Debug, Default)]
pub struct RunFacts {
    /// Its branch (`refs/heads/main`, or a short name).
    pub branch: Option<String>,
    /// Who asked for it (self-approval is judged by it).
    pub requested_by: Option<String>,
    /// The templates its pipeline extends.
    pub extends: Vec<ExtendedTemplate>,
}

/// A template a pipeline extends, where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtendedTemplate {
    /// `self`, or the repository resource's name (`org/templates`).
    pub repository: String,
    /// The ref it was read at (the run's branch for `self`).
    pub reference: Option<String>,
    /// Its path.
    pub path: String,
}

impl ExtendedTemplate {
    /// The templates `plan` extends, with their repositories' names and refs; `branch` is the
    /// run's (for templates of the pipeline's own repository).
    #[must_use]
    pub fn of(plan: &slipway_plan::Plan, branch: Option<&str>) -> Vec<Self> {
        plan.extends
            .iter()
            .map(|template| match &template.repository {
                None => {
                    Self { repository: "self".into(), reference: branch.map(full_ref), path: template.path.clone() }
                }
                Some(alias) if alias.eq_ignore_ascii_case("self") => {
                    Self { repository: "self".into(), reference: branch.map(full_ref), path: template.path.clone() }
                }
                Some(alias) => {
                    let resource = plan.resources.repositories.iter().find(|resource| resource.alias == *alias);
                    Self {
                        repository: resource
                            .and_then(|resource| resource.name.clone())
                            .unwrap_or_else(|| alias.clone()),
                        reference: resource.and_then(|resource| resource.reference.as_deref()).map(full_ref),
                        path: template.path.clone(),
                    }
                }
            })
            .collect()
    }

    fn describe(&self) -> String {
        format!(
            "{}@{}{}",
            self.path,
            self.repository,
            self.reference.as_ref().map_or_else(String::new, |r| format!(" ({r})"))
        )
    }
}

/// What evaluating a check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Not decided: evaluate again later; why it waits.
    Pending(String),
    /// It passed.
    Passed(String),
    /// It ended without passing, in this state (failed, rejected, timed out), and why.
    Ended(CheckRunState, String),
}

/// Evaluates one check, `created_ms` being when the stage reached it, at `now_ms`.
#[must_use]
pub fn evaluate(
    settings: &CheckSettings,
    timeout_minutes: u32,
    created_ms: i64,
    decisions: &[ApprovalDecision],
    facts: &RunFacts,
    now_ms: i64,
) -> Verdict {
    let verdict = match settings {
        CheckSettings::BranchControl(settings) => branch_control(settings, facts.branch.as_deref()),
        CheckSettings::Approval(settings) => approval(settings, decisions, facts.requested_by.as_deref(), now_ms),
        CheckSettings::BusinessHours(settings) => match BusinessHours::new(settings) {
            Ok(hours) if hours.is_open(now_ms) => {
                Verdict::Passed(format!("within business hours ({})", hours.describe()))
            }
            Ok(hours) => Verdict::Pending(format!("outside business hours ({})", hours.describe())),
            Err(reason) => Verdict::Ended(CheckRunState::Failed, reason.to_string()),
        },
        CheckSettings::ExclusiveLock(_) => Verdict::Pending("waiting for the exclusive lock".into()),
        CheckSettings::RequiredTemplate(settings) => required_template(settings, &facts.extends),
        // Asked by the gate, which does the I/O; here only the timeout is judged.
        CheckSettings::InvokeRestApi(_)
        | CheckSettings::QueryMetrics(_)
        | CheckSettings::VerifyProvenance(_)
        | CheckSettings::Policy(_) => Verdict::Pending("waiting for its next evaluation".into()),
    };
    let deadline = created_ms.saturating_add(i64::from(timeout_minutes).saturating_mul(60_000));
    match verdict {
        Verdict::Pending(reason) if now_ms >= deadline => Verdict::Ended(
            CheckRunState::TimedOut,
            format!("not decided within its timeout of {} ({reason})", minutes_text(timeout_minutes)),
        ),
        other => other,
    }
}

/// `90 minutes`, `2 hours`, `30 days`.
#[must_use]
pub fn minutes_text(minutes: u32) -> String {
    let plural = |count: u32, unit: &str| format!("{count} {unit}{}", if count == 1 { "" } else { "s" });
    if minutes >= 1440 && minutes.is_multiple_of(1440) {
        plural(minutes / 1440, "day")
    } else if minutes >= 60 && minutes.is_multiple_of(60) {
        plural(minutes / 60, "hour")
    } else {
        plural(minutes, "minute")
    }
}

/// A branch pattern as a matcher: short names are under `refs/heads/`, `*` matches any text
/// (slashes too), matching ignores case as Azure's does.
///
/// # Errors
/// When the pattern is not a valid wildcard pattern.
pub fn branch_matcher(pattern: &str) -> Result<GlobMatcher, InvalidSetting> {
    let full = full_ref(pattern);
    GlobBuilder::new(&full)
        .literal_separator(false)
        .case_insensitive(true)
        .build()
        .map(|glob| glob.compile_matcher())
        .map_err(|source| InvalidSetting::BranchPattern { pattern: pattern.to_owned(), source })
}

fn full_ref(branch: &str) -> String {
    if branch.starts_with("refs/") || branch == "*" { branch.to_owned() } else { format!("refs/heads/{branch}") }
}

fn branch_control(settings: &BranchControlSettings, branch: Option<&str>) -> Verdict {
    let patterns = settings.allowed_branches.patterns();
    let Some(branch) = branch else {
        return Verdict::Ended(
            CheckRunState::Failed,
            format!("the run has no branch, and only these branches may deploy: {}", patterns.join(", ")),
        );
    };
    let full = full_ref(branch);
    if patterns.iter().any(|pattern| branch_matcher(pattern).is_ok_and(|matcher| matcher.is_match(&full))) {
        Verdict::Passed(format!("branch '{full}' is allowed"))
    } else {
        Verdict::Ended(
            CheckRunState::Failed,
            format!("branch '{full}' is not one of the branches allowed to deploy: {}", patterns.join(", ")),
        )
    }
}

fn required_template(settings: &crate::checks::RequiredTemplateSettings, extends: &[ExtendedTemplate]) -> Verdict {
    let trimmed = |path: &str| path.trim().trim_start_matches('/').to_owned();
    let found = extends.iter().find(|template| {
        settings.required_templates.iter().any(|required| {
            required.repository_name.trim().eq_ignore_ascii_case(&template.repository)
                && trimmed(&required.template_path).eq_ignore_ascii_case(&trimmed(&template.path))
                && (required.repository_ref.trim().is_empty()
                    || template.reference.as_deref() == Some(full_ref(required.repository_ref.trim()).as_str()))
        })
    });
    if let Some(template) = found {
        return Verdict::Passed(format!("the pipeline extends {}", template.describe()));
    }
    let required: Vec<String> = settings
        .required_templates
        .iter()
        .map(|required| {
            let reference = if required.repository_ref.trim().is_empty() {
                String::new()
            } else {
                format!(" ({})", full_ref(required.repository_ref.trim()))
            };
            format!("{}@{}{reference}", trimmed(&required.template_path), required.repository_name.trim())
        })
        .collect();
    let actual = if extends.is_empty() {
        "it extends no template".to_owned()
    } else {
        format!("it extends {}", extends.iter().map(ExtendedTemplate::describe).collect::<Vec<_>>().join(", "))
    };
    Verdict::Ended(
        CheckRunState::Failed,
        format!("the pipeline must extend one of these templates: {}; {actual}", required.join(", ")),
    )
}

fn approval(
    settings: &ApprovalSettings,
    decisions: &[ApprovalDecision],
    requester: Option<&str>,
    now_ms: i64,
) -> Verdict {
    let counts = |decision: &&ApprovalDecision| {
        settings.approvers.iter().any(|approver| approver.eq_ignore_ascii_case(&decision.user))
            && !(settings.requester_cannot_be_approver
                && requester.is_some_and(|requester| requester.eq_ignore_ascii_case(&decision.user)))
    };
    if let Some(rejection) = decisions.iter().filter(counts).find(|decision| decision.status == "rejected") {
        let comment = if rejection.comment.is_empty() { String::new() } else { format!(": {}", rejection.comment) };
        return Verdict::Ended(CheckRunState::Rejected, format!("rejected by {}{comment}", rejection.user));
    }
    let approved: Vec<&ApprovalDecision> = decisions
        .iter()
        .filter(counts)
        .filter(|decision| decision.status == "approved" && decision.effective_at.millis() <= now_ms)
        .collect();
    let deferred = decisions
        .iter()
        .filter(counts)
        .filter(|decision| decision.status == "approved" && decision.effective_at.millis() > now_ms)
        .count();
    let required = settings.required();
    if approved.len() >= required {
        let names: Vec<&str> = approved.iter().map(|decision| decision.user.as_str()).collect();
        return Verdict::Passed(format!("approved by {}", names.join(", ")));
    }
    let mut reason = format!("{} of {required} approvals", approved.len());
    if deferred > 0 {
        reason.push_str(&format!(" ({deferred} deferred, not in effect yet)"));
    }
    Verdict::Pending(reason)
}

/// Business hours, read and checked.
#[derive(Clone, Debug)]
pub struct BusinessHours {
    zone: TimeZone,
    zone_name: String,
    days: Vec<Weekday>,
    start: u32,
    end: u32,
}

const WEEKDAYS: [(Weekday, &str); 7] = [
    (Weekday::Monday, "Monday"),
    (Weekday::Tuesday, "Tuesday"),
    (Weekday::Wednesday, "Wednesday"),
    (Weekday::Thursday, "Thursday"),
    (Weekday::Friday, "Friday"),
    (Weekday::Saturday, "Saturday"),
    (Weekday::Sunday, "Sunday"),
];

fn clock_minutes(field: &'static str, text: &str) -> Result<u32, InvalidSetting> {
    let bad = || InvalidSetting::ClockTime { field, value: text.to_owned() };
    let (hours, minutes) = text.trim().split_once(':').ok_or_else(bad)?;
    if hours.len() != 2 || minutes.len() != 2 {
        return Err(bad());
    }
    let hours: u32 = hours.parse().map_err(|_| bad())?;
    let minutes: u32 = minutes.parse().map_err(|_| bad())?;
    if hours > 23 || minutes > 59 {
        return Err(bad());
    }
    Ok(hours * 60 + minutes)
}

impl BusinessHours {
    /// Reads the settings.
    ///
    /// # Errors
    /// A sentence naming the field that is wrong.
    pub fn new(settings: &BusinessHoursSettings) -> Result<Self, InvalidSetting> {
        let zone = TimeZone::get(settings.time_zone.trim())
            .map_err(|_| InvalidSetting::TimeZone(settings.time_zone.clone()))?;
        let mut days = Vec::new();
        for day in &settings.days {
            let found = WEEKDAYS
                .iter()
                .find(|(_, name)| name.eq_ignore_ascii_case(day.trim()) || name[..3].eq_ignore_ascii_case(day.trim()));
            match found {
                Some((weekday, _)) => days.push(*weekday),
                None => {
                    return Err(InvalidSetting::Day(day.clone()));
                }
            }
        }
        if days.is_empty() {
            days = WEEKDAYS.iter().map(|(weekday, _)| *weekday).collect();
        }
        let start = clock_minutes("startTime", &settings.start_time)?;
        let end = clock_minutes("endTime", &settings.end_time)?;
        if start == end {
            return Err(InvalidSetting::EmptyHours);
        }
        Ok(Self { zone, zone_name: settings.time_zone.trim().to_owned(), days, start, end })
    }

    /// Whether `now_ms` (milliseconds since the Unix epoch) is within the hours. Hours that go
    /// past midnight belong to the day they start on.
    #[must_use]
    pub fn is_open(&self, now_ms: i64) -> bool {
        let Ok(timestamp) = jiff::Timestamp::from_millisecond(now_ms) else { return false };
        let local = self.zone.to_datetime(timestamp);
        let minute = u32::from(local.hour().unsigned_abs()) * 60 + u32::from(local.minute().unsigned_abs());
        let today = local.weekday();
        if self.start < self.end {
            self.days.contains(&today) && (self.start..self.end).contains(&minute)
        } else if minute >= self.start {
            self.days.contains(&today)
        } else {
            minute < self.end && self.days.contains(&today.previous())
        }
    }

    /// `Monday, Tuesday 09:00-17:00 Europe/Berlin`.
    #[must_use]
    pub fn describe(&self) -> String {
        let days: Vec<&str> =
            WEEKDAYS.iter().filter(|(weekday, _)| self.days.contains(weekday)).map(|(_, name)| &name[..3]).collect();
        let clock = |minutes: u32| format!("{:02}:{:02}", minutes / 60, minutes % 60);
        format!("{} {}-{} {}", days.join(" "), clock(self.start), clock(self.end), self.zone_name)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use slipway_store::Timestamp;

    use super::*;

    fn parse(kind: &str, settings: serde_json::Value) -> CheckSettings {
        CheckSettings::parse(kind, &settings).unwrap_or_else(|error| panic!("{error}"))
    }

    fn at(text: &str) -> i64 {
        text.parse::<jiff::Timestamp>().unwrap_or_else(|error| panic!("{text}: {error}")).as_millisecond()
    }

    fn decision(user: &str, status: &str, effective_ms: i64) -> ApprovalDecision {
        ApprovalDecision {
            user: user.into(),
            status: status.into(),
            comment: if status == "rejected" { "not today".into() } else { String::new() },
            decided_at: Timestamp(0),
            effective_at: Timestamp(effective_ms),
        }
    }

    #[test]
    fn branch_control_takes_full_refs_short_names_and_wildcards() {
        let settings = parse("branchControl", json!({"allowedBranches": ["main", "refs/heads/release/*"]}));
        let facts = |branch: &str| RunFacts { branch: Some(branch.into()), ..RunFacts::default() };
        let verdict = |branch: &str| evaluate(&settings, 10, 0, &[], &facts(branch), 0);
        assert!(matches!(verdict("refs/heads/main"), Verdict::Passed(_)));
        assert!(matches!(verdict("main"), Verdict::Passed(_)));
        assert!(matches!(verdict("refs/heads/release/2026/12"), Verdict::Passed(_)));
        assert_eq!(
            verdict("refs/heads/feature/x"),
            Verdict::Ended(
                CheckRunState::Failed,
                "branch 'refs/heads/feature/x' is not one of the branches allowed to deploy: main, refs/heads/release/*"
                    .into()
            )
        );
        let any = parse("branchControl", json!({"allowedBranches": "*"}));
        assert!(matches!(evaluate(&any, 10, 0, &[], &facts("refs/tags/v1"), 0), Verdict::Passed(_)));
    }

    #[test]
    fn approvals_count_listed_approvers_in_effect_and_a_rejection_ends_them() {
        let settings = parse(
            "approval",
            json!({"approvers": ["ana", "bo", "cy"], "minRequiredApprovers": 2, "requesterCannotBeApprover": true}),
        );
        let facts = RunFacts { requested_by: Some("ana".into()), ..RunFacts::default() };
        let now = 1_000;
        let verdict = |decisions: &[ApprovalDecision]| evaluate(&settings, 60, 0, decisions, &facts, now);
        assert_eq!(verdict(&[]), Verdict::Pending("0 of 2 approvals".into()));
        // The requester's own approval and a stranger's do not count.
        assert_eq!(
            verdict(&[
                decision("ana", "approved", 0),
                decision("mallory", "approved", 0),
                decision("bo", "approved", 0)
            ]),
            Verdict::Pending("1 of 2 approvals".into())
        );
        assert_eq!(
            verdict(&[decision("bo", "approved", 0), decision("cy", "approved", 5_000)]),
            Verdict::Pending("1 of 2 approvals (1 deferred, not in effect yet)".into())
        );
        assert_eq!(
            verdict(&[decision("bo", "approved", 0), decision("CY", "approved", 1_000)]),
            Verdict::Passed("approved by bo, CY".into())
        );
        assert_eq!(
            verdict(&[decision("bo", "approved", 0), decision("cy", "rejected", 0)]),
            Verdict::Ended(CheckRunState::Rejected, "rejected by cy: not today".into())
        );
        // Undecided after its timeout.
        assert_eq!(
            evaluate(&settings, 60, 0, &[], &facts, 3_600_000),
            Verdict::Ended(
                CheckRunState::TimedOut,
                "not decided within its timeout of 1 hour (0 of 2 approvals)".into()
            )
        );
    }

    #[test]
    fn business_hours_follow_the_time_zone_days_and_hours_past_midnight() {
        let office = BusinessHours::new(&BusinessHoursSettings {
            time_zone: "Europe/Berlin".into(),
            days: vec!["Mon".into(), "tuesday".into(), "Wed".into(), "Thu".into(), "Fri".into()],
            start_time: "09:00".into(),
            end_time: "17:00".into(),
        })
        .unwrap_or_else(|error| panic!("{error}"));
        // 2026-12-07 is a Monday; Berlin is UTC+1 in December.
        assert!(office.is_open(at("2026-12-07T08:00:00Z")), "09:00 in Berlin");
        assert!(!office.is_open(at("2026-12-07T07:59:00Z")), "08:59 in Berlin");
        assert!(!office.is_open(at("2026-12-07T16:00:00Z")), "17:00 in Berlin is closed");
        assert!(!office.is_open(at("2026-12-12T10:00:00Z")), "a Saturday");
        // In July Berlin is UTC+2.
        assert!(office.is_open(at("2026-07-06T07:00:00Z")));
        assert_eq!(office.describe(), "Mon Tue Wed Thu Fri 09:00-17:00 Europe/Berlin");
        let night = BusinessHours::new(&BusinessHoursSettings {
            time_zone: "UTC".into(),
            days: vec!["Fri".into()],
            start_time: "22:00".into(),
            end_time: "02:00".into(),
        })
        .unwrap_or_else(|error| panic!("{error}"));
        assert!(night.is_open(at("2026-12-11T23:00:00Z")), "Friday night");
        assert!(night.is_open(at("2026-12-12T01:00:00Z")), "Friday's hours go on past midnight");
        assert!(!night.is_open(at("2026-12-13T01:00:00Z")), "Saturday's night is not Friday's");
    }
}
