//! Built-in tasks: scripts. `CmdLine@2`, `Bash@3` and `PowerShell@2`, run as the Linux agent runs
//! them: the script (or a line that sources the script file) is written to a new file under
//! `Agent.TempDirectory`, then run with `bash --noprofile --norc FILE` or
//! `pwsh -NoLogo -NoProfile -NonInteractive -Command ". 'FILE'"` in the working directory, and a
//! non-zero exit code fails the step with the task's own message.
//!
//! `failOnStderr` is an input of all three; the job that runs the task sees the standard error
//! stream, so it applies it (see the runtime), with the task's message.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::Builtin;
use crate::{CommandLine, InputKind, InputSpec, Inputs, Outcome, TaskHost};

/// The tasks of this module.
pub static TASKS: &[Builtin] = &[
    Builtin {
        name: "CmdLine",
        id: "d9bafed4-0b18-4f58-968d-86655b4d2ce9",
        majors: &[2],
        inputs: command_line_inputs,
        run: run_command_line,
    },
    Builtin {
        name: "Bash",
        id: "6c731c3c-3c68-459a-a5c9-bde6e6595b5b",
        majors: &[3],
        inputs: bash_inputs,
        run: run_bash,
    },
    Builtin {
        name: "PowerShell",
        id: "e213ff0f-5d5c-4791-802d-52ea3e7be1f1",
        majors: &[2],
        inputs: powershell_inputs,
        run: run_powershell,
    },
];

/// The line the agent's script tasks print before the script's own output.
const OUTPUT_BANNER: &str = "========================== Starting Command Output ===========================";

/// A radio button input: one of `options`, not checked by the agent (the task reads it).
fn radio(name: &str, options: &[&str]) -> InputSpec {
    InputSpec {
        kind: InputKind::PickList {
            options: options.iter().map(|&option| option.to_owned()).collect(),
            editable: true,
        },
        ..InputSpec::string(name)
    }
}

fn command_line_inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        InputSpec::lines("script").required().default("echo Write your commands here\n\necho Hello world\n"),
        InputSpec::path("workingDirectory"),
        InputSpec::boolean("failOnStderr", false),
        InputSpec::boolean("ignoreHostExpression", true),
    ]
}

fn bash_inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        radio("targetType", &["filePath", "inline"]).default("filePath"),
        InputSpec::path("filePath").required().visible("targetType = filePath"),
        InputSpec::string("arguments").visible("targetType = filePath"),
        InputSpec::lines("script")
            .required()
            .visible("targetType = inline")
            .default("# Write your commands here\n\necho 'Hello world'\n"),
        InputSpec::path("workingDirectory"),
        InputSpec::boolean("failOnStderr", false),
        InputSpec::string("bashEnvValue"),
        // Inputs of earlier Bash@3 versions, still found in pipelines.
        InputSpec::boolean("noProfile", true),
        InputSpec::boolean("noRc", true),
    ]
}

/// The values the preference inputs of `PowerShell@2` take.
const PREFERENCES: &[&str] = &["default", "stop", "continue", "silentlyContinue"];

fn powershell_inputs(_major: u32) -> Vec<InputSpec> {
    let preference = |name: &str, default: &str| radio(name, PREFERENCES).default(default);
    vec![
        radio("targetType", &["filePath", "inline"]).default("filePath"),
        InputSpec::path("filePath").required().visible("targetType = filePath"),
        InputSpec::string("arguments").visible("targetType = filePath"),
        InputSpec::lines("script")
            .required()
            .visible("targetType = inline")
            .default("# Write your PowerShell commands here.\n\nWrite-Host \"Hello World\"\n"),
        preference("errorActionPreference", "stop"),
        preference("warningPreference", "default"),
        preference("informationPreference", "default"),
        preference("verbosePreference", "default"),
        preference("debugPreference", "default"),
        preference("progressPreference", "silentlyContinue"),
        InputSpec::boolean("failOnStderr", false),
        InputSpec::boolean("showWarnings", false),
        InputSpec::boolean("ignoreLASTEXITCODE", false),
        InputSpec::boolean("pwsh", false),
        InputSpec::path("workingDirectory"),
        InputSpec::boolean("runScriptInSeparateScope", false),
    ]
}

/// A file name no other script of this process uses.
fn unique_name(extension: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| u64::try_from(elapsed.as_nanos() & u128::from(u64::MAX)).unwrap_or(0));
    format!(
        "{:08x}-{:04x}-{:016x}.{extension}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed) & 0xffff,
        nanos
    )
}

/// `Agent.TempDirectory`, where the agent writes the scripts it runs.
fn temp_directory(host: &dyn TaskHost) -> PathBuf {
    host.variable("Agent.TempDirectory")
        .filter(|value| !value.is_empty())
        .map_or_else(std::env::temp_dir, PathBuf::from)
}

/// Why a script task could not start its script (the step's failure line, in the tasks' words).
#[derive(Debug, thiserror::Error)]
enum ScriptError {
    /// `workingDirectory` is not a directory.
    #[error("Not found workingDirectory: {}", .0.display())]
    NoWorkingDirectory(PathBuf),
    /// The temporary directory cannot be created.
    #[error("Unable to create the directory {}: {source}", directory.display())]
    CreateDirectory { directory: PathBuf, source: std::io::Error },
    /// The script file cannot be written.
    #[error("Unable to write the script {}: {source}", path.display())]
    WriteScript { path: PathBuf, source: std::io::Error },
    /// A required input is empty.
    #[error("Input required: {0}")]
    InputRequired(&'static str),
    /// `filePath` is not a `.ps1` file.
    #[error("Invalid file path '{}'. A path to a .ps1 file is required.", .0.display())]
    NotAScript(PathBuf),
    /// `targetType` is neither `filePath` nor `inline`.
    #[error("Invalid target type '{0}'. The value must be one of: 'filepath' or 'inline'")]
    TargetType(String),
    /// A preference input (`errorActionPreference`...) has another value.
    #[error(
        "Invalid action preference for {preference}: '{value}'. The value must be one of: 'Default', 'Stop', 'Continue', 'SilentlyContinue'"
    )]
    Preference { preference: &'static str, value: String },
}

/// The working directory input, as the task library's `getPathInput(name, required, check)`
/// reads it: the default working directory when empty, and it must exist.
fn working_directory(inputs: &Inputs, host: &dyn TaskHost) -> Result<PathBuf, ScriptError> {
    let base = host.working_directory();
    let directory = inputs.path("workingDirectory", &base).unwrap_or(base);
    if directory.is_dir() { Ok(directory) } else { Err(ScriptError::NoWorkingDirectory(directory)) }
}

/// Writes a script file under the temporary directory.
fn write_script(host: &dyn TaskHost, extension: &str, contents: &str) -> Result<PathBuf, ScriptError> {
    let directory = temp_directory(host);
    if let Err(source) = std::fs::create_dir_all(&directory) {
        return Err(ScriptError::CreateDirectory { directory, source });
    }
    let path = directory.join(unique_name(extension));
    match std::fs::write(&path, contents) {
        Ok(()) => Ok(path),
        Err(source) => Err(ScriptError::WriteScript { path, source }),
    }
}

/// `'text'` for bash, with single quotes escaped.
fn bash_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// Whether the target type input asks for a script file (the tasks compare ignoring case).
fn is_file_path(inputs: &Inputs) -> bool {
    inputs.text("targetType").eq_ignore_ascii_case("filePath")
}

/// Runs a bash script file as the agent does and maps its exit code to the task's outcome.
fn run_bash_file(
    host: &mut dyn TaskHost,
    script: &Path,
    directory: PathBuf,
    flags: &[&str],
    environment: Vec<(String, String)>,
) -> Outcome {
    let mut arguments: Vec<String> = flags.iter().map(|&flag| flag.to_owned()).collect();
    arguments.push(script.display().to_string());
    let command =
        CommandLine { working_directory: Some(directory), environment, ..CommandLine::new("bash", arguments) };
    host.log(OUTPUT_BANNER);
    match host.run(&command) {
        Ok(0) => Outcome::Succeeded,
        Ok(137) => Outcome::failed(
            "Bash exited with code 137, which means it ran out of memory. Make sure the agent (container) host has sufficient memory configured.",
        ),
        Ok(code) => Outcome::failed(format!("Bash exited with code '{code}'.")),
        Err(error) => Outcome::Failed(error.to_string()),
    }
}

fn log_script(host: &mut dyn TaskHost, contents: &str) {
    host.log("Script contents:");
    for line in contents.lines() {
        host.log(line);
    }
}

fn run_command_line(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    let directory = match working_directory(inputs, host) {
        Ok(directory) => directory,
        Err(error) => return Outcome::Failed(error.to_string()),
    };
    let contents = inputs.text("script").to_owned();
    host.log("Generating script.");
    log_script(host, &contents);
    let file = match write_script(host, "sh", &contents) {
        Ok(file) => file,
        Err(error) => return Outcome::Failed(error.to_string()),
    };
    run_bash_file(host, &file, directory, &["--noprofile", "--norc"], Vec::new())
}

fn run_bash(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    let directory = match working_directory(inputs, host) {
        Ok(directory) => directory,
        Err(error) => return Outcome::Failed(error.to_string()),
    };
    host.log("Generating script.");
    let contents = if is_file_path(inputs) {
        let Some(file) = inputs.path("filePath", &host.working_directory()) else {
            return Outcome::failed("Input required: filePath");
        };
        if !file.is_file() {
            return Outcome::failed(format!("Invalid file path '{}'.", file.display()));
        }
        let contents = format!(". {} {}", bash_quote(&file.display().to_string()), inputs.text("arguments"));
        let contents = contents.trim_end().to_owned();
        host.log(&format!("Formatted command: {contents}"));
        contents
    } else {
        let contents = inputs.text("script").to_owned();
        log_script(host, &contents);
        contents
    };
    let file = match write_script(host, "sh", &contents) {
        Ok(file) => file,
        Err(error) => return Outcome::Failed(error.to_string()),
    };
    let mut environment = Vec::new();
    if let Some(value) = inputs.get("bashEnvValue") {
        if let Some(existing) = host.variable("BASH_ENV").filter(|existing| !existing.is_empty()) {
            host.log(&format!(
                "The BASH_ENV environment variable has already been set to a '{existing}', the task will override it with '{value}'"
            ));
        }
        environment.push(("BASH_ENV".to_owned(), value.to_owned()));
    }
    let mut flags = Vec::new();
    if inputs.boolean("noProfile") {
        flags.push("--noprofile");
    }
    if inputs.boolean("noRc") {
        flags.push("--norc");
    }
    run_bash_file(host, &file, directory, &flags, environment)
}

/// The spelling PowerShell takes for a preference value, or the task's error.
fn preference(inputs: &Inputs, name: &str, display: &'static str) -> Result<Option<&'static str>, ScriptError> {
    let value = inputs.text(name);
    let spellings = ["Default", "Stop", "Continue", "SilentlyContinue"];
    match spellings.iter().find(|spelling| spelling.eq_ignore_ascii_case(value)) {
        Some(&"Default") => Ok(None),
        Some(spelling) => Ok(Some(spelling)),
        None => Err(ScriptError::Preference { preference: display, value: value.to_owned() }),
    }
}

/// `'text'` for PowerShell, with single quotes doubled.
fn powershell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The script `PowerShell@2` writes: preference variables, the user's script (or a line that
/// sources the script file), and the line that passes `$LASTEXITCODE` on.
fn powershell_script(inputs: &Inputs, host: &dyn TaskHost) -> Result<String, ScriptError> {
    let mut lines: Vec<String> = Vec::new();
    for (name, display) in [
        ("errorActionPreference", "ErrorActionPreference"),
        ("warningPreference", "WarningPreference"),
        ("informationPreference", "InformationPreference"),
        ("verbosePreference", "VerbosePreference"),
        ("debugPreference", "DebugPreference"),
        ("progressPreference", "ProgressPreference"),
    ] {
        if let Some(value) = preference(inputs, name, display)? {
            lines.push(format!("${display} = '{value}'"));
        }
    }
    let target = inputs.text("targetType");
    let body = if target.eq_ignore_ascii_case("filePath") {
        let Some(file) = inputs.path("filePath", &host.working_directory()) else {
            return Err(ScriptError::InputRequired("filePath"));
        };
        let is_script = file.extension().is_some_and(|extension| extension.eq_ignore_ascii_case("ps1"));
        if !is_script || !file.is_file() {
            return Err(ScriptError::NotAScript(file));
        }
        let operator = if inputs.boolean("runScriptInSeparateScope") { "&" } else { "." };
        format!("{operator} {} {}", powershell_quote(&file.display().to_string()), inputs.text("arguments"))
            .trim_end()
            .to_owned()
    } else if target.eq_ignore_ascii_case("inline") {
        inputs.text("script").to_owned()
    } else {
        return Err(ScriptError::TargetType(target.to_owned()));
    };
    if inputs.boolean("showWarnings") {
        // Warnings written with Write-Warning also become warnings of the step.
        lines.push("$slipwayWarnings = New-Object System.Collections.ObjectModel.ObservableCollection[System.Management.Automation.WarningRecord]".to_owned());
        lines.push("$null = Register-ObjectEvent -InputObject $slipwayWarnings -EventName CollectionChanged -Action { if ($Event.SourceEventArgs.Action -like 'Add') { $Event.SourceEventArgs.NewItems | ForEach-Object { Write-Host \"##vso[task.logissue type=warning;]$_\" } } }".to_owned());
        lines.push(format!("Invoke-Command {{\n{body}\n}} -WarningVariable +slipwayWarnings"));
    } else {
        lines.push(body);
    }
    if !inputs.boolean("ignoreLASTEXITCODE") {
        lines.push("if (!(Test-Path -LiteralPath variable:\\LASTEXITCODE)) {".to_owned());
        lines.push("    Write-Host '##vso[task.debug]$LASTEXITCODE is not set.'".to_owned());
        lines.push("} else {".to_owned());
        lines.push("    Write-Host ('##vso[task.debug]$LASTEXITCODE: {0}' -f $LASTEXITCODE)".to_owned());
        lines.push("    exit $LASTEXITCODE".to_owned());
        lines.push("}".to_owned());
    }
    Ok(lines.join("\n"))
}

fn run_powershell(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    let directory = match working_directory(inputs, host) {
        Ok(directory) => directory,
        Err(error) => return Outcome::Failed(error.to_string()),
    };
    host.log("Generating script.");
    let contents = match powershell_script(inputs, host) {
        Ok(contents) => contents,
        Err(error) => return Outcome::Failed(error.to_string()),
    };
    if is_file_path(inputs) {
        host.log(&format!("Formatted command: {}", contents.lines().last().unwrap_or_default()));
    }
    // Written with a byte order mark, as the task does, so Windows PowerShell reads it as UTF-8.
    let file = match write_script(host, "ps1", &format!("\u{feff}{contents}\n")) {
        Ok(file) => file,
        Err(error) => return Outcome::Failed(error.to_string()),
    };
    let invocation = format!(
        "{} {}",
        if inputs.boolean("runScriptInSeparateScope") { "&" } else { "." },
        powershell_quote(&file.display().to_string())
    );
    let command = CommandLine {
        working_directory: Some(directory),
        ..CommandLine::new("pwsh", ["-NoLogo", "-NoProfile", "-NonInteractive", "-Command", invocation.as_str()])
    };
    host.log(OUTPUT_BANNER);
    match host.run(&command) {
        Ok(0) => Outcome::Succeeded,
        Ok(code) => Outcome::failed(format!("PowerShell exited with code '{code}'.")),
        Err(error) => Outcome::Failed(error.to_string()),
    }
}

/// The message a script task fails with when `failOnStderr` is set and the script wrote to
/// standard error, by task name.
#[must_use]
pub fn stderr_message(task: &str) -> String {
    let shell = if task.eq_ignore_ascii_case("PowerShell") { "PowerShell" } else { "Bash" };
    format!("{shell} wrote one or more lines to the standard error stream.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeHost;

    fn given(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
    }

    fn host(directory: &Path) -> FakeHost {
        let temp = directory.join("_temp");
        FakeHost::new(directory).with_variable("Agent.TempDirectory", &temp.display().to_string())
    }

    fn run(task: &str, pairs: &[(&str, &str)], host: &mut FakeHost) -> Outcome {
        let Some(builtin) = TASKS.iter().find(|builtin| builtin.name == task) else { panic!("no task {task}") };
        let major = builtin.majors[0];
        let inputs = Inputs::resolve(&(builtin.inputs)(major), &given(pairs)).unwrap_or_else(|error| panic!("{error}"));
        (builtin.run)(major, &inputs, host)
    }

    fn script_of(command: &CommandLine) -> String {
        let file = command.arguments.last().cloned().unwrap_or_default();
        std::fs::read_to_string(file).unwrap_or_default()
    }

    #[test]
    fn command_line_writes_the_script_and_runs_bash_without_profiles() {
        let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let mut host = host(directory.path());
        let outcome = run("CmdLine", &[("script", "echo one\necho two")], &mut host);
        assert_eq!(outcome, Outcome::Succeeded);
        let command = &host.commands[0];
        assert_eq!(command.program, "bash");
        assert_eq!(&command.arguments[..2], ["--noprofile", "--norc"]);
        assert!(command.arguments[2].starts_with(&directory.path().join("_temp").display().to_string()));
        assert_eq!(script_of(command), "echo one\necho two");
        assert_eq!(command.working_directory.as_deref(), Some(directory.path()));
        assert!(host.log.contains(&"Script contents:".to_owned()));
        host.exit_code = 3;
        assert_eq!(run("CmdLine", &[("script", "exit 3")], &mut host), Outcome::failed("Bash exited with code '3'."));
    }

    #[test]
    fn bash_file_path_sources_the_file_with_its_arguments() {
        let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        std::fs::write(directory.path().join("build.sh"), "echo $1").unwrap_or_else(|error| panic!("{error}"));
        let mut host = host(directory.path());
        let outcome =
            run("Bash", &[("filePath", "build.sh"), ("arguments", "--fast"), ("bashEnvValue", "~/.env")], &mut host);
        assert_eq!(outcome, Outcome::Succeeded);
        let expected = format!(". '{}' --fast", directory.path().join("build.sh").display());
        assert_eq!(script_of(&host.commands[0]), expected);
        assert_eq!(host.commands[0].environment, vec![("BASH_ENV".to_owned(), "~/.env".to_owned())]);
        let outcome = run("Bash", &[("targetType", "filePath"), ("filePath", "missing.sh")], &mut host);
        assert_eq!(
            outcome,
            Outcome::failed(format!("Invalid file path '{}'.", directory.path().join("missing.sh").display()))
        );
    }

    #[test]
    fn bash_inputs_are_validated_like_the_agent() {
        let specs = bash_inputs(3);
        let error = Inputs::resolve(&specs, &given(&[])).expect_err("filePath is required");
        assert_eq!(error.to_string(), "Input required: filePath");
        assert!(Inputs::resolve(&specs, &given(&[("targetType", "inline")])).is_ok(), "script has a default");
        let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let mut host = host(directory.path());
        let outcome =
            run("Bash", &[("targetType", "inline"), ("script", "true"), ("workingDirectory", "nope")], &mut host);
        assert_eq!(
            outcome,
            Outcome::failed(format!("Not found workingDirectory: {}", directory.path().join("nope").display()))
        );
    }

    #[test]
    fn powershell_prepends_preferences_and_passes_the_exit_code_on() {
        let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let mut host = host(directory.path());
        let outcome = run("PowerShell", &[("targetType", "inline"), ("script", "Write-Host hi")], &mut host);
        assert_eq!(outcome, Outcome::Succeeded);
        let command = &host.commands[0];
        assert_eq!(command.program, "pwsh");
        assert_eq!(&command.arguments[..4], ["-NoLogo", "-NoProfile", "-NonInteractive", "-Command"]);
        assert!(command.arguments[4].starts_with(". '"));
        let file = command.arguments[4].trim_start_matches(". '").trim_end_matches('\'');
        let script = std::fs::read_to_string(file).unwrap_or_default();
        assert!(
            script.starts_with(
                "\u{feff}$ErrorActionPreference = 'Stop'\n$ProgressPreference = 'SilentlyContinue'\nWrite-Host hi\n"
            ),
            "{script}"
        );
        assert!(script.contains("exit $LASTEXITCODE"));
        let outcome = run(
            "PowerShell",
            &[("targetType", "inline"), ("script", "x"), ("errorActionPreference", "sometimes")],
            &mut host,
        );
        assert_eq!(
            outcome,
            Outcome::failed(
                "Invalid action preference for ErrorActionPreference: 'sometimes'. The value must be one of: 'Default', 'Stop', 'Continue', 'SilentlyContinue'"
            )
        );
        let outcome = run("PowerShell", &[("filePath", "build.sh")], &mut host);
        assert_eq!(
            outcome,
            Outcome::failed(format!(
                "Invalid file path '{}'. A path to a .ps1 file is required.",
                directory.path().join("build.sh").display()
            ))
        );
        host.exit_code = 2;
        let outcome = run("PowerShell", &[("targetType", "inline"), ("script", "exit 2")], &mut host);
        assert_eq!(outcome, Outcome::failed("PowerShell exited with code '2'."));
    }

    #[test]
    fn stderr_messages_name_the_shell() {
        assert_eq!(stderr_message("powershell"), "PowerShell wrote one or more lines to the standard error stream.");
        assert_eq!(stderr_message("Bash"), "Bash wrote one or more lines to the standard error stream.");
    }
}
