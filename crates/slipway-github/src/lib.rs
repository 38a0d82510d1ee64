//! The GitHub Actions front end, pure: a workflow file loaded with a span on every node, checked
//! against GitHub's workflow schema (`workflow-v1.0.json`: keys, types, allowed values, and the
//! contexts and functions each key's expressions may use), every error at once at
//! `file:line:col`. Files come in as text; nothing here reads the disk.
