//! Work items and incidents over the API and in the web UI.
