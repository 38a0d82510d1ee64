//! Known vulnerabilities: an offline OSV database and matching an inventory against it (being built).
