//! The event stream: changes recorded with state changes (in their transactions), events stored
//! once per source and id, cursors that never move back, filters.

use serde_json::json;
use slipway_events::TaskResult;
use slipway_store::{ChangeKind, EventFilter, EventOrigin, NewStreamEvent, Timestamp};

use crate::support::conformance;

fn event(id: &str, event_type: &str, environment: Option<&str>) -> NewStreamEvent {
    NewStreamEvent {
        event_id: id.into(),
        source: "/test".into(),
        event_type: event_type.into(),
        subject: "s".into(),
        time: Timestamp(1000),
        origin: EventOrigin::Api,
        pipeline: None,
        environment: environment.map(str::to_owned),
        document: json!({ "id": id }),
    }
}

conformance! {
    /// A run's life writes its changes, in order, with the run's id; an environment made twice
    /// is created once.
    async fn state_changes_record_their_changes_in_order(test: TestStore) {
        let pipeline = test.pipeline("shop").await?;
        let run = test.run(&pipeline).await?;
        test.store.start_run(run.id).await?;
        test.store.finish_run(run.id, TaskResult::Failed).await?;
        test.store.ensure_environment("production").await?;
        test.store.ensure_environment("Production").await?;
        let changes = test.store.changes_after(0, 100).await?;
        let kinds: Vec<(ChangeKind, i64)> = changes.iter().map(|change| (change.kind, change.subject)).collect();
        let environment = test.store.environment("production").await?;
        assert_eq!(
            kinds,
            [
                (ChangeKind::RunQueued, run.id.0),
                (ChangeKind::RunStarted, run.id.0),
                (ChangeKind::RunFinished, run.id.0),
                (ChangeKind::EnvironmentCreated, environment.id.0),
            ]
        );
        assert_eq!(changes[2].details, json!({ "result": "Failed" }));
        assert!(changes.windows(2).all(|pair| pair[0].id < pair[1].id));
        let later = test.store.changes_after(changes[1].id, 100).await?;
        assert_eq!(later.len(), 2);
        assert_eq!(test.store.prune_changes(changes[1].id).await?, 2);
        assert_eq!(test.store.changes_after(0, 100).await?.len(), 2);
        Ok(())
    }
}

conformance! {
    /// An event is stored once per source and id; the cursor moves with the events, never back;
    /// filters select by type prefix and environment.
    async fn events_are_stored_once_and_read_in_order(test: TestStore) {
        let first = [event("a", "dev.cdevents.service.deployed.0.3.0", Some("production")), event("b", "dev.cdevents.pipelinerun.finished.0.3.0", None)];
        let stored = test.store.append_stream_events(&first, Some(("feeder", 7))).await?;
        assert_eq!(stored.len(), 2);
        assert_eq!(test.store.event_cursor("feeder").await?, Some(7));
        let again = test.store.append_stream_events(&[event("a", "dev.cdevents.service.deployed.0.3.0", None), event("c", "dev.cdevents.incident.detected.0.3.0", Some("production"))], Some(("feeder", 3))).await?;
        assert_eq!(again.len(), 1, "a was there already");
        assert_eq!(test.store.event_cursor("feeder").await?, Some(7), "the cursor never moves back");
        test.store.set_event_cursor("feeder", 9).await?;
        assert_eq!(test.store.event_cursor("feeder").await?, Some(9));
        assert_eq!(test.store.event_cursor("nobody").await?, None);

        let all = test.store.list_stream_events(&EventFilter::default()).await?;
        let ids: Vec<&str> = all.iter().map(|event| event.event_id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(all[0].origin, EventOrigin::Api);
        assert_eq!(all[0].document, json!({ "id": "a" }));
        assert_eq!(test.store.latest_event_position().await?, all[2].position);
        let after = test.store.list_stream_events(&EventFilter { after: Some(all[0].position), limit: 1, ..EventFilter::default() }).await?;
        assert_eq!(after.iter().map(|event| event.event_id.as_str()).collect::<Vec<_>>(), ["b"]);
        let typed = test.store.list_stream_events(&EventFilter {
            types: vec!["dev.cdevents.service.".into(), "dev.cdevents.incident.".into()],
            ..EventFilter::default()
        }).await?;
        assert_eq!(typed.iter().map(|event| event.event_id.as_str()).collect::<Vec<_>>(), ["a", "c"]);
        let wildcard = test.store.list_stream_events(&EventFilter { types: vec!["dev.cdevents.%".into()], ..EventFilter::default() }).await?;
        assert!(wildcard.is_empty(), "a prefix is not a LIKE pattern");
        let production = test.store.list_stream_events(&EventFilter { environment: Some("production".into()), ..EventFilter::default() }).await?;
        assert_eq!(production.len(), 2);
        Ok(())
    }
}
