//! The GitHub decisions, each read from a workflow file the way the server will read it
//! (`slipway_github::check`, then [`WorkflowTriggers::from_workflow`]). Cases are the examples of
//! GitHub's documentation where it has them; each test names its source.

use slipway_diagnostics::FileId;
use time::macros::datetime;

use super::*;
use crate::triggers::SkipReason;

const JOBS: &str = "jobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n";

fn workflow(on: &str) -> slipway_github::Workflow {
    let text = format!("{on}\n{JOBS}");
    let checked = slipway_github::check(&text, FileId(0));
    checked.workflow.unwrap_or_else(|| panic!("not a valid workflow: {:?}\n{text}", checked.diagnostics))
}

fn read(on: &str) -> WorkflowTriggers {
    WorkflowTriggers::from_workflow(&workflow(on)).unwrap_or_else(|errors| panic!("{errors:?}"))
}

fn errors(on: &str) -> String {
    match WorkflowTriggers::from_workflow(&workflow(on)) {
        Ok(_) => panic!("no error for {on}"),
        Err(errors) => errors
            .iter()
            .map(|e| format!("{}:{} {}", e.span.start.line, e.span.start.column, e.message))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

fn push_to(triggers: &WorkflowTriggers, git_ref: &str, paths: &[&str]) -> PushDecision {
    let paths = strings(paths);
    let git_ref = GitRef::parse(git_ref);
    triggers.on_push(&WorkflowPush {
        git_ref: &git_ref,
        changed_paths: Some(&paths),
        deleted: false,
        head_commit_message: None,
        commits: Some(1),
    })
}

fn starts(decision: &PushDecision) -> bool {
    *decision == PushDecision::Start
}

/// *Workflow syntax*, `on.push.<branches|tags|branches-ignore|tags-ignore>`, "Example: Including
/// branches and tags".
#[test]
fn including_branches_and_tags() {
    let triggers = read(
        "on:\n  push:\n    branches:\n      - main\n      - 'mona/octocat'\n      - 'releases/**'\n    tags:\n      - v2\n      - v1.*\n",
    );
    for yes in ["main", "mona/octocat", "releases/10", "refs/tags/v2", "refs/tags/v1.9.1"] {
        assert!(starts(&push_to(&triggers, yes, &["a"])), "{yes}");
    }
    assert_eq!(push_to(&triggers, "dev", &["a"]), PushDecision::Skip(SkipReason::BranchNotIncluded("dev".into())));
    assert_eq!(push_to(&triggers, "refs/tags/v3", &[]), PushDecision::Skip(SkipReason::TagNotIncluded("v3".into())));
}

/// "Example: Excluding branches and tags".
#[test]
fn excluding_branches_and_tags() {
    let triggers = read(
        "on:\n  push:\n    branches-ignore:\n      - 'mona/octocat'\n      - 'releases/**-alpha'\n    tags-ignore:\n      - v2\n      - v1.*\n",
    );
    for no in ["mona/octocat", "releases/beta/3-alpha", "refs/tags/v2", "refs/tags/v1.9"] {
        assert!(!starts(&push_to(&triggers, no, &["a"])), "{no}");
    }
    for yes in ["main", "releases/beta/3", "refs/tags/v3"] {
        assert!(starts(&push_to(&triggers, yes, &["a"])), "{yes}");
    }
}

/// "Example: Including and excluding branches and tags": the order of patterns matters.
#[test]
fn including_and_excluding_in_order() {
    let triggers = read("on:\n  push:\n    branches:\n      - 'releases/**'\n      - '!releases/**-alpha'\n");
    assert!(starts(&push_to(&triggers, "releases/10", &["a"])));
    assert!(starts(&push_to(&triggers, "releases/beta/mona", &["a"])));
    assert!(!starts(&push_to(&triggers, "releases/10-alpha", &["a"])));
    assert!(!starts(&push_to(&triggers, "releases/beta/3-alpha", &["a"])));
}

/// "If you define only `tags`/`tags-ignore` or only `branches`/`branches-ignore`, the workflow
/// won't run for events affecting the undefined Git ref. If you define neither ..., the workflow
/// will run for events affecting either branches or tags."
#[test]
fn only_tags_or_only_branches() {
    let tags_only = read("on:\n  push:\n    tags:\n      - v1.**\n");
    assert!(starts(&push_to(&tags_only, "refs/tags/v1.2.3", &[])));
    assert_eq!(
        push_to(&tags_only, "main", &["a"]),
        PushDecision::Skip(SkipReason::OnlyOtherRefKind { kind: "tag", name: "main".into() })
    );
    let ignore_tags_only = read("on:\n  push:\n    tags-ignore:\n      - v1\n");
    assert!(!starts(&push_to(&ignore_tags_only, "main", &["a"])), "tags-ignore alone also leaves branches out");
    let branches_only = read("on:\n  push:\n    branches: ['**']\n");
    assert_eq!(
        push_to(&branches_only, "refs/tags/v1", &[]),
        PushDecision::Skip(SkipReason::OnlyOtherRefKind { kind: "branch", name: "v1".into() })
    );
    let neither = read("on: push\n");
    assert!(starts(&push_to(&neither, "refs/tags/v1", &[])));
    assert!(starts(&push_to(&neither, "feature/a/b", &["x"])));
    assert_eq!(
        push_to(&neither, "refs/pull/1/merge", &[]),
        PushDecision::Skip(SkipReason::UnsupportedRef("refs/pull/1/merge".into()))
    );
}

/// `on.<push|pull_request|pull_request_target>.<paths|paths-ignore>`: its three examples, "both
/// filters" with branches, and "Path filters are not evaluated for pushes of tags".
#[test]
fn paths() {
    let js = read("on:\n  push:\n    paths:\n      - '**.js'\n");
    assert!(starts(&push_to(&js, "main", &["README.md", "src/app.js"])));
    assert_eq!(push_to(&js, "main", &["README.md"]), PushDecision::Skip(SkipReason::NoPathIncluded));
    let no_docs = read("on:\n  push:\n    paths-ignore:\n      - 'docs/**'\n");
    assert!(!starts(&push_to(&no_docs, "main", &["docs/a.md", "docs/b/c.md"])), "every path ignored");
    assert!(starts(&push_to(&no_docs, "main", &["docs/a.md", "src/lib.rs"])), "one path not ignored");
    let sub = read("on:\n  push:\n    paths:\n      - 'sub-project/**'\n      - '!sub-project/docs/**'\n");
    assert!(starts(&push_to(&sub, "main", &["sub-project/index.js"])));
    assert!(starts(&push_to(&sub, "main", &["sub-project/src/index.js"])));
    assert!(!starts(&push_to(&sub, "main", &["sub-project/docs/readme.md"])));
    // *Events that trigger workflows*, `push`: "the following workflow will only run when a push
    // that includes a change to a JavaScript (`.js`) file is made to a branch whose name starts
    // with `releases/`".
    let both = read("on:\n  push:\n    branches:\n      - 'releases/**'\n    paths:\n      - '**.js'\n");
    assert!(starts(&push_to(&both, "releases/1", &["a.js"])));
    assert!(!starts(&push_to(&both, "releases/1", &["a.rs"])));
    assert!(!starts(&push_to(&both, "main", &["a.js"])));
    // Tags: paths are not evaluated.
    let tags_and_paths = read("on:\n  push:\n    tags: ['v*']\n    paths: ['src/**']\n");
    assert!(starts(&push_to(&tags_and_paths, "refs/tags/v1", &["docs/a.md"])));
    // "If there are no files changed, the workflow will not run."
    assert_eq!(push_to(&js, "main", &[]), PushDecision::Skip(SkipReason::NoPathIncluded));
}

/// "Git diff comparisons": more than 1,000 commits or no diff: the workflow always runs; only the
/// first 300 changed files are looked at.
#[test]
fn diff_limits() {
    let js = read("on:\n  push:\n    paths:\n      - '**.js'\n");
    let git_ref = GitRef::parse("main");
    let mut paths: Vec<String> = (0..DIFF_FILE_LIMIT).map(|i| format!("docs/{i:04}.md")).collect();
    paths.push("z.js".to_owned());
    let push = WorkflowPush {
        git_ref: &git_ref,
        changed_paths: Some(&paths),
        deleted: false,
        head_commit_message: None,
        commits: Some(PUSH_COMMIT_LIMIT),
    };
    assert_eq!(js.on_push(&push), PushDecision::Skip(SkipReason::NoPathIncluded), "the 301st file is not seen");
    assert_eq!(js.on_push(&WorkflowPush { changed_paths: Some(&paths[1..]), ..push }), PushDecision::Start);
    assert_eq!(js.on_push(&WorkflowPush { commits: Some(PUSH_COMMIT_LIMIT + 1), ..push }), PushDecision::Start);
    assert_eq!(js.on_push(&WorkflowPush { changed_paths: None, ..push }), PushDecision::Start);
}

/// Deletions: a deletion changes no file, so it runs only workflows without path filters (at the
/// default branch's head, which the caller picks).
#[test]
fn deletions() {
    let git_ref = GitRef::parse("feature");
    let deleted = WorkflowPush {
        git_ref: &git_ref,
        changed_paths: None,
        deleted: true,
        head_commit_message: None,
        commits: None,
    };
    assert_eq!(read("on: push\n").on_push(&deleted), PushDecision::Start);
    assert_eq!(
        read("on:\n  push:\n    branches: [main]\n").on_push(&deleted),
        PushDecision::Skip(SkipReason::BranchNotIncluded("feature".into()))
    );
    assert_eq!(
        read("on:\n  push:\n    paths: ['**']\n").on_push(&deleted),
        PushDecision::Skip(SkipReason::NoPathIncluded)
    );
}

/// *Skipping workflow runs*: the five markers and the `skip-checks` trailer; `push` and
/// `pull_request` only.
#[test]
fn skip_markers() {
    for message in ["Fix [skip ci]", "[ci skip] x", "[no ci]", "docs [SKIP ACTIONS]", "[actions skip]"] {
        assert!(skip_marker(message).is_some(), "{message}");
    }
    assert_eq!(skip_marker("Update README\n\n\nskip-checks: true"), Some("skip-checks: true"));
    assert_eq!(skip_marker("Update README\n\nskip-checks:true\n"), Some("skip-checks: true"));
    assert_eq!(skip_marker("skip ci"), None);
    assert_eq!(skip_marker("[azp skip]"), None, "Azure's markers are not GitHub's");
    assert_eq!(skip_marker("skip-checks: true\n\nmore text"), None, "not a trailer");
    let git_ref = GitRef::parse("main");
    let push = WorkflowPush {
        git_ref: &git_ref,
        changed_paths: Some(&[]),
        deleted: false,
        head_commit_message: Some("wip [skip ci]"),
        commits: Some(1),
    };
    assert_eq!(read("on: push\n").on_push(&push), PushDecision::Skip(SkipReason::SkipCi("[skip ci]")));
    let both = read("on: [pull_request, pull_request_target]\n");
    let pr = WorkflowPullRequest {
        action: &PullRequestAction::Opened,
        base_branch: "main",
        changed_paths: Some(&[]),
        head_commit_message: Some("[no ci]"),
        merge_conflict: false,
    };
    assert_eq!(
        both.on_pull_request(PullRequestEventKind::PullRequest, &pr),
        PrDecision::Skip(SkipReason::SkipCi("[no ci]"))
    );
    assert_eq!(
        both.on_pull_request(PullRequestEventKind::PullRequestTarget, &pr),
        PrDecision::Start { cancel_in_progress: false }
    );
}

fn pr<'a>(action: &'a PullRequestAction, base: &'a str, paths: &'a [String]) -> WorkflowPullRequest<'a> {
    WorkflowPullRequest {
        action,
        base_branch: base,
        changed_paths: Some(paths),
        head_commit_message: None,
        merge_conflict: false,
    }
}

/// *Events that trigger workflows*, `pull_request`: "By default, a workflow only runs when a
/// `pull_request` event's activity type is `opened`, `synchronize`, or `reopened`", and its
/// examples with `types`, `branches` and `paths`.
#[test]
fn pull_requests() {
    let paths = strings(&["src/app.js"]);
    let start = PrDecision::Start { cancel_in_progress: false };
    let plain = read("on: pull_request\n");
    for action in [PullRequestAction::Opened, PullRequestAction::Synchronize, PullRequestAction::Reopened] {
        assert_eq!(plain.on_pull_request(PullRequestEventKind::PullRequest, &pr(&action, "any", &paths)), start);
    }
    for action in [
        PullRequestAction::Closed { merged: true },
        PullRequestAction::Edited,
        PullRequestAction::ReadyForReview,
        PullRequestAction::Other("labeled".into()),
    ] {
        let decision = plain.on_pull_request(PullRequestEventKind::PullRequest, &pr(&action, "main", &paths));
        assert!(matches!(decision, PrDecision::Skip(SkipReason::ActivityNotIncluded { .. })), "{action}");
    }
    // "run a workflow when a pull request has been opened or reopened"
    let opened = read("on:\n  pull_request:\n    types: [opened, reopened]\n");
    assert_eq!(
        opened.on_pull_request(PullRequestEventKind::PullRequest, &pr(&PullRequestAction::Synchronize, "m", &paths)),
        PrDecision::Skip(SkipReason::ActivityNotIncluded { event: "pull_request", activity: "synchronize".into() })
    );
    // "Running your `pull_request` workflow when a pull request merges": `closed`, merged or not.
    let closed = read("on:\n  pull_request:\n    types:\n      - closed\n");
    assert_eq!(
        closed.on_pull_request(
            PullRequestEventKind::PullRequest,
            &pr(&PullRequestAction::Closed { merged: true }, "main", &paths)
        ),
        start
    );
    // "this workflow will run when someone opens a pull request that targets a branch whose name
    // starts with `releases/`" and includes a change to a JavaScript file.
    let releases = read(
        "on:\n  pull_request:\n    types:\n      - opened\n    branches:\n      - 'releases/**'\n    paths:\n      - '**.js'\n",
    );
    let kind = PullRequestEventKind::PullRequest;
    assert_eq!(releases.on_pull_request(kind, &pr(&PullRequestAction::Opened, "releases/1", &paths)), start);
    assert_eq!(
        releases.on_pull_request(kind, &pr(&PullRequestAction::Opened, "refs/heads/main", &paths)),
        PrDecision::Skip(SkipReason::BranchNotIncluded("main".into()))
    );
    let readme = strings(&["README.md"]);
    assert_eq!(
        releases.on_pull_request(kind, &pr(&PullRequestAction::Opened, "releases/1", &readme)),
        PrDecision::Skip(SkipReason::NoPathIncluded)
    );
    // Merge conflicts stop `pull_request`, not `pull_request_target`.
    let target = read("on:\n  pull_request:\n  pull_request_target:\n    branches-ignore: [mona/octocat]\n");
    let conflicted = WorkflowPullRequest { merge_conflict: true, ..pr(&PullRequestAction::Opened, "main", &paths) };
    assert_eq!(target.on_pull_request(kind, &conflicted), PrDecision::Skip(SkipReason::MergeConflict));
    assert_eq!(target.on_pull_request(PullRequestEventKind::PullRequestTarget, &conflicted), start);
    assert_eq!(
        target.on_pull_request(
            PullRequestEventKind::PullRequestTarget,
            &pr(&PullRequestAction::Opened, "mona/octocat", &paths)
        ),
        PrDecision::Skip(SkipReason::BranchNotIncluded("mona/octocat".into()))
    );
    assert_eq!(
        read("on: push\n").on_pull_request(kind, &pr(&PullRequestAction::Opened, "main", &paths)),
        PrDecision::Skip(SkipReason::NotTriggeredBy("pull_request"))
    );
}

/// `on.schedule`: the documentation's examples ("every day at 5:30 and 17:30 UTC"; `15 4,5 * * *`;
/// Monday–Thursday split over two schedules), the default branch only, and five minutes apart.
#[test]
fn schedules() {
    let triggers = read("on:\n  schedule:\n    - cron: '30 5,17 * * *'\n    - cron: \"15 4,5 * * *\"\n");
    assert_eq!(triggers.schedules.len(), 2);
    let first = &triggers.schedules[0];
    assert_eq!(first.cron.next_after(datetime!(2026-12-07 6:00 UTC)), Some(datetime!(2026-12-07 17:30 UTC)));
    assert_eq!(
        triggers.schedules[1].cron.next_after(datetime!(2026-12-07 4:15 UTC)),
        Some(datetime!(2026-12-07 5:15 UTC))
    );
    let due = triggers.due_schedules(datetime!(2026-12-07 5:00 UTC), datetime!(2026-12-07 5:31 UTC));
    assert_eq!(due.len(), 2);
    assert_eq!(due[0].1, datetime!(2026-12-07 5:30 UTC));
    assert_eq!(first.evaluate("refs/heads/main", "main"), ScheduleDecision::Start);
    assert_eq!(
        first.evaluate("feature", "refs/heads/main"),
        ScheduleDecision::Skip(SkipReason::NotDefaultBranch("feature".into()))
    );
    let week = read("on:\n  schedule:\n    - cron: '30 5 * * 1,3'\n    - cron: '30 5 * * 2,4'\n");
    // 2026-12-07 is a Monday.
    let fires: Vec<_> =
        week.schedules.iter().map(|schedule| schedule.cron.next_after(datetime!(2026-12-07 0:00 UTC))).collect();
    assert_eq!(fires, [Some(datetime!(2026-12-07 5:30 UTC)), Some(datetime!(2026-12-08 5:30 UTC))]);
    // Every minute is at most every five minutes.
    let often = read("on:\n  schedule:\n    - cron: '* * * * *'\n");
    let since = datetime!(2026-12-07 5:00 UTC);
    assert!(often.due_schedules(since, datetime!(2026-12-07 5:04 UTC)).is_empty());
    assert_eq!(often.due_schedules(since, datetime!(2026-12-07 5:05:30 UTC))[0].1, datetime!(2026-12-07 5:05 UTC));
}

/// `timezone` (*Events that trigger workflows*, `schedule`): the fields are read on the zone's wall
/// clock; "during DST spring-forward transitions, scheduled workflows in skipped hours advance to
/// the next valid time. For example, a 2:30 AM schedule advances to 3:00 AM."
#[test]
fn schedules_in_a_time_zone() {
    let triggers = read(
        "on:\n  schedule:\n    - cron: '0 9 * * *'\n      timezone: 'America/New_York'\n    - cron: '30 2 * * *'\n      timezone: America/New_York\n    - cron: '30 1 * * *'\n      timezone: America/New_York\n    - cron: '0 9 * * *'\n      timezone: UTC\n",
    );
    let [nine, half_past_two, half_past_one, utc] = &triggers.schedules[..] else { panic!("four schedules") };
    // 9:00 in New York is 14:00 UTC in winter and 13:00 UTC in summer.
    assert_eq!(
        nine.due(datetime!(2026-12-07 0:00 UTC), datetime!(2026-12-07 14:01 UTC)),
        Some(datetime!(2026-12-07 14:00 UTC))
    );
    assert_eq!(
        nine.due(datetime!(2026-07-07 0:00 UTC), datetime!(2026-07-07 13:01 UTC)),
        Some(datetime!(2026-07-07 13:00 UTC))
    );
    assert_eq!(nine.due(datetime!(2026-12-07 0:00 UTC), datetime!(2026-12-07 13:59 UTC)), None);
    assert_eq!(
        utc.due(datetime!(2026-12-07 0:00 UTC), datetime!(2026-12-07 9:00 UTC)),
        Some(datetime!(2026-12-07 9:00 UTC))
    );
    // 2026-03-08: clocks go from 2:00 EST to 3:00 EDT; 2:30 does not exist and runs at 3:00 EDT
    // (07:00 UTC), once.
    let before = datetime!(2026-03-07 7:30 UTC);
    assert_eq!(half_past_two.due(before, datetime!(2026-03-08 6:59 UTC)), None);
    assert_eq!(half_past_two.due(before, datetime!(2026-03-08 7:00 UTC)), Some(datetime!(2026-03-08 7:00 UTC)));
    assert_eq!(half_past_two.due(datetime!(2026-03-08 7:00 UTC), datetime!(2026-03-08 7:45 UTC)), None);
    assert_eq!(
        half_past_two.due(datetime!(2026-03-08 7:00 UTC), datetime!(2026-03-09 6:30 UTC)),
        Some(datetime!(2026-03-09 6:30 UTC))
    );
    // 2026-11-01: 1:00-2:00 happens twice (EDT, then EST); 1:30 runs the first time only.
    let before = datetime!(2026-10-31 5:30 UTC);
    assert_eq!(half_past_one.due(before, datetime!(2026-11-01 5:30 UTC)), Some(datetime!(2026-11-01 5:30 UTC)));
    assert_eq!(half_past_one.due(datetime!(2026-11-01 5:30 UTC), datetime!(2026-11-01 6:45 UTC)), None);
    assert_eq!(
        half_past_one.due(datetime!(2026-11-01 5:30 UTC), datetime!(2026-11-02 6:30 UTC)),
        Some(datetime!(2026-11-02 6:30 UTC))
    );
    // When each runs next, across the same transitions.
    assert_eq!(half_past_two.next_after(datetime!(2026-03-07 12:00 UTC)), Some(datetime!(2026-03-08 7:00 UTC)));
    assert_eq!(half_past_two.next_after(datetime!(2026-03-08 7:00 UTC)), Some(datetime!(2026-03-09 6:30 UTC)));
    assert_eq!(half_past_one.next_after(datetime!(2026-10-31 12:00 UTC)), Some(datetime!(2026-11-01 5:30 UTC)));
    assert_eq!(half_past_one.next_after(datetime!(2026-11-01 5:30 UTC)), Some(datetime!(2026-11-02 6:30 UTC)));
    assert_eq!(nine.next_after(datetime!(2026-12-07 14:00 UTC)), Some(datetime!(2026-12-08 14:00 UTC)));
    assert_eq!(utc.next_after(datetime!(2026-12-07 9:00 UTC)), Some(datetime!(2026-12-08 9:00 UTC)));
}

/// GitHub's cron is POSIX `crontab`'s: where it differs from Azure's.
#[test]
fn github_cron_differs_from_azure_cron() {
    // Day of month and day of week both restricted: either fires (POSIX), both must (Azure).
    let github = CronSchedule::parse_github("0 0 13 * 5").unwrap_or_else(|e| panic!("{e}"));
    let azure = CronSchedule::parse("0 0 13 * 5").unwrap_or_else(|e| panic!("{e}"));
    // 2026-12-11 is a Friday, the 13th a Sunday.
    assert_eq!(github.next_after(datetime!(2026-12-10 0:00 UTC)), Some(datetime!(2026-12-11 0:00 UTC)));
    assert!(github.matches(datetime!(2026-12-13 0:00 UTC)));
    assert_eq!(azure.next_after(datetime!(2026-12-10 0:00 UTC)), Some(datetime!(2027-08-13 0:00 UTC)));
    // With `*` in either, both apply as usual.
    let weekdays = CronSchedule::parse_github("0 9 * * MON-FRI").unwrap_or_else(|e| panic!("{e}"));
    assert!(!weekdays.matches(datetime!(2026-12-12 9:00 UTC)));
    // 7 is Sunday too; three-letter names only; reversed ranges and macros are errors.
    let sunday = CronSchedule::parse_github("0 3 * * 7").unwrap_or_else(|e| panic!("{e}"));
    assert!(sunday.matches(datetime!(2026-12-13 3:00 UTC)));
    for bad in ["0 3 * * sunday", "0 0 * * 5-1", "@daily", "0 0 * *", "60 * * * *", "*/0 * * * *"] {
        assert!(CronSchedule::parse_github(bad).is_err(), "{bad}");
    }
    assert!(CronSchedule::parse("0 3 * * sunday").is_ok(), "Azure still reads long names");
}

/// `on.workflow_dispatch.inputs`, read from the example of *Events that trigger workflows*.
#[test]
fn dispatch_inputs_are_read() {
    let triggers = read(
        "on:\n  workflow_dispatch:\n    inputs:\n      logLevel:\n        description: 'Log level'\n        required: true\n        default: 'warning'\n        type: choice\n        options:\n        - info\n        - warning\n        - debug\n      tags:\n        description: 'Test scenario tags'\n        required: false\n        type: boolean\n      environment:\n        description: 'Environment to run tests against'\n        type: environment\n        required: true\n      count:\n        type: number\n        default: 3\n      note:\n        description: free text\n",
    );
    let dispatch = triggers.dispatch.as_ref().unwrap_or_else(|| panic!("no dispatch"));
    let types: Vec<_> = dispatch.inputs.iter().map(|input| input.input_type.clone()).collect();
    assert_eq!(
        types,
        [
            InputType::Choice(strings(&["info", "warning", "debug"])),
            InputType::Boolean,
            InputType::Environment,
            InputType::Number,
            InputType::String,
        ]
    );
    let values = dispatch
        .resolve(&[("environment".to_owned(), "staging".to_owned())])
        .unwrap_or_else(|errors| panic!("{errors:?}"));
    let json: Vec<_> = values.iter().map(|(name, value)| (name.as_str(), value.to_json())).collect();
    assert_eq!(
        json,
        [
            ("logLevel", serde_json::json!("warning")),
            ("tags", serde_json::json!(false)),
            ("environment", serde_json::json!("staging")),
            ("count", serde_json::json!(3.0)),
            ("note", serde_json::json!("")),
        ]
    );
    assert_eq!(read("on: workflow_dispatch\n").dispatch, Some(DispatchTrigger::default()));
}

/// `on.workflow_run`: the documentation's examples ("Run Tests" completed; "Staging" or "Lab";
/// `branches: [canary]`; `releases/**` but not `-alpha`; `branches-ignore: canary`), the three
/// activity types, and the three-level chain.
#[test]
fn workflow_runs() {
    let run = |workflow, activity, branch, depth| WorkflowRunEvent { workflow, activity, branch, depth };
    let completed = WorkflowRunActivity::Completed;
    let tests = read("on:\n  workflow_run:\n    workflows: [Run Tests]\n    types:\n      - completed\n");
    assert!(tests.on_workflow_run(&run("Run Tests", completed, "main", 0)));
    assert!(!tests.on_workflow_run(&run("Run Tests", WorkflowRunActivity::Requested, "main", 0)));
    assert!(!tests.on_workflow_run(&run("run tests", completed, "main", 0)), "names compare exactly");
    let either = read("on:\n  workflow_run:\n    workflows: [Staging, Lab]\n    types:\n      - completed\n");
    assert!(either.on_workflow_run(&run("Lab", completed, "x", 0)));
    let canary = read("on:\n  workflow_run:\n    workflows: [Build]\n    types: [requested]\n    branches: [canary]\n");
    assert!(canary.on_workflow_run(&run("Build", WorkflowRunActivity::Requested, "refs/heads/canary", 0)));
    assert!(!canary.on_workflow_run(&run("Build", WorkflowRunActivity::Requested, "main", 0)));
    let releases = read(
        "on:\n  workflow_run:\n    workflows: [\"Build\"]\n    types: [requested]\n    branches:\n      - 'releases/**'\n      - '!releases/**-alpha'\n",
    );
    let requested = WorkflowRunActivity::Requested;
    for (branch, expected) in [
        ("releases/10", true),
        ("releases/beta/mona", true),
        ("releases/10-alpha", false),
        ("releases/beta/3-alpha", false),
        ("main", false),
    ] {
        assert_eq!(releases.on_workflow_run(&run("Build", requested, branch, 0)), expected, "{branch}");
    }
    let not_canary = read(
        "on:\n  workflow_run:\n    workflows: [\"Build\"]\n    types: [requested]\n    branches-ignore:\n      - \"canary\"\n",
    );
    assert!(not_canary.on_workflow_run(&run("Build", requested, "main", 0)));
    assert!(!not_canary.on_workflow_run(&run("Build", requested, "canary", 0)));
    // Names are patterns, as GitHub reads them: `+` must be escaped.
    let cpp = read("on:\n  workflow_run:\n    workflows: ['C\\+\\+ build', 'Deploy *']\n");
    assert!(cpp.on_workflow_run(&run("C++ build", completed, "main", 0)));
    assert!(cpp.on_workflow_run(&run("Deploy staging", completed, "main", 0)));
    assert!(errors("on:\n  workflow_run:\n    workflows: ['C++ build']\n").contains("write `\\+`"));
    // No `types`: every activity.
    let any = read("on:\n  workflow_run:\n    workflows: [Build]\n");
    for activity in WorkflowRunActivity::ALL {
        assert!(any.on_workflow_run(&run("Build", activity, "main", 0)), "{activity}");
    }
    // A → B → C → D run; E would be the fourth level.
    assert!(any.on_workflow_run(&run("Build", completed, "main", WORKFLOW_RUN_MAX_DEPTH - 1)));
    assert!(!any.on_workflow_run(&run("Build", completed, "main", WORKFLOW_RUN_MAX_DEPTH)));
    // From the completion the Azure side sees.
    let completion = PipelineCompletion {
        pipeline: "Build",
        project: None,
        branch: "refs/heads/main",
        tags: &[],
        completed_stages: &[],
        succeeded: false,
    };
    assert!(any.on_workflow_run(&WorkflowRunEvent::completed(&completion, 0)));
}

/// `workflow_call`: "only runs the workflow when it's called from another workflow".
#[test]
fn reusable_workflows_start_nothing_by_themselves() {
    let reusable = read("on: workflow_call\n");
    assert!(reusable.is_reusable_only());
    assert_eq!(push_to(&reusable, "main", &["a"]), PushDecision::Skip(SkipReason::ReusableWorkflow));
    let both = read("on:\n  workflow_call:\n  push:\n");
    assert!(!both.is_reusable_only());
    assert!(starts(&push_to(&both, "main", &["a"])));
    let issues = read("on:\n  issues:\n    types: [opened]\n");
    assert_eq!(issues.other_events, ["issues"]);
    assert_eq!(push_to(&issues, "main", &["a"]), PushDecision::Skip(SkipReason::NotTriggeredBy("push")));
}

#[test]
fn which_workflow_file_each_event_runs() {
    assert_eq!(WorkflowEvent::Push.workflow_version(), WorkflowVersion::PushedCommit);
    assert_eq!(WorkflowEvent::PullRequest.workflow_version(), WorkflowVersion::MergeCommit);
    for event in [WorkflowEvent::PullRequestTarget, WorkflowEvent::Schedule, WorkflowEvent::WorkflowRun] {
        assert_eq!(event.workflow_version(), WorkflowVersion::DefaultBranch);
    }
    assert_eq!(WorkflowEvent::WorkflowDispatch.workflow_version(), WorkflowVersion::ChosenRef);
}

#[test]
fn what_cannot_be_read_is_reported_where_it_is() {
    insta::assert_snapshot!(
        errors(
            "on:\n  push:\n    branches: [main]\n    branches-ignore: [dev]\n    paths: ['a[]', 'ok', 'b\\']\n  schedule:\n    - cron: '0 9 * * *'\n      timezone: Mars/Olympus_Mons\n    - cron: '0 9 * * *'\n      timezone: UTC\n  workflow_dispatch:\n    inputs:\n      level:\n        type: choice\n      flag:\n        type: boolean\n        default: maybe\n      plain:\n        options: [a]\n"
        ),
        @r"
    4:23 `on.push` has both `branches` and `branches-ignore`, which GitHub does not allow: keep `branches` and write the exclusions in it with `!` (as in `'!docs/**'`)
    5:13 `paths` in `on.push`: the pattern `a[]` is not valid: `[]` lists no characters: write the characters or ranges to match inside
    5:26 `paths` in `on.push`: the pattern `b\` is not valid: it ends with `\`, which escapes nothing: remove it or write `\\`
    8:17 `timezone: Mars/Olympus_Mons` is not a time zone of the IANA database: write a name such as `America/New_York`, `Europe/London` or `UTC`
    14:9 input `level` is a `choice` without `options`: list the values a person may choose under `options`
    17:18 the `default` of the boolean input `flag` must be `true` or `false`
    19:18 input `plain` has `options` but is not a `choice`: add `type: choice`, or remove `options`
    "
    );
}

#[test]
fn skip_reasons_read_well() {
    insta::assert_snapshot!(
        [
            SkipReason::OnlyOtherRefKind { kind: "tag", name: "main".into() },
            SkipReason::ActivityNotIncluded { event: "pull_request", activity: "labeled".into() },
            SkipReason::MergeConflict,
            SkipReason::NotDefaultBranch("feature".into()),
            SkipReason::NotTriggeredBy("push"),
            SkipReason::ReusableWorkflow,
        ]
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n"),
        @r"
    `on.push` filters only tags, so `main`, which is not a tag, does not run the workflow
    `labeled` is not among the activity types of `on.pull_request` (`types`; opened, synchronize and reopened when it is not given)
    the pull request has a merge conflict, and `pull_request` waits for it to be resolved
    scheduled workflows run only on the default branch, not on `feature`
    the workflow's `on` does not name `push`
    the workflow only runs when another workflow calls it (`on: workflow_call`)
    "
    );
}

/// What the trigger service calls with a workflow file's text.
#[test]
fn loading_a_file_reports_with_its_path() {
    let triggers =
        WorkflowTriggers::load(".github/workflows/ci.yml", &format!("on: [push, workflow_dispatch]\n{JOBS}"));
    assert!(triggers.is_ok_and(|triggers| triggers.push.is_some() && triggers.dispatch.is_some()));
    let bad_trigger =
        WorkflowTriggers::load(".github/workflows/ci.yml", &format!("on:\n  push:\n    branches: ['a[]']\n{JOBS}"));
    assert_eq!(
        bad_trigger.err().as_deref(),
        Some(
            ".github/workflows/ci.yml:3:16: `branches` in `on.push`: the pattern `a[]` is not valid: `[]` lists no \
             characters: write the characters or ranges to match inside"
        )
    );
    let invalid = WorkflowTriggers::load(".github/workflows/ci.yml", "on: push\n").err().unwrap_or_default();
    assert!(invalid.contains(".github/workflows/ci.yml:"), "{invalid}");
}

/// The adapters from the Azure side's inputs, which the trigger service already builds.
#[test]
fn adapters_from_the_azure_inputs() {
    let main = GitRef::parse("main");
    let paths = strings(&["docs/a.md"]);
    let azure = crate::triggers::Push {
        git_ref: &main,
        changed_paths: &paths,
        deleted: false,
        head_commit_message: Some("[ci skip] docs"),
        run_in_progress: true,
    };
    let push = WorkflowPush::from_push(&azure, Some(2));
    assert_eq!(push.changed_paths, Some(&paths[..]));
    assert_eq!(read("on: push\n").on_push(&push), PushDecision::Skip(SkipReason::SkipCi("[ci skip]")));
    let action = PullRequestAction::Closed { merged: false };
    let azure_pr =
        crate::triggers::PullRequest { action: &action, target_branch: "main", changed_paths: &paths, draft: true };
    let pr = WorkflowPullRequest::from_pull_request(&azure_pr, None);
    assert_eq!(activity_type(pr.action), "closed");
    assert_eq!(activity_type(&PullRequestAction::Closed { merged: true }), "closed");
    assert_eq!(activity_type(&PullRequestAction::Other("labeled".into())), "labeled");
    let closed = read("on:\n  pull_request:\n    types: [closed]\n    paths: ['docs/**']\n");
    assert_eq!(
        closed.on_pull_request(PullRequestEventKind::PullRequest, &pr),
        PrDecision::Start { cancel_in_progress: false },
        "drafts run too: GitHub has no draft filter"
    );
}

/// Every workflow of the real-world corpus in `shared/corpus/github-actions` (skipped with the
/// reason when `shared/` is not beside the checkout, a failure with `SLIPWAY_REQUIRE_CORPUS=1`)
/// that `slipway_github::check` accepts must have its triggers read with no error, and each
/// decision must answer. Prints what the corpus uses.
#[test]
fn corpus_workflows_read_with_no_false_error() {
    let shared = std::env::var_os("SLIPWAY_SHARED").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
        std::path::PathBuf::from,
    );
    let corpus = shared.join("corpus/github-actions");
    let available =
        if corpus.join("manifest.tsv").is_file() { Ok(()) } else { Err(format!("{} is not there", corpus.display())) };
    if !slipway_testing::needed_or_skip("corpus_workflows_read_with_no_false_error", "CORPUS", available) {
        return;
    }
    let manifest = std::fs::read_to_string(corpus.join("manifest.tsv")).unwrap_or_default();
    let (mut checked, mut read) = (0, 0);
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    let mut errors = Vec::new();
    for line in manifest.lines().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let (Some(kind), Some(local)) = (fields.get(4), fields.get(7)) else { continue };
        if !kind.starts_with("workflow") {
            continue;
        }
        let text = std::fs::read_to_string(corpus.join(local)).unwrap_or_default();
        let Some(workflow) = slipway_github::check(&text, FileId(0)).workflow else { continue };
        checked += 1;
        let triggers = match WorkflowTriggers::from_workflow(&workflow) {
            Ok(triggers) => triggers,
            Err(problems) => {
                errors.push(format!("{local}: {problems:?}"));
                continue;
            }
        };
        read += 1;
        let mut count = |name| *counts.entry(name).or_default() += 1;
        if triggers.push.is_some() {
            count("push");
        }
        if triggers.pull_request.is_some() {
            count("pull_request");
        }
        if triggers.pull_request_target.is_some() {
            count("pull_request_target");
        }
        if !triggers.schedules.is_empty() {
            count("schedule");
        }
        if triggers.dispatch.as_ref().is_some_and(|dispatch| !dispatch.inputs.is_empty()) {
            count("workflow_dispatch with inputs");
        } else if triggers.dispatch.is_some() {
            count("workflow_dispatch");
        }
        if triggers.workflow_run.is_some() {
            count("workflow_run");
        }
        if triggers.is_reusable_only() {
            count("workflow_call only");
        }
        let paths = strings(&["README.md", "src/lib.rs"]);
        if starts(&push_to(&triggers, "main", &["README.md", "src/lib.rs"])) {
            count("a push to main starts it");
        }
        let opened = PullRequestAction::Opened;
        if triggers.on_pull_request(PullRequestEventKind::PullRequest, &pr(&opened, "main", &paths))
            == (PrDecision::Start { cancel_in_progress: false })
        {
            count("a pull request to main starts it");
        }
        if let Some(dispatch) = &triggers.dispatch {
            // Defaults alone satisfy an input unless it is required without one.
            let needs_values = dispatch.inputs.iter().any(|input| input.required && input.default.is_none());
            assert_eq!(dispatch.resolve(&[]).is_ok(), !needs_values, "{local}");
        }
    }
    let figures: Vec<String> = counts.iter().map(|(name, count)| format!("{name}: {count}")).collect();
    println!("GitHub corpus triggers: {checked} valid workflows, {read} read; {}", figures.join(", "));
    assert!(checked > 150, "the corpus holds its workflows ({checked})");
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
