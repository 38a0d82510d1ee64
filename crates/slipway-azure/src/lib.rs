//! The Azure Pipelines front end.
//!
//! It takes the YAML that teams already have and understands it as Azure DevOps does: [`load`]
//! reads the entry file and every template through a [`FileSystem`], [`expand`] evaluates
//! `${{ }}` template expressions, parameters, `${{ if }}`/`${{ each }}`/`${{ insert }}` and
//! templates into one expanded document, [`validate`] checks that document against Azure's schema
//! and rules, and [`lower`] turns it into Slipway's neutral [`slipway_plan::Plan`]. Everything
//! here is pure: the only I/O goes through the [`FileSystem`] the caller passes in.

pub mod lower;
pub mod validate;
