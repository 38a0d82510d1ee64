//! The event stream over the API: reading it, pushing CDEvents and DevLake payloads.
