//! `CMake@1`: runs `cmake` with the arguments given, in a working directory (default `build`)
//! that it creates first, as the real task does. With `runInsideShell` the arguments go through
//! `sh` so environment variables in them expand, with command substitution (`` ` `` and `$(`)
//! neutralized as the task does.

use super::args::{run as run_program, split_arguments};
use crate::{CommandLine, InputSpec, Inputs, Outcome, TaskHost};

/// The inputs of `CMake@1`.
pub(super) fn inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        InputSpec::path("cwd").alias(&["workingDirectory"]).default("build"),
        InputSpec::string("cmakeArgs"),
        InputSpec::boolean("runInsideShell", false),
    ]
}

/// Runs `CMake@1`.
pub(super) fn run(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    let directory = host.working_directory().join(inputs.text("cwd"));
    if let Err(error) = std::fs::create_dir_all(&directory) {
        return Outcome::failed(format!("CMake failed with error: could not create {}: {error}", directory.display()));
    }
    let arguments = inputs.text("cmakeArgs");
    let mut command = if inputs.boolean("runInsideShell") {
        let neutralized = arguments.replace('`', "\\`").replace("$(", "\\$(");
        let line = if neutralized.is_empty() { "cmake".to_owned() } else { format!("cmake {neutralized}") };
        CommandLine::new("sh", ["-c".to_owned(), line])
    } else {
        CommandLine::new("cmake", split_arguments(arguments))
    };
    command.working_directory = Some(directory);
    match run_program(host, &command, "Install CMake on this machine (for example `apt-get install cmake`).") {
        Ok(0) => {
            host.log("CMake exited with return code: 0");
            Outcome::Succeeded
        }
        Ok(code) => {
            Outcome::failed(format!("CMake failed with error: The process 'cmake' failed with exit code {code}"))
        }
        Err(message) => Outcome::failed(format!("CMake failed with error: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Job, resolve};
    use super::*;

    fn run_with(job: &mut Job, pairs: &[(&str, &str)]) -> Outcome {
        run(1, &resolve(&inputs(1), pairs), &mut job.host)
    }

    #[test]
    fn runs_cmake_in_the_working_directory_it_creates() {
        let mut job = Job::new();
        assert_eq!(
            run_with(&mut job, &[("cmakeArgs", r#"-G "Unix Makefiles" -DCMAKE_BUILD_TYPE=Release .."#)]),
            Outcome::Succeeded
        );
        assert!(job.path("s/build").is_dir(), "the default working directory `build` is created");
        assert_eq!(job.commands(), [r#"cmake -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=Release .."#]);
        assert_eq!(job.host.commands[0].working_directory, Some(job.path("s/build")));
        assert_eq!(
            run_with(&mut job, &[("workingDirectory", "out/x"), ("cmakeArgs", "--build .")]),
            Outcome::Succeeded
        );
        assert_eq!(job.host.commands[1].working_directory, Some(job.path("s/out/x")));
    }

    #[test]
    fn inside_a_shell_variables_expand_but_commands_do_not_run() {
        let mut job = Job::new();
        assert_eq!(
            run_with(&mut job, &[("cmakeArgs", "-DX=$HOME -DY=$(whoami) -DZ=`id`"), ("runInsideShell", "true")]),
            Outcome::Succeeded
        );
        assert_eq!(job.host.commands[0].arguments, ["-c", r"cmake -DX=$HOME -DY=\$(whoami) -DZ=\`id\`"]);
    }

    #[test]
    fn failures_name_the_exit_code_or_the_missing_program() {
        let mut job = Job::new();
        job.host.exit_code = 1;
        insta::assert_snapshot!(format!("{:?}", run_with(&mut job, &[])), @r#"Failed("CMake failed with error: The process 'cmake' failed with exit code 1")"#);
        job.host.cannot_start = Some("No such file or directory (os error 2)".to_owned());
        insta::assert_snapshot!(format!("{:?}", run_with(&mut job, &[])), @r#"Failed("CMake failed with error: Could not run 'cmake': No such file or directory (os error 2). Install CMake on this machine (for example `apt-get install cmake`).")"#);
    }
}
