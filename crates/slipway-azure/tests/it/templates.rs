//! Template expansion behaviour, over in-memory files: each test writes a pipeline and its
//! templates and pins the expanded YAML or the rendered diagnostics.

use slipway_azure::{Location, MemoryFileSystem, Options, expand};
use slipway_diagnostics::render_all;

fn files(entries: &[(&str, &str)]) -> MemoryFileSystem {
    let mut file_system = MemoryFileSystem::new();
    for (path, text) in entries {
        match path.split_once('@') {
            Some((path, alias)) => file_system.insert_in(alias, path, *text),
            None => file_system.insert(*path, *text),
        }
    }
    file_system
}

/// Expanded YAML, or the diagnostics when there are any.
fn expanded_with(entries: &[(&str, &str)], parameters: &[(&str, &str)]) -> String {
    let file_system = files(entries);
    let options = Options {
        parameters: parameters.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect(),
        variables: vec![("Build.SourceBranch".to_owned(), "refs/heads/main".to_owned())],
    };
    let expansion = expand(&Location::local("azure-pipelines.yml"), &file_system, &options);
    if expansion.diagnostics.is_empty() {
        expansion.root.map(|root| slipway_yaml::emit(&root)).unwrap_or_default()
    } else {
        render_all(&expansion.diagnostics, &expansion.sources)
    }
}

fn expanded(entries: &[(&str, &str)]) -> String {
    expanded_with(entries, &[])
}

#[test]
fn step_templates_resolve_relative_to_the_including_file() {
    insta::assert_snapshot!(expanded(&[
        ("azure-pipelines.yml", "jobs:\n- template: ci/jobs.yml\n  parameters:\n    name: build\n"),
        ("ci/jobs.yml", "parameters:\n- name: name\n  type: string\njobs:\n- job: ${{ parameters.name }}\n  steps:\n  - template: steps/test.yml\n  - template: /root-steps.yml\n"),
        ("ci/steps/test.yml", "steps:\n- script: echo test\n"),
        ("root-steps.yml", "steps:\n- script: echo root\n"),
    ]), @"
    jobs:
    - job: build
      steps:
      - script: echo test
      - script: echo root
    ");
}

#[test]
fn each_over_mappings_and_sequences_and_insert() {
    insta::assert_snapshot!(expanded(&[(
        "azure-pipelines.yml",
        "parameters:\n- name: envs\n  type: object\n  default: {dev: westus, prod: eastus}\n- name: extra\n  type: object\n  default: {FOO: bar}\nsteps:\n- ${{ each pair in parameters.envs }}:\n  - script: deploy ${{ pair.key }} to ${{ pair.value }}\n    env:\n      ${{ insert }}: ${{ parameters.extra }}\n      REGION: ${{ pair.value }}\n",
    )]), @"
    steps:
    - script: deploy dev to westus
      env:
        FOO: bar
        REGION: westus
    - script: deploy prod to eastus
      env:
        FOO: bar
        REGION: eastus
    ");
}

#[test]
fn step_list_parameters_keep_their_spans_and_can_be_rewritten() {
    insta::assert_snapshot!(expanded(&[
        ("azure-pipelines.yml", "extends:\n  template: start.yml\n  parameters:\n    buildSteps:\n    - script: echo one\n      displayName: One\n    - bash: echo two\n"),
        ("start.yml", "parameters:\n- name: buildSteps\n  type: stepList\n  default: []\nsteps:\n- ${{ each step in parameters.buildSteps }}:\n  - ${{ each pair in step }}:\n      ${{ if eq(pair.key, 'script') }}:\n        bash: ${{ pair.value }}\n      ${{ else }}:\n        ${{ pair.key }}: ${{ pair.value }}\n"),
    ]), @"
    steps:
    - bash: echo one
      displayName: One
    - bash: echo two
    ");
}

#[test]
fn runtime_parameters_are_type_checked() {
    let pipeline = "parameters:\n- name: count\n  type: number\n  default: 1\n- name: flag\n  type: boolean\n  default: false\n- name: size\n  default: small\n  values: [small, large]\n- name: targets\n  type: object\n  default: []\nsteps:\n- script: echo ${{ parameters.count }} ${{ parameters.flag }} ${{ parameters.size }} ${{ join(',', parameters.targets) }}\n";
    insta::assert_snapshot!(expanded_with(&[("azure-pipelines.yml", pipeline)], &[("count", "3"), ("flag", "TRUE"), ("size", "large"), ("targets", "[a, b]")]), @"
    steps:
    - script: echo 3 True large a,b
    ");
    insta::assert_snapshot!(expanded_with(&[("azure-pipelines.yml", pipeline)], &[("count", "three"), ("flag", "maybe"), ("size", "medium"), ("colour", "red")]), @"
    error[P0002]: parameter `count` expects a number, but the value is a string
     --> --param count:1:1
      |
    1 | three
      | ^^^^^
      = note: `count` is declared as `number` at azure-pipelines.yml:2:9

    error[P0002]: parameter `flag` expects a boolean (`true` or `false`), but the value is a string
     --> --param flag:1:1
      |
    1 | maybe
      | ^^^^^
      = note: `flag` is declared as `boolean` at azure-pipelines.yml:5:9

    error[P0003]: `medium` is not an allowed value of parameter `size`
     --> --param size:1:1
      |
    1 | medium
      | ^^^^^^
      = note: the allowed values are `small`, `large`

    error[P0006]: `--param colour` names no parameter of this pipeline
      = hint: it declares `count`, `flag`, `size`, `targets`

    4 errors and 0 warnings
    ");
}

#[test]
fn required_and_unexpected_template_parameters_are_errors() {
    insta::assert_snapshot!(expanded(&[
        ("azure-pipelines.yml", "steps:\n- template: t.yml\n  parameters:\n    nmae: x\n"),
        ("t.yml", "parameters:\n- name: name\n  type: string\nsteps:\n- script: echo ${{ parameters.name }}\n"),
    ]), @"
    error[P0007]: template `t.yml` needs a value for parameter `name`
     --> azure-pipelines.yml:2:13
      |
    2 | - template: t.yml
      |             ^^^^^
      = note: `name` is declared without a default at t.yml:2:9
      = hint: add `name:` under `parameters:` of this template reference

    error[P0004]: template `t.yml` has no parameter `nmae`
     --> azure-pipelines.yml:4:5
      |
    4 |     nmae: x
      |     ^^^^
      = hint: did you mean `name`?

    2 errors and 0 warnings
    ");
}

#[test]
fn templates_from_other_repositories_need_a_checkout() {
    let pipeline = "resources:\n  repositories:\n  - repository: templates\n    type: github\n    name: contoso/templates\nsteps:\n- template: steps/build.yml@templates\n- template: steps/other.yml@tempaltes\n";
    insta::assert_snapshot!(expanded(&[("azure-pipelines.yml", pipeline)]), @"
    error[T0002]: template `steps/build.yml@templates` is in repository `templates`, which has no local checkout
     --> azure-pipelines.yml:7:13
      |
    7 | - template: steps/build.yml@templates
      |             ^^^^^^^^^^^^^^^^^^^^^^^^^
      = hint: pass `--repo templates=PATH` with the path of a checkout of that repository

    error[T0003]: template `steps/other.yml@tempaltes` names repository `tempaltes`, which `resources.repositories` does not declare
     --> azure-pipelines.yml:8:13
      |
    8 | - template: steps/other.yml@tempaltes
      |             ^^^^^^^^^^^^^^^^^^^^^^^^^
      = hint: did you mean `@templates`?

    2 errors and 0 warnings
    ");
    let pipeline = pipeline.replace("- template: steps/other.yml@tempaltes\n", "");
    insta::assert_snapshot!(expanded(&[
        ("azure-pipelines.yml", &pipeline),
        ("steps/build.yml@templates", "steps:\n- template: common.yml\n- template: local.yml@self\n"),
        ("steps/common.yml@templates", "steps:\n- script: echo common from templates\n"),
        ("local.yml", "steps:\n- script: echo local\n"),
    ]), @"
    resources:
      repositories:
      - repository: templates
        type: github
        name: contoso/templates
    steps:
    - script: echo common from templates
    - script: echo local
    ");
}

#[test]
fn template_cycles_name_the_chain() {
    insta::assert_snapshot!(expanded(&[
        ("azure-pipelines.yml", "steps:\n- template: a.yml\n"),
        ("a.yml", "steps:\n- template: b.yml\n"),
        ("b.yml", "steps:\n- template: a.yml\n"),
    ]), @"
    error[T0006]: template `a.yml` includes itself: a.yml -> b.yml -> a.yml
     --> b.yml:2:13
      |
    2 | - template: a.yml
      |             ^^^^^
      = note: in template `b.yml`, included from a.yml:2:13
      = note: in template `a.yml`, included from azure-pipelines.yml:2:13
      = hint: break the cycle by moving the shared part into a template that includes nothing back

    1 error and 0 warnings
    ");
}

#[test]
fn nesting_deeper_than_twenty_is_an_error() {
    let mut entries: Vec<(String, String)> =
        vec![("azure-pipelines.yml".to_owned(), "steps:\n- template: t0.yml\n".to_owned())];
    for level in 0..25 {
        entries.push((format!("t{level}.yml"), format!("steps:\n- template: t{}.yml\n", level + 1)));
    }
    let borrowed: Vec<(&str, &str)> = entries.iter().map(|(path, text)| (path.as_str(), text.as_str())).collect();
    let output = expanded(&borrowed);
    assert!(output.contains("error[T0005]: templates are nested more than 20 levels deep"), "{output}");
}

#[test]
fn more_than_a_hundred_files_is_an_error() {
    let mut pipeline = String::from("steps:\n");
    let mut entries: Vec<(String, String)> = Vec::new();
    for index in 0..101 {
        pipeline.push_str(&format!("- template: t{index}.yml\n"));
        entries.push((format!("t{index}.yml"), format!("steps:\n- script: echo {index}\n")));
    }
    entries.push(("azure-pipelines.yml".to_owned(), pipeline));
    let borrowed: Vec<(&str, &str)> = entries.iter().map(|(path, text)| (path.as_str(), text.as_str())).collect();
    let output = expanded(&borrowed);
    assert!(output.contains("error[T0004]: the pipeline includes more than 100 files"), "{output}");
}

#[test]
fn runtime_expressions_and_macros_are_left_alone() {
    insta::assert_snapshot!(expanded(&[(
        "azure-pipelines.yml",
        "variables:\n  a: $[ variables.b ]\n  c: $(d)\nsteps:\n- script: echo $(a) ${{ variables.c }} ${{ variables['Build.SourceBranch'] }} [${{ variables.unknown }}]\n  condition: and(succeeded(), eq(variables.a, 'x'))\n",
    )]), @"
    variables:
      a: $[ variables.b ]
      c: $(d)
    steps:
    - script: echo $(a) $(d) refs/heads/main []
      condition: and(succeeded(), eq(variables.a, 'x'))
    ");
}

#[test]
fn conditional_keys_and_duplicates_after_expansion() {
    insta::assert_snapshot!(expanded(&[(
        "azure-pipelines.yml",
        "parameters:\n- name: debug\n  type: boolean\n  default: true\njobs:\n- job: A\n  pool: one\n  ${{ if parameters.debug }}:\n    pool: two\n  steps:\n  - script: echo\n",
    )]), @"
    error[T0016]: key `pool` is defined twice after template expansion
     --> azure-pipelines.yml:9:5
      |
    9 |     pool: two
      |     ^^^^
      = note: it was first defined at azure-pipelines.yml:7:3
      = hint: make the `${{ if }}` branches or inserted mappings set different keys

    1 error and 0 warnings
    ");
}

#[test]
fn expression_errors_point_into_the_value() {
    insta::assert_snapshot!(expanded(&[(
        "azure-pipelines.yml",
        "steps:\n- script: echo ${{ eq(1, }}\n- script: echo ${{ nosuch(1) }}\n- ${{ elseif true }}:\n  - script: x\n",
    )]), @"
    error[T0010]: invalid template expression: Unclosed function: 'eq'
     --> azure-pipelines.yml:2:20
      |
    2 | - script: echo ${{ eq(1, }}
      |                    ^^

    error[T0011]: template expression `nosuch(1)` failed: Unrecognized function: 'nosuch'
     --> azure-pipelines.yml:3:20
      |
    3 | - script: echo ${{ nosuch(1) }}
      |                    ^^^^^^^^^

    error[T0012]: `${{ elseif }}` must follow an `${{ if }}` or `${{ elseif }}`
     --> azure-pipelines.yml:4:3
      |
    4 | - ${{ elseif true }}:
      |   ^^^^^^^^^^^^^^^^^^
      = hint: put it right after the `${{ if }}` entry it belongs to

    3 errors and 0 warnings
    ");
}

/// Inputs the fuzzer found slow (`fuzz/`): runaway `${{ each }}` nesting with a mistake inside.
/// Expansion must stop at its budget and report each mistake once, not once per iteration.
#[test]
fn fuzzer_regressions_report_each_mistake_once() {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    for (file, code) in [
        ("nested-each-with-bad-expression.yml", "T0007"),
        ("nested-each-with-malformed-inner-each.yml", "T0013"),
        ("nested-each-with-invalid-key.yml", "T0010"),
    ] {
        let text = std::fs::read_to_string(directory.join(file)).expect("fixture");
        let output = expanded(&[("azure-pipelines.yml", &text)]);
        assert_eq!(output.matches(&format!("error[{code}]")).count(), 1, "{file}:\n{output}");
        assert!(output.lines().filter(|line| line.starts_with("error[")).count() <= 3, "{file}:\n{output}");
    }
}

#[test]
fn variables_are_visible_to_the_ones_after_them_in_both_forms() {
    insta::assert_snapshot!(expanded(&[(
        "azure-pipelines.yml",
        "variables:\n  a: one\n  b: ${{ variables.a }}-two\n  c: ${{ variables.b }}-three\nstages:\n- stage: S\n  variables:\n  - name: d\n    value: ${{ variables.c }}-four\n  - name: e\n    value: ${{ variables.d }}-five\n  jobs:\n  - job: J\n    steps:\n    - script: echo ${{ variables.e }}\n",
    )]), @"
    variables:
      a: one
      b: one-two
      c: one-two-three
    stages:
    - stage: S
      variables:
      - name: d
        value: one-two-three-four
      - name: e
        value: one-two-three-four-five
      jobs:
      - job: J
        steps:
        - script: echo one-two-three-four-five
    ");
}

/// The keys of an item of a `variables:` list (`name`, `value`) are not variables themselves.
#[test]
fn the_keys_of_a_variable_list_item_are_not_variables() {
    insta::assert_snapshot!(expanded(&[(
        "azure-pipelines.yml",
        "variables:\n- name: a\n  value: '[${{ variables.name }}]'\n- name: b\n  value: ${{ variables.a }}-[${{ variables.value }}]\nsteps:\n- script: echo\n",
    )]), @"
    variables:
    - name: a
      value: '[]'
    - name: b
      value: '[]-[]'
    steps:
    - script: echo
    ");
}

/// An error in a template expression does not hide the file's other errors (issue 11): the rest
/// of the document is still validated, without reporting again what lies where expansion failed;
/// a template that could not be included stops there (the document has parts missing).
#[test]
fn expression_errors_do_not_hide_the_other_errors() {
    let compiled = |entries: &[(&str, &str)]| {
        let compiled =
            slipway_azure::compile(&Location::local("azure-pipelines.yml"), &files(entries), &Options::default());
        compiled.diagnostics.iter().map(|diagnostic| (diagnostic.code, diagnostic.message.clone())).collect::<Vec<_>>()
    };
    let found = compiled(&[(
        "azure-pipelines.yml",
        "variables:\n  ${{ if eq(parameters.x, }}:\n    a: 1\nsteps:\n- script: echo hi\n  condition: and(succeeded(), eq(variables.a, '1')\n- script: echo ${{ variables.b\n",
    )]);
    let codes: Vec<&str> = found.iter().map(|(code, _)| *code).collect();
    assert_eq!(codes, ["T0010", "T0010", "V0007"], "{found:?}");
    assert!(found[2].1.contains("Unclosed function: 'and'"), "{found:?}");
    // A missing template: only that.
    let found =
        compiled(&[("azure-pipelines.yml", "steps:\n- template: missing.yml\n- script: echo hi\n  condition: and(\n")]);
    assert_eq!(found.iter().map(|(code, _)| *code).collect::<Vec<_>>(), ["T0001"], "{found:?}");
}
