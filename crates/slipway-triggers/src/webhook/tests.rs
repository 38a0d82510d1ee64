//! Deliveries written for these tests (small, in each provider's documented shape), signed here
//! with known secrets.

use base64::Engine as _;

use super::*;

const SECRET: &str = "It's a Secret to Everybody";

fn headers(pairs: &[(&str, &str)]) -> Headers {
    pairs.iter().map(|(name, value)| (*name, *value)).collect()
}

fn signed_github(event: &str, body: &str, secret: &str) -> Headers {
    let signature = format!("sha256={}", sign(secret.as_bytes(), body.as_bytes()));
    headers(&[("X-GitHub-Event", event), ("X-Hub-Signature-256", &signature), ("Content-Type", "application/json")])
}

fn github() -> WebhookConfig {
    WebhookConfig::GitHub { secret: Secret::new(SECRET) }
}

/// The refusal as the server would answer it: status and message.
fn refusal(result: Result<WebhookEvent, WebhookError>) -> String {
    match result {
        Ok(event) => panic!("accepted: {event:?}"),
        Err(error) => format!("{} {error}", error.status()),
    }
}

fn accepted(result: Result<WebhookEvent, WebhookError>) -> WebhookEvent {
    result.unwrap_or_else(|error| panic!("refused: {error}"))
}

const GITHUB_PUSH: &str = r#"{
  "ref": "refs/heads/main",
  "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
  "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
  "created": false, "deleted": false, "forced": false,
  "repository": {
    "full_name": "octo-org/octo-repo",
    "clone_url": "https://github.com/octo-org/octo-repo.git",
    "ssh_url": "git@github.com:octo-org/octo-repo.git",
    "html_url": "https://github.com/octo-org/octo-repo"
  },
  "pusher": {"name": "monalisa", "email": "monalisa@example.com"},
  "commits": [
    {"id": "1f0c5e2", "message": "Add docs", "added": ["docs/intro.md"], "removed": [], "modified": ["README.md"]},
    {"id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "message": "Fix build [skip ci]", "added": [], "removed": ["old.txt"], "modified": ["src/main.rs", "README.md"]}
  ],
  "head_commit": {"id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "message": "Fix build [skip ci]"}
}"#;

const GITHUB_PULL_REQUEST: &str = r#"{
  "action": "opened",
  "number": 42,
  "pull_request": {
    "number": 42, "title": "Faster builds", "draft": true, "merged": false,
    "head": {"ref": "feature/speed", "sha": "8a2f9c1d0e4b5a6978c3d2e1f0a9b8c7d6e5f4a3",
             "repo": {"full_name": "fork-owner/octo-repo", "clone_url": "https://github.com/fork-owner/octo-repo.git"}},
    "base": {"ref": "main", "sha": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
             "repo": {"full_name": "octo-org/octo-repo", "clone_url": "https://github.com/octo-org/octo-repo.git"}}
  },
  "repository": {"full_name": "octo-org/octo-repo", "clone_url": "https://github.com/octo-org/octo-repo.git"}
}"#;

#[test]
fn github_push_is_verified_and_read() {
    let event = accepted(receive(&github(), &signed_github("push", GITHUB_PUSH, SECRET), GITHUB_PUSH.as_bytes()));
    let WebhookEvent::Push(pushes) = event else { panic!("not a push") };
    let [push] = pushes.as_slice() else { panic!("{pushes:?}") };
    assert_eq!(push.git_ref, GitRef::Branch("main".into()));
    assert_eq!(push.changed_paths, ["README.md", "docs/intro.md", "old.txt", "src/main.rs"]);
    assert!(push.paths_complete);
    assert_eq!(push.repository.clone_urls[0], "https://github.com/octo-org/octo-repo.git");
    assert_eq!(push.pusher.as_deref(), Some("monalisa"));
    assert_eq!(push.before.as_deref(), Some("6113728f27ae82c7b1a177c8d03f9e96e0adf246"));
    let input = push.trigger_input(false);
    assert!(!input.deleted);
    assert_eq!(
        crate::CiTrigger::default().evaluate(&input),
        crate::PushDecision::Skip(crate::SkipReason::SkipCi("[skip ci]"))
    );
}

#[test]
fn github_signature_failures() {
    let body = GITHUB_PUSH.as_bytes();
    let good = signed_github("push", GITHUB_PUSH, SECRET);
    let tampered = GITHUB_PUSH.replace("refs/heads/main", "refs/heads/evil");
    insta::assert_snapshot!(refusal(receive(&github(), &good, tampered.as_bytes())), @"401 the `X-Hub-Signature-256` signature does not match the body: the webhook's secret differs from the one configured here, or the body was changed in transit");
    insta::assert_snapshot!(refusal(receive(&github(), &signed_github("push", GITHUB_PUSH, "wrong secret"), body)), @"401 the `X-Hub-Signature-256` signature does not match the body: the webhook's secret differs from the one configured here, or the body was changed in transit");
    insta::assert_snapshot!(refusal(receive(&github(), &headers(&[("X-GitHub-Event", "push")]), body)), @"401 the delivery carries no `X-Hub-Signature-256` header, so it cannot be verified (set a secret on the GitHub webhook)");
    let sha1 = headers(&[
        ("X-GitHub-Event", "push"),
        ("X-Hub-Signature-256", "sha1=da39a3ee5e6b4b0d3255bfef95601890afd80709"),
    ]);
    insta::assert_snapshot!(refusal(receive(&github(), &sha1, body)), @"401 the `X-Hub-Signature-256` header must be `sha256=` followed by the hex HMAC-SHA256 of the body, but it starts with `sha1=`");
    let bare = sign(SECRET.as_bytes(), body);
    insta::assert_snapshot!(refusal(receive(&github(), &headers(&[("X-GitHub-Event", "push"), ("X-Hub-Signature-256", &bare)]), body)), @"401 the `X-Hub-Signature-256` header must be `sha256=` followed by the hex HMAC-SHA256 of the body: the `sha256=` prefix is missing");
    let short = headers(&[("X-GitHub-Event", "push"), ("X-Hub-Signature-256", "sha256=abc123")]);
    insta::assert_snapshot!(refusal(receive(&github(), &short, body)), @"401 the `X-Hub-Signature-256` header must be `sha256=` followed by the hex HMAC-SHA256 of the body: it is not 64 hexadecimal digits");
    let signature = format!("sha256={bare}");
    let twice = headers(&[
        ("X-GitHub-Event", "push"),
        ("X-Hub-Signature-256", &signature),
        ("x-hub-signature-256", &signature),
    ]);
    insta::assert_snapshot!(refusal(receive(&github(), &twice, body)), @"400 the `X-Hub-Signature-256` header appears more than once");
    let unconfigured = WebhookConfig::GitHub { secret: Secret::new("") };
    insta::assert_snapshot!(refusal(receive(&unconfigured, &good, body)), @"403 no secret is configured for this webhook, so no delivery can be verified; set one here and on the GitHub side");
    // Upper-case hex is still hex.
    let upper = headers(&[
        ("X-GitHub-Event", "push"),
        ("X-Hub-Signature-256", &signature.to_uppercase().replace("SHA256=", "sha256=")),
    ]);
    assert!(receive(&github(), &upper, body).is_ok());
}

#[test]
fn github_payload_failures() {
    let sign_and_receive =
        |event: &str, body: &str| receive(&github(), &signed_github(event, body, SECRET), body.as_bytes());
    insta::assert_snapshot!(refusal(sign_and_receive("push", "{\"ref\": ")), @"400 the body is not valid JSON: EOF while parsing a value at line 1 column 8");
    insta::assert_snapshot!(refusal(sign_and_receive("push", "[1, 2]")), @"400 the GitHub push payload must be a JSON object, found an array");
    insta::assert_snapshot!(refusal(sign_and_receive("push", &GITHUB_PUSH.replace("\"ref\": \"refs/heads/main\",", ""))), @"400 the GitHub push payload has no `ref`");
    insta::assert_snapshot!(refusal(sign_and_receive("push", &GITHUB_PUSH.replace("[\"docs/intro.md\"]", "\"docs/intro.md\""))), @"400 `commits[0].added` in the GitHub push payload must be an array");
    insta::assert_snapshot!(refusal(sign_and_receive("pull_request", &GITHUB_PULL_REQUEST.replace("\"number\": 42,\n", "\"number\": -1,\n"))), @"400 `number` in the GitHub pull_request payload must be a non-negative integer");
    let unsigned_event = headers(&[("X-Hub-Signature-256", &format!("sha256={}", sign(SECRET.as_bytes(), b"{}")))]);
    insta::assert_snapshot!(refusal(receive(&github(), &unsigned_event, b"{}")), @"400 the delivery carries no `X-GitHub-Event` header, so its event is unknown");
}

#[test]
fn github_ping_and_other_events() {
    let ping = r#"{"zen": "Keep it logically awesome.", "hook_id": 1}"#;
    assert_eq!(accepted(receive(&github(), &signed_github("ping", ping, SECRET), ping.as_bytes())), WebhookEvent::Ping);
    let issue = r#"{"action": "opened", "issue": {"number": 1}}"#;
    assert_eq!(
        accepted(receive(&github(), &signed_github("issues", issue, SECRET), issue.as_bytes())),
        WebhookEvent::Ignored { event: "issues".into() }
    );
    // Events are verified before anything else: an unsigned ping is refused too.
    assert!(receive(&github(), &headers(&[("X-GitHub-Event", "ping")]), ping.as_bytes()).is_err());
}

#[test]
fn github_ref_kinds() {
    let parse_push =
        |body: String| match accepted(receive(&github(), &signed_github("push", &body, SECRET), body.as_bytes())) {
            WebhookEvent::Push(mut pushes) => pushes.remove(0),
            other => panic!("{other:?}"),
        };
    let tag = parse_push(GITHUB_PUSH.replace("refs/heads/main", "refs/tags/v1.2.0"));
    assert_eq!(tag.git_ref, GitRef::Tag("v1.2.0".into()));
    let created = parse_push(
        GITHUB_PUSH
            .replace("\"created\": false", "\"created\": true")
            .replace("6113728f27ae82c7b1a177c8d03f9e96e0adf246", "0000000000000000000000000000000000000000"),
    );
    assert_eq!(created.before, None);
    assert!(!created.paths_complete);
    let deleted = parse_push(
        GITHUB_PUSH
            .replace("\"deleted\": false", "\"deleted\": true")
            .replace("0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "0000000000000000000000000000000000000000"),
    );
    assert_eq!(deleted.after, None);
    assert!(deleted.trigger_input(false).deleted);
    let forced = parse_push(GITHUB_PUSH.replace("\"forced\": false", "\"forced\": true"));
    assert!(!forced.paths_complete);
}

#[test]
fn github_pull_requests() {
    let read = |body: String| match accepted(receive(
        &github(),
        &signed_github("pull_request", &body, SECRET),
        body.as_bytes(),
    )) {
        WebhookEvent::PullRequest(pr) => pr,
        other => panic!("{other:?}"),
    };
    let opened = read(GITHUB_PULL_REQUEST.to_owned());
    insta::assert_debug_snapshot!(opened, @r#"
    PullRequestEvent {
        provider: GitHub,
        repository: Repository {
            full_name: "octo-org/octo-repo",
            clone_urls: [
                "https://github.com/octo-org/octo-repo.git",
            ],
            web_url: None,
        },
        source_repository: Some(
            Repository {
                full_name: "fork-owner/octo-repo",
                clone_urls: [
                    "https://github.com/fork-owner/octo-repo.git",
                ],
                web_url: None,
            },
        ),
        number: 42,
        action: Opened,
        source_branch: "feature/speed",
        target_branch: "main",
        head_commit: Some(
            "8a2f9c1d0e4b5a6978c3d2e1f0a9b8c7d6e5f4a3",
        ),
        draft: true,
        title: Some(
            "Faster builds",
        ),
    }
    "#);
    let merged =
        read(GITHUB_PULL_REQUEST.replace("\"opened\"", "\"closed\"").replace("\"merged\": false", "\"merged\": true"));
    assert_eq!(merged.action, PullRequestAction::Closed { merged: true });
    let sync = read(GITHUB_PULL_REQUEST.replace("\"opened\"", "\"synchronize\""));
    assert_eq!(sync.action, PullRequestAction::Synchronize);
    let ready = read(GITHUB_PULL_REQUEST.replace("\"opened\"", "\"ready_for_review\""));
    assert_eq!(ready.action, PullRequestAction::ReadyForReview);
    let labeled = read(GITHUB_PULL_REQUEST.replace("\"opened\"", "\"labeled\""));
    assert_eq!(labeled.action, PullRequestAction::Other("labeled".into()));
    // The draft pull request, through the default PR trigger (drafts: true) and then drafts: false.
    let paths = vec!["src/lib.rs".to_owned()];
    assert_eq!(
        crate::PrTrigger::default().evaluate(&opened.trigger_input(&paths)),
        crate::PrDecision::Start { cancel_in_progress: false }
    );
}

const GITLAB_PUSH: &str = r#"{
  "object_kind": "push",
  "event_name": "push",
  "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
  "after": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
  "ref": "refs/heads/master",
  "checkout_sha": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
  "user_name": "John Smith",
  "user_username": "jsmith",
  "project": {
    "path_with_namespace": "mike/diaspora",
    "git_http_url": "http://example.com/mike/diaspora.git",
    "git_ssh_url": "git@example.com:mike/diaspora.git",
    "web_url": "http://example.com/mike/diaspora"
  },
  "commits": [
    {"id": "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327", "message": "Update Catalan translation", "added": ["CHANGELOG"], "modified": ["app/controller/application.rb"], "removed": []},
    {"id": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", "message": "fixed readme", "added": [], "modified": ["README.md"], "removed": []}
  ],
  "total_commits_count": 2
}"#;

const GITLAB_MERGE_REQUEST: &str = r#"{
  "object_kind": "merge_request",
  "event_type": "merge_request",
  "user": {"username": "root"},
  "project": {"path_with_namespace": "gitlabhq/gitlab-test", "git_http_url": "http://example.com/gitlabhq/gitlab-test.git", "git_ssh_url": "git@example.com:gitlabhq/gitlab-test.git", "web_url": "http://example.com/gitlabhq/gitlab-test"},
  "object_attributes": {
    "iid": 1, "title": "MS-Viewport", "state": "opened", "action": "update",
    "source_branch": "ms-viewport", "target_branch": "master",
    "oldrev": "0bd5b6a4a0e1f2b3c4d5e6f7a8b9c0d1e2f3a4b5",
    "last_commit": {"id": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", "message": "fixed readme"},
    "draft": false, "work_in_progress": false,
    "source": {"path_with_namespace": "awesome_space/awesome_project", "git_http_url": "http://example.com/awesome_space/awesome_project.git"},
    "target": {"path_with_namespace": "gitlabhq/gitlab-test"}
  },
  "changes": {}
}"#;

fn gitlab() -> WebhookConfig {
    WebhookConfig::GitLab { token: Secret::new(SECRET) }
}

#[test]
fn gitlab_push_and_merge_requests() {
    let push_headers = headers(&[("X-Gitlab-Event", "Push Hook"), ("X-Gitlab-Token", SECRET)]);
    let WebhookEvent::Push(pushes) = accepted(receive(&gitlab(), &push_headers, GITLAB_PUSH.as_bytes())) else {
        panic!()
    };
    insta::assert_debug_snapshot!(pushes, @r#"
    [
        PushEvent {
            provider: GitLab,
            repository: Repository {
                full_name: "mike/diaspora",
                clone_urls: [
                    "http://example.com/mike/diaspora.git",
                    "git@example.com:mike/diaspora.git",
                ],
                web_url: Some(
                    "http://example.com/mike/diaspora",
                ),
            },
            git_ref: Branch(
                "master",
            ),
            before: Some(
                "95790bf891e76fee5e1747ab589903a6a1f80f22",
            ),
            after: Some(
                "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
            ),
            changed_paths: [
                "CHANGELOG",
                "README.md",
                "app/controller/application.rb",
            ],
            paths_complete: true,
            head_commit_message: Some(
                "fixed readme",
            ),
            pusher: Some(
                "jsmith",
            ),
        },
    ]
    "#);
    let mr_headers = headers(&[("X-Gitlab-Event", "Merge Request Hook"), ("X-Gitlab-Token", SECRET)]);
    let read = |body: String| match accepted(receive(&gitlab(), &mr_headers, body.as_bytes())) {
        WebhookEvent::PullRequest(pr) => pr,
        other => panic!("{other:?}"),
    };
    let sync = read(GITLAB_MERGE_REQUEST.to_owned());
    assert_eq!(sync.action, PullRequestAction::Synchronize);
    assert_eq!((sync.number, sync.source_branch.as_str(), sync.target_branch.as_str()), (1, "ms-viewport", "master"));
    assert_eq!(sync.source_repository.map(|repo| repo.full_name), Some("awesome_space/awesome_project".to_owned()));
    let without_oldrev = GITLAB_MERGE_REQUEST.replace("\"oldrev\": \"0bd5b6a4a0e1f2b3c4d5e6f7a8b9c0d1e2f3a4b5\",", "");
    assert_eq!(read(without_oldrev.clone()).action, PullRequestAction::Edited);
    let ready =
        without_oldrev.replace("\"changes\": {}", "\"changes\": {\"draft\": {\"previous\": true, \"current\": false}}");
    assert_eq!(read(ready).action, PullRequestAction::ReadyForReview);
    assert_eq!(read(GITLAB_MERGE_REQUEST.replace("\"update\"", "\"open\"")).action, PullRequestAction::Opened);
    assert_eq!(
        read(GITLAB_MERGE_REQUEST.replace("\"update\"", "\"merge\"")).action,
        PullRequestAction::Closed { merged: true }
    );
    let legacy_draft =
        GITLAB_MERGE_REQUEST.replace("\"draft\": false, \"work_in_progress\": false", "\"work_in_progress\": true");
    assert!(read(legacy_draft).draft);
    let tag_headers = headers(&[("X-Gitlab-Event", "Tag Push Hook"), ("X-Gitlab-Token", SECRET)]);
    let tag = GITLAB_PUSH.replace("\"push\"", "\"tag_push\"").replace("refs/heads/master", "refs/tags/v1.0.0");
    let WebhookEvent::Push(tags) = accepted(receive(&gitlab(), &tag_headers, tag.as_bytes())) else { panic!() };
    assert_eq!(tags[0].git_ref, GitRef::Tag("v1.0.0".into()));
    let system = headers(&[("X-Gitlab-Event", "System Hook"), ("X-Gitlab-Token", SECRET)]);
    assert!(matches!(accepted(receive(&gitlab(), &system, GITLAB_PUSH.as_bytes())), WebhookEvent::Push(_)));
    let issue = headers(&[("X-Gitlab-Event", "Issue Hook"), ("X-Gitlab-Token", SECRET)]);
    assert_eq!(accepted(receive(&gitlab(), &issue, b"{}")), WebhookEvent::Ignored { event: "Issue Hook".into() });
}

#[test]
fn gitlab_refusals() {
    let body = GITLAB_PUSH.as_bytes();
    insta::assert_snapshot!(refusal(receive(&gitlab(), &headers(&[("X-Gitlab-Event", "Push Hook"), ("X-Gitlab-Token", "guess")]), body)), @"401 the `X-Gitlab-Token` header does not match the configured secret");
    insta::assert_snapshot!(refusal(receive(&gitlab(), &headers(&[("X-Gitlab-Event", "Push Hook")]), body)), @"401 the delivery carries no `X-Gitlab-Token` header, so it cannot be verified (set a secret token on the GitLab webhook)");
    insta::assert_snapshot!(refusal(receive(&gitlab(), &headers(&[("X-Gitlab-Token", SECRET)]), body)), @"400 the delivery carries no `X-Gitlab-Event` header, so its event is unknown");
    insta::assert_snapshot!(refusal(receive(&gitlab(), &headers(&[("X-Gitlab-Event", "Push Hook"), ("X-Gitlab-Token", SECRET)]), b"not json")), @"400 the body is not valid JSON: expected ident at line 1 column 2");
    let truncated = GITLAB_PUSH.replace("\"path_with_namespace\": \"mike/diaspora\",", "");
    insta::assert_snapshot!(refusal(receive(&gitlab(), &headers(&[("X-Gitlab-Event", "Push Hook"), ("X-Gitlab-Token", SECRET)]), truncated.as_bytes())), @"400 the GitLab payload has no `project.path_with_namespace`");
    // A longer token that starts with the right one is still wrong.
    let longer = format!("{SECRET}x");
    assert!(
        receive(&gitlab(), &headers(&[("X-Gitlab-Event", "Push Hook"), ("X-Gitlab-Token", &longer)]), body).is_err()
    );
}

const GITEA_PUSH: &str = r#"{
  "ref": "refs/heads/develop",
  "before": "28e1879d029cb852e4844d9c718537df08844e03",
  "after": "bffeb74224043ba2feb48d137756c8a9331c449a",
  "compare_url": "http://localhost:3000/gitea/webhooks/compare/28e1879d029cb852e4844d9c718537df08844e03...bffeb74224043ba2feb48d137756c8a9331c449a",
  "commits": [
    {"id": "bffeb74224043ba2feb48d137756c8a9331c449a", "message": "Webhooks Yay!", "added": ["hooks.md"], "removed": null, "modified": ["README.md"]}
  ],
  "total_commits": 1,
  "head_commit": {"id": "bffeb74224043ba2feb48d137756c8a9331c449a", "message": "Webhooks Yay!"},
  "repository": {"full_name": "gitea/webhooks", "clone_url": "http://localhost:3000/gitea/webhooks.git", "ssh_url": "ssh://gitea@localhost:2222/gitea/webhooks.git", "html_url": "http://localhost:3000/gitea/webhooks"},
  "pusher": {"login": "gitea", "username": "gitea"}
}"#;

const GITEA_PULL_REQUEST: &str = r#"{
  "action": "synchronized",
  "number": 7,
  "pull_request": {
    "number": 7, "title": "WIP: new hooks", "merged": false,
    "head": {"ref": "hooks", "sha": "bffeb74224043ba2feb48d137756c8a9331c449a", "repo": {"full_name": "gitea/webhooks", "clone_url": "http://localhost:3000/gitea/webhooks.git"}},
    "base": {"ref": "main", "sha": "28e1879d029cb852e4844d9c718537df08844e03", "repo": {"full_name": "gitea/webhooks"}}
  },
  "repository": {"full_name": "gitea/webhooks", "clone_url": "http://localhost:3000/gitea/webhooks.git"}
}"#;

fn gitea() -> WebhookConfig {
    WebhookConfig::Gitea { secret: Secret::new(SECRET) }
}

#[test]
fn gitea_and_forgejo() {
    let signature = sign(SECRET.as_bytes(), GITEA_PUSH.as_bytes());
    let gitea_headers = headers(&[("X-Gitea-Event", "push"), ("X-Gitea-Signature", &signature)]);
    let WebhookEvent::Push(pushes) = accepted(receive(&gitea(), &gitea_headers, GITEA_PUSH.as_bytes())) else {
        panic!()
    };
    assert_eq!(pushes[0].changed_paths, ["README.md", "hooks.md"]);
    assert!(pushes[0].paths_complete);
    assert_eq!(pushes[0].pusher.as_deref(), Some("gitea"));
    // Forgejo sends its own headers and Gitea's; its own signature is the one checked.
    let forgejo = headers(&[
        ("X-Forgejo-Event", "push"),
        ("X-Forgejo-Signature", &signature),
        ("X-Gitea-Event", "push"),
        ("X-Gitea-Signature", "0000000000000000000000000000000000000000000000000000000000000000"),
    ]);
    assert!(receive(&gitea(), &forgejo, GITEA_PUSH.as_bytes()).is_ok());
    let forgejo_wrong = headers(&[
        ("X-Forgejo-Event", "push"),
        ("X-Forgejo-Signature", "0000000000000000000000000000000000000000000000000000000000000000"),
        ("X-Gitea-Signature", &signature),
    ]);
    insta::assert_snapshot!(refusal(receive(&gitea(), &forgejo_wrong, GITEA_PUSH.as_bytes())), @"401 the `X-Forgejo-Signature` signature does not match the body: the webhook's secret differs from the one configured here, or the body was changed in transit");
    let prefixed = headers(&[("X-Gitea-Event", "push"), ("X-Gitea-Signature", &format!("sha256={signature}"))]);
    insta::assert_snapshot!(refusal(receive(&gitea(), &prefixed, GITEA_PUSH.as_bytes())), @"401 the `X-Gitea-Signature` header must be the bare hex HMAC-SHA256 of the body, but it starts with `sha256=`");
    insta::assert_snapshot!(refusal(receive(&gitea(), &headers(&[("X-Gitea-Event", "push")]), GITEA_PUSH.as_bytes())), @"401 the delivery carries no `X-Forgejo-Signature` or `X-Gitea-Signature` header, so it cannot be verified (set a secret on the Gitea or Forgejo webhook)");
    let tampered = GITEA_PUSH.replace("develop", "main");
    insta::assert_snapshot!(refusal(receive(&gitea(), &gitea_headers, tampered.as_bytes())), @"401 the `X-Gitea-Signature` signature does not match the body: the webhook's secret differs from the one configured here, or the body was changed in transit");

    let pr_signature = sign(SECRET.as_bytes(), GITEA_PULL_REQUEST.as_bytes());
    let pr_headers = headers(&[("X-Gitea-Event", "pull_request"), ("X-Gitea-Signature", &pr_signature)]);
    let WebhookEvent::PullRequest(pr) = accepted(receive(&gitea(), &pr_headers, GITEA_PULL_REQUEST.as_bytes())) else {
        panic!()
    };
    assert_eq!(pr.action, PullRequestAction::Synchronize);
    assert!(pr.draft, "a `WIP:` title is a draft when the payload has no `draft`");
    assert_eq!((pr.number, pr.target_branch.as_str(), pr.source_repository), (7, "main", None));
}

const AZURE_PUSH: &str = r#"{
  "id": "03c164c2-8912-4d5e-8009-3707d5f83734",
  "eventType": "git.push",
  "publisherId": "tfs",
  "message": {"text": "Jamal Hartnett pushed updates to branch master of repository Fabrikam-Fiber-Git."},
  "resource": {
    "commits": [{"commitId": "33b55f7cb7e7e245323987634f960cf4a6e6bc74", "comment": "Fixed bug in web.config file"}],
    "refUpdates": [
      {"name": "refs/heads/master", "oldObjectId": "aad331d8d3b131fa9ae03cf5e53965b51942618a", "newObjectId": "33b55f7cb7e7e245323987634f960cf4a6e6bc74"},
      {"name": "refs/tags/v1", "oldObjectId": "0000000000000000000000000000000000000000", "newObjectId": "33b55f7cb7e7e245323987634f960cf4a6e6bc74"}
    ],
    "repository": {
      "id": "278d5cd2-584d-4b63-824a-2ba458937249",
      "name": "Fabrikam-Fiber-Git",
      "project": {"name": "Fabrikam-Fiber-Git"},
      "defaultBranch": "refs/heads/master",
      "remoteUrl": "https://dev.azure.com/fabrikam-fiber-inc/DefaultCollection/_git/Fabrikam-Fiber-Git"
    },
    "pushedBy": {"displayName": "Jamal Hartnett", "uniqueName": "fabrikamfiber4@hotmail.com"},
    "pushId": 14
  }
}"#;

const AZURE_PULL_REQUEST: &str = r#"{
  "eventType": "git.pullrequest.updated",
  "message": {"text": "Jamal Hartnett updated the source branch of pull request 1 (my first pull request) in Fabrikam"},
  "resource": {
    "repository": {"name": "Fabrikam", "project": {"name": "Fabrikam"}, "remoteUrl": "https://dev.azure.com/fabrikam/DefaultCollection/_git/Fabrikam"},
    "pullRequestId": 1,
    "status": "active",
    "title": "my first pull request",
    "sourceRefName": "refs/heads/mytopic",
    "targetRefName": "refs/heads/master",
    "isDraft": false,
    "lastMergeSourceCommit": {"commitId": "53d54ac915144006c2c9e90d2c7d3880920db49c"}
  }
}"#;

fn azure_basic() -> WebhookConfig {
    WebhookConfig::AzureRepos(AzureReposAuth::Basic { username: "slipway".into(), password: Secret::new(SECRET) })
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

#[test]
fn azure_repos_push_and_pull_requests() {
    let auth = basic("slipway", SECRET);
    let WebhookEvent::Push(pushes) =
        accepted(receive(&azure_basic(), &headers(&[("Authorization", &auth)]), AZURE_PUSH.as_bytes()))
    else {
        panic!()
    };
    insta::assert_debug_snapshot!(pushes, @r#"
    [
        PushEvent {
            provider: AzureRepos,
            repository: Repository {
                full_name: "Fabrikam-Fiber-Git/Fabrikam-Fiber-Git",
                clone_urls: [
                    "https://dev.azure.com/fabrikam-fiber-inc/DefaultCollection/_git/Fabrikam-Fiber-Git",
                ],
                web_url: Some(
                    "https://dev.azure.com/fabrikam-fiber-inc/DefaultCollection/_git/Fabrikam-Fiber-Git",
                ),
            },
            git_ref: Branch(
                "master",
            ),
            before: Some(
                "aad331d8d3b131fa9ae03cf5e53965b51942618a",
            ),
            after: Some(
                "33b55f7cb7e7e245323987634f960cf4a6e6bc74",
            ),
            changed_paths: [],
            paths_complete: false,
            head_commit_message: Some(
                "Fixed bug in web.config file",
            ),
            pusher: Some(
                "fabrikamfiber4@hotmail.com",
            ),
        },
        PushEvent {
            provider: AzureRepos,
            repository: Repository {
                full_name: "Fabrikam-Fiber-Git/Fabrikam-Fiber-Git",
                clone_urls: [
                    "https://dev.azure.com/fabrikam-fiber-inc/DefaultCollection/_git/Fabrikam-Fiber-Git",
                ],
                web_url: Some(
                    "https://dev.azure.com/fabrikam-fiber-inc/DefaultCollection/_git/Fabrikam-Fiber-Git",
                ),
            },
            git_ref: Tag(
                "v1",
            ),
            before: None,
            after: Some(
                "33b55f7cb7e7e245323987634f960cf4a6e6bc74",
            ),
            changed_paths: [],
            paths_complete: false,
            head_commit_message: Some(
                "Fixed bug in web.config file",
            ),
            pusher: Some(
                "fabrikamfiber4@hotmail.com",
            ),
        },
    ]
    "#);
    let read = |body: String| match accepted(receive(
        &azure_basic(),
        &headers(&[("Authorization", &auth)]),
        body.as_bytes(),
    )) {
        WebhookEvent::PullRequest(pr) => pr,
        other => panic!("{other:?}"),
    };
    let sync = read(AZURE_PULL_REQUEST.to_owned());
    assert_eq!(sync.action, PullRequestAction::Synchronize);
    assert_eq!((sync.source_branch.as_str(), sync.target_branch.as_str()), ("mytopic", "master"));
    assert_eq!(sync.head_commit.as_deref(), Some("53d54ac915144006c2c9e90d2c7d3880920db49c"));
    let created = read(AZURE_PULL_REQUEST.replace("git.pullrequest.updated", "git.pullrequest.created"));
    assert_eq!(created.action, PullRequestAction::Opened);
    let completed = read(AZURE_PULL_REQUEST.replace("\"active\"", "\"completed\""));
    assert_eq!(completed.action, PullRequestAction::Closed { merged: true });
    let abandoned = read(AZURE_PULL_REQUEST.replace("\"active\"", "\"abandoned\""));
    assert_eq!(abandoned.action, PullRequestAction::Closed { merged: false });
    let build = r#"{"eventType": "build.complete", "resource": {}}"#;
    assert_eq!(
        accepted(receive(&azure_basic(), &headers(&[("Authorization", &auth)]), build.as_bytes())),
        WebhookEvent::Ignored { event: "build.complete".into() }
    );
}

#[test]
fn azure_repos_refusals() {
    let body = AZURE_PUSH.as_bytes();
    let with = |value: &str| headers(&[("Authorization", value)]);
    insta::assert_snapshot!(refusal(receive(&azure_basic(), &with(&basic("slipway", "guess")), body)), @"401 the basic authentication user name or password does not match the service hook's configuration");
    insta::assert_snapshot!(refusal(receive(&azure_basic(), &with(&basic("someone", SECRET)), body)), @"401 the basic authentication user name or password does not match the service hook's configuration");
    insta::assert_snapshot!(refusal(receive(&azure_basic(), &headers(&[]), body)), @"401 the delivery carries no `Authorization` header, so it cannot be verified (set basic authentication on the Azure Repos service hook)");
    insta::assert_snapshot!(refusal(receive(&azure_basic(), &with("Bearer abc"), body)), @"401 the `Authorization` header must be HTTP Basic authentication (`Basic <base64 of user:password>`): the scheme is not `Basic`");
    insta::assert_snapshot!(refusal(receive(&azure_basic(), &with("Basic %%%"), body)), @"401 the `Authorization` header must be HTTP Basic authentication (`Basic <base64 of user:password>`): the credentials are not valid base64");
    let no_colon = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("slipway"));
    insta::assert_snapshot!(refusal(receive(&azure_basic(), &with(&no_colon), body)), @"401 the `Authorization` header must be HTTP Basic authentication (`Basic <base64 of user:password>`): the credentials have no `:` between user and password");
    let auth = basic("slipway", SECRET);
    insta::assert_snapshot!(refusal(receive(&azure_basic(), &with(&auth), b"{\"resource\": {}}")), @"400 the Azure Repos payload has no `eventType`");
    insta::assert_snapshot!(refusal(receive(&azure_basic(), &with(&auth), br#"{"eventType": "git.push", "resource": {"repository": {"name": "r", "remoteUrl": "u"}}}"#)), @"400 the Azure Repos payload has no `resource.refUpdates`");

    let header = WebhookConfig::AzureRepos(AzureReposAuth::Header {
        name: "X-Slipway-Token".into(),
        value: Secret::new(SECRET),
    });
    assert!(receive(&header, &headers(&[("x-slipway-token", SECRET)]), body).is_ok());
    insta::assert_snapshot!(refusal(receive(&header, &headers(&[("X-Slipway-Token", "guess")]), body)), @"401 the `X-Slipway-Token` header does not match the configured secret");
    insta::assert_snapshot!(refusal(receive(&header, &headers(&[]), body)), @r#"401 the delivery carries no `X-Slipway-Token` header, so it cannot be verified (add it under "HTTP headers" on the Azure Repos service hook)"#);
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let text = format!("{:?}", azure_basic());
    assert!(!text.contains(SECRET), "{text}");
    assert!(text.contains("Secret(***)"));
}
