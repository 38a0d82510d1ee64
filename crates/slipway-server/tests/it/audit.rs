//! The audit log's export and hash-chain check over the API.
