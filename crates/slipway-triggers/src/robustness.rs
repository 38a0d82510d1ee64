//! Fuzz-style robustness: thousands of pseudo-random inputs (a fixed seed, so a failure
//! reproduces) to the cron parsers (Azure's and GitHub's), the date search, the filters (Azure's
//! wildcards and GitHub's patterns), the trigger readers (a pipeline's and a workflow's `on`) and
//! the webhook parsers. None may panic; each must answer with a value or a typed error.

use serde_json::{Map, Value, json};
use slipway_diagnostics::FileId;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::filter::{GitRef, PathFilter, RefFilter, RefKind, wildcard_match};
use crate::github::{
    Pattern, PullRequestEventKind, WorkflowPullRequest, WorkflowPush, WorkflowRunActivity, WorkflowRunEvent,
    WorkflowTriggers,
};
use crate::triggers::PullRequestAction;
use crate::webhook::{self, AzureReposAuth, Headers, Provider, Secret, WebhookConfig};
use crate::{CronSchedule, PipelineTriggers, Push};

/// xorshift64*: small, deterministic, good enough to shake parsers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn text(&mut self, alphabet: &[&str], max: usize) -> String {
        (0..self.below(max + 1)).map(|_| *self.pick(alphabet)).collect()
    }

    fn instant(&mut self) -> OffsetDateTime {
        let year = i32::try_from(self.below(9999)).unwrap_or(2000) + 1;
        let month = Month::try_from(u8::try_from(self.below(12) + 1).unwrap_or(1)).unwrap_or(Month::January);
        let day = u8::try_from(self.below(28) + 1).unwrap_or(1);
        let date = Date::from_calendar_date(year, month, day).unwrap_or(Date::MIN);
        let time = Time::from_hms(
            u8::try_from(self.below(24)).unwrap_or(0),
            u8::try_from(self.below(60)).unwrap_or(0),
            u8::try_from(self.below(60)).unwrap_or(0),
        )
        .unwrap_or(Time::MIDNIGHT);
        PrimitiveDateTime::new(date, time).assume_utc()
    }
}

const CRON_PIECES: &[&str] = &[
    "0",
    "1",
    "5",
    "7",
    "12",
    "23",
    "29",
    "30",
    "31",
    "59",
    "60",
    "99999999999",
    "*",
    "/",
    "-",
    ",",
    " ",
    "  ",
    "\t",
    "Mon",
    "fri",
    "Sunday",
    "Jan",
    "feb",
    "DECEMBER",
    "Ju",
    "x",
    "?",
    "é",
    "#",
    "L",
];

/// Five fields made of plausible items, mostly in range.
fn cron_expression(rng: &mut Rng) -> String {
    const NAMES: &[&str] = &["Mon", "tue", "Wednesday", "Jan", "FEB", "dec", "Sun", "sat", "May", "Ju", "Mo"];
    let mut fields = Vec::new();
    for _ in 0..5 {
        let items: Vec<String> = (0..rng.below(3) + 1)
            .map(|_| {
                let limit = if rng.below(8) == 0 { 64 } else { 13 };
                let a = rng.below(limit);
                let b = rng.below(limit);
                match rng.below(7) {
                    0 => "*".to_owned(),
                    1 => format!("*/{}", rng.below(30) + usize::from(rng.below(8) != 0)),
                    2 => format!("{a}-{b}"),
                    3 => format!("{a}-{b}/{}", rng.below(10)),
                    4 => (*rng.pick(NAMES)).to_owned(),
                    5 => format!("{}/{}", rng.below(10), rng.below(10) + 1),
                    _ => rng.below(13).to_string(),
                }
            })
            .collect();
        fields.push(items.join(","));
    }
    fields.join(" ")
}

#[test]
fn cron_parser_and_search_never_panic() {
    let mut rng = Rng(0x5EED_C0DE_1234_5678);
    let mut parsed = 0;
    for round in 0..6000 {
        let expression = if round % 4 == 0 { rng.text(CRON_PIECES, 16) } else { cron_expression(&mut rng) };
        match CronSchedule::parse(&expression) {
            Ok(schedule) => {
                parsed += 1;
                let at = rng.instant();
                let next = schedule.next_after(at);
                if let Some(next) = next {
                    assert!(next > at, "{expression}: {next} is not after {at}");
                    assert!(schedule.matches(next), "{expression}: {next} does not match");
                }
                let last = schedule.last_at_or_before(at);
                if let Some(last) = last {
                    assert!(last <= at && schedule.matches(last), "{expression}: {last} vs {at}");
                }
                let _ = schedule.due(at, rng.instant());
            }
            Err(error) => {
                let length = expression.chars().count();
                assert!(error.offset <= length && error.length >= 1, "{expression:?}: {error:?}");
                assert!(!error.message.is_empty());
            }
        }
    }
    assert!(parsed > 100, "the generator should produce some valid expressions ({parsed})");
    // The edges of the calendar.
    for expression in ["* * * * *", "59 23 31 12 *", "0 0 29 2 Sat", "0 0 1 1 *"] {
        let schedule = CronSchedule::parse(expression).unwrap_or_else(|e| panic!("{e}"));
        let end = PrimitiveDateTime::new(Date::MAX, Time::from_hms(23, 59, 0).unwrap_or(Time::MIDNIGHT)).assume_utc();
        let start = PrimitiveDateTime::new(Date::MIN, Time::MIDNIGHT).assume_utc();
        assert_eq!(schedule.next_after(end), None, "{expression}");
        let _ = schedule.last_at_or_before(start);
        let _ = schedule.next_after(start);
        let _ = schedule.last_at_or_before(end);
    }
}

const PATTERN_PIECES: &[&str] = &["*", "?", "a", "b", "/", "refs/", "heads/", "tags/", "main", "é", ".", " "];

#[test]
fn filters_never_panic() {
    let mut rng = Rng(0xF117_E125);
    for _ in 0..4000 {
        let pattern = rng.text(PATTERN_PIECES, 8);
        let text = rng.text(PATTERN_PIECES, 10);
        let _ = wildcard_match(&pattern, &text);
        let refs = RefFilter::new(Some(std::slice::from_ref(&pattern)), std::slice::from_ref(&text), RefKind::Branch);
        let _ = refs.matches(&GitRef::parse(&text));
        let paths = PathFilter::new(std::slice::from_ref(&pattern), &[]);
        let _ = paths.includes(&text);
    }
    // Long inputs stay fast: the matcher backtracks to one star only.
    let long = "a".repeat(2000);
    assert!(!wildcard_match(&format!("{}b", "*a".repeat(200)), &long));
}

const YAML_PIECES: &[&str] = &[
    "trigger:",
    "pr:",
    "schedules:",
    "resources:",
    "pipelines:",
    "\n",
    "  ",
    "- ",
    "none",
    "main",
    "'*'",
    "branches:",
    "include:",
    "exclude:",
    "paths:",
    "tags:",
    "batch: true",
    "drafts: maybe",
    "cron: '0 0 * * *'",
    "cron: 61",
    "always: yes",
    "pipeline: lib",
    "source: x",
    "trigger: true",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "enabled: false",
];

#[test]
fn trigger_reader_never_panics() {
    let mut rng = Rng(0x7A11_0B0B);
    let mut read = 0;
    for _ in 0..3000 {
        let text = rng.text(YAML_PIECES, 24);
        let Ok(document) = slipway_yaml::load(&text, FileId(0)) else { continue };
        if let Ok(triggers) = PipelineTriggers::from_document(&document) {
            read += 1;
            let main = GitRef::parse("main");
            let _ = triggers.ci.evaluate(&Push {
                git_ref: &main,
                changed_paths: &[],
                deleted: false,
                head_commit_message: None,
                run_in_progress: false,
            });
        }
    }
    assert!(read > 100, "{read}");
}

const KEYS: &[&str] = &[
    "ref",
    "before",
    "after",
    "created",
    "deleted",
    "forced",
    "commits",
    "added",
    "removed",
    "modified",
    "id",
    "message",
    "head_commit",
    "repository",
    "full_name",
    "clone_url",
    "ssh_url",
    "html_url",
    "pusher",
    "name",
    "action",
    "number",
    "pull_request",
    "head",
    "base",
    "sha",
    "repo",
    "draft",
    "merged",
    "title",
    "object_kind",
    "object_attributes",
    "iid",
    "source_branch",
    "target_branch",
    "last_commit",
    "oldrev",
    "changes",
    "previous",
    "current",
    "project",
    "path_with_namespace",
    "git_http_url",
    "total_commits_count",
    "total_commits",
    "eventType",
    "resource",
    "refUpdates",
    "oldObjectId",
    "newObjectId",
    "pullRequestId",
    "sourceRefName",
    "targetRefName",
    "status",
    "remoteUrl",
    "text",
    "isDraft",
    "forkSource",
    "pushedBy",
    "commitId",
    "comment",
    "login",
];

const STRINGS: &[&str] = &[
    "refs/heads/main",
    "refs/tags/v1",
    "0000000000000000000000000000000000000000",
    "opened",
    "synchronize",
    "synchronized",
    "update",
    "open",
    "merge",
    "git.push",
    "git.pullrequest.updated",
    "git.pullrequest.created",
    "completed",
    "abandoned",
    "",
    "push",
    "tag_push",
    "merge_request",
    "updated the source branch",
    "WIP: x",
    "é",
];

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 4 { 5 } else { 8 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => json!(rng.next() % 100),
        3 => json!(-1.5),
        4 => Value::String((*rng.pick(STRINGS)).to_owned()),
        5 | 6 => {
            let mut map = Map::new();
            for _ in 0..rng.below(6) {
                map.insert((*rng.pick(KEYS)).to_owned(), random_value(rng, depth + 1));
            }
            Value::Object(map)
        }
        _ => Value::Array((0..rng.below(4)).map(|_| random_value(rng, depth + 1)).collect()),
    }
}

fn mutate(rng: &mut Rng, body: &[u8]) -> Vec<u8> {
    let mut out = body.to_vec();
    for _ in 0..rng.below(4) {
        if out.is_empty() {
            break;
        }
        let at = rng.below(out.len());
        match rng.below(3) {
            0 => out.truncate(at),
            1 => out[at] = u8::try_from(rng.next() % 256).unwrap_or(b'x'),
            _ => out.insert(at, *rng.pick(b"{}[]\",:0an\\")),
        }
    }
    out
}

#[test]
fn webhook_parsers_never_panic() {
    let mut rng = Rng(0x00C0_FFEE_D00D);
    let events: &[(Provider, &str, &str)] = &[
        (Provider::GitHub, "X-GitHub-Event", "push"),
        (Provider::GitHub, "X-GitHub-Event", "pull_request"),
        (Provider::GitHub, "X-GitHub-Event", "ping"),
        (Provider::GitLab, "X-Gitlab-Event", "Push Hook"),
        (Provider::GitLab, "X-Gitlab-Event", "Merge Request Hook"),
        (Provider::GitLab, "X-Gitlab-Event", "System Hook"),
        (Provider::Gitea, "X-Gitea-Event", "push"),
        (Provider::Gitea, "X-Forgejo-Event", "pull_request"),
        (Provider::AzureRepos, "X-Unused", "x"),
    ];
    let mut accepted = 0;
    for round in 0..6000 {
        let (provider, header, event) = *rng.pick(events);
        let mut value = random_value(&mut rng, 0);
        if provider == Provider::AzureRepos
            && let Value::Object(map) = &mut value
        {
            map.insert("eventType".into(), Value::String((*rng.pick(&STRINGS[9..12])).to_owned()));
        }
        let body = serde_json::to_vec(&value).unwrap_or_default();
        let body = if round % 3 == 0 { mutate(&mut rng, &body) } else { body };
        let headers: Headers = [(header, event)].into_iter().collect();
        if webhook::parse(provider, &headers, &body).is_ok() {
            accepted += 1;
        }
        // Verification with random headers and secrets.
        let secret = Secret::new(rng.text(&["a", "b", ""], 3));
        let config = match rng.below(5) {
            0 => WebhookConfig::GitHub { secret },
            1 => WebhookConfig::GitLab { token: secret },
            2 => WebhookConfig::Gitea { secret },
            3 => WebhookConfig::AzureRepos(AzureReposAuth::Basic { username: "u".into(), password: secret }),
            _ => WebhookConfig::AzureRepos(AzureReposAuth::Header { name: "X-Token".into(), value: secret }),
        };
        let names = ["X-Hub-Signature-256", "X-Gitlab-Token", "X-Gitea-Signature", "Authorization", "X-Token"];
        let values = ["sha256=", "sha1=ab", "Basic Og==", "Basic dTph", "Basic ###", "a", "", "sha256=zz", "é"];
        let random_headers: Headers =
            (0..rng.below(3)).map(|_| (*rng.pick(&names), (*rng.pick(&values)).to_owned())).collect();
        let _ = webhook::receive(&config, &random_headers, &body);
    }
    assert!(accepted > 50, "some random payloads should be complete enough to read ({accepted})");
}

const GLOB_PIECES: &[&str] =
    &["*", "**", "**/", "?", "+", "!", "[", "]", "a-z", "0-9", "Z-a", "\\", "a", "b", "/", ".", "é", "[ab]", "-"];

#[test]
fn github_patterns_never_panic_and_stay_fast() {
    let mut rng = Rng(0x6177_4855_B001);
    let mut compiled = 0;
    for _ in 0..6000 {
        let pattern = rng.text(GLOB_PIECES, 10);
        let text = rng.text(&["a", "b", "/", ".", "é", "-", "!", "*"], 14);
        if let Ok(pattern) = Pattern::new(&pattern) {
            compiled += 1;
            let _ = pattern.matches(&text);
        }
    }
    assert!(compiled > 1000, "{compiled}");
    // A pattern that makes a backtracking matcher explode answers at once.
    let pattern = Pattern::new(&format!("{}b", "*a".repeat(300))).unwrap_or_else(|e| panic!("{e}"));
    assert!(!pattern.matches(&"a".repeat(5000)));
    let pattern = Pattern::new(&"a+".repeat(300)).unwrap_or_else(|e| panic!("{e}"));
    assert!(!pattern.matches(&format!("{}b", "a".repeat(5000))));
}

/// Pieces of `on:` blocks: events, filters, lists, cron, inputs, and YAML punctuation.
const ON_PIECES: &[&str] = &[
    "push:",
    "pull_request:",
    "pull_request_target:",
    "schedule:",
    "workflow_dispatch:",
    "workflow_run:",
    "workflow_call:",
    "issues:",
    "\n",
    "  ",
    "    ",
    "- ",
    "branches:",
    "branches-ignore:",
    "tags:",
    "tags-ignore:",
    "paths:",
    "paths-ignore:",
    "types:",
    "workflows:",
    "inputs:",
    "x:",
    "type: choice",
    "type: boolean",
    "type: number",
    "options: [a, b]",
    "default: true",
    "default: 3",
    "required: true",
    "- cron: '0 0 * * *'",
    "- cron: '0 0 13 * 5'",
    "- cron: 'x'",
    "timezone: Europe/Paris",
    "main",
    "'**'",
    "'!x'",
    "'a[]'",
    "[opened, closed]",
    "[completed]",
    "[Build]",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
];

#[test]
fn workflow_on_reader_never_panics() {
    let mut rng = Rng(0x0B10_C4ED_0FF5);
    let (mut checked, mut read) = (0, 0);
    for round in 0..3000 {
        let on = if round % 5 == 0 {
            // A valid block, mutated.
            let base = "on:\n  push:\n    branches: [main, 'releases/**', '!releases/**-alpha']\n    paths: ['**.js']\n  pull_request:\n    types: [opened]\n  schedule:\n    - cron: '30 5 * * 1-5'\n  workflow_dispatch:\n    inputs:\n      level:\n        type: choice\n        options: [a, b]\n  workflow_run:\n    workflows: [Build]\n";
            String::from_utf8_lossy(&mutate(&mut rng, base.as_bytes())).into_owned()
        } else {
            format!("on:\n  {}", rng.text(ON_PIECES, 20))
        };
        let text = format!("{on}\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo\n");
        let Some(workflow) = slipway_github::check(&text, FileId(0)).workflow else { continue };
        checked += 1;
        let Ok(triggers) = WorkflowTriggers::from_workflow(&workflow) else { continue };
        read += 1;
        let paths = vec!["src/a.js".to_owned(), "docs/b.md".to_owned()];
        for name in ["main", "refs/tags/v1", "refs/pull/1/merge"] {
            let git_ref = GitRef::parse(name);
            let _ = triggers.on_push(&WorkflowPush {
                git_ref: &git_ref,
                changed_paths: Some(&paths),
                deleted: rng.below(4) == 0,
                head_commit_message: Some("x"),
                commits: Some(rng.below(2000)),
            });
        }
        let action = PullRequestAction::Opened;
        let pr = WorkflowPullRequest {
            action: &action,
            base_branch: "main",
            changed_paths: Some(&paths),
            head_commit_message: None,
            merge_conflict: false,
        };
        let _ = triggers.on_pull_request(PullRequestEventKind::PullRequest, &pr);
        let _ = triggers.on_pull_request(PullRequestEventKind::PullRequestTarget, &pr);
        let (since, now) = (rng.instant(), rng.instant());
        for (schedule, _) in triggers.due_schedules(since, now) {
            let _ = schedule.evaluate("main", "main");
        }
        if let Some(dispatch) = &triggers.dispatch {
            let given = vec![("level".to_owned(), rng.text(&["a", "b", "true", "1", ""], 2))];
            let _ = dispatch.resolve(&given);
        }
        let _ = triggers.on_workflow_run(&WorkflowRunEvent {
            workflow: "Build",
            activity: WorkflowRunActivity::Completed,
            branch: "main",
            depth: rng.below(5),
        });
    }
    assert!(checked > 200 && read > 100, "checked {checked}, read {read}");
}

#[test]
fn github_cron_never_panics() {
    let mut rng = Rng(0x5EED_0C0D_E000);
    let mut parsed = 0;
    for round in 0..4000 {
        let expression = if round % 4 == 0 { rng.text(CRON_PIECES, 16) } else { cron_expression(&mut rng) };
        if let Ok(schedule) = CronSchedule::parse_github(&expression) {
            parsed += 1;
            let at = rng.instant();
            if let Some(next) = schedule.next_after(at) {
                assert!(next > at && schedule.matches(next), "{expression}: {next} after {at}");
            }
            if let Some(last) = schedule.last_at_or_before(at) {
                assert!(last <= at && schedule.matches(last), "{expression}: {last} vs {at}");
            }
        }
    }
    assert!(parsed > 50, "{parsed}");
}

#[test]
fn schedules_in_time_zones_stay_between_since_and_now() {
    let mut rng = Rng(0x7135_2D0E_5EED);
    let zones = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu", "America/Santiago"];
    let crons = ["30 2 * * *", "*/7 0-3 * * *", "0 0 * * 0", "59 23 31 12 *", "15 1 1-7 * 1"];
    let mut due = 0;
    for _ in 0..3000 {
        let on =
            format!("on:\n  schedule:\n    - cron: '{}'\n      timezone: {}\n", rng.pick(&crons), rng.pick(&zones));
        let text = format!("{on}jobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo\n");
        let Some(workflow) = slipway_github::check(&text, FileId(0)).workflow else { continue };
        let Ok(triggers) = WorkflowTriggers::from_workflow(&workflow) else { continue };
        let now = rng.instant();
        let since = now - time::Duration::minutes(i64::try_from(rng.below(60 * 24 * 40)).unwrap_or(0));
        for (_, fire) in triggers.due_schedules(since, now) {
            due += 1;
            assert!(fire > since && fire <= now, "{on}: {fire} not in ({since}, {now}]");
        }
        for schedule in &triggers.schedules {
            if let Some(next) = schedule.next_after(now) {
                assert!(next > now, "{on}: next {next} is not after {now}");
            }
        }
    }
    assert!(due > 100, "{due}");
}
