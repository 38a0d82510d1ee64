//! Work items and incidents: creating, listing, changing, comments and links, and what
//! automation opens, bumps and resolves by key; each change recorded in the outbox.

use slipway_store::{
    ChangeKind, NewWorkItem, NewWorkItemLink, RunId, SecurityThreshold, Store, WorkItemFilter, WorkItemId,
    WorkItemKind, WorkItemLinkKind, WorkItemRules, WorkItemSeverity, WorkItemState, WorkItemStates, WorkItemUpdate,
};

use crate::support::{START, conformance};

/// The kinds and subjects of the changes recorded so far.
async fn changes(store: &Store) -> Result<Vec<(ChangeKind, i64)>, slipway_store::StoreError> {
    Ok(store.changes_after(0, 1000).await?.into_iter().map(|change| (change.kind, change.subject)).collect())
}

/// Checks that `result` is [`slipway_store::StoreError::Invalid`] naming `field`.
fn refused<T: std::fmt::Debug>(result: Result<T, slipway_store::StoreError>, field: &str) {
    match result {
        Err(error @ slipway_store::StoreError::Invalid { .. }) => assert!(error.to_string().contains(field), "{error}"),
        other => panic!("expected invalid {field}, got {other:?}"),
    }
}

fn failure(key: &str) -> NewWorkItem {
    NewWorkItem {
        dedup_key: Some(key.to_owned()),
        description: "Stage Build, job Compile failed".into(),
        ..NewWorkItem::new(WorkItemKind::Bug, "app: Build/Compile fails on main", "system")
    }
}

conformance! {
    /// An item is created new with one occurrence, read back, and listed with every filter.
    async fn items_are_created_and_listed(test: TestStore) {
        let app = test.pipeline("app").await?;
        let bug = test
            .store
            .create_work_item(
                &NewWorkItem {
                    severity: Some(WorkItemSeverity::High),
                    assignee: Some("alice".into()),
                    pipeline: Some(app.id),
                    description: "Line one\nline two".into(),
                    ..NewWorkItem::new(WorkItemKind::Bug, "  Login is broken ", "alice")
                },
                &[NewWorkItemLink::run(RunId(7))],
            )
            .await?;
        assert_eq!(bug.title, "Login is broken");
        assert_eq!(bug.state, WorkItemState::New);
        assert_eq!(bug.occurrences, 1);
        assert_eq!((bug.created_at, bug.updated_at, bug.resolved_at), (START, START, None));
        assert_eq!(test.store.work_item(bug.id).await?, bug);
        test.advance(10);
        let task = test.store.create_work_item(&NewWorkItem::new(WorkItemKind::Task, "Rotate keys", "bob"), &[]).await?;
        let incident = test
            .store
            .create_work_item(
                &NewWorkItem { environment: Some("Production".into()), ..NewWorkItem::new(WorkItemKind::Incident, "Outage", "bob") },
                &[],
            )
            .await?;
        test.store.update_work_item(task.id, &WorkItemUpdate { state: Some(WorkItemState::Closed), ..WorkItemUpdate::default() }, "bob").await?;

        let ids = |items: Vec<slipway_store::WorkItem>| items.into_iter().map(|item| item.id).collect::<Vec<_>>();
        let all = WorkItemFilter::default();
        assert_eq!(ids(test.store.list_work_items(&all).await?), vec![incident.id, task.id, bug.id]);
        let kind = WorkItemFilter { kind: Some(WorkItemKind::Incident), ..WorkItemFilter::default() };
        assert_eq!(ids(test.store.list_work_items(&kind).await?), vec![incident.id]);
        let open = WorkItemFilter { states: Some(WorkItemStates::Open), ..WorkItemFilter::default() };
        assert_eq!(ids(test.store.list_work_items(&open).await?), vec![incident.id, bug.id]);
        let done = WorkItemFilter { states: Some(WorkItemStates::Done), ..WorkItemFilter::default() };
        assert_eq!(ids(test.store.list_work_items(&done).await?), vec![task.id]);
        let closed = WorkItemFilter { states: Some(WorkItemStates::Is(WorkItemState::Closed)), ..WorkItemFilter::default() };
        assert_eq!(ids(test.store.list_work_items(&closed).await?), vec![task.id]);
        let assignee = WorkItemFilter { assignee: Some("alice".into()), ..WorkItemFilter::default() };
        assert_eq!(ids(test.store.list_work_items(&assignee).await?), vec![bug.id]);
        let environment = WorkItemFilter { environment: Some("production".into()), ..WorkItemFilter::default() };
        assert_eq!(ids(test.store.list_work_items(&environment).await?), vec![incident.id]);
        let pipeline = WorkItemFilter { pipeline: Some(app.id), ..WorkItemFilter::default() };
        assert_eq!(ids(test.store.list_work_items(&pipeline).await?), vec![bug.id]);
        let page = WorkItemFilter { limit: 2, ..WorkItemFilter::default() };
        assert_eq!(ids(test.store.list_work_items(&page).await?), vec![incident.id, task.id]);
        let next = WorkItemFilter { before: Some(task.id), limit: 2, ..WorkItemFilter::default() };
        assert_eq!(ids(test.store.list_work_items(&next).await?), vec![bug.id]);

        assert!(test.store.work_item(WorkItemId(999_999)).await.err().is_some_and(|error| error.is_not_found()));
        assert_eq!(
            changes(&test.store).await?,
            vec![
                (ChangeKind::WorkItemCreated, bug.id.0),
                (ChangeKind::WorkItemCreated, task.id.0),
                (ChangeKind::WorkItemCreated, incident.id.0),
                (ChangeKind::WorkItemResolved, task.id.0),
            ]
        );
        Ok(())
    }
}

conformance! {
    /// Bad input is refused, naming the field, and nothing is recorded.
    async fn bad_input_is_refused(test: TestStore) {
        refused(test.store.create_work_item(&NewWorkItem::new(WorkItemKind::Bug, " ", "alice"), &[]).await, "title");
        refused(test.store.create_work_item(&NewWorkItem::new(WorkItemKind::Bug, "a\u{1b}b", "alice"), &[]).await, "title");
        refused(test.store.create_work_item(&NewWorkItem::new(WorkItemKind::Bug, "x".repeat(501), "alice"), &[]).await, "title");
        let bad_link = NewWorkItemLink { kind: WorkItemLinkKind::Run, target: "seven".into() };
        refused(test.store.create_work_item(&NewWorkItem::new(WorkItemKind::Bug, "ok", "alice"), &[bad_link]).await, "link target");
        refused(test.store.create_work_item(&NewWorkItem::new(WorkItemKind::Bug, "ok", "alice"), &[NewWorkItemLink::commit("xyz!")]).await, "link target");
        refused(test.store.open_or_bump_work_item(&NewWorkItem::new(WorkItemKind::Bug, "ok", "system"), "", &[]).await, "dedup key");
        let item = test.store.create_work_item(&NewWorkItem::new(WorkItemKind::Task, "ok", "alice"), &[]).await?;
        refused(test.store.add_work_item_comment(item.id, "alice", "  ").await, "comment text");
        refused(test.store.update_work_item(item.id, &WorkItemUpdate { title: Some(String::new()), ..WorkItemUpdate::default() }, "alice").await, "title");
        assert!(test.store.add_work_item_comment(WorkItemId(999), "alice", "hi").await.err().is_some_and(|error| error.is_not_found()));
        assert!(test.store.add_work_item_links(WorkItemId(999), &[NewWorkItemLink::run(RunId(1))], "alice").await.err().is_some_and(|error| error.is_not_found()));
        assert_eq!(changes(&test.store).await?, vec![(ChangeKind::WorkItemCreated, item.id.0)]);
        Ok(())
    }
}

conformance! {
    /// Updates change fields; entering resolved or closed sets when and how, reopening clears
    /// both; comments and links are kept in order, links once.
    async fn updates_comments_and_links(test: TestStore) {
        let item = test.store.create_work_item(&NewWorkItem::new(WorkItemKind::Bug, "Flaky test", "alice"), &[]).await?;
        test.advance(1_000);
        let active = test
            .store
            .update_work_item(
                item.id,
                &WorkItemUpdate {
                    state: Some(WorkItemState::Active),
                    assignee: Some(Some("bob".into())),
                    severity: Some(Some(WorkItemSeverity::Low)),
                    title: Some("Flaky login test".into()),
                    description: Some("It fails one time in ten".into()),
                    resolution: None,
                },
                "alice",
            )
            .await?;
        assert_eq!(active.state, WorkItemState::Active);
        assert_eq!(active.assignee.as_deref(), Some("bob"));
        assert_eq!(active.severity, Some(WorkItemSeverity::Low));
        assert_eq!(active.title, "Flaky login test");
        assert_eq!(active.description, "It fails one time in ten");
        assert_eq!(active.updated_at.0, START.0 + 1_000);
        assert_eq!(active.resolved_at, None);

        test.advance(1_000);
        let resolved = test
            .store
            .update_work_item(
                item.id,
                &WorkItemUpdate { state: Some(WorkItemState::Resolved), resolution: Some("Fixed the wait".into()), ..WorkItemUpdate::default() },
                "bob",
            )
            .await?;
        assert_eq!(resolved.resolved_at.map(|at| at.0), Some(START.0 + 2_000));
        assert_eq!(resolved.resolution.as_deref(), Some("Fixed the wait"));
        // Closing a resolved item keeps when it was resolved.
        test.advance(1_000);
        let closed = test.store.update_work_item(item.id, &WorkItemUpdate { state: Some(WorkItemState::Closed), ..WorkItemUpdate::default() }, "bob").await?;
        assert_eq!(closed.resolved_at, resolved.resolved_at);
        assert_eq!(closed.resolution.as_deref(), Some("Fixed the wait"));
        let reopened = test.store.update_work_item(item.id, &WorkItemUpdate { state: Some(WorkItemState::Active), assignee: Some(None), ..WorkItemUpdate::default() }, "bob").await?;
        assert_eq!((reopened.resolved_at, reopened.resolution.as_deref(), reopened.assignee.as_deref()), (None, None, None));

        let first = test.store.add_work_item_comment(item.id, "alice", "Seen again\non main").await?;
        let second = test.store.add_work_item_comment(item.id, "bob", "Looking").await?;
        let comments = test.store.work_item_comments(item.id).await?;
        assert_eq!(comments, vec![first.clone(), second]);
        assert_eq!(comments[0].text, "Seen again\non main");

        let links = [NewWorkItemLink::run(RunId(4)), NewWorkItemLink::commit("ABCDEF1234"), NewWorkItemLink::environment("prod")];
        assert_eq!(test.store.add_work_item_links(item.id, &links, "alice").await?, 3);
        assert_eq!(test.store.add_work_item_links(item.id, &links, "alice").await?, 0);
        let stored = test.store.work_item_links(item.id).await?;
        assert_eq!(stored.len(), 3);
        assert!(stored.iter().any(|link| link.kind == WorkItemLinkKind::Commit && link.target == "abcdef1234"));

        let kinds: Vec<ChangeKind> = changes(&test.store).await?.into_iter().map(|(kind, _)| kind).collect();
        assert_eq!(
            kinds,
            vec![
                ChangeKind::WorkItemCreated,
                ChangeKind::WorkItemUpdated,
                ChangeKind::WorkItemResolved,
                ChangeKind::WorkItemUpdated,
                ChangeKind::WorkItemUpdated,
                ChangeKind::WorkItemUpdated,
                ChangeKind::WorkItemUpdated,
                ChangeKind::WorkItemUpdated,
            ]
        );
        Ok(())
    }
}

conformance! {
    /// A failure opens one item per key; repeats bump it with a comment and links; resolving by
    /// key resolves it with a comment and the fixing run; the next failure opens a new one.
    async fn failures_open_bump_and_resolve_by_key(test: TestStore) {
        let (opened, created) = test.store.open_or_bump_work_item(&failure("app/Build/Compile"), "Run 1 failed", &[NewWorkItemLink::run(RunId(1))]).await?;
        assert!(created);
        assert_eq!(opened.occurrences, 1);
        test.advance(5);
        let (bumped, created) = test.store.open_or_bump_work_item(&failure("app/Build/Compile"), "Run 2 failed", &[NewWorkItemLink::run(RunId(2)), NewWorkItemLink::run(RunId(1))]).await?;
        assert!(!created);
        assert_eq!(bumped.id, opened.id);
        assert_eq!(bumped.occurrences, 2);
        assert_eq!(bumped.updated_at.0, START.0 + 5);
        let (other, created) = test.store.open_or_bump_work_item(&failure("app/Test/Unit"), "", &[]).await?;
        assert!(created);
        assert_ne!(other.id, opened.id);
        assert_eq!(test.store.work_item_comments(opened.id).await?.iter().map(|comment| comment.text.as_str()).collect::<Vec<_>>(), vec!["Run 1 failed", "Run 2 failed"]);
        assert_eq!(test.store.work_item_links(opened.id).await?.len(), 2);
        // Creating another open item with the key is a conflict.
        assert!(test.store.create_work_item(&failure("app/Build/Compile"), &[]).await.err().is_some_and(|error| error.is_conflict()));

        test.advance(5);
        let resolved = test.store.resolve_work_item_by_key("app/Build/Compile", "Fixed by run 3", "system", &[NewWorkItemLink::run(RunId(3))]).await?;
        let resolved = resolved.ok_or("nothing resolved")?;
        assert_eq!(resolved.id, opened.id);
        assert_eq!(resolved.state, WorkItemState::Resolved);
        assert_eq!(resolved.resolution.as_deref(), Some("Fixed by run 3"));
        assert_eq!(resolved.resolved_at.map(|at| at.0), Some(START.0 + 10));
        assert!(test.store.work_item_links(opened.id).await?.iter().any(|link| link.target == "3"));
        assert_eq!(test.store.resolve_work_item_by_key("app/Build/Compile", "again", "system", &[]).await?, None);
        assert_eq!(test.store.resolve_work_item_by_key("no such key", "x", "system", &[]).await?, None);

        // The next failure opens a new item (the old one is done).
        let (again, created) = test.store.open_or_bump_work_item(&failure("app/Build/Compile"), "Run 4 failed", &[]).await?;
        assert!(created);
        assert_ne!(again.id, opened.id);
        // Reopening the old one while the new one is open is a conflict.
        let reopen = WorkItemUpdate { state: Some(WorkItemState::Active), ..WorkItemUpdate::default() };
        assert!(test.store.update_work_item(opened.id, &reopen, "alice").await.err().is_some_and(|error| error.is_conflict()));

        // Resolving by id: once.
        let by_id = test.store.resolve_work_item(other.id, "Fixes #2 in abc123", "alice", &[NewWorkItemLink::commit("abc123")]).await?;
        assert_eq!(by_id.map(|item| item.state), Some(WorkItemState::Resolved));
        assert_eq!(test.store.resolve_work_item(other.id, "again", "alice", &[]).await?, None);
        assert!(test.store.resolve_work_item(WorkItemId(999), "x", "alice", &[]).await.err().is_some_and(|error| error.is_not_found()));

        assert_eq!(
            changes(&test.store).await?,
            vec![
                (ChangeKind::WorkItemCreated, opened.id.0),
                (ChangeKind::WorkItemUpdated, opened.id.0),
                (ChangeKind::WorkItemCreated, other.id.0),
                (ChangeKind::WorkItemResolved, opened.id.0),
                (ChangeKind::WorkItemCreated, again.id.0),
                (ChangeKind::WorkItemResolved, other.id.0),
            ]
        );
        let details = test.store.changes_after(0, 10).await?;
        assert_eq!(details[1].details["occurrences"], 2);
        assert_eq!(details[0].details["kind"], "bug");
        Ok(())
    }
}

conformance! {
    /// Writers racing on one key end with one item, bumped by all but the first.
    async fn racing_failures_open_one_item(test: TestStore) {
        let mut writers = Vec::new();
        for writer in 0..8_i64 {
            let store = test.store.clone();
            writers.push(tokio::spawn(async move {
                store.open_or_bump_work_item(&failure("race"), &format!("writer {writer}"), &[NewWorkItemLink::run(RunId(writer + 1))]).await
            }));
        }
        let mut created = 0;
        for writer in writers {
            let (_, opened) = writer.await??;
            created += usize::from(opened);
        }
        assert_eq!(created, 1);
        let open = test.store.list_work_items(&WorkItemFilter { states: Some(WorkItemStates::Open), ..WorkItemFilter::default() }).await?;
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].occurrences, 8);
        assert_eq!(test.store.work_item_comments(open[0].id).await?.len(), 8);
        assert_eq!(test.store.work_item_links(open[0].id).await?.len(), 8);
        Ok(())
    }
}

conformance! {
    /// The open items linked to a target, or about it, are found; done ones are not.
    async fn open_items_linked_to_a_target(test: TestStore) {
        let app = test.pipeline("app").await?;
        let linked = test.store.create_work_item(&NewWorkItem::new(WorkItemKind::Incident, "Rollback", "system"), &[NewWorkItemLink::run(RunId(9))]).await?;
        let about = test
            .store
            .create_work_item(
                &NewWorkItem { environment: Some("Prod".into()), pipeline: Some(app.id), ..NewWorkItem::new(WorkItemKind::Incident, "Down", "system") },
                &[],
            )
            .await?;
        let done = test.store.create_work_item(&NewWorkItem::new(WorkItemKind::Incident, "Old", "system"), &[NewWorkItemLink::run(RunId(9))]).await?;
        test.store.resolve_work_item(done.id, "ok", "alice", &[]).await?;
        let found = |items: Vec<slipway_store::WorkItem>| items.into_iter().map(|item| item.id).collect::<Vec<_>>();
        assert_eq!(found(test.store.open_work_items_linked_to(&NewWorkItemLink::run(RunId(9))).await?), vec![linked.id]);
        assert_eq!(found(test.store.open_work_items_linked_to(&NewWorkItemLink::environment("prod")).await?), vec![about.id]);
        assert_eq!(found(test.store.open_work_items_linked_to(&NewWorkItemLink::pipeline(app.id)).await?), vec![about.id]);
        assert_eq!(found(test.store.open_work_items_linked_to(&NewWorkItemLink::run(RunId(10))).await?), Vec::<WorkItemId>::new());
        Ok(())
    }
}

conformance! {
    /// A pipeline's work-item rules are the defaults until set; set ones are read back with who
    /// and when; bad ones are refused naming the field; they go with their pipeline.
    async fn work_item_rules_are_kept_per_pipeline(test: TestStore) {
        let app = test.pipeline("app").await?.id;
        let other = test.pipeline("other").await?.id;
        let defaults = test.store.work_item_rules(app).await?;
        assert_eq!(defaults.rules, WorkItemRules::default());
        assert_eq!(defaults.updated, None);
        assert!(defaults.rules.failures && defaults.rules.incidents);
        assert_eq!(defaults.rules.security, SecurityThreshold::High);
        let rules = WorkItemRules {
            failures: false,
            branches: vec!["main".into(), "release/*".into()],
            security: SecurityThreshold::Medium,
            incidents: false,
            assignee: Some("alice".into()),
        };
        let set = test.store.set_work_item_rules(app, &rules, "admin").await?;
        assert_eq!(set.rules, rules);
        let read = test.store.work_item_rules(app).await?;
        assert_eq!(read.rules, rules);
        assert_eq!(read.updated.map(|(by, _)| by), Some("admin".to_owned()));
        // Setting again replaces; the other pipeline keeps the defaults.
        let fewer = WorkItemRules { branches: vec!["trunk".into()], ..WorkItemRules::default() };
        test.store.set_work_item_rules(app, &fewer, "bob").await?;
        assert_eq!(test.store.work_item_rules(app).await?.rules, fewer);
        assert_eq!(test.store.work_item_rules(other).await?.rules, WorkItemRules::default());

        let blank = WorkItemRules { branches: vec![" ".into()], ..WorkItemRules::default() };
        refused(test.store.set_work_item_rules(app, &blank, "admin").await, "protected branch");
        let many = WorkItemRules { branches: (0..51).map(|n| format!("b{n}")).collect(), ..WorkItemRules::default() };
        refused(test.store.set_work_item_rules(app, &many, "admin").await, "protected branches");
        let nobody = WorkItemRules { assignee: Some(String::new()), ..WorkItemRules::default() };
        refused(test.store.set_work_item_rules(app, &nobody, "admin").await, "assignee");
        assert_eq!(test.store.work_item_rules(app).await?.rules, fewer);

        let missing = slipway_store::PipelineId(999);
        assert!(test.store.work_item_rules(missing).await.err().is_some_and(|error| error.is_not_found()));
        assert!(test.store.set_work_item_rules(missing, &fewer, "admin").await.err().is_some_and(|error| error.is_not_found()));
        test.store.delete_pipeline(app).await?;
        assert!(test.store.work_item_rules(app).await.err().is_some_and(|error| error.is_not_found()));
        Ok(())
    }
}

#[test]
fn security_thresholds_rank_sarif_levels_and_severities() {
    assert!(SecurityThreshold::High.reached_by("error"));
    assert!(SecurityThreshold::High.reached_by("CRITICAL"));
    assert!(!SecurityThreshold::High.reached_by("warning"));
    assert!(SecurityThreshold::Medium.reached_by("moderate"));
    assert!(!SecurityThreshold::Critical.reached_by("error"));
    assert!(SecurityThreshold::Low.reached_by("note"));
    assert!(!SecurityThreshold::Low.reached_by("none"));
    assert!(!SecurityThreshold::Off.reached_by("critical"));
}

conformance! {
    /// Items linked to a target are found in every state, and a commit link of 7 or more digits
    /// links every commit it is a prefix of; the open-only query leaves resolved ones out.
    async fn items_linked_to_a_target_in_every_state(test: TestStore) {
        let commit = "0123456789abcdef0123456789abcdef01234567";
        let by_prefix = test.store.create_work_item(&NewWorkItem::new(WorkItemKind::Task, "short link", "alice"), &[NewWorkItemLink::commit("0123456")]).await?;
        let by_full = test.store.create_work_item(&NewWorkItem::new(WorkItemKind::Bug, "full link", "alice"), &[NewWorkItemLink::commit(commit)]).await?;
        let too_short = test.store.create_work_item(&NewWorkItem::new(WorkItemKind::Task, "other commit", "alice"), &[NewWorkItemLink::commit("0123457")]).await?;
        test.store.resolve_work_item(by_full.id, "fixed", "alice", &[]).await?;
        let ids = |items: Vec<slipway_store::WorkItem>| items.into_iter().map(|item| item.id).collect::<Vec<_>>();
        assert_eq!(ids(test.store.work_items_linked_to(&NewWorkItemLink::commit(commit)).await?), [by_prefix.id, by_full.id]);
        assert_eq!(ids(test.store.open_work_items_linked_to(&NewWorkItemLink::commit(commit)).await?), [by_prefix.id]);
        assert_eq!(ids(test.store.work_items_linked_to(&NewWorkItemLink::commit("0123457ffff")).await?), [too_short.id]);
        assert!(test.store.work_items_linked_to(&NewWorkItemLink::run(RunId(5))).await?.is_empty());
        Ok(())
    }
}
