//! `slipway run` on GitHub workflows with the action store (`--actions DIR`, laid out as
//! `DIR/owner/repo@ref/`): a node action with `pre`, `post`, `GITHUB_STATE`, inputs with
//! defaults and an output a later step reads; a composite action from the store; actions that
//! cannot run stopping the run before it starts; a node action without `node` on `PATH`.
//!
//! The tests that run node need it installed: without it they say why and pass, unless
//! `SLIPWAY_REQUIRE_NODE=1` (set by `.ci/run`), which makes that a failure.

use std::path::PathBuf;
use std::process::Command;

use crate::support::{make_repository, scratch_directory};

/// A repository with `workflow` as `.github/workflows/ci.yml`, and an action store beside it.
struct Setup {
    dir: PathBuf,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Setup {
    fn new(workflow: &str, store: &[(&str, &str)]) -> Self {
        let setup = Self { dir: scratch_directory("github-store") };
        make_repository(&setup.repo(), &[(".github/workflows/ci.yml", workflow), ("README.md", "the repository\n")]);
        for (path, text) in store {
            let path = setup.store().join(path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).unwrap_or_else(|error| panic!("{error}"));
            }
            std::fs::write(path, text).unwrap_or_else(|error| panic!("{error}"));
        }
        std::fs::create_dir_all(setup.store()).unwrap_or_else(|error| panic!("{error}"));
        setup
    }

    fn repo(&self) -> PathBuf {
        self.dir.join("repo")
    }

    fn store(&self) -> PathBuf {
        self.dir.join("store")
    }

    /// `slipway run .github/workflows/ci.yml ARGS` in the repository.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = self.slipway(&["run", ".github/workflows/ci.yml", "--jobs", "1"]);
        command.args(args);
        command
    }

    /// `slipway ARGS` in the repository, with its own work and configuration directories.
    fn slipway(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_slipway"));
        command
            .args(args)
            .current_dir(self.repo())
            .env("SLIPWAY_WORK_DIR", self.dir.join("work"))
            .env("XDG_CONFIG_HOME", self.dir.join("config"))
            .env("NO_COLOR", "1")
            .env_remove("SLIPWAY_SERVER");
        command
    }

    /// Runs it: the exit code, stdout and stderr, with the scratch directory as `[SCRATCH]`.
    fn run(&self, command: &mut Command) -> (Option<i32>, String, String) {
        let output = command.output().unwrap_or_else(|error| panic!("{error}"));
        let scratch = self.dir.display().to_string();
        let clean = |bytes: &[u8]| String::from_utf8_lossy(bytes).replace(&scratch, "[SCRATCH]");
        (output.status.code(), clean(&output.stdout), clean(&output.stderr))
    }
}

/// Whether `node` is installed; when it is not, says so (and fails with `SLIPWAY_REQUIRE_NODE=1`).
fn node_installed() -> bool {
    let installed = Command::new("node").arg("--version").output().is_ok_and(|output| output.status.success());
    if !installed {
        if std::env::var("SLIPWAY_REQUIRE_NODE").is_ok_and(|value| value == "1") {
            panic!("SLIPWAY_REQUIRE_NODE=1 but node is not installed (apt-get install nodejs)");
        }
        eprintln!("note: node is not installed; the test of node actions is skipped");
    }
    installed
}

const GREET_ACTION: &str = "\
name: greet
description: greets, with a pre and a post that share state
inputs:
  who:
    description: who to greet
    required: true
  greeting:
    description: the word
    default: Hello
  run by:
    description: the job, from the github context
    default: job ${{ github.job }}
  mood:
    description: required, and nobody gives it
    required: true
outputs:
  sentence:
    description: the greeting
runs:
  using: node20
  pre: pre.js
  main: dist/index.js
  post: post.js
";

const PRE_JS: &str = "\
const fs = require('fs');
console.log(`pre: who=${process.env.INPUT_WHO}`);
fs.appendFileSync(process.env.GITHUB_STATE, 'started=in pre\\n');
";

const MAIN_JS: &str = "\
const fs = require('fs');
const path = require('path');
const env = process.env;
console.log(`main: STATE_started=${env.STATE_started}`);
console.log(`main: INPUT_RUN_BY=${env.INPUT_RUN_BY}`);
console.log(`main: action ${env.GITHUB_ACTION_REPOSITORY}@${env.GITHUB_ACTION_REF} in ${path.basename(env.GITHUB_ACTION_PATH)}`);
console.log(`main: cwd is the workspace: ${process.cwd() === env.GITHUB_WORKSPACE}`);
console.log('::notice::a notice from the action');
fs.appendFileSync(env.GITHUB_OUTPUT, `sentence=${env.INPUT_GREETING}, ${env.INPUT_WHO}!\\n`);
fs.appendFileSync(env.GITHUB_STATE, 'finished<<EOF\\nin main\\nEOF\\n');
";

const POST_JS: &str = "\
console.log(`post: STATE_started=${process.env.STATE_started} STATE_finished=${process.env.STATE_finished}`);
";

const NODE_WORKFLOW: &str = "\
name: store
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo first step
      - id: greet
        uses: octo/greet@v1
        with:
          who: Ada
          colour: red
      - run: |
          echo \"the action said: ${{ steps.greet.outputs.sentence }}\"
";

#[test]
fn github_node_action_from_the_store_runs_pre_main_and_post_with_state_inputs_and_outputs() {
    if !node_installed() {
        return;
    }
    let setup = Setup::new(
        NODE_WORKFLOW,
        &[
            ("octo/greet@v1/action.yml", GREET_ACTION),
            ("octo/greet@v1/pre.js", PRE_JS),
            ("octo/greet@v1/dist/index.js", MAIN_JS),
            ("octo/greet@v1/post.js", POST_JS),
        ],
    );
    let store = setup.store().display().to_string();
    let (code, stdout, stderr) = setup.run(&mut setup.command(&["--actions", &store]));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let wanted = [
        "pre: who=Ada",
        "first step",
        "main: STATE_started=in pre",
        "main: INPUT_RUN_BY=job build",
        "main: action octo/greet@v1 in greet@v1",
        "main: cwd is the workspace: true",
        "the action said: Hello, Ada!",
        "post: STATE_started=in pre STATE_finished=in main",
    ];
    // In this order: pre before the first step, post after the last.
    let mut from = 0;
    for text in wanted {
        let Some(at) = stdout[from..].find(text) else {
            panic!("missing {text:?} after byte {from} in:\n{stdout}\n{stderr}");
        };
        from += at + text.len();
    }
    assert!(stdout.contains("Pre Run octo/greet@v1"), "{stdout}");
    assert!(stdout.contains("Post Run octo/greet@v1"), "{stdout}");
    assert!(stdout.contains("a notice from the action"), "{stdout}");
    // GitHub's warning about an input the action does not declare, and Slipway's about a required
    // input nothing gives, each once (at main, not at pre).
    assert_eq!(stdout.matches("Unexpected input(s) 'colour', valid inputs are [").count(), 1, "{stdout}");
    assert_eq!(stdout.matches("Input required and not supplied: mood").count(), 1, "{stdout}");
    assert!(!stdout.contains("not supplied: who"), "{stdout}");
}

#[test]
fn github_composite_action_from_the_store_and_the_built_in_one_it_shadows() {
    let workflow = "\
name: store
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - id: shout
        uses: octo/tools/shout@v2
        with:
          text: quiet words
      - run: |
          echo \"shouted: ${{ steps.shout.outputs.loud }}\"
      - id: setup
        uses: actions/setup-node@v4-slipway-test
      - run: |
          echo \"setup from the store: ${{ steps.setup.outputs.from }}\"
";
    let shout = "\
name: shout
description: upper-cases its input
inputs:
  text:
    description: what to shout
  suffix:
    description: added at the end
    default: '!'
outputs:
  loud:
    description: the text, loud
    value: ${{ steps.up.outputs.loud }}
runs:
  using: composite
  steps:
    - id: up
      shell: bash
      run: echo \"loud=$(echo '${{ inputs.text }}' | tr a-z A-Z)${{ inputs.suffix }}\" >> \"$GITHUB_OUTPUT\"
";
    let setup_node = "\
name: not the real setup-node
description: the store holds this exact reference, so it runs instead of the built-in action
outputs:
  from:
    description: where it came from
    value: the store
runs:
  using: composite
  steps:
    - shell: bash
      run: echo \"composite setup-node from ${GITHUB_ACTION_PATH##*/store/}\"
";
    let setup = Setup::new(
        workflow,
        &[("octo/tools@v2/shout/action.yml", shout), ("actions/setup-node@v4-slipway-test/action.yml", setup_node)],
    );
    let store = setup.store().display().to_string();
    let (code, stdout, stderr) = setup.run(&mut setup.command(&["--actions", &store]));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("shouted: QUIET WORDS!"), "{stdout}");
    assert!(stdout.contains("composite setup-node from actions/setup-node@v4-slipway-test"), "{stdout}");
    assert!(stdout.contains("setup from the store: the store"), "{stdout}");
}

#[test]
fn github_unknown_actions_stop_the_run_before_it_starts() {
    let workflow = "\
name: store
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: touch ran.txt
      - uses: actions/checkout@v4
      - uses: octo/missing@v3
      - uses: octo/boxed@v1
      - uses: octo/wraps@v1
      - uses: ./.github/actions/nowhere
";
    let setup = Setup::new(
        workflow,
        &[
            ("octo/boxed@v1/action.yml", "name: boxed\nruns:\n  using: docker\n  image: Dockerfile\n"),
            (
                "octo/wraps@v1/action.yml",
                "name: wraps\nruns:\n  using: composite\n  steps:\n    - uses: octo/inner@v2\n",
            ),
        ],
    );
    let store = setup.store().display().to_string();
    let (code, stdout, stderr) = setup.run(&mut setup.command(&["--actions", &store]));
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    assert_eq!(stdout, "", "nothing ran");
    assert!(!setup.repo().join("ran.txt").exists(), "the first step did not run");
    insta::assert_snapshot!("github_unknown_actions", stderr);

    // Without a store, the message says how to give one.
    let (code, stdout, stderr) = setup.run(&mut setup.command(&[]));
    assert_eq!((code, stdout.as_str()), (Some(2), ""), "{stderr}");
    assert!(
        stderr.contains("error[R0002]: the action `octo/boxed@v1` is not built in, and no action store is given")
            && stderr.contains("run with `--actions DIR`, so that DIR/octo/boxed@v1/action.yml exists"),
        "{stderr}"
    );
    let (code, _, stderr) = setup.run(&mut setup.command(&["--actions", "no-such-dir"]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("the action store no-such-dir given with `--actions` is not a directory"), "{stderr}");
}

/// `slipway validate` reports the actions `slipway run` would refuse, with the same errors at
/// their places, and takes the same `--actions DIR`.
#[test]
fn github_validate_reports_unknown_actions_as_run_would() {
    let workflow = "\
name: store
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: octo/tool@v2
";
    let setup = Setup::new(
        workflow,
        &[(
            "octo/tool@v2/action.yml",
            "name: tool\nruns:\n  using: composite\n  steps:\n    - run: echo tool\n      shell: bash\n",
        )],
    );
    let validate = |args: &[&str]| {
        let mut command = setup.slipway(&["validate", ".github/workflows/ci.yml"]);
        setup.run(command.args(args))
    };
    let (code, stdout, stderr) = validate(&[]);
    assert_eq!((code, stdout.as_str()), (Some(2), ""), "{stderr}");
    assert!(
        stderr.contains("error[R0002]: the action `octo/tool@v2` is not built in, and no action store is given"),
        "{stderr}"
    );
    assert!(stderr.contains(".github/workflows/ci.yml:8:"), "the step's place: {stderr}");
    assert!(stderr.contains("ci.yml: invalid"), "{stderr}");
    let store = setup.store().display().to_string();
    let (code, stdout, stderr) = validate(&["--actions", &store]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains(".github/workflows/ci.yml: valid"), "{stdout}");
}

#[test]
fn github_node_action_without_node_on_path_fails_clearly() {
    let workflow = "\
name: store
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: octo/greet@v1
        with:
          who: Ada
";
    let setup = Setup::new(
        workflow,
        &[
            ("octo/greet@v1/action.yml", "name: greet\nruns:\n  using: node20\n  main: index.js\n"),
            ("octo/greet@v1/index.js", "console.log('never');\n"),
        ],
    );
    let store = setup.store().display().to_string();
    let empty = setup.dir.join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap_or_else(|error| panic!("{error}"));
    let mut command = setup.command(&["--actions", &store]);
    command.env("PATH", &empty);
    let (code, stdout, stderr) = setup.run(&mut command);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(
            "the action 'octo/greet@v1' is a node action and needs Node.js, but `node` was not found on PATH; install Node.js 20 or later"
        ),
        "{stdout}\n{stderr}"
    );
    assert!(!stdout.contains("never"), "{stdout}");
}

/// The documentation shows the store's layout and what runs.
#[test]
fn github_actions_docs_show_the_store_layout() {
    let docs = std::fs::read_to_string(crate::support::workspace().join("docs/github-actions.md"))
        .unwrap_or_else(|error| panic!("{error}"));
    for text in ["--actions DIR", "DIR/owner/repo@ref/", "STATE_", "pre-if", "R0002"] {
        assert!(docs.contains(text), "docs/github-actions.md lacks {text:?}");
    }
}
