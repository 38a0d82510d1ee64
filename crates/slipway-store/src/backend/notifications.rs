//! Notification subscriptions and the log of their deliveries. A subscription's secret is sealed
//! with the store's key (its name the context) and opened only for the sender.

use super::common::{DbConnection, DbPools, DbRow, from_json, read_row, require_name, to_json, to_u32};
use crate::error::{Result, StoreError, conflict_or};
use crate::model::{
    Delivery, DeliveryAttempt, DeliveryFilter, DeliveryId, DeliveryState, DueDelivery, NewDelivery, NewSubscription,
    NotificationKind, NotificationScope, Subscription, SubscriptionId, Timestamp,
};
use crate::store::Context;

/// The longest name, target, filter value or error kept, in bytes.
const MAX_TEXT: usize = 2048;

/// The columns of `notification_subscriptions` read into a [`SubscriptionRow`].
macro_rules! subscription_columns {
    () => {
        "s.id, s.name, s.kind, s.target, s.sealed_secret, s.scope_kind, s.scope_name, s.event_types, s.branches, \
         s.results, s.enabled, s.created_by, s.created_at"
    };
}

/// The same columns unqualified (for `RETURNING`, where SQLite takes no alias).
macro_rules! subscription_columns_bare {
    () => {
        "id, name, kind, target, sealed_secret, scope_kind, scope_name, event_types, branches, results, enabled, \
         created_by, created_at"
    };
}

/// The columns of `notification_deliveries` read into a [`DeliveryRow`], unqualified.
macro_rules! delivery_columns_bare {
    () => {
        "id, subscription_id, event_position, event_id, event_type, state, attempts, next_attempt_at, last_error, \
         response_status, created_at, delivered_at"
    };
}

/// The columns of `notification_deliveries` read into a [`DeliveryRow`].
macro_rules! delivery_columns {
    () => {
        "d.id, d.subscription_id, d.event_position, d.event_id, d.event_type, d.state, d.attempts, \
         d.next_attempt_at, d.last_error, d.response_status, d.created_at, d.delivered_at"
    };
}

#[derive(sqlx::FromRow)]
struct SubscriptionRow {
    id: i64,
    name: String,
    kind: String,
    target: String,
    sealed_secret: Option<Vec<u8>>,
    scope_kind: String,
    scope_name: Option<String>,
    event_types: String,
    branches: String,
    results: String,
    enabled: bool,
    created_by: String,
    created_at: i64,
}

/// The context a subscription's secret is sealed under.
fn seal_context(name: &str) -> String {
    format!("slipway/v1/notification/{name}")
}

impl SubscriptionRow {
    fn into_subscription(self) -> Result<(Subscription, Option<Vec<u8>>)> {
        let kind = NotificationKind::parse(&self.kind)
            .ok_or_else(|| StoreError::corrupt(format!("column notification_subscriptions.kind: '{}'", self.kind)))?;
        let scope = match (self.scope_kind.as_str(), self.scope_name) {
            ("everything", _) => NotificationScope::Everything,
            ("pipeline", Some(name)) => NotificationScope::Pipeline(name),
            ("environment", Some(name)) => NotificationScope::Environment(name),
            (other, _) => {
                return Err(StoreError::corrupt(format!("column notification_subscriptions.scope_kind: '{other}'")));
            }
        };
        let subscription = Subscription {
            id: SubscriptionId(self.id),
            name: self.name,
            kind,
            target: self.target,
            has_secret: self.sealed_secret.is_some(),
            scope,
            event_types: from_json("notification_subscriptions.event_types", &self.event_types)?,
            branches: from_json("notification_subscriptions.branches", &self.branches)?,
            results: from_json("notification_subscriptions.results", &self.results)?,
            enabled: self.enabled,
            created_by: self.created_by,
            created_at: Timestamp(self.created_at),
        };
        Ok((subscription, self.sealed_secret))
    }
}

fn read_subscription(row: &DbRow) -> Result<Subscription> {
    Ok(read_row::<SubscriptionRow>(row)?.into_subscription()?.0)
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: i64,
    subscription_id: i64,
    event_position: Option<i64>,
    event_id: String,
    event_type: String,
    state: String,
    attempts: i64,
    next_attempt_at: Option<i64>,
    last_error: Option<String>,
    response_status: Option<i64>,
    created_at: i64,
    delivered_at: Option<i64>,
}

impl DeliveryRow {
    fn into_delivery(self) -> Result<Delivery> {
        let state = DeliveryState::parse(&self.state)
            .ok_or_else(|| StoreError::corrupt(format!("column notification_deliveries.state: '{}'", self.state)))?;
        let response_status = self
            .response_status
            .map(|status| {
                u16::try_from(status).map_err(|_| {
                    StoreError::corrupt(format!("column notification_deliveries.response_status: {status}"))
                })
            })
            .transpose()?;
        Ok(Delivery {
            id: DeliveryId(self.id),
            subscription: SubscriptionId(self.subscription_id),
            event_position: self.event_position,
            event_id: self.event_id,
            event_type: self.event_type,
            state,
            attempts: to_u32("notification_deliveries.attempts", Some(self.attempts))?.unwrap_or(0),
            next_attempt_at: self.next_attempt_at.map(Timestamp),
            last_error: self.last_error,
            response_status,
            created_at: Timestamp(self.created_at),
            delivered_at: self.delivered_at.map(Timestamp),
        })
    }
}

fn read_delivery(row: &DbRow) -> Result<Delivery> {
    read_row::<DeliveryRow>(row)?.into_delivery()
}

/// Refuses a blank value, one too long or one holding a control character.
fn check_value(what: &'static str, value: &str) -> Result<()> {
    require_name(what, value)?;
    if value.len() > MAX_TEXT {
        return Err(StoreError::invalid(what, format!("it is longer than {MAX_TEXT} bytes")));
    }
    if value.chars().any(char::is_control) {
        return Err(StoreError::invalid(what, "it holds a control character"));
    }
    Ok(())
}

fn check_new(subscription: &NewSubscription) -> Result<()> {
    check_value("subscription name", &subscription.name)?;
    check_value("subscription target", &subscription.target)?;
    check_value("subscription creator", &subscription.created_by)?;
    if let Some(name) = subscription.scope.name() {
        check_value("subscription scope name", name)?;
    }
    if let Some(secret) = &subscription.secret {
        check_value("subscription secret", secret)?;
    }
    subscription.event_types.iter().try_for_each(|value| check_value("event type filter", value))?;
    subscription.branches.iter().try_for_each(|value| check_value("branch filter", value))?;
    subscription.results.iter().try_for_each(|value| check_value("result filter", value))?;
    Ok(())
}

/// Trims each value of a filter.
fn trimmed(values: &[String]) -> Vec<&str> {
    values.iter().map(|value| value.trim()).collect()
}

/// Implements [`crate::Store::create_subscription`].
pub(crate) async fn create_subscription(
    pools: &DbPools,
    context: &Context,
    subscription: &NewSubscription,
) -> Result<Subscription> {
    check_new(subscription)?;
    let name = subscription.name.trim();
    let sealed = match &subscription.secret {
        Some(secret) => Some(context.key.seal(&seal_context(name), secret.as_bytes())?),
        None => None,
    };
    let row = sqlx::query(concat!(
        "INSERT INTO notification_subscriptions (name, kind, target, sealed_secret, scope_kind, scope_name, \
         event_types, branches, results, enabled, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING ",
        subscription_columns_bare!()
    ))
    .bind(name)
    .bind(subscription.kind.as_str())
    .bind(subscription.target.trim())
    .bind(sealed)
    .bind(subscription.scope.kind())
    .bind(subscription.scope.name().map(str::trim))
    .bind(to_json("event type filter", &trimmed(&subscription.event_types))?)
    .bind(to_json("branch filter", &trimmed(&subscription.branches))?)
    .bind(to_json("result filter", &trimmed(&subscription.results))?)
    .bind(subscription.enabled)
    .bind(subscription.created_by.trim())
    .bind(context.now().millis())
    .fetch_one(&pools.writer)
    .await
    .map_err(conflict_or("subscription", name))?;
    read_subscription(&row)
}

/// Implements [`crate::Store::subscription`].
pub(crate) async fn subscription(pools: &DbPools, _context: &Context, id: SubscriptionId) -> Result<Subscription> {
    let row =
        sqlx::query(concat!("SELECT ", subscription_columns!(), " FROM notification_subscriptions s WHERE s.id = $1"))
            .bind(id.0)
            .fetch_optional(&pools.reader)
            .await?
            .ok_or_else(|| StoreError::not_found("subscription", id.0))?;
    read_subscription(&row)
}

/// Implements [`crate::Store::list_subscriptions`].
pub(crate) async fn list_subscriptions(pools: &DbPools, _context: &Context) -> Result<Vec<Subscription>> {
    sqlx::query(concat!("SELECT ", subscription_columns!(), " FROM notification_subscriptions s ORDER BY s.id"))
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(read_subscription)
        .collect()
}

/// Implements [`crate::Store::delete_subscription`].
pub(crate) async fn delete_subscription(pools: &DbPools, _context: &Context, id: SubscriptionId) -> Result<()> {
    let mut transaction = pools.writer.begin().await?;
    sqlx::query("DELETE FROM notification_deliveries WHERE subscription_id = $1")
        .bind(id.0)
        .execute(&mut *transaction)
        .await?;
    let deleted = sqlx::query("DELETE FROM notification_subscriptions WHERE id = $1")
        .bind(id.0)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(StoreError::not_found("subscription", id.0));
    }
    transaction.commit().await?;
    Ok(())
}

async fn insert_delivery(connection: &mut DbConnection, delivery: &NewDelivery, now: i64) -> Result<u64> {
    let document = to_json("delivery document", &delivery.document)?;
    Ok(sqlx::query(
        "INSERT INTO notification_deliveries (subscription_id, event_position, event_id, event_type, document, \
         state, attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) \
         ON CONFLICT (subscription_id, event_position) DO NOTHING",
    )
    .bind(delivery.subscription.0)
    .bind(delivery.event_position)
    .bind(&delivery.event_id)
    .bind(&delivery.event_type)
    .bind(document)
    .bind(now)
    .execute(&mut *connection)
    .await?
    .rows_affected())
}

/// Implements [`crate::Store::queue_deliveries`].
pub(crate) async fn queue_deliveries(
    pools: &DbPools,
    context: &Context,
    deliveries: &[NewDelivery],
    cursor: Option<(&str, i64)>,
) -> Result<u64> {
    let now = context.now().millis();
    let mut transaction = pools.writer.begin().await?;
    let mut queued = 0;
    for delivery in deliveries {
        queued += insert_delivery(&mut transaction, delivery, now).await?;
    }
    if let Some((name, position)) = cursor {
        sqlx::query(
            "INSERT INTO event_cursors (name, position, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE \
             SET position = excluded.position, updated_at = excluded.updated_at WHERE event_cursors.position < \
             excluded.position",
        )
        .bind(name)
        .bind(position)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
    }
    transaction.commit().await?;
    Ok(queued)
}

/// Implements [`crate::Store::queue_test_delivery`].
pub(crate) async fn queue_test_delivery(
    pools: &DbPools,
    context: &Context,
    delivery: &NewDelivery,
) -> Result<Delivery> {
    let mut transaction = pools.writer.begin().await?;
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM notification_subscriptions WHERE id = $1")
        .bind(delivery.subscription.0)
        .fetch_optional(&mut *transaction)
        .await?;
    if exists.is_none() {
        return Err(StoreError::not_found("subscription", delivery.subscription.0));
    }
    let document = to_json("delivery document", &delivery.document)?;
    let now = context.now().millis();
    let row = sqlx::query(concat!(
        "INSERT INTO notification_deliveries (subscription_id, event_position, event_id, event_type, document, \
         state, attempts, next_attempt_at, created_at) VALUES ($1, NULL, $2, $3, $4, 'pending', 0, $5, $5) RETURNING ",
        delivery_columns_bare!()
    ))
    .bind(delivery.subscription.0)
    .bind(&delivery.event_id)
    .bind(&delivery.event_type)
    .bind(document)
    .bind(now)
    .fetch_one(&mut *transaction)
    .await?;
    transaction.commit().await?;
    read_delivery(&row)
}

/// Implements [`crate::Store::due_deliveries`].
pub(crate) async fn due_deliveries(pools: &DbPools, context: &Context, limit: u32) -> Result<Vec<DueDelivery>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        delivery_columns!(),
        ", d.document FROM notification_deliveries d WHERE d.state = 'pending' AND d.next_attempt_at <= $1 \
         ORDER BY d.next_attempt_at, d.id LIMIT $2"
    ))
    .bind(context.now().millis())
    .bind(i64::from(limit.clamp(1, 500)))
    .fetch_all(&pools.reader)
    .await?;
    let mut due = Vec::with_capacity(rows.len());
    for row in &rows {
        let delivery = read_delivery(row)?;
        let document: String = sqlx::Row::try_get(row, "document")?;
        let Some(row) = sqlx::query(concat!(
            "SELECT ",
            subscription_columns!(),
            " FROM notification_subscriptions s WHERE s.id = $1"
        ))
        .bind(delivery.subscription.0)
        .fetch_optional(&pools.reader)
        .await?
        else {
            // Deleted meanwhile, with its deliveries.
            continue;
        };
        let (subscription, sealed) = read_row::<SubscriptionRow>(&row)?.into_subscription()?;
        let secret = sealed
            .map(|sealed| {
                context
                    .key
                    .open(&seal_context(&subscription.name), &sealed)
                    .and_then(|plain| String::from_utf8(plain).ok())
                    .ok_or_else(|| StoreError::corrupt(format!("the secret of subscription {}", subscription.id)))
            })
            .transpose()?;
        due.push(DueDelivery {
            delivery,
            subscription,
            secret,
            document: from_json("notification_deliveries.document", &document)?,
        });
    }
    Ok(due)
}

/// Implements [`crate::Store::record_delivery_attempt`].
pub(crate) async fn record_delivery_attempt(
    pools: &DbPools,
    context: &Context,
    id: DeliveryId,
    attempt: &DeliveryAttempt,
) -> Result<Delivery> {
    let now = context.now().millis();
    let delivered_at = (attempt.state == DeliveryState::Delivered).then_some(now);
    let next = if attempt.state == DeliveryState::Pending { attempt.next_attempt_at.map(|at| at.0) } else { None };
    let error = attempt.error.as_deref().map(|error| {
        let mut end = error.len().min(MAX_TEXT);
        while !error.is_char_boundary(end) {
            end -= 1;
        }
        &error[..end]
    });
    let row = sqlx::query(concat!(
        "UPDATE notification_deliveries SET state = $2, attempts = attempts + 1, next_attempt_at = $3, \
         last_error = $4, response_status = $5, delivered_at = $6 WHERE id = $1 AND state = 'pending' RETURNING ",
        delivery_columns_bare!()
    ))
    .bind(id.0)
    .bind(attempt.state.as_str())
    .bind(next.or(if attempt.state == DeliveryState::Pending { Some(now) } else { None }))
    .bind(error)
    .bind(attempt.response_status.map(i64::from))
    .bind(delivered_at)
    .fetch_optional(&pools.writer)
    .await?
    .ok_or_else(|| StoreError::not_found("pending delivery", id.0))?;
    read_delivery(&row)
}

/// Implements [`crate::Store::list_deliveries`].
pub(crate) async fn list_deliveries(
    pools: &DbPools,
    _context: &Context,
    filter: &DeliveryFilter,
) -> Result<Vec<Delivery>> {
    sqlx::query(concat!(
        "SELECT ",
        delivery_columns!(),
        " FROM notification_deliveries d WHERE ($1 IS NULL OR d.subscription_id = $1) \
         AND ($2 IS NULL OR d.state = $2) ORDER BY d.id DESC LIMIT $3"
    ))
    .bind(filter.subscription.map(|subscription| subscription.0))
    .bind(filter.state.map(DeliveryState::as_str))
    .bind(i64::from(filter.limit.clamp(1, 500)))
    .fetch_all(&pools.reader)
    .await?
    .iter()
    .map(read_delivery)
    .collect()
}
