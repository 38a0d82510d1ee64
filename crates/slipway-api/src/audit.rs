//! The audit log: its entries as exported, and what verifying its hash chain found.
