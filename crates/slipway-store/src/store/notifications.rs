//! [`Store`]'s notification subscriptions and deliveries.
