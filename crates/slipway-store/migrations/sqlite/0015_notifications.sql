-- Slipway store, version 15, SQLite: notification subscriptions and their deliveries.

SELECT 1;
