//! Notification subscriptions and deliveries: secrets sealed and never listed, deliveries queued
//! once per (subscription, event) with the cursor moved in the same transaction, due ones read
//! with their secrets opened, attempts recorded once.

use slipway_store::{
    DeliveryAttempt, DeliveryFilter, DeliveryState, NewDelivery, NewSubscription, NotificationKind, NotificationScope,
    StoreError, SubscriptionId, Timestamp,
};

use crate::support::{START, conformance};

fn webhook(name: &str) -> NewSubscription {
    NewSubscription {
        name: name.to_owned(),
        kind: NotificationKind::Webhook,
        target: "http://127.0.0.1:9/hook".to_owned(),
        secret: Some("s3cret-key".to_owned()),
        scope: NotificationScope::Pipeline("app".to_owned()),
        event_types: vec!["dev.cdevents.pipelinerun.".to_owned()],
        branches: vec!["main".to_owned()],
        results: vec![],
        enabled: true,
        created_by: "admin".to_owned(),
    }
}

fn event(subscription: SubscriptionId, position: i64) -> NewDelivery {
    NewDelivery {
        subscription,
        event_position: Some(position),
        event_id: format!("event-{position}"),
        event_type: "dev.cdevents.pipelinerun.finished.0.3.0".to_owned(),
        document: serde_json::json!({ "id": format!("event-{position}") }),
    }
}

conformance! {
    /// A subscription is created with its secret sealed, read back and listed without it, and
    /// refused with a blank filter value or a name taken.
    async fn subscriptions_are_kept(test: TestStore) {
        let created = test.store.create_subscription(&webhook(" hooks ")).await?;
        assert_eq!(created.name, "hooks");
        assert!(created.has_secret);
        assert_eq!(created.scope, NotificationScope::Pipeline("app".into()));
        assert_eq!(created.branches, vec!["main".to_owned()]);
        assert_eq!(created.created_at, START);
        assert_eq!(test.store.subscription(created.id).await?, created);
        assert_eq!(test.store.list_subscriptions().await?, vec![created.clone()]);
        assert!(!format!("{created:?}").contains("s3cret"));
        assert!(matches!(test.store.create_subscription(&webhook("hooks")).await, Err(StoreError::Conflict { .. })));
        let blank = NewSubscription { branches: vec![" ".into()], ..webhook("other") };
        match test.store.create_subscription(&blank).await {
            Err(error @ StoreError::Invalid { .. }) => assert!(error.to_string().contains("branch filter"), "{error}"),
            other => panic!("expected invalid, got {other:?}"),
        }
        test.store.delete_subscription(created.id).await?;
        assert!(test.store.subscription(created.id).await.is_err_and(|error| error.is_not_found()));
        assert!(test.store.delete_subscription(created.id).await.is_err_and(|error| error.is_not_found()));
        Ok(())
    }
}

conformance! {
    /// Queuing an event twice for a subscription queues it once and moves the cursor forward
    /// only; due deliveries come with the secret opened; an attempt is recorded once.
    async fn deliveries_are_queued_once_and_recorded(test: TestStore) {
        let hooks = test.store.create_subscription(&webhook("hooks")).await?;
        let plain = test
            .store
            .create_subscription(&NewSubscription { secret: None, kind: NotificationKind::Slack, ..webhook("slack") })
            .await?;
        // Queued in an order where a delivery's id is not its subscription's.
        let batch = [event(hooks.id, 1), event(plain.id, 1), event(hooks.id, 2)];
        test.store.queue_deliveries(&batch[2..], None).await?;
        assert_eq!(test.store.queue_deliveries(&batch, Some(("notifications", 2))).await?, 2);
        assert_eq!(test.store.queue_deliveries(&batch, Some(("notifications", 1))).await?, 0);
        assert_eq!(test.store.event_cursor("notifications").await?, Some(2));
        let due = test.store.due_deliveries(10).await?;
        assert_eq!(due.len(), 3);
        let ids: Vec<(i64, i64, Option<i64>)> =
            due.iter().map(|due| (due.delivery.id.0, due.subscription.id.0, due.delivery.event_position)).collect();
        assert_eq!(ids, [(1, hooks.id.0, Some(2)), (2, hooks.id.0, Some(1)), (3, plain.id.0, Some(1))]);
        assert_eq!(due[1].secret.as_deref(), Some("s3cret-key"));
        assert_eq!(due[2].secret, None);
        assert_eq!(due[1].document["id"], "event-1");
        let first = due[1].delivery.id;
        let retry = DeliveryAttempt {
            state: DeliveryState::Pending,
            next_attempt_at: Some(Timestamp(START.0 + 1000)),
            error: Some("HTTP 500".into()),
            response_status: Some(500),
        };
        let retried = test.store.record_delivery_attempt(first, &retry).await?;
        assert_eq!((retried.attempts, retried.state, retried.response_status), (1, DeliveryState::Pending, Some(500)));
        assert_eq!(test.store.due_deliveries(10).await?.len(), 2);
        test.advance(1000);
        assert_eq!(test.store.due_deliveries(10).await?.len(), 3);
        let done = DeliveryAttempt { state: DeliveryState::Delivered, next_attempt_at: None, error: None, response_status: Some(204) };
        let delivered = test.store.record_delivery_attempt(first, &done).await?;
        assert_eq!((delivered.attempts, delivered.state, delivered.delivered_at), (2, DeliveryState::Delivered, Some(Timestamp(START.0 + 1000))));
        assert_eq!(delivered.next_attempt_at, None);
        assert!(test.store.record_delivery_attempt(first, &done).await.is_err_and(|error| error.is_not_found()));
        let delivered_list = test
            .store
            .list_deliveries(&DeliveryFilter { state: Some(DeliveryState::Delivered), ..DeliveryFilter::default() })
            .await?;
        assert_eq!(delivered_list, vec![delivered]);
        let of_plain = test.store.list_deliveries(&DeliveryFilter { subscription: Some(plain.id), ..DeliveryFilter::default() }).await?;
        assert_eq!(of_plain.len(), 1);
        let test_delivery = test.store.queue_test_delivery(&NewDelivery { event_position: None, ..event(plain.id, 0) }).await?;
        assert_eq!(test_delivery.event_position, None);
        assert_eq!(test.store.list_deliveries(&DeliveryFilter::default()).await?.len(), 4);
        test.store.delete_subscription(hooks.id).await?;
        assert_eq!(test.store.list_deliveries(&DeliveryFilter::default()).await?.len(), 2);
        Ok(())
    }
}
