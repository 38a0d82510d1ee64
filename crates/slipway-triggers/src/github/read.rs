//! Reading a checked workflow's `on` (`slipway_github::Workflow::on`) into [`WorkflowTriggers`].
//!
//! The workflow passed GitHub's schema check, so shapes are mostly right; what is read here is
//! what the schema cannot say: both `branches` and `branches-ignore` (GitHub: "You cannot use both
//! ... for the same event"), patterns that do not compile, cron expressions, a `choice` without
//! `options`, a boolean `default` that is not a boolean, and a schedule's `timezone` that the
//! IANA time zone database does not have. Every problem is reported, with where it is.

use slipway_diagnostics::{Diagnostic, SourceMap, Span, render_all};
use slipway_github::{Text, Trigger, Workflow};
use slipway_yaml::Node;

use super::pattern::PatternList;
use super::{
    Filter, PullRequestTrigger, PushTrigger, WorkflowRunActivity, WorkflowRunTrigger, WorkflowSchedule,
    WorkflowTriggers, time_zones,
};
use crate::cron::CronSchedule;
use crate::read::{TriggerError, cron_span};
use slipway_github::dispatch::DispatchTrigger;

impl WorkflowTriggers {
    /// Reads the triggers of a workflow that passed `slipway_github::check`.
    ///
    /// # Errors
    ///
    /// Every filter, cron expression, input or schedule that GitHub would refuse or that Slipway
    /// cannot honour, with where it is.
    pub fn from_workflow(workflow: &Workflow) -> Result<Self, Vec<TriggerError>> {
        let mut reader = Reader { errors: Vec::new() };
        let mut triggers = WorkflowTriggers::default();
        for trigger in &workflow.on {
            match trigger.event.value.as_str() {
                "push" => triggers.push = Some(reader.push(trigger)),
                "pull_request" => triggers.pull_request = Some(reader.pull_request(trigger)),
                "pull_request_target" => triggers.pull_request_target = Some(reader.pull_request(trigger)),
                "schedule" => triggers.schedules = reader.schedules(trigger),
                "workflow_dispatch" => triggers.dispatch = Some(reader.dispatch(trigger)),
                "workflow_run" => triggers.workflow_run = Some(reader.workflow_run(trigger)),
                "workflow_call" => triggers.callable = true,
                other => triggers.other_events.push(other.to_owned()),
            }
        }
        if reader.errors.is_empty() { Ok(triggers) } else { Err(reader.errors) }
    }
}

impl WorkflowTriggers {
    /// Checks the workflow file `text` (registered as `path`) with `slipway_github::check` and
    /// reads its triggers: what the trigger service needs from a workflow file at a commit.
    ///
    /// # Errors
    ///
    /// The check's errors, or the triggers' problems, rendered with `path:line:col`.
    pub fn load(path: &str, text: &str) -> Result<Self, String> {
        let mut sources = SourceMap::new();
        let file = sources.add(path, text);
        let checked = slipway_github::check(text, file);
        let Some(workflow) = checked.workflow else {
            let errors: Vec<_> = checked.diagnostics.into_iter().filter(Diagnostic::is_error).collect();
            return Err(render_all(&errors, &sources).trim_end().to_owned());
        };
        Self::from_workflow(&workflow).map_err(|errors| {
            errors
                .iter()
                .map(|error| format!("{path}:{}:{}: {}", error.span.start.line, error.span.start.column, error.message))
                .collect::<Vec<_>>()
                .join("\n")
        })
    }
}

struct Reader {
    errors: Vec<TriggerError>,
}

impl Reader {
    fn error(&mut self, span: Span, message: String) {
        self.errors.push(TriggerError { message, span });
    }

    /// `key` or `key-ignore` (`branches`, `tags`, `paths`) of an event.
    fn filter(&mut self, trigger: &Trigger, key: &str) -> Option<Filter> {
        let event = &trigger.event.value;
        let ignore_key = format!("{key}-ignore");
        let include = trigger.filter(key);
        let ignore = trigger.filter(&ignore_key);
        if let (Some(_), Some(ignored)) = (&include, &ignore) {
            let span = ignored.first().map_or(trigger.event.span, |text| text.span);
            self.error(
                span,
                format!(
                    "`on.{event}` has both `{key}` and `{ignore_key}`, which GitHub does not allow: keep `{key}` and \
                     write the exclusions in it with `!` (as in `'!docs/**'`)"
                ),
            );
        }
        match (include, ignore) {
            (Some(patterns), _) => self.patterns(&patterns, &format!("`{key}` in `on.{event}`")).map(Filter::Include),
            (None, Some(patterns)) => {
                self.patterns(&patterns, &format!("`{ignore_key}` in `on.{event}`")).map(Filter::Ignore)
            }
            (None, None) => None,
        }
    }

    fn patterns(&mut self, patterns: &[Text], what: &str) -> Option<PatternList> {
        let written: Vec<&str> = patterns.iter().map(|text| text.value.as_str()).collect();
        match PatternList::new(&written) {
            Ok(list) => Some(list),
            Err(errors) => {
                for error in errors {
                    let span = patterns.iter().find(|text| text.value == error.pattern).map(|text| text.span);
                    self.error(span.unwrap_or_else(|| patterns[0].span), format!("{what}: {error}"));
                }
                None
            }
        }
    }

    fn push(&mut self, trigger: &Trigger) -> PushTrigger {
        PushTrigger {
            branches: self.filter(trigger, "branches"),
            tags: self.filter(trigger, "tags"),
            paths: self.filter(trigger, "paths"),
        }
    }

    fn pull_request(&mut self, trigger: &Trigger) -> PullRequestTrigger {
        let default = PullRequestTrigger::default();
        PullRequestTrigger {
            types: trigger
                .filter("types")
                .map_or(default.types, |types| types.into_iter().map(|text| text.value).collect()),
            branches: self.filter(trigger, "branches"),
            paths: self.filter(trigger, "paths"),
        }
    }

    fn schedules(&mut self, trigger: &Trigger) -> Vec<WorkflowSchedule> {
        let Some(items) = trigger.config.as_ref().and_then(Node::as_sequence) else { return Vec::new() };
        let mut schedules = Vec::new();
        for item in items {
            let Some(cron_node) = item.get("cron") else { continue };
            let Some(cron_text) = cron_node.as_str().map(str::to_owned) else { continue };
            let timezone = match item.get("timezone").filter(|node| !node.is_null()) {
                None => None,
                Some(node) => {
                    let name = node.as_str().unwrap_or_default();
                    match time_zones().get(name.trim()) {
                        Ok(zone) => Some(zone),
                        Err(_) => {
                            self.error(
                                node.span,
                                format!(
                                    "`timezone: {name}` is not a time zone of the IANA database: write a name such \
                                     as `America/New_York`, `Europe/London` or `UTC`"
                                ),
                            );
                            continue;
                        }
                    }
                }
            };
            match CronSchedule::parse_github(&cron_text) {
                Ok(cron) => schedules.push(WorkflowSchedule { cron_text, cron, timezone }),
                Err(error) => {
                    let span = cron_span(cron_node, &error);
                    self.error(span, format!("`cron` in `on.schedule`: {}", error.message));
                }
            }
        }
        schedules
    }

    fn dispatch(&mut self, trigger: &Trigger) -> DispatchTrigger {
        let (dispatch, errors) = DispatchTrigger::read(trigger);
        for (span, message) in errors {
            self.error(span, message);
        }
        dispatch
    }

    fn workflow_run(&mut self, trigger: &Trigger) -> WorkflowRunTrigger {
        let mut types = Vec::new();
        match trigger.filter("types") {
            None => types.extend(WorkflowRunActivity::ALL),
            Some(listed) => {
                for text in listed {
                    match WorkflowRunActivity::parse(&text.value) {
                        Some(activity) => types.push(activity),
                        None => self.error(
                            text.span,
                            format!(
                                "`{}` is not an activity type of `workflow_run`: use `completed`, `requested` or \
                                 `in_progress`",
                                text.value
                            ),
                        ),
                    }
                }
            }
        }
        WorkflowRunTrigger {
            workflows: trigger
                .filter("workflows")
                .and_then(|names| self.patterns(&names, "`workflows` in `on.workflow_run`"))
                .unwrap_or_default(),
            types,
            branches: self.filter(trigger, "branches"),
        }
    }
}
