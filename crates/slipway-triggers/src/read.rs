//! Reading the triggers of an expanded pipeline document (`slipway_yaml::Node`).
//!
//! The document is the one template expansion produced, so `${{ }}` is gone; shapes the
//! `slipway-azure` validator reports are reported here too, because a trigger that cannot be read
//! must not silently fall back to "build everything". Unknown keys are left to the validator.

use slipway_diagnostics::Span;
use slipway_yaml::{Node, Style, Value};

use crate::cron::{CronError, CronSchedule};
use crate::filter::{PathFilter, RefFilter, RefKind};
use crate::triggers::{
    CiFilters, CiTrigger, PipelineCompletionTrigger, PipelineTriggers, PrFilters, PrTrigger, Schedule,
};

/// A trigger section that cannot be read, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TriggerError {
    /// What is wrong.
    pub message: String,
    /// The offending node, or the text inside a `cron` scalar.
    pub span: Span,
}

impl PipelineTriggers {
    /// Reads `trigger`, `pr`, `schedules` and `resources.pipelines` from an expanded pipeline.
    ///
    /// # Errors
    ///
    /// Every section that has a shape Azure does not accept, or a `cron` that does not parse.
    pub fn from_document(document: &Node) -> Result<Self, Vec<TriggerError>> {
        let mut reader = Reader { errors: Vec::new() };
        let triggers = reader.document(document);
        if reader.errors.is_empty() { Ok(triggers) } else { Err(reader.errors) }
    }
}

struct Reader {
    errors: Vec<TriggerError>,
}

/// An `include`/`exclude` pair: `include` is `None` when the key is absent.
type IncludeExclude = (Option<Vec<String>>, Vec<String>);

impl Reader {
    fn error(&mut self, node: &Node, message: String) {
        self.errors.push(TriggerError { message, span: node.span });
    }

    fn document(&mut self, document: &Node) -> PipelineTriggers {
        if document.as_mapping().is_none() {
            self.error(document, format!("a pipeline must be a mapping, found {}", document.kind_name()));
            return PipelineTriggers::default();
        }
        PipelineTriggers {
            ci: document.get("trigger").map_or_else(CiTrigger::default, |node| self.ci(node)),
            pr: document.get("pr").map_or_else(PrTrigger::default, |node| self.pr(node)),
            schedules: document.get("schedules").map(|node| self.schedules(node)).unwrap_or_default(),
            pipelines: document
                .get("resources")
                .and_then(|resources| resources.get("pipelines"))
                .map(|node| self.pipelines(node))
                .unwrap_or_default(),
        }
    }

    /// `none`, a list of branches, a mapping, or null (the default).
    fn ci(&mut self, node: &Node) -> CiTrigger {
        if node.is_null() {
            return CiTrigger::default();
        }
        match &node.value {
            Value::Scalar(scalar) if scalar.text.trim().eq_ignore_ascii_case("none") => CiTrigger::Disabled,
            Value::Sequence(_) => {
                let include = self.strings(node, "`trigger`").unwrap_or_default();
                CiTrigger::Enabled(CiFilters {
                    batch: false,
                    branches: RefFilter::new(Some(&include), &[], RefKind::Branch),
                    tags: None,
                    paths: None,
                })
            }
            Value::Mapping(_) => {
                let what = "`trigger`";
                let tags = node.get("tags").and_then(|tags| self.include_exclude(tags, "`tags` in `trigger`"));
                let branches = match node.get("branches") {
                    Some(branches) => self.ref_filter(branches, "`branches` in `trigger`", RefKind::Branch),
                    // Only `tags`: branch pushes do not trigger. Only `paths` or `batch`: every branch.
                    None if tags.is_some() => RefFilter::nothing(),
                    None => RefFilter::all_branches(),
                };
                CiTrigger::Enabled(CiFilters {
                    batch: self.flag(node, "batch", what, false),
                    branches,
                    tags: tags.map(|(include, exclude)| RefFilter::new(include.as_deref(), &exclude, RefKind::Tag)),
                    paths: node.get("paths").and_then(|paths| self.path_filter(paths, "`paths` in `trigger`")),
                })
            }
            Value::Scalar(scalar) => {
                self.error(
                    node,
                    format!(
                        "`trigger` must be `none`, a list of branches, or a mapping with `batch`, `branches`, \
                         `paths` and `tags`; found `{}`",
                        scalar.text
                    ),
                );
                CiTrigger::Disabled
            }
        }
    }

    fn pr(&mut self, node: &Node) -> PrTrigger {
        if node.is_null() {
            return PrTrigger::default();
        }
        match &node.value {
            Value::Scalar(scalar) if scalar.text.trim().eq_ignore_ascii_case("none") => PrTrigger::Disabled,
            Value::Sequence(_) => {
                let include = self.strings(node, "`pr`").unwrap_or_default();
                PrTrigger::Enabled(PrFilters {
                    auto_cancel: true,
                    drafts: true,
                    branches: RefFilter::new(Some(&include), &[], RefKind::Branch),
                    paths: None,
                })
            }
            Value::Mapping(_) => PrTrigger::Enabled(PrFilters {
                auto_cancel: self.flag(node, "autoCancel", "`pr`", true),
                drafts: self.flag(node, "drafts", "`pr`", true),
                branches: node.get("branches").map_or_else(RefFilter::all_branches, |branches| {
                    self.ref_filter(branches, "`branches` in `pr`", RefKind::Branch)
                }),
                paths: node.get("paths").and_then(|paths| self.path_filter(paths, "`paths` in `pr`")),
            }),
            Value::Scalar(scalar) => {
                self.error(
                    node,
                    format!(
                        "`pr` must be `none`, a list of branches, or a mapping with `autoCancel`, `branches`, \
                         `paths` and `drafts`; found `{}`",
                        scalar.text
                    ),
                );
                PrTrigger::Disabled
            }
        }
    }

    fn schedules(&mut self, node: &Node) -> Vec<Schedule> {
        if node.is_null() {
            return Vec::new();
        }
        let Some(items) = node.as_sequence() else {
            self.error(node, format!("`schedules` must be a list of schedules, found {}", node.kind_name()));
            return Vec::new();
        };
        let mut schedules = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let what = format!("schedule {}", index + 1);
            if item.as_mapping().is_none() {
                self.error(item, format!("{what} must be a mapping with `cron`, found {}", item.kind_name()));
                continue;
            }
            let Some(cron_node) = item.get("cron") else {
                self.error(item, format!("{what} is missing the required key `cron`"));
                continue;
            };
            let Some(cron_text) = self.scalar(cron_node, &format!("`cron` in {what}")) else { continue };
            let cron = match CronSchedule::parse(&cron_text) {
                Ok(cron) => cron,
                Err(error) => {
                    self.errors.push(TriggerError {
                        message: format!("`cron` in {what}: {}", error.message),
                        span: cron_span(cron_node, &error),
                    });
                    continue;
                }
            };
            let display_name =
                item.get("displayName").and_then(|name| self.scalar(name, &format!("`displayName` in {what}")));
            // No `branches`: the schema does not say; every branch is the reading that builds
            // something, as an absent `trigger` does.
            let branches = item.get("branches").map_or_else(RefFilter::all_branches, |branches| {
                self.ref_filter(branches, &format!("`branches` in {what}"), RefKind::Branch)
            });
            schedules.push(Schedule {
                cron_text,
                cron,
                display_name,
                branches,
                always: self.flag(item, "always", &what, false),
                batch: self.flag(item, "batch", &what, false),
            });
        }
        schedules
    }

    fn pipelines(&mut self, node: &Node) -> Vec<PipelineCompletionTrigger> {
        if node.is_null() {
            return Vec::new();
        }
        let Some(items) = node.as_sequence() else {
            self.error(node, format!("`resources.pipelines` must be a list, found {}", node.kind_name()));
            return Vec::new();
        };
        let mut triggers = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let alias = item.get("pipeline").and_then(|alias| alias.as_str()).unwrap_or_default().to_owned();
            let what = if alias.is_empty() {
                format!("pipeline resource {}", index + 1)
            } else {
                format!("pipeline resource `{alias}`")
            };
            if item.as_mapping().is_none() {
                self.error(item, format!("{what} must be a mapping, found {}", item.kind_name()));
                continue;
            }
            let Some(trigger) = item.get("trigger") else { continue };
            let trigger_what = format!("`trigger` of {what}");
            let (branches, stages, tags) = match &trigger.value {
                _ if trigger.is_null() => continue,
                Value::Scalar(scalar) => match scalar.text.trim().to_ascii_lowercase().as_str() {
                    "none" | "false" => continue,
                    "true" => (RefFilter::all_branches(), Vec::new(), Vec::new()),
                    _ => {
                        self.error(
                            trigger,
                            format!(
                                "{trigger_what} must be `none`, `true`, or a mapping with `enabled`, `branches`, \
                                 `stages` and `tags`; found `{}`",
                                scalar.text
                            ),
                        );
                        continue;
                    }
                },
                Value::Mapping(_) => {
                    if !self.flag(trigger, "enabled", &trigger_what, true) {
                        continue;
                    }
                    let branches = trigger.get("branches").map_or_else(RefFilter::all_branches, |branches| {
                        self.ref_filter(branches, &format!("`branches` in {trigger_what}"), RefKind::Branch)
                    });
                    let stages = trigger
                        .get("stages")
                        .and_then(|stages| self.strings(stages, &format!("`stages` in {trigger_what}")))
                        .unwrap_or_default();
                    let tags = trigger
                        .get("tags")
                        .and_then(|tags| self.strings(tags, &format!("`tags` in {trigger_what}")))
                        .unwrap_or_default();
                    (branches, stages, tags)
                }
                Value::Sequence(_) => {
                    self.error(
                        trigger,
                        format!("{trigger_what} must be `none`, `true`, or a mapping, found a sequence"),
                    );
                    continue;
                }
            };
            if alias.is_empty() {
                self.error(item, format!("{what} is missing the required key `pipeline`"));
                continue;
            }
            let Some(source) =
                item.get("source").and_then(|source| self.scalar(source, &format!("`source` in {what}")))
            else {
                self.error(item, format!("{what} has a trigger but no `source` naming the pipeline that triggers it"));
                continue;
            };
            let project = item.get("project").and_then(|project| self.scalar(project, &format!("`project` in {what}")));
            triggers.push(PipelineCompletionTrigger { alias, source, project, branches, stages, tags });
        }
        triggers
    }

    /// A boolean key of a mapping, with Azure's spellings (`true`, `yes`, `on`, `y` and their
    /// opposites, in any case).
    fn flag(&mut self, mapping: &Node, key: &str, what: &str, default: bool) -> bool {
        let Some(node) = mapping.get(key) else { return default };
        let text = match &node.value {
            Value::Scalar(scalar) => scalar.text.trim().to_ascii_lowercase(),
            _ => String::new(),
        };
        match text.as_str() {
            "true" | "y" | "yes" | "on" => true,
            "false" | "n" | "no" | "off" => false,
            _ => {
                let found = node.as_str().map_or_else(|| node.kind_name().to_owned(), |text| format!("`{text}`"));
                self.error(node, format!("`{key}` in {what} must be `true` or `false`, found {found}"));
                default
            }
        }
    }

    fn scalar(&mut self, node: &Node, what: &str) -> Option<String> {
        match node.as_str() {
            Some(text) => Some(text.to_owned()),
            None => {
                self.error(node, format!("{what} must be a string, found {}", node.kind_name()));
                None
            }
        }
    }

    /// A list of strings; a single string is a one-item list, null an empty one.
    fn strings(&mut self, node: &Node, what: &str) -> Option<Vec<String>> {
        if node.is_null() {
            return Some(Vec::new());
        }
        match &node.value {
            Value::Scalar(scalar) => Some(vec![scalar.text.clone()]),
            Value::Sequence(items) => {
                let mut out = Vec::new();
                for item in items {
                    match item.as_str() {
                        Some(text) => out.push(text.to_owned()),
                        None => {
                            self.error(item, format!("an item of {what} must be a string, found {}", item.kind_name()))
                        }
                    }
                }
                Some(out)
            }
            Value::Mapping(_) => {
                self.error(node, format!("{what} must be a list of strings, found a mapping"));
                None
            }
        }
    }

    /// `include`/`exclude` lists, or a plain list (or one string) of includes.
    fn include_exclude(&mut self, node: &Node, what: &str) -> Option<IncludeExclude> {
        if node.as_mapping().is_none() {
            return self.strings(node, what).map(|include| (Some(include), Vec::new()));
        }
        let include = node
            .get("include")
            .map(|include| self.strings(include, &format!("`include` of {what}")).unwrap_or_default());
        let exclude = node
            .get("exclude")
            .map(|exclude| self.strings(exclude, &format!("`exclude` of {what}")).unwrap_or_default())
            .unwrap_or_default();
        Some((include, exclude))
    }

    fn ref_filter(&mut self, node: &Node, what: &str, kind: RefKind) -> RefFilter {
        match self.include_exclude(node, what) {
            Some((include, exclude)) => RefFilter::new(include.as_deref(), &exclude, kind),
            None => RefFilter::nothing(),
        }
    }

    fn path_filter(&mut self, node: &Node, what: &str) -> Option<PathFilter> {
        self.include_exclude(node, what)
            .map(|(include, exclude)| PathFilter::new(&include.unwrap_or_default(), &exclude))
    }
}

/// The span of the offending text inside a single-line `cron` scalar, or the scalar's span when
/// the text cannot be mapped back to columns (a block scalar, an escape sequence).
pub(crate) fn cron_span(node: &Node, error: &CronError) -> Span {
    let Some(scalar) = node.as_scalar() else { return node.span };
    let quote = match scalar.style {
        Style::Plain => 0,
        Style::SingleQuoted if !scalar.text.contains('\'') => 1,
        Style::DoubleQuoted if !scalar.text.contains(['\\', '"']) => 1,
        _ => return node.span,
    };
    node.span.narrow(error.offset + quote, error.length)
}

#[cfg(test)]
mod tests {
    use slipway_diagnostics::FileId;

    use super::*;
    use crate::filter::GitRef;
    use crate::triggers::{Push, PushDecision, SkipReason};

    fn read(yaml: &str) -> PipelineTriggers {
        let node = slipway_yaml::load(yaml, FileId(0)).expect("valid YAML");
        PipelineTriggers::from_document(&node).unwrap_or_else(|errors| panic!("{errors:?}"))
    }

    fn errors(yaml: &str) -> String {
        let node = slipway_yaml::load(yaml, FileId(0)).expect("valid YAML");
        match PipelineTriggers::from_document(&node) {
            Ok(_) => panic!("no error"),
            Err(errors) => errors
                .iter()
                .map(|e| {
                    format!(
                        "{}:{}-{}:{} {}",
                        e.span.start.line, e.span.start.column, e.span.end.line, e.span.end.column, e.message
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    fn push(triggers: &PipelineTriggers, git_ref: &str, paths: &[&str]) -> PushDecision {
        let paths: Vec<String> = paths.iter().map(|path| (*path).to_owned()).collect();
        triggers.ci.evaluate(&Push {
            git_ref: &GitRef::parse(git_ref),
            changed_paths: &paths,
            deleted: false,
            head_commit_message: None,
            run_in_progress: false,
        })
    }

    #[test]
    fn no_trigger_means_every_branch() {
        let triggers = read("steps:\n- script: echo\n");
        assert_eq!(triggers, PipelineTriggers::default());
        assert_eq!(push(&triggers, "refs/heads/anything", &[]), PushDecision::Start);
        assert_eq!(push(&triggers, "refs/tags/v1", &[]), PushDecision::Skip(SkipReason::TagNotIncluded("v1".into())));
    }

    #[test]
    fn none_and_lists() {
        let triggers = read("trigger: none\npr: none\n");
        assert_eq!(triggers.ci, CiTrigger::Disabled);
        assert_eq!(triggers.pr, PrTrigger::Disabled);
        let triggers = read("trigger:\n- main\n- releases/*\n");
        assert_eq!(push(&triggers, "refs/heads/releases/1", &[]), PushDecision::Start);
        assert_eq!(
            push(&triggers, "refs/heads/dev", &[]),
            PushDecision::Skip(SkipReason::BranchNotIncluded("dev".into()))
        );
    }

    #[test]
    fn full_syntax() {
        let triggers = read(
            "trigger:\n  batch: true\n  branches:\n    include: [main]\n  paths:\n    exclude: [docs]\n  tags:\n    include: ['v*']\n\
             pr:\n  autoCancel: false\n  drafts: no\n  branches: [main]\n\
             schedules:\n- cron: '0 0 * * *'\n  displayName: Nightly\n  branches:\n    include: [main]\n  always: true\n\
             resources:\n  pipelines:\n  - pipeline: lib\n    source: lib-ci\n    trigger:\n      branches: [main]\n      tags: [Signed]\n      stages: [Build]\n  - pipeline: off\n    source: other\n    trigger: none\n  - pipeline: all\n    source: all-ci\n    trigger: true\n",
        );
        let CiTrigger::Enabled(ci) = &triggers.ci else { panic!("disabled") };
        assert!(ci.batch);
        assert_eq!(push(&triggers, "refs/heads/main", &["docs/a.md"]), PushDecision::Skip(SkipReason::NoPathIncluded));
        assert_eq!(push(&triggers, "refs/heads/main", &["src/a.rs"]), PushDecision::Start);
        assert_eq!(push(&triggers, "refs/tags/v1", &["docs/a.md"]), PushDecision::Start);
        let PrTrigger::Enabled(pr) = &triggers.pr else { panic!("disabled") };
        assert!(!pr.auto_cancel && !pr.drafts);
        assert_eq!(triggers.schedules.len(), 1);
        assert_eq!(triggers.schedules[0].display_name.as_deref(), Some("Nightly"));
        assert!(triggers.schedules[0].always && !triggers.schedules[0].batch);
        let aliases: Vec<&str> = triggers.pipelines.iter().map(|p| p.alias.as_str()).collect();
        assert_eq!(aliases, ["lib", "all"]);
        assert_eq!(triggers.pipelines[0].stages, ["Build"]);
    }

    #[test]
    fn tags_only_trigger_builds_no_branch() {
        let triggers = read("trigger:\n  tags:\n    include: ['v*']\n");
        assert_eq!(
            push(&triggers, "refs/heads/main", &[]),
            PushDecision::Skip(SkipReason::BranchNotIncluded("main".into()))
        );
        assert_eq!(push(&triggers, "refs/tags/v2", &[]), PushDecision::Start);
        let paths_only = read("trigger:\n  paths:\n    include: [src]\n");
        assert_eq!(push(&paths_only, "refs/heads/any", &["src/x"]), PushDecision::Start);
    }

    #[test]
    fn shape_errors_are_reported_with_their_span() {
        insta::assert_snapshot!(errors("trigger: main\n"), @"1:10-1:14 `trigger` must be `none`, a list of branches, or a mapping with `batch`, `branches`, `paths` and `tags`; found `main`");
        insta::assert_snapshot!(errors("pr: {drafts: maybe}\n"), @"1:14-1:19 `drafts` in `pr` must be `true` or `false`, found `maybe`");
        insta::assert_snapshot!(errors("trigger:\n  branches:\n    include:\n    - {a: b}\n"), @"4:7-4:13 an item of `include` of `branches` in `trigger` must be a string, found a mapping");
        insta::assert_snapshot!(errors("schedules:\n- displayName: x\n"), @"2:3-3:1 schedule 1 is missing the required key `cron`");
        insta::assert_snapshot!(errors("schedules: nightly\n"), @"1:12-1:19 `schedules` must be a list of schedules, found a string");
        insta::assert_snapshot!(errors("resources:\n  pipelines:\n  - pipeline: lib\n    trigger: true\n"), @"3:5-5:1 pipeline resource `lib` has a trigger but no `source` naming the pipeline that triggers it");
        insta::assert_snapshot!(errors("- just a list\n"), @"1:1-2:1 a pipeline must be a mapping, found a sequence");
    }

    #[test]
    fn cron_errors_point_inside_the_scalar() {
        insta::assert_snapshot!(errors("schedules:\n- cron: 0 25 * * *\n"), @"2:11-2:13 `cron` in schedule 1: `25` is out of range in the hours field (field 2 of 5): use 0 through 23");
        insta::assert_snapshot!(errors("schedules:\n- cron: '0 0 * * Mo'\n"), @"2:18-2:20 `cron` in schedule 1: `Mo` is not a valid value in the days of week field (field 5 of 5): use 0 through 6 (0 is Sunday), an English day name or its first three letters");
        insta::assert_snapshot!(errors("schedules:\n- cron: \"0 0 * *\"\n"), @"2:17-2:18 `cron` in schedule 1: a cron expression has 5 fields, `mm HH DD MM DW` (minutes, hours, days, months, days of week), but `0 0 * *` has 4");
    }
}
