//! [`Store`]'s notification subscriptions and deliveries.
//!
//! Deliveries are unique by (subscription, event position): queuing an event again for a
//! subscription that has it is a no-op, so the consumer may read an event twice and it is still
//! delivered once. A delivery leaves `pending` once, when an attempt is recorded as delivered or
//! failed.

use super::Store;
use crate::error::Result;
#[cfg(doc)]
use crate::error::StoreError;
use crate::model::{
    Delivery, DeliveryAttempt, DeliveryFilter, DeliveryId, DueDelivery, NewDelivery, NewSubscription, Subscription,
    SubscriptionId,
};

impl Store {
    /// Creates a subscription, its secret sealed with the store's key.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a blank or too long name, target, scope name, secret or filter
    /// value; [`StoreError::Conflict`] when one of that name exists.
    pub async fn create_subscription(&self, subscription: &NewSubscription) -> Result<Subscription> {
        dispatch!(self, notifications::create_subscription(subscription))
    }

    /// The subscription with that id.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is none.
    pub async fn subscription(&self, id: SubscriptionId) -> Result<Subscription> {
        dispatch!(self, notifications::subscription(id))
    }

    /// Every subscription, oldest first.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_subscriptions(&self) -> Result<Vec<Subscription>> {
        dispatch!(self, notifications::list_subscriptions())
    }

    /// Deletes a subscription and its deliveries.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is none.
    pub async fn delete_subscription(&self, id: SubscriptionId) -> Result<()> {
        dispatch!(self, notifications::delete_subscription(id))
    }

    /// Queues deliveries (due now), each unless its subscription has that event already, and in
    /// the same transaction moves the cursor (`name`, `position`) forward; returns how many were
    /// queued.
    ///
    /// # Errors
    /// When the database cannot be written (a subscription deleted meanwhile among them).
    pub async fn queue_deliveries(&self, deliveries: &[NewDelivery], cursor: Option<(&str, i64)>) -> Result<u64> {
        dispatch!(self, notifications::queue_deliveries(deliveries, cursor))
    }

    /// Queues a test delivery (no event position), due now.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the subscription is not there.
    pub async fn queue_test_delivery(&self, delivery: &NewDelivery) -> Result<Delivery> {
        dispatch!(self, notifications::queue_test_delivery(delivery))
    }

    /// Pending deliveries whose next attempt is due, with their subscriptions (secrets opened)
    /// and events; at most `limit` (1 to 500), the longest due first.
    ///
    /// # Errors
    /// When the database cannot be read, or a secret cannot be opened with the store's key.
    pub async fn due_deliveries(&self, limit: u32) -> Result<Vec<DueDelivery>> {
        dispatch!(self, notifications::due_deliveries(limit))
    }

    /// Records an attempt on a pending delivery: one more attempt, its state, the next attempt's
    /// time (pending: now when none is given), the error and the answer's status.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when no pending delivery has that id (recorded already).
    pub async fn record_delivery_attempt(&self, id: DeliveryId, attempt: &DeliveryAttempt) -> Result<Delivery> {
        dispatch!(self, notifications::record_delivery_attempt(id, attempt))
    }

    /// The deliveries `filter` selects, newest first.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<Delivery>> {
        dispatch!(self, notifications::list_deliveries(filter))
    }
}
