//! Tests over task folders written here (and the fixture under `tests/fixtures/tasks`), never
//! over third-party task code.

use std::path::{Path, PathBuf};

use super::run::{self as runner, AGENT_VERSION, CULTURE};
use super::*;
use crate::fake::FakeHost;
use crate::{CommandLine, InputKind};

const HELLO_ID: &str = "6f1c2a4e-3b7d-4c59-9a8e-2d5f7b1e0c43";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures").join("tasks")
}

fn hello() -> TaskFolder {
    let discovery = discover(&[fixtures()]);
    assert_eq!(discovery.problems, Vec::<String>::new());
    discovery.folders.into_iter().find(|folder| folder.name == "HelloTask").expect("the HelloTask fixture")
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("create the directory");
    std::fs::write(path, text).expect("write the file");
}

/// A minimal valid `task.json` with `extra` members (JSON text starting with `,`) appended.
fn manifest(name: &str, id: &str, version: (u32, u32, u32), extra: &str) -> String {
    let (major, minor, patch) = version;
    format!(
        r#"{{"id": "{id}", "name": "{name}", "friendlyName": "{name} task",
            "version": {{"Major": {major}, "Minor": {minor}, "Patch": {patch}}},
            "execution": {{"Node20_1": {{"target": "main.js"}}}}{extra}}}"#
    )
}

fn given(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|&item| item.to_owned()).collect()
}

/// Problems with the temporary directory's path replaced by `[DIR]`, one a line.
fn problems_text(discovery: &Discovery, root: &Path) -> String {
    discovery.problems.join("\n").replace(&root.display().to_string(), "[DIR]")
}

fn only_node(program: &str) -> bool {
    program == "node"
}

#[test]
fn the_hello_fixture_is_read_like_the_agent_reads_task_json() {
    let directory = fixtures().join("HelloTask");
    let expected = TaskFolder {
        name: "HelloTask".to_owned(),
        id: HELLO_ID.to_owned(),
        friendly_name: "Hello (Slipway test task)".to_owned(),
        version: (1, 2, 3),
        directory: directory.clone(),
        inputs: vec![
            InputSpec::string("who").alias(&["name"]).required(),
            InputSpec::pick("style", &["casual", "formal"]).default("casual"),
            InputSpec::string("title").required().visible("style = formal"),
            InputSpec::boolean("shout", false),
            InputSpec::string("exitCode").default("0"),
        ],
        // Node16 comes first in the file; the best handler comes first here.
        handlers: vec![
            Handler::Node { runtime: "Node20_1".to_owned(), target: directory.join("index.js") },
            Handler::Node { runtime: "Node16".to_owned(), target: directory.join("index.js") },
        ],
        output_variables: strings(&["greeting"]),
    };
    assert_eq!(hello(), expected);
    assert_eq!(hello().reference(), "HelloTask@1");
    assert_eq!(input_specs(&hello()), expected.inputs.as_slice());
}

#[test]
fn task_folders_are_found_directly_in_a_directory_and_in_an_extension_layout() {
    let root = tempfile::tempdir().expect("a temporary directory");
    let root = root.path();
    // A task directory that is itself a task folder.
    write(&root.join("single/task.json"), &manifest("Single", "00000000-0000-0000-0000-000000000001", (1, 0, 0), ""));
    // A directory of task folders; node_modules, hidden directories and the inside of a task
    // folder are not searched.
    write(&root.join("many/Beta/task.json"), &manifest("Beta", "00000000-0000-0000-0000-000000000003", (2, 0, 1), ""));
    write(
        &root.join("many/Alpha/task.json"),
        &manifest("Alpha", "00000000-0000-0000-0000-000000000002", (1, 1, 0), ""),
    );
    write(&root.join("many/Alpha/sub/task.json"), "not read: Alpha is a task folder");
    write(&root.join("many/node_modules/dep/task.json"), "not read: node_modules");
    write(&root.join("many/.git/task.json"), "not read: hidden");
    // An extracted marketplace extension.
    write(&root.join("extension/extension.vsixmanifest"), "<PackageManifest/>");
    for major in [1, 2] {
        write(
            &root.join(format!("extension/buildtasks/Deploy/DeployV{major}/task.json")),
            &manifest("Deploy", "00000000-0000-0000-0000-000000000004", (major, 3, 0), ""),
        );
    }
    let discovery = discover(&[root.join("single"), root.join("many"), root.join("extension")]);
    assert_eq!(discovery.problems, Vec::<String>::new());
    let found: Vec<(String, (u32, u32, u32), PathBuf)> = discovery
        .folders
        .iter()
        .map(|folder| {
            (folder.name.clone(), folder.version, folder.directory.strip_prefix(root).expect("inside").into())
        })
        .collect();
    assert_eq!(
        found,
        vec![
            ("Single".to_owned(), (1, 0, 0), PathBuf::from("single")),
            ("Alpha".to_owned(), (1, 1, 0), PathBuf::from("many/Alpha")),
            ("Beta".to_owned(), (2, 0, 1), PathBuf::from("many/Beta")),
            ("Deploy".to_owned(), (1, 3, 0), PathBuf::from("extension/buildtasks/Deploy/DeployV1")),
            ("Deploy".to_owned(), (2, 3, 0), PathBuf::from("extension/buildtasks/Deploy/DeployV2")),
        ]
    );
}

#[test]
fn unreadable_and_invalid_task_json_are_reported_with_the_path_and_what_is_wrong() {
    let root = tempfile::tempdir().expect("a temporary directory");
    let root = root.path();
    let tasks = root.join("tasks");
    write(
        &tasks.join("Bom/task.json"),
        &format!("\u{feff}{}", manifest("Bom", "00000000-0000-0000-0000-000000000001", (1, 0, 0), "")),
    );
    write(&tasks.join("BadJson/task.json"), "{\"name\": \"BadJson\",\n  \"id\": }");
    write(&tasks.join("NoName/task.json"), r#"{"id": 7, "version": {"Major": 1, "Minor": 0, "Patch": 0}}"#);
    write(
        &tasks.join("BadVersion/task.json"),
        r#"{"name": "BadVersion", "id": "x", "version": {"Major": "one", "Minor": -1}}"#,
    );
    write(&tasks.join("StringVersion/task.json"), r#"{"name": "StringVersion", "id": "x", "version": "1.0.0"}"#);
    write(
        &tasks.join("BadInputs/task.json"),
        &manifest(
            "BadInputs",
            "x",
            (1, 0, 0),
            r#", "inputs": [{"name": "ok", "type": "string"}, {"type": "string"}], "outputVariables": {}"#,
        ),
    );
    write(
        &tasks.join("NoTarget/task.json"),
        r#"{"name": "NoTarget", "id": "x", "version": {"Major": 1, "Minor": 0, "Patch": 0},
            "execution": {"Node16": {"argumentFormat": ""}}}"#,
    );
    write(&tasks.join("List/task.json"), "[]");
    std::fs::create_dir_all(tasks.join("Latin1")).expect("a directory");
    std::fs::write(tasks.join("Latin1/task.json"), b"{\"name\": \"caf\xe9\"}").expect("write");
    std::fs::create_dir_all(root.join("empty/nested")).expect("a directory");
    let discovery = discover(&[tasks, root.join("missing"), root.join("empty")]);
    assert_eq!(discovery.folders.iter().map(|folder| folder.name.as_str()).collect::<Vec<_>>(), vec!["Bom"]);
    insta::assert_snapshot!(problems_text(&discovery, root), @r"
    [DIR]/tasks/BadInputs/task.json: input 2 has no `name`; `outputVariables` is an object, not a list
    [DIR]/tasks/BadJson/task.json: is not valid JSON: expected value at line 2 column 9
    [DIR]/tasks/BadVersion/task.json: `version.Major` is not a whole number: one; `version.Minor` is not a whole number: -1; has no `version.Patch`
    [DIR]/tasks/Latin1/task.json: is not UTF-8 text
    [DIR]/tasks/List/task.json: is a list, not a JSON object
    [DIR]/tasks/NoName/task.json: has no `name`; `id` is a number, not a string
    [DIR]/tasks/NoTarget/task.json: the Node16 handler has no `target`
    [DIR]/tasks/StringVersion/task.json: `version` is a string, not an object with Major, Minor and Patch
    [DIR]/missing: no such directory
    [DIR]/empty: no task.json here or in the 5 directory levels below
    ");
}

#[test]
fn find_matches_the_name_or_id_ignoring_case_and_picks_the_highest_version_of_the_major() {
    let folder = |name: &str, id: &str, version: (u32, u32, u32), directory: &str| TaskFolder {
        name: name.to_owned(),
        id: id.to_owned(),
        friendly_name: name.to_owned(),
        version,
        directory: PathBuf::from(directory),
        inputs: Vec::new(),
        handlers: Vec::new(),
        output_variables: Vec::new(),
    };
    let id = "A1B2C3D4-0000-0000-0000-000000000001";
    let folders = vec![
        folder("Deploy", id, (1, 4, 2), "a"),
        folder("Deploy", id, (1, 10, 0), "b"),
        folder("Deploy", id, (1, 9, 7), "c"),
        folder("Deploy", id, (2, 0, 0), "d"),
        folder("Deploy", id, (1, 10, 0), "e"),
        folder("Other", "B0000000-0000-0000-0000-000000000002", (1, 0, 0), "f"),
    ];
    let found = |name: &str, version: Option<&str>| {
        find(&folders, &TaskReference::new(name, version)).map(|folder| folder.directory.display().to_string())
    };
    // The highest minor of the major asked for; of equal versions the first found.
    assert_eq!(found("Deploy", Some("1")), Some("b".to_owned()));
    assert_eq!(found("deploy", Some("1")), Some("b".to_owned()));
    assert_eq!(found("DEPLOY", Some("2")), Some("d".to_owned()));
    // No major: the highest version.
    assert_eq!(found("Deploy", None), Some("d".to_owned()));
    // The id, in any case.
    assert_eq!(found(&id.to_lowercase(), Some("1")), Some("b".to_owned()));
    assert_eq!(found("Deploy", Some("3")), None);
    assert_eq!(found("Missing", Some("1")), None);
    // A task folder takes over a reference before the built-in tasks.
    let crate::Resolved::Folder(resolved) =
        crate::resolve(&TaskReference::new("Other", Some("1")), &folders).expect("resolved")
    else {
        panic!("a task folder should win");
    };
    assert_eq!(resolved.directory, PathBuf::from("f"));
}

#[test]
fn input_types_defaults_and_pick_lists_are_read_from_task_json() {
    let root = tempfile::tempdir().expect("a temporary directory");
    let inputs = r#", "inputs": [
        {"name": "path", "type": "filePath", "label": "Path", "defaultValue": "$(Build.SourcesDirectory)"},
        {"name": "lines", "type": "multiLine", "label": "Lines"},
        {"name": "count", "type": "int", "label": "Count", "defaultValue": 3},
        {"name": "verbose", "type": "boolean", "label": "Verbose", "defaultValue": "true", "required": "true"},
        {"name": "mode", "type": "pickList", "label": "Mode", "options": {"zeta": "Z", "alpha": "A"}},
        {"name": "shell", "type": "pickList", "label": "Shell", "options": {"bash": "Bash"},
         "properties": {"EditableOptions": "True"}},
        {"name": "filled", "type": "pickList", "label": "From a service"},
        {"name": "side", "type": "radio", "label": "Side", "options": {"left": "L", "right": "R"}},
        {"name": "azure", "type": "connectedService:AzureRM", "label": "Subscription"},
        {"name": "key", "type": "secureFile", "label": "Key"},
        {"name": "untyped", "label": "No type"}
    ]"#;
    write(&root.path().join("Kinds/task.json"), &manifest("Kinds", "x", (1, 0, 0), inputs));
    let discovery = discover(&[root.path().to_path_buf()]);
    assert_eq!(discovery.problems, Vec::<String>::new());
    let kinds: Vec<(&str, &InputKind, Option<&str>, bool)> = discovery.folders[0]
        .inputs
        .iter()
        .map(|input| (input.name.as_str(), &input.kind, input.default.as_deref(), input.required))
        .collect();
    let pick = |options: &[&str], editable: bool| InputKind::PickList { options: strings(options), editable };
    assert_eq!(
        kinds,
        vec![
            ("path", &InputKind::FilePath, Some("$(Build.SourcesDirectory)"), false),
            ("lines", &InputKind::MultiLine, None, false),
            ("count", &InputKind::Integer, Some("3"), false),
            ("verbose", &InputKind::Boolean, Some("true"), true),
            // Options in the order task.json lists them.
            ("mode", &pick(&["zeta", "alpha"], false), None, false),
            ("shell", &pick(&["bash"], true), None, false),
            ("filled", &pick(&[], true), None, false),
            ("side", &InputKind::Other("radio".to_owned()), None, false),
            ("azure", &InputKind::Other("connectedService:AzureRM".to_owned()), None, false),
            ("key", &InputKind::Other("secureFile".to_owned()), None, false),
            ("untyped", &InputKind::String, None, false),
        ]
    );
    let specs = &discovery.folders[0].inputs;
    let error = Inputs::resolve(specs, &given(&[("mode", "beta")])).expect_err("not an option");
    insta::assert_snapshot!(error.to_string(), @"Input mode has an invalid value 'beta'; expected one of: zeta, alpha");
    let inputs =
        Inputs::resolve(specs, &given(&[("MODE", "Alpha"), ("shell", "zsh"), ("filled", "anything")])).expect("valid");
    assert_eq!((inputs.text("mode"), inputs.text("shell"), inputs.text("count")), ("Alpha", "zsh", "3"));
}

#[test]
fn a_steps_inputs_are_validated_against_the_task_folder() {
    let specs = hello().inputs;
    let error = Inputs::resolve(&specs, &given(&[("shout", "true")])).expect_err("who is required");
    insta::assert_snapshot!(error.to_string(), @"Input required: who");
    let error = Inputs::resolve(&specs, &given(&[("who", "Ada"), ("style", "formal")])).expect_err("title is visible");
    insta::assert_snapshot!(error.to_string(), @"Input required: title");
    let error = Inputs::resolve(&specs, &given(&[("style", "rude")])).expect_err("two problems");
    insta::assert_snapshot!(error.to_string(), @"Input required: who; Input style has an invalid value 'rude'; expected one of: casual, formal");
    // The alias, the defaults, and an input the task does not declare.
    let inputs = Inputs::resolve(&specs, &given(&[("Name", " Ada "), ("colour", "red")])).expect("valid");
    assert_eq!(
        inputs.environment(),
        given(&[
            ("INPUT_WHO", "Ada"),
            ("INPUT_STYLE", "casual"),
            ("INPUT_TITLE", ""),
            ("INPUT_SHOUT", "false"),
            ("INPUT_EXITCODE", "0"),
        ])
    );
    assert_eq!(inputs.unknown, strings(&["colour"]));
}

#[test]
fn a_node_task_runs_as_the_agent_runs_it() {
    let workspace = tempfile::tempdir().expect("a temporary directory");
    let folder = hello();
    let inputs = Inputs::resolve(&folder.inputs, &given(&[("who", "World"), ("shout", "true")])).expect("valid");
    let mut host = FakeHost::new(workspace.path())
        .with_variable("Agent.TempDirectory", "/agent/_temp")
        // Slipway's own version, which tasks asserting an agent version would refuse.
        .with_variable("Agent.Version", "0.1.0")
        .with_variable("Build.BuildId", "42");
    host.secrets = given(&[("api.token", "s3cret"), ("My Password", "hunter2")]);
    let outcome = runner::run_with(&folder, &inputs, &mut host, &only_node);
    assert_eq!(outcome, Outcome::Succeeded);
    let expected = CommandLine {
        program: "node".to_owned(),
        arguments: vec![folder.directory.join("index.js").display().to_string()],
        working_directory: Some(workspace.path().to_path_buf()),
        environment: given(&[
            ("INPUT_WHO", "World"),
            ("INPUT_STYLE", "casual"),
            ("INPUT_TITLE", ""),
            ("INPUT_SHOUT", "true"),
            ("INPUT_EXITCODE", "0"),
            ("SECRET_API_TOKEN", "s3cret"),
            ("SECRET_MY_PASSWORD", "hunter2"),
            ("VSTS_SECRET_VARIABLES", r#"["api.token","My Password"]"#),
            ("AGENT_VERSION", AGENT_VERSION),
            ("SYSTEM_CULTURE", CULTURE),
        ]),
    };
    assert_eq!(host.commands, vec![expected]);
    let log = host.log[0].replace(&folder.directory.display().to_string(), "[FOLDER]");
    insta::assert_snapshot!(log, @"Task HelloTask@1 (1.2.3) from [FOLDER], run with Node (handler Node20_1)");
}

#[test]
fn what_the_job_sets_is_not_overridden_and_a_private_temporary_directory_is_made_when_missing() {
    let workspace = tempfile::tempdir().expect("a temporary directory");
    let folder = hello();
    let inputs = Inputs::resolve(&folder.inputs, &given(&[("who", "World")])).expect("valid");
    let mut host = FakeHost::new(workspace.path())
        .with_variable("agent.version", "3.240.1")
        .with_variable("System.Culture", "de-DE");
    assert_eq!(runner::run_with(&folder, &inputs, &mut host, &only_node), Outcome::Succeeded);
    let environment = &host.commands[0].environment;
    let names: Vec<&str> = environment.iter().map(|(name, _)| name.as_str()).skip(5).collect();
    assert_eq!(names, vec!["VSTS_SECRET_VARIABLES", "AGENT_TEMPDIRECTORY"]);
    assert_eq!(environment[5].1, "[]");
    let temporary = PathBuf::from(&environment[6].1);
    assert!(temporary.starts_with(std::env::temp_dir()), "{}", temporary.display());
    assert!(!temporary.exists(), "the temporary directory is removed after the task");
}

#[test]
fn a_non_zero_exit_code_fails_the_task() {
    let workspace = tempfile::tempdir().expect("a temporary directory");
    let folder = hello();
    let inputs = Inputs::resolve(&folder.inputs, &given(&[("who", "World")])).expect("valid");
    let mut host = FakeHost::new(workspace.path()).with_variable("Agent.TempDirectory", "/tmp");
    host.exit_code = 3;
    let outcome = runner::run_with(&folder, &inputs, &mut host, &only_node);
    insta::assert_debug_snapshot!(outcome, @r#"
    Failed(
        "the task HelloTask@1 failed: `node` exited with code 3",
    )
    "#);
}

/// A task folder with these `execution` handlers and the files `files` in it.
fn folder_with(root: &Path, name: &str, execution: &str, files: &[&str]) -> TaskFolder {
    let directory = root.join(name);
    write(
        &directory.join("task.json"),
        &format!(
            r#"{{"name": "{name}", "id": "x", "version": {{"Major": 1, "Minor": 0, "Patch": 0}},
                "inputs": [{{"name": "target", "type": "string", "label": "Target", "defaultValue": "prod"}}],
                "execution": {execution}}}"#
        ),
    );
    for file in files {
        write(&directory.join(file), "");
    }
    let discovery = discover(&[directory]);
    assert_eq!(discovery.problems, Vec::<String>::new());
    discovery.folders.into_iter().next().expect("a folder")
}

#[test]
fn handlers_are_ordered_best_first() {
    let root = tempfile::tempdir().expect("a temporary directory");
    let folder = folder_with(
        root.path(),
        "Many",
        r#"{"Node": {"target": "a.js"}, "Node10": {"target": "a.js"}, "PowerShell3": {"target": "a.ps1"},
            "HttpRequest": {"Execute": {}}, "Node20_1": {"target": "$(currentDirectory)\\lib\\a.js"},
            "Process": {"target": "tool", "argumentFormat": "-x"}, "PowerShell": {"target": "a.ps1"},
            "Node16": {"target": "a.js"}, "Node24": {"target": "a.js"}}"#,
        &[],
    );
    let names: Vec<String> = folder
        .handlers
        .iter()
        .map(|handler| match handler {
            Handler::Node { runtime, target } => {
                format!("{runtime} {}", target.strip_prefix(root.path()).expect("inside").display())
            }
            Handler::PowerShell3 { .. } => "PowerShell3".to_owned(),
            Handler::Process { arguments, .. } => format!("Process {arguments}"),
            Handler::Unsupported(name) => format!("unsupported {name}"),
        })
        .collect();
    assert_eq!(
        names,
        strings(&[
            "Node24 Many/a.js",
            "Node20_1 Many/lib/a.js",
            "Node16 Many/a.js",
            "Node10 Many/a.js",
            "Node Many/a.js",
            "PowerShell3",
            "Process -x",
            "unsupported HttpRequest",
            "unsupported PowerShell",
        ])
    );
}

#[test]
fn a_missing_runtime_or_target_gives_a_clear_error() {
    let root = tempfile::tempdir().expect("a temporary directory");
    let root = root.path();
    let node = folder_with(root, "CopyFilesPlus", r#"{"Node20_1": {"target": "main.js"}}"#, &["main.js"]);
    let both = folder_with(
        root,
        "Both",
        r#"{"Node16": {"target": "main.js"}, "PowerShell3": {"target": "main.ps1"}}"#,
        &["main.js", "main.ps1"],
    );
    let powershell = folder_with(root, "PsOnly", r#"{"PowerShell3": {"target": "main.ps1"}}"#, &["main.ps1"]);
    let legacy = folder_with(root, "Legacy", r#"{"PowerShell": {"target": "a.ps1"}, "HttpRequest": {}}"#, &[]);
    let none = folder_with(root, "Nothing", "{}", &[]);
    let no_target = folder_with(root, "Unbuilt", r#"{"Node16": {"target": "main.js"}}"#, &[]);
    let no_sdk = folder_with(root, "NoSdk", r#"{"PowerShell3": {"target": "main.ps1"}}"#, &["main.ps1"]);
    let mut messages = Vec::new();
    for (folder, available) in [
        (&node, "nothing"),
        (&both, "nothing"),
        (&powershell, "node"),
        (&legacy, "node pwsh"),
        (&none, "node pwsh"),
        (&no_target, "node"),
        (&no_sdk, "pwsh"),
    ] {
        let workspace = tempfile::tempdir().expect("a temporary directory");
        let mut host = FakeHost::new(workspace.path()).with_variable("Agent.TempDirectory", "/tmp");
        let inputs = Inputs::resolve(&folder.inputs, &[]).expect("valid");
        let outcome = runner::run_with(folder, &inputs, &mut host, &|program| available.contains(program));
        assert!(host.commands.is_empty());
        let Outcome::Failed(message) = outcome else { panic!("{} should fail", folder.name) };
        messages.push(message.replace(&root.display().to_string(), "[DIR]"));
    }
    insta::assert_snapshot!(messages.join("\n"), @r"
    the task CopyFilesPlus@1 needs Node (handler Node20_1), but `node` is not on the PATH
    the task Both@1 needs Node (handler Node16) or PowerShell (handler PowerShell3), but neither `node` nor `pwsh` is on the PATH
    the task PsOnly@1 needs PowerShell (handler PowerShell3), but `pwsh` is not on the PATH
    the task Legacy@1 has no handler Slipway can run (it has PowerShell, HttpRequest; Slipway runs Node, PowerShell3 and Process handlers)
    the task Nothing@1 has no `execution` handler in [DIR]/Nothing/task.json
    the task Unbuilt@1 is incomplete: [DIR]/Unbuilt/main.js (the target of its Node16 handler) does not exist
    the task NoSdk@1 needs the VstsTaskSdk PowerShell module, which is not in the task folder: [DIR]/NoSdk/ps_modules/VstsTaskSdk/VstsTaskSdk.psd1 is missing
    ");
}

#[test]
fn a_powershell_task_runs_with_pwsh_and_the_task_sdk_when_node_is_missing() {
    let root = tempfile::tempdir().expect("a temporary directory");
    let folder = folder_with(
        root.path(),
        "Both",
        r#"{"Node16": {"target": "main.js"}, "PowerShell3": {"target": "scripts/main.ps1"}}"#,
        &["main.js", "scripts/main.ps1", "scripts/ps_modules/VstsTaskSdk/VstsTaskSdk.psd1"],
    );
    let workspace = tempfile::tempdir().expect("a temporary directory");
    let mut host = FakeHost::new(workspace.path()).with_variable("Agent.TempDirectory", "/tmp");
    let inputs = Inputs::resolve(&folder.inputs, &[]).expect("valid");
    let outcome = runner::run_with(&folder, &inputs, &mut host, &|program| program == "pwsh");
    assert_eq!(outcome, Outcome::Succeeded);
    let command = &host.commands[0];
    assert_eq!(command.program, "pwsh");
    assert_eq!(command.working_directory, Some(folder.directory.join("scripts")));
    assert_eq!(command.environment[0], ("INPUT_TARGET".to_owned(), "prod".to_owned()));
    let arguments = command.arguments.join(" ").replace(&root.path().display().to_string(), "[DIR]");
    insta::assert_snapshot!(arguments, @"-NoLogo -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -Command Import-Module -Name '[DIR]/Both/scripts/ps_modules/VstsTaskSdk/VstsTaskSdk.psd1' -ArgumentList @{ NonInteractive = $true } -ErrorAction Stop ; $VerbosePreference = 'SilentlyContinue' ; $DebugPreference = 'SilentlyContinue' ; Invoke-VstsTaskScript -ScriptBlock ([scriptblock]::Create('. ''[DIR]/Both/scripts/main.ps1'''))");
    // With node available, the Node handler wins.
    let mut host = FakeHost::new(workspace.path()).with_variable("Agent.TempDirectory", "/tmp");
    runner::run_with(&folder, &inputs, &mut host, &|_| true);
    assert_eq!(host.commands[0].program, "node");
}

#[test]
fn a_process_task_gets_its_inputs_in_its_arguments() {
    let root = tempfile::tempdir().expect("a temporary directory");
    let folder = folder_with(
        root.path(),
        "Tool",
        r#"{"Process": {"target": "$(currentDirectory)/bin/tool", "argumentFormat": "--target $(target) \"$(currentDirectory)/my config\" $(Build.BuildId)"}}"#,
        &["bin/tool"],
    );
    let workspace = tempfile::tempdir().expect("a temporary directory");
    let mut host = FakeHost::new(workspace.path()).with_variable("Agent.TempDirectory", "/tmp");
    let inputs = Inputs::resolve(&folder.inputs, &given(&[("target", "staging")])).expect("valid");
    assert_eq!(runner::run_with(&folder, &inputs, &mut host, &|_| false), Outcome::Succeeded);
    let command = &host.commands[0];
    assert_eq!(command.program, folder.directory.join("bin/tool").display().to_string());
    assert_eq!(
        command.arguments,
        strings(&["--target", "staging", &format!("{}/my config", folder.directory.display()), "$(Build.BuildId)"])
    );
}

#[test]
fn the_hello_task_really_runs_with_node() {
    let needed = if runner::on_path("node", None) { Ok(()) } else { Err("`node` is not on the PATH".to_owned()) };
    if !slipway_testing::needed_or_skip("the_hello_task_really_runs_with_node", "NODE", needed) {
        return;
    }
    let workspace = tempfile::tempdir().expect("a temporary directory");
    let folder = hello();
    let inputs =
        Inputs::resolve(&folder.inputs, &given(&[("name", "Ada"), ("style", "formal"), ("title", "Countess")]))
            .expect("valid");
    let mut host = FakeHost::new(workspace.path()).with_variable("Agent.TempDirectory", "/tmp");
    host.secrets = given(&[("api.token", "s3cret")]);
    assert_eq!(run(&folder, &inputs, &mut host), Outcome::Succeeded);
    let command = &host.commands[0];
    let output = std::process::Command::new(&command.program)
        .args(&command.arguments)
        .current_dir(command.working_directory.as_deref().expect("a working directory"))
        .envs(command.environment.iter().map(|(name, value)| (name, value)))
        .output()
        .expect("node runs");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout).replace(&workspace.path().display().to_string(), "[WORK]");
    insta::assert_snapshot!(stdout, @r"
    Good day, Countess Ada.
    working directory: [WORK]
    culture: en-US
    secrets: SECRET_API_TOKEN
    ##vso[task.setvariable variable=greeting;isOutput=true]Good day, Countess Ada.
    ");
    // Asked to fail, it logs an error and exits with the code.
    let inputs = Inputs::resolve(&folder.inputs, &given(&[("who", "Bob"), ("exitCode", "4")])).expect("valid");
    let mut host = FakeHost::new(workspace.path()).with_variable("Agent.TempDirectory", "/tmp");
    run(&folder, &inputs, &mut host);
    let command = &host.commands[0];
    let output = std::process::Command::new(&command.program)
        .args(&command.arguments)
        .current_dir(workspace.path())
        .envs(command.environment.iter().map(|(name, value)| (name, value)))
        .output()
        .expect("node runs");
    assert_eq!(output.status.code(), Some(4));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("##vso[task.logissue type=error]HelloTask was asked to fail")
    );
}

#[test]
fn secret_names_become_environment_names_as_the_task_library_expects() {
    assert_eq!(runner::variable_key("api.token"), "API_TOKEN");
    assert_eq!(runner::variable_key("My Secret.Value"), "MY_SECRET_VALUE");
}
