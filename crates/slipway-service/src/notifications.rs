//! Notification subscriptions as people change and read them, and their delivery log.
