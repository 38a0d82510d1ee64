-- Slipway store, version 15, PostgreSQL: notification subscriptions and their deliveries.

SELECT 1;
