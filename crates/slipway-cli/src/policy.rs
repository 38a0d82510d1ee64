//! `slipway policy test FILE... [--policy DIR]... [--data PATH]... [--namespace NS]...
//! [--all-namespaces] [--combine] [--parser json|yaml|toml] [--fail-on-warn]
//! [--format text|json|sarif|junit]`: policy as code outside pipelines, conftest's `test` with
//! regorus (`slipway-security`'s policy module). Exit status 0 when every test passed (warnings
//! included, unless `--fail-on-warn`), 1 with failures (or warnings with `--fail-on-warn`), 2 for
//! bad input: a policy that does not parse (its `file:line:col` and source line, as regorus
//! reports it), an input file that does not parse (its `file:line:col`), no policies found, a
//! namespace no policy has.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use slipway_security::policy::{self, InputFormat, Options, PolicySet, RegoVersion, check, report};

use crate::output::out;

/// `slipway policy`.
#[derive(Args, Debug)]
pub struct PolicyArgs {
    #[command(subcommand)]
    command: PolicyCommand,
}

#[derive(Subcommand, Debug)]
enum PolicyCommand {
    /// Test configuration files (JSON, YAML, TOML; a Terraform plan from `terraform show -json`)
    /// against Rego policies with conftest's conventions. Exit 0 passed, 1 failures, 2 bad
    /// input.
    Test(TestArgs),
}

/// `slipway policy test`.
#[derive(Args, Debug)]
struct TestArgs {
    /// The files (or directories, walked for .json, .yaml, .yml and .toml files) to test.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Where the policies are: directories (walked for .rego files; _test.rego files are left
    /// out) or files.
    #[arg(long, short = 'p', value_name = "DIR", default_value = "policy")]
    policy: Vec<PathBuf>,
    /// Data files (.json, .yaml) or directories of them, merged into `data`.
    #[arg(long, short = 'd', value_name = "PATH")]
    data: Vec<PathBuf>,
    /// The namespaces (Rego packages) whose rules are tested.
    #[arg(long, short = 'n', value_name = "NS", default_value = "main")]
    namespace: Vec<String>,
    /// Test the rules of every namespace the policies have.
    #[arg(long)]
    all_namespaces: bool,
    /// Give the policies all files as one input: an array of {path, contents}.
    #[arg(long)]
    combine: bool,
    /// Parse every file as this kind, whatever its extension.
    #[arg(long, value_enum, value_name = "KIND")]
    parser: Option<Parser>,
    /// Warnings fail too (exit 1).
    #[arg(long)]
    fail_on_warn: bool,
    /// Output format.
    #[arg(long, short = 'o', visible_alias = "output", value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The Rego dialect: auto reads each file as v1 and, failing that, as v0.
    #[arg(long, value_enum, default_value_t = Version::Auto)]
    rego_version: Version,
}

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// conftest's text: FAIL/WARN/EXCP lines and a summary.
    Text,
    /// conftest's JSON: [{filename, namespace, successes, warnings, failures, exceptions}].
    Json,
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
    /// JUnit XML, for test-result views.
    Junit,
}

/// Input kinds for `--parser`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Parser {
    /// JSON.
    Json,
    /// YAML (several documents split at `---`).
    Yaml,
    /// TOML.
    Toml,
}

/// Rego dialects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Version {
    /// v1 first, then v0, per file.
    Auto,
    /// Rego v0.
    V0,
    /// Rego v1.
    V1,
}

/// Runs `slipway policy`.
pub fn policy_command(args: &PolicyArgs) -> ExitCode {
    match &args.command {
        PolicyCommand::Test(args) => test(args),
    }
}

fn test(args: &TestArgs) -> ExitCode {
    let results = match evaluate(args) {
        Ok(results) => results,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    match args.format {
        Format::Text => out!("{}", report::text(&results)),
        Format::Json => out!("{}", report::json(&results)),
        Format::Sarif => {
            let text = serde_json::to_string_pretty(&report::sarif(&results)).unwrap_or_default();
            out!("{text}\n");
        }
        Format::Junit => out!("{}", report::junit(&results)),
    }
    if args.format != Format::Text {
        eprintln!("{}", report::summary(&results));
    }
    if check::fails(&results, args.fail_on_warn) { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

fn evaluate(args: &TestArgs) -> Result<Vec<policy::CheckResult>, policy::PolicyError> {
    let version = match args.rego_version {
        Version::Auto => RegoVersion::Auto,
        Version::V0 => RegoVersion::V0,
        Version::V1 => RegoVersion::V1,
    };
    let mut set = PolicySet::load(&args.policy, version)?;
    set.load_data(&args.data)?;
    let parser = args.parser.map(|parser| match parser {
        Parser::Json => InputFormat::Json,
        Parser::Yaml => InputFormat::Yaml,
        Parser::Toml => InputFormat::Toml,
    });
    let inputs = policy::input::read_inputs(&args.files, parser)?;
    let options =
        Options { namespaces: args.namespace.clone(), all_namespaces: args.all_namespaces, combine: args.combine };
    policy::check_all(&set, &inputs, &options)
}
