//! Work items and incidents: bugs, tasks and incidents, their links and comments.
