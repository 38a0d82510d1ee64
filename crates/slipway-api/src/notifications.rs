//! Notification subscriptions and their deliveries.
