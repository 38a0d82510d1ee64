//! Notification subscriptions and deliveries.
