//! Signed provenance: in-toto statements with SLSA provenance v1 predicates in DSSE envelopes (being built).
