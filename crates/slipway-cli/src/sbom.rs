//! `slipway sbom [PATH] [--format cyclonedx|spdx] [--output FILE]`: a software bill of
//! materials of a project from its lockfiles (`Cargo.lock`, `package-lock.json` versions 1 to 3,
//! `yarn.lock`, `pnpm-lock.yaml`, pinned `requirements*.txt`, `poetry.lock`, `uv.lock`,
//! `Pipfile.lock`, `composer.lock`, NuGet's `packages.lock.json`, `Gemfile.lock`, `go.mod` with
//! `go.sum`), with `slipway-security`, as CycloneDX 1.6 JSON or SPDX 2.3 JSON. Exit
//! status 0 when the BOM was written, 2 for bad input (a malformed lockfile at its
//! `file:line:col`, a path with no lockfile, an output file that cannot be written).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use slipway_security::sbom::{self, cyclonedx, spdx};

use crate::output::out;

/// `slipway sbom`.
#[derive(Args, Debug)]
pub struct SbomArgs {
    /// A lockfile, or a directory whose lockfiles (Cargo.lock, package-lock.json,
    /// npm-shrinkwrap.json, yarn.lock, pnpm-lock.yaml, requirements*.txt, poetry.lock, uv.lock,
    /// Pipfile.lock, composer.lock, packages.lock.json, Gemfile.lock, go.mod with go.sum; not its
    /// subdirectories') are read.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// The BOM's format.
    #[arg(long, value_enum, default_value_t = Format::Cyclonedx)]
    format: Format,
    /// Write the BOM to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// The formats of a BOM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// CycloneDX 1.6 JSON.
    Cyclonedx,
    /// SPDX 2.3 JSON.
    Spdx,
}

/// Runs `slipway sbom`.
pub fn sbom_command(args: &SbomArgs) -> ExitCode {
    let inventory = match sbom::inventory(&args.path) {
        Ok(inventory) => inventory,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    for skipped in &inventory.skipped {
        eprintln!("warning: {skipped}");
    }
    let info = sbom::BomInfo::now();
    let (text, format) = match args.format {
        Format::Cyclonedx => {
            (cyclonedx::to_string_pretty(&inventory, &info), format!("CycloneDX {}", cyclonedx::SPEC_VERSION))
        }
        Format::Spdx => (spdx::to_string_pretty(&inventory, &info), "SPDX 2.3".to_owned()),
    };
    let text = format!("{text}\n");
    match &args.output {
        Some(file) => {
            if let Err(error) = std::fs::write(file, &text) {
                eprintln!("error: {}: cannot be written: {error}", file.display());
                return ExitCode::from(2);
            }
        }
        None => out!("{text}"),
    }
    let written = args.output.as_ref().map(|file| format!(" to {}", file.display())).unwrap_or_default();
    eprintln!(
        "{format}: {} components from {}{written}{}",
        inventory.components.len(),
        inventory.lockfiles.join(", "),
        if inventory.skipped.is_empty() {
            String::new()
        } else {
            let count = inventory.skipped.len();
            format!(" ({count} {} skipped)", if count == 1 { "line" } else { "lines" })
        }
    );
    ExitCode::SUCCESS
}
