//! Notification subscriptions and the log of their deliveries.
