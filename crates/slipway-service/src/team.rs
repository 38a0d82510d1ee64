//! The team dashboard's figures.
