//! Notifications delivered to real receivers on loopback.
