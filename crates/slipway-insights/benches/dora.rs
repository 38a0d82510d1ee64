//! DORA queries over a year of history (to be written).

fn main() {}
