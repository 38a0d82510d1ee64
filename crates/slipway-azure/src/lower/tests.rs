//! Tests of lowering: JSON snapshots of plans for the shapes Azure accepts.

use std::path::PathBuf;

use slipway_diagnostics::{SourceMap, render_all};
use slipway_plan::{JobKind, Plan};

use super::lower;

/// Lowers `text` (read as `azure-pipelines.yml`), panicking with the rendered diagnostics when it fails.
fn plan(text: &str) -> Plan {
    let mut sources = SourceMap::new();
    let file = sources.add("azure-pipelines.yml", text);
    let root = slipway_yaml::load(text, file).unwrap_or_else(|errors| panic!("{}", render_all(&errors, &sources)));
    lower(&root, &sources, Vec::new()).unwrap_or_else(|errors| panic!("{}", render_all(&errors, &sources)))
}

/// The plan as JSON without spans, nulls and empty lists, which would make the snapshots hard to
/// read (an absent list is an empty one).
fn plan_json(text: &str) -> serde_json::Value {
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(object) => {
                object.remove("span");
                object.retain(|_, field| !field.is_null() && field.as_array().is_none_or(|items| !items.is_empty()));
                object.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(plan(text)).unwrap_or_default();
    strip(&mut value);
    value
}

#[test]
fn stages_depend_on_the_previous_stage_unless_told_otherwise() {
    let text = "
name: $(Date:yyyyMMdd)$(Rev:.r)
appendCommitMessageToRunName: 'no'
pool:
  vmImage: ubuntu-latest
variables:
  configuration: Release
stages:
- stage: Build
  jobs:
  - job: compile
    steps:
    - script: make
- stage: Test
  displayName: Run the tests
  pool: Self Hosted
  condition: and(succeeded(), ne(variables['Build.Reason'], 'Schedule'))
  jobs:
  - job: unit
    steps:
    - script: make test
- stage: Lint
  dependsOn: []
  jobs:
  - job: lint
    pool:
      name: Linters
      demands: eslint
    steps:
    - script: make lint
- stage: Publish
  dependsOn:
  - Test
  - Lint
  jobs:
  - job: publish
    steps:
    - script: make publish
";
    insta::assert_json_snapshot!(plan_json(text), @r#"
    {
      "append_commit_message": false,
      "dialect": "azure-pipelines",
      "files": [
        "azure-pipelines.yml"
      ],
      "resources": {},
      "run_name": "$(Date:yyyyMMdd)$(Rev:.r)",
      "stages": [
        {
          "jobs": [
            {
              "continue_on_error": false,
              "fail_fast": false,
              "kind": {
                "type": "agent"
              },
              "legs": [
                {}
              ],
              "name": "compile",
              "pool": {
                "image": "ubuntu-latest"
              },
              "steps": [
                {
                  "action": {
                    "script": "make",
                    "shell": "default",
                    "type": "script"
                  },
                  "continue_on_error": false,
                  "enabled": true,
                  "fail_on_stderr": false,
                  "retry_count": 0
                }
              ]
            }
          ],
          "name": "Build"
        },
        {
          "condition": {
            "expression": {
              "source": "and(succeeded(), ne(variables['Build.Reason'], 'Schedule'))"
            },
            "source": "and(succeeded(), ne(variables['Build.Reason'], 'Schedule'))"
          },
          "depends_on": [
            "Build"
          ],
          "display_name": "Run the tests",
          "jobs": [
            {
              "continue_on_error": false,
              "fail_fast": false,
              "kind": {
                "type": "agent"
              },
              "legs": [
                {}
              ],
              "name": "unit",
              "pool": {
                "name": "Self Hosted"
              },
              "steps": [
                {
                  "action": {
                    "script": "make test",
                    "shell": "default",
                    "type": "script"
                  },
                  "continue_on_error": false,
                  "enabled": true,
                  "fail_on_stderr": false,
                  "retry_count": 0
                }
              ]
            }
          ],
          "name": "Test"
        },
        {
          "jobs": [
            {
              "continue_on_error": false,
              "fail_fast": false,
              "kind": {
                "type": "agent"
              },
              "legs": [
                {}
              ],
              "name": "lint",
              "pool": {
                "demands": [
                  "eslint"
                ],
                "name": "Linters"
              },
              "steps": [
                {
                  "action": {
                    "script": "make lint",
                    "shell": "default",
                    "type": "script"
                  },
                  "continue_on_error": false,
                  "enabled": true,
                  "fail_on_stderr": false,
                  "retry_count": 0
                }
              ]
            }
          ],
          "name": "Lint"
        },
        {
          "depends_on": [
            "Test",
            "Lint"
          ],
          "jobs": [
            {
              "continue_on_error": false,
              "fail_fast": false,
              "kind": {
                "type": "agent"
              },
              "legs": [
                {}
              ],
              "name": "publish",
              "pool": {
                "image": "ubuntu-latest"
              },
              "steps": [
                {
                  "action": {
                    "script": "make publish",
                    "shell": "default",
                    "type": "script"
                  },
                  "continue_on_error": false,
                  "enabled": true,
                  "fail_on_stderr": false,
                  "retry_count": 0
                }
              ]
            }
          ],
          "name": "Publish"
        }
      ],
      "variables": [
        {
          "name": "configuration",
          "readonly": false,
          "type": "value",
          "value": "Release"
        }
      ],
      "version": 1
    }
    "#);
}

#[test]
fn jobs_only_make_the_default_stage() {
    let text = "
jobs:
- job:
  displayName: First unnamed
  steps:
  - script: echo one
- job:
  steps:
  - script: echo two
- job: Job2
  dependsOn: [Job, Job3]
  steps:
  - script: echo three
";
    insta::assert_json_snapshot!(plan_json(text), @r#"
    {
      "dialect": "azure-pipelines",
      "files": [
        "azure-pipelines.yml"
      ],
      "resources": {},
      "stages": [
        {
          "jobs": [
            {
              "continue_on_error": false,
              "display_name": "First unnamed",
              "fail_fast": false,
              "kind": {
                "type": "agent"
              },
              "legs": [
                {}
              ],
              "name": "Job",
              "steps": [
                {
                  "action": {
                    "script": "echo one",
                    "shell": "default",
                    "type": "script"
                  },
                  "continue_on_error": false,
                  "enabled": true,
                  "fail_on_stderr": false,
                  "retry_count": 0
                }
              ]
            },
            {
              "continue_on_error": false,
              "fail_fast": false,
              "kind": {
                "type": "agent"
              },
              "legs": [
                {}
              ],
              "name": "Job3",
              "steps": [
                {
                  "action": {
                    "script": "echo two",
                    "shell": "default",
                    "type": "script"
                  },
                  "continue_on_error": false,
                  "enabled": true,
                  "fail_on_stderr": false,
                  "retry_count": 0
                }
              ]
            },
            {
              "continue_on_error": false,
              "depends_on": [
                "Job",
                "Job3"
              ],
              "fail_fast": false,
              "kind": {
                "type": "agent"
              },
              "legs": [
                {}
              ],
              "name": "Job2",
              "steps": [
                {
                  "action": {
                    "script": "echo three",
                    "shell": "default",
                    "type": "script"
                  },
                  "continue_on_error": false,
                  "enabled": true,
                  "fail_on_stderr": false,
                  "retry_count": 0
                }
              ]
            }
          ],
          "name": "__default"
        }
      ],
      "version": 1
    }
    "#);
}

#[test]
fn steps_only_make_the_default_stage_and_job() {
    let text = "
pool:
  vmImage: windows-latest
variables:
- name: verbosity
  value: minimal
container: mcr.microsoft.com/dotnet/sdk:8.0
timeoutInMinutes: 30
workspace:
  clean: outputs
condition: ne(variables['Build.Reason'], 'PullRequest')
steps:
- script: dotnet build
";
    insta::assert_json_snapshot!(plan_json(text), @r#"
    {
      "dialect": "azure-pipelines",
      "files": [
        "azure-pipelines.yml"
      ],
      "resources": {},
      "stages": [
        {
          "jobs": [
            {
              "condition": {
                "expression": {
                  "source": "ne(variables['Build.Reason'], 'PullRequest')"
                },
                "source": "ne(variables['Build.Reason'], 'PullRequest')"
              },
              "container": "mcr.microsoft.com/dotnet/sdk:8.0",
              "continue_on_error": false,
              "fail_fast": false,
              "kind": {
                "type": "agent"
              },
              "legs": [
                {}
              ],
              "name": "Job",
              "pool": {
                "image": "windows-latest"
              },
              "steps": [
                {
                  "action": {
                    "script": "dotnet build",
                    "shell": "default",
                    "type": "script"
                  },
                  "continue_on_error": false,
                  "enabled": true,
                  "fail_on_stderr": false,
                  "retry_count": 0
                }
              ],
              "timeout_minutes": 30,
              "workspace_clean": "outputs"
            }
          ],
          "name": "__default"
        }
      ],
      "variables": [
        {
          "name": "verbosity",
          "readonly": false,
          "type": "value",
          "value": "minimal"
        }
      ],
      "version": 1
    }
    "#);
}

#[test]
fn matrix_and_parallel_make_legs() {
    let text = "
jobs:
- job: test
  displayName: Tests
  strategy:
    maxParallel: 2
    matrix:
      linux:
        imageName: ubuntu-latest
        python: '3.10'
      Windows x64:
        imageName: windows-latest
        python: 3.10
  pool:
    vmImage: $(imageName)
  steps:
  - script: pytest
- job: slices
  strategy:
    parallel: 3
  steps:
  - script: ./run-slice.sh $(System.JobPositionInPhase) $(System.TotalJobsInPhase)
";
    insta::assert_json_snapshot!(plan_json(text), @r#"
    {
      "dialect": "azure-pipelines",
      "files": [
        "azure-pipelines.yml"
      ],
      "resources": {},
      "stages": [
        {
          "jobs": [
            {
              "continue_on_error": false,
              "display_name": "Tests",
              "fail_fast": false,
              "kind": {
                "type": "agent"
              },
              "legs": [
                {
                  "display_name": "Tests linux",
                  "name": "linux",
                  "variables": [
                    [
                      "imageName",
                      "ubuntu-latest"
                    ],
                    [
                      "python",
                      "3.10"
                    ]
                  ]
                },
                {
                  "display_name": "Tests Windows x64",
                  "name": "Windows x64",
                  "variables": [
                    [
                      "imageName",
                      "windows-latest"
                    ],
                    [
                      "python",
                      "3.10"
                    ]
                  ]
                }
              ],
              "max_parallel": 2,
              "name": "test",
              "pool": {
                "image": "$(imageName)"
              },
              "steps": [
                {
                  "action": {
                    "script": "pytest",
                    "shell": "default",
                    "type": "script"
                  },
                  "continue_on_error": false,
                  "enabled": true,
                  "fail_on_stderr": false,
                  "retry_count": 0
                }
              ]
            },
            {
              "continue_on_error": false,
              "fail_fast": false,
              "kind": {
                "type": "agent"
              },
              "legs": [
                {
                  "display_name": "slices 1",
                  "name": "job1",
                  "variables": [
                    [
                      "System.JobPositionInPhase",
                      "1"
                    ],
                    [
                      "System.TotalJobsInPhase",
                      "3"
                    ]
                  ]
                },
                {
                  "display_name": "slices 2",
                  "name": "job2",
                  "variables": [
                    [
                      "System.JobPositionInPhase",
                      "2"
                    ],
                    [
                      "System.TotalJobsInPhase",
                      "3"
                    ]
                  ]
                },
                {
                  "display_name": "slices 3",
                  "name": "job3",
                  "variables": [
                    [
                      "System.JobPositionInPhase",
                      "3"
                    ],
                    [
                      "System.TotalJobsInPhase",
                      "3"
                    ]
                  ]
                }
              ],
              "name": "slices",
              "steps": [
                {
                  "action": {
                    "script": "./run-slice.sh $(System.JobPositionInPhase) $(System.TotalJobsInPhase)",
                    "shell": "default",
                    "type": "script"
                  },
                  "continue_on_error": false,
                  "enabled": true,
                  "fail_on_stderr": false,
                  "retry_count": 0
                }
              ]
            }
          ],
          "name": "__default"
        }
      ],
      "version": 1
    }
    "#);
}

#[test]
fn deployment_jobs_keep_environment_strategy_and_hooks() {
    let text = "
stages:
- stage: Deploy
  jobs:
  - deployment: web
    displayName: Web servers
    pool:
      vmImage: ubuntu-latest
    environment:
      name: production
      resourceType: VirtualMachine
      tags: web, frontend
    strategy:
      canary:
        increments: [10, 20]
        preDeploy:
          steps:
          - script: echo init
        deploy:
          pool: Deployers
          steps:
          - script: echo deploy
        routeTraffic:
          steps:
          - script: echo route
        postRouteTraffic:
          steps:
          - script: echo monitor
        on:
          failure:
            steps:
            - script: echo rollback
          success:
            steps:
            - script: echo done
  - deployment: database
    environment: production.sql01
    strategy:
      rolling:
        maxParallel: 25%
        deploy:
          steps:
          - script: echo migrate
  - deployment: smoke
    dependsOn: [web, database]
    environment: staging
    strategy:
      runOnce:
        deploy:
          steps:
          - script: echo smoke
";
    insta::assert_json_snapshot!(plan_json(text), @r#"
    {
      "dialect": "azure-pipelines",
      "files": [
        "azure-pipelines.yml"
      ],
      "resources": {},
      "stages": [
        {
          "jobs": [
            {
              "continue_on_error": false,
              "display_name": "Web servers",
              "fail_fast": false,
              "kind": {
                "environment": {
                  "name": "production",
                  "resource_type": "VirtualMachine",
                  "tags": [
                    "web",
                    "frontend"
                  ]
                },
                "hooks": [
                  {
                    "kind": "preDeploy",
                    "steps": [
                      {
                        "action": {
                          "script": "echo init",
                          "shell": "default",
                          "type": "script"
                        },
                        "continue_on_error": false,
                        "enabled": true,
                        "fail_on_stderr": false,
                        "retry_count": 0
                      }
                    ]
                  },
                  {
                    "kind": "deploy",
                    "pool": {
                      "name": "Deployers"
                    },
                    "steps": [
                      {
                        "action": {
                          "script": "echo deploy",
                          "shell": "default",
                          "type": "script"
                        },
                        "continue_on_error": false,
                        "enabled": true,
                        "fail_on_stderr": false,
                        "retry_count": 0
                      }
                    ]
                  },
                  {
                    "kind": "routeTraffic",
                    "steps": [
                      {
                        "action": {
                          "script": "echo route",
                          "shell": "default",
                          "type": "script"
                        },
                        "continue_on_error": false,
                        "enabled": true,
                        "fail_on_stderr": false,
                        "retry_count": 0
                      }
                    ]
                  },
                  {
                    "kind": "postRouteTraffic",
                    "steps": [
                      {
                        "action": {
                          "script": "echo monitor",
                          "shell": "default",
                          "type": "script"
                        },
                        "continue_on_error": false,
                        "enabled": true,
                        "fail_on_stderr": false,
                        "retry_count": 0
                      }
                    ]
                  },
                  {
                    "kind": "onFailure",
                    "steps": [
                      {
                        "action": {
                          "script": "echo rollback",
                          "shell": "default",
                          "type": "script"
                        },
                        "continue_on_error": false,
                        "enabled": true,
                        "fail_on_stderr": false,
                        "retry_count": 0
                      }
                    ]
                  },
                  {
                    "kind": "onSuccess",
                    "steps": [
                      {
                        "action": {
                          "script": "echo done",
                          "shell": "default",
                          "type": "script"
                        },
                        "continue_on_error": false,
                        "enabled": true,
                        "fail_on_stderr": false,
                        "retry_count": 0
                      }
                    ]
                  }
                ],
                "strategy": {
                  "increments": [
                    10,
                    20
                  ],
                  "type": "canary"
                },
                "type": "deployment"
              },
              "legs": [
                {}
              ],
              "name": "web",
              "pool": {
                "image": "ubuntu-latest"
              }
            },
            {
              "continue_on_error": false,
              "fail_fast": false,
              "kind": {
                "environment": {
                  "name": "production",
                  "resource_name": "sql01"
                },
                "hooks": [
                  {
                    "kind": "deploy",
                    "steps": [
                      {
                        "action": {
                          "script": "echo migrate",
                          "shell": "default",
                          "type": "script"
                        },
                        "continue_on_error": false,
                        "enabled": true,
                        "fail_on_stderr": false,
                        "retry_count": 0
                      }
                    ]
                  }
                ],
                "strategy": {
                  "max_parallel": "25%",
                  "type": "rolling"
                },
                "type": "deployment"
              },
              "legs": [
                {}
              ],
              "name": "database"
            },
            {
              "continue_on_error": false,
              "depends_on": [
                "web",
                "database"
              ],
              "fail_fast": false,
              "kind": {
                "environment": {
                  "name": "staging"
                },
                "hooks": [
                  {
                    "kind": "deploy",
                    "steps": [
                      {
                        "action": {
                          "script": "echo smoke",
                          "shell": "default",
                          "type": "script"
                        },
                        "continue_on_error": false,
                        "enabled": true,
                        "fail_on_stderr": false,
                        "retry_count": 0
                      }
                    ]
                  }
                ],
                "strategy": {
                  "type": "run-once"
                },
                "type": "deployment"
              },
              "legs": [
                {}
              ],
              "name": "smoke"
            }
          ],
          "name": "Deploy"
        }
      ],
      "version": 1
    }
    "#);
}

#[test]
fn variables_of_every_form_keep_their_text() {
    let text = "
variables:
- group: shared-secrets
- name: flag
  value: True
- name: version
  value: 1.10
- name: locked
  value: yes
  readonly: true
- name: empty
- name: counter
  value: $[ counter(variables['version'], 0) ]
stages:
- stage: A
  variables:
    plain: text
    number: 007
    nothing:
  jobs:
  - job: a
    variables:
    - name: fromStage
      value: $(plain)
    steps:
    - script: echo $(flag)
";
    insta::assert_json_snapshot!(plan_json(text), @r#"
    {
      "dialect": "azure-pipelines",
      "files": [
        "azure-pipelines.yml"
      ],
      "resources": {},
      "stages": [
        {
          "jobs": [
            {
              "continue_on_error": false,
              "fail_fast": false,
              "kind": {
                "type": "agent"
              },
              "legs": [
                {}
              ],
              "name": "a",
              "steps": [
                {
                  "action": {
                    "script": "echo $(flag)",
                    "shell": "default",
                    "type": "script"
                  },
                  "continue_on_error": false,
                  "enabled": true,
                  "fail_on_stderr": false,
                  "retry_count": 0
                }
              ],
              "variables": [
                {
                  "name": "fromStage",
                  "readonly": false,
                  "type": "value",
                  "value": "$(plain)"
                }
              ]
            }
          ],
          "name": "A",
          "variables": [
            {
              "name": "plain",
              "readonly": false,
              "type": "value",
              "value": "text"
            },
            {
              "name": "number",
              "readonly": false,
              "type": "value",
              "value": "007"
            },
            {
              "name": "nothing",
              "readonly": false,
              "type": "value",
              "value": ""
            }
          ]
        }
      ],
      "variables": [
        {
          "name": "shared-secrets",
          "type": "group"
        },
        {
          "name": "flag",
          "readonly": false,
          "type": "value",
          "value": "True"
        },
        {
          "name": "version",
          "readonly": false,
          "type": "value",
          "value": "1.10"
        },
        {
          "name": "locked",
          "readonly": true,
          "type": "value",
          "value": "yes"
        },
        {
          "name": "empty",
          "readonly": false,
          "type": "value",
          "value": ""
        },
        {
          "name": "counter",
          "readonly": false,
          "type": "value",
          "value": "$[ counter(variables['version'], 0) ]"
        }
      ],
      "version": 1
    }
    "#);
}

#[test]
fn steps_of_every_kind() {
    let text = r#"
steps:
- checkout: self
  clean: true
  fetchDepth: 1
  submodules: recursive
  displayName: Get the sources
- script: make
  name: build
  workingDirectory: src
  failOnStderr: TRUE
  env:
    CI: true
    TOKEN: $(token)
- bash: ./test.sh
  enabled: false
  continueOnError: yes
  timeoutInMinutes: 5
  retryCountOnTaskFailure: 2
- pwsh: Write-Host pwsh
- powershell: Write-Host powershell
  condition: always()
- task: DotNetCoreCLI@2
  inputs:
    command: test
    arguments: --no-build
    publishTestResults: true
- task: CmdLine
- publish: $(Build.ArtifactStagingDirectory)
  artifact: drop
- download: current
  artifact: drop
  patterns: '**/*.zip'
- downloadBuild: legacy
  path: $(Pipeline.Workspace)/legacy
- getPackage: tool
"#;
    insta::assert_json_snapshot!(plan_json(text), @r#"
    {
      "dialect": "azure-pipelines",
      "files": [
        "azure-pipelines.yml"
      ],
      "resources": {},
      "stages": [
        {
          "jobs": [
            {
              "continue_on_error": false,
              "fail_fast": false,
              "kind": {
                "type": "agent"
              },
              "legs": [
                {}
              ],
              "name": "Job",
              "steps": [
                {
                  "action": {
                    "options": [
                      [
                        "clean",
                        "true"
                      ],
                      [
                        "fetchDepth",
                        "1"
                      ],
                      [
                        "submodules",
                        "recursive"
                      ]
                    ],
                    "repository": "self",
                    "type": "checkout"
                  },
                  "continue_on_error": false,
                  "display_name": "Get the sources",
                  "enabled": true,
                  "fail_on_stderr": false,
                  "retry_count": 0
                },
                {
                  "action": {
                    "script": "make",
                    "shell": "default",
                    "type": "script"
                  },
                  "continue_on_error": false,
                  "enabled": true,
                  "env": [
                    [
                      "CI",
                      "true"
                    ],
                    [
                      "TOKEN",
                      "$(token)"
                    ]
                  ],
                  "fail_on_stderr": true,
                  "name": "build",
                  "retry_count": 0,
                  "working_directory": "src"
                },
                {
                  "action": {
                    "script": "./test.sh",
                    "shell": "bash",
                    "type": "script"
                  },
                  "continue_on_error": true,
                  "enabled": false,
                  "fail_on_stderr": false,
                  "retry_count": 2,
                  "timeout_minutes": 5
                },
                {
                  "action": {
                    "script": "Write-Host pwsh",
                    "shell": "pwsh",
                    "type": "script"
                  },
                  "continue_on_error": false,
                  "enabled": true,
                  "fail_on_stderr": false,
                  "retry_count": 0
                },
                {
                  "action": {
                    "script": "Write-Host powershell",
                    "shell": "powershell",
                    "type": "script"
                  },
                  "condition": {
                    "expression": {
                      "source": "always()"
                    },
                    "source": "always()"
                  },
                  "continue_on_error": false,
                  "enabled": true,
                  "fail_on_stderr": false,
                  "retry_count": 0
                },
                {
                  "action": {
                    "inputs": [
                      [
                        "command",
                        "test"
                      ],
                      [
                        "arguments",
                        "--no-build"
                      ],
                      [
                        "publishTestResults",
                        "true"
                      ]
                    ],
                    "name": "DotNetCoreCLI",
                    "type": "task",
                    "version": "2"
                  },
                  "continue_on_error": false,
                  "enabled": true,
                  "fail_on_stderr": false,
                  "retry_count": 0
                },
                {
                  "action": {
                    "name": "CmdLine",
                    "type": "task"
                  },
                  "continue_on_error": false,
                  "enabled": true,
                  "fail_on_stderr": false,
                  "retry_count": 0
                },
                {
                  "action": {
                    "artifact": "drop",
                    "path": "$(Build.ArtifactStagingDirectory)",
                    "type": "publish"
                  },
                  "continue_on_error": false,
                  "enabled": true,
                  "fail_on_stderr": false,
                  "retry_count": 0
                },
                {
                  "action": {
                    "artifact": "drop",
                    "patterns": "**/*.zip",
                    "source": "current",
                    "type": "download"
                  },
                  "continue_on_error": false,
                  "enabled": true,
                  "fail_on_stderr": false,
                  "retry_count": 0
                },
                {
                  "action": {
                    "definition": {
                      "downloadBuild": "legacy",
                      "path": "$(Pipeline.Workspace)/legacy"
                    },
                    "kind": "downloadBuild",
                    "type": "other"
                  },
                  "continue_on_error": false,
                  "enabled": true,
                  "fail_on_stderr": false,
                  "retry_count": 0
                },
                {
                  "action": {
                    "definition": {
                      "getPackage": "tool"
                    },
                    "kind": "getPackage",
                    "type": "other"
                  },
                  "continue_on_error": false,
                  "enabled": true,
                  "fail_on_stderr": false,
                  "retry_count": 0
                }
              ]
            }
          ],
          "name": "__default"
        }
      ],
      "version": 1
    }
    "#);
}

#[test]
fn server_jobs_and_legacy_phases() {
    let text = "
phases:
- phase: build
  queue:
    name: Hosted VS2017
    demands:
    - msbuild
    - visualstudio
    parallel: 2
    timeoutInMinutes: 90
    matrix:
      debug:
        configuration: Debug
      release:
        configuration: Release
  steps:
  - script: msbuild
- phase: wait
  dependsOn: build
  server: true
  steps:
  - task: Delay@1
    inputs:
      delayForMinutes: '5'
";
    insta::assert_json_snapshot!(plan_json(text), @r#"
    {
      "dialect": "azure-pipelines",
      "files": [
        "azure-pipelines.yml"
      ],
      "resources": {},
      "stages": [
        {
          "jobs": [
            {
              "continue_on_error": false,
              "fail_fast": false,
              "kind": {
                "type": "agent"
              },
              "legs": [
                {
                  "display_name": "build debug",
                  "name": "debug",
                  "variables": [
                    [
                      "configuration",
                      "Debug"
                    ]
                  ]
                },
                {
                  "display_name": "build release",
                  "name": "release",
                  "variables": [
                    [
                      "configuration",
                      "Release"
                    ]
                  ]
                }
              ],
              "max_parallel": 2,
              "name": "build",
              "pool": {
                "demands": [
                  "msbuild",
                  "visualstudio"
                ],
                "name": "Hosted VS2017"
              },
              "steps": [
                {
                  "action": {
                    "script": "msbuild",
                    "shell": "default",
                    "type": "script"
                  },
                  "continue_on_error": false,
                  "enabled": true,
                  "fail_on_stderr": false,
                  "retry_count": 0
                }
              ],
              "timeout_minutes": 90
            },
            {
              "continue_on_error": false,
              "depends_on": [
                "build"
              ],
              "fail_fast": false,
              "kind": {
                "type": "server"
              },
              "legs": [
                {}
              ],
              "name": "wait",
              "steps": [
                {
                  "action": {
                    "inputs": [
                      [
                        "delayForMinutes",
                        "5"
                      ]
                    ],
                    "name": "Delay",
                    "type": "task",
                    "version": "1"
                  },
                  "continue_on_error": false,
                  "enabled": true,
                  "fail_on_stderr": false,
                  "retry_count": 0
                }
              ]
            }
          ],
          "name": "__default"
        }
      ],
      "version": 1
    }
    "#);
    let text = "jobs:\n- job: approve\n  pool: server\n  steps:\n  - task: ManualValidation@0\n";
    let lowered = plan(text);
    let kinds: Vec<&JobKind> = lowered.jobs().map(|(_, job)| &job.kind).collect();
    assert_eq!(kinds, [&JobKind::Server]);
    assert!(lowered.jobs().all(|(_, job)| job.pool.is_none()));
}

#[test]
fn resources_and_spans() {
    let text = "resources:\n  repositories:\n  - repository: tools\n    type: github\n    name: contoso/tools\n    ref: refs/tags/v1\n    endpoint: gh\n  pipelines:\n  - pipeline: upstream\n    source: Upstream CI\nsteps:\n- checkout: tools\n";
    let lowered = plan(text);
    insta::assert_json_snapshot!(lowered.resources, @r#"
    {
      "repositories": [
        {
          "alias": "tools",
          "kind": "github",
          "name": "contoso/tools",
          "reference": "refs/tags/v1",
          "endpoint": "gh"
        }
      ],
      "pipelines": [
        {
          "alias": "upstream",
          "source": "Upstream CI"
        }
      ]
    }
    "#);
    assert_eq!(lowered.files, ["azure-pipelines.yml"]);
    let step_span = lowered.stages[0].jobs[0].steps[0].span.map(|span| (span.start.line, span.start.column));
    assert_eq!(step_span, Some((12, 3)));
}

#[test]
fn a_condition_that_does_not_parse_is_a_diagnostic() {
    let text = "steps:\n- script: make\n  condition: eq(1,\n";
    let mut sources = SourceMap::new();
    let file = sources.add("azure-pipelines.yml", text);
    let Ok(root) = slipway_yaml::load(text, file) else {
        panic!("not YAML");
    };
    let errors = lower(&root, &sources, Vec::new()).err().unwrap_or_default();
    assert_eq!(errors.iter().map(|error| error.code).collect::<Vec<_>>(), ["V0007"]);
}

/// Lowering is total: odd documents give diagnostics or a plan, never a panic.
#[test]
fn lowering_never_panics() {
    let documents = [
        "",
        "42",
        "- a\n- b\n",
        "stages: 3\n",
        "stages:\n- 1\n- [a]\n- stage:\n  jobs: x\n- stage: [x]\n  dependsOn: {a: b}\n",
        "jobs:\n- job: [a]\n  strategy: {matrix: [1], parallel: -4}\n  steps: {a: b}\n",
        "jobs:\n- deployment: d\n  environment: [x]\n  strategy: {canary: {increments: [a, 200000000000]}, runOnce: 3}\n",
        "steps:\n- {}\n- script: [a]\n  env: [x]\n- task: '@'\n  inputs: [1]\n- checkout:\n",
        "variables: 3\nsteps: []\n",
        "variables:\n- 3\n- {name: [x]}\n- {group: {a: b}}\nsteps: []\n",
        "pool: {demands: {a: b}}\nresources: {repositories: [3, {repository: [x]}]}\nsteps: []\n",
        "phases:\n- phase: a\n  queue: {matrix: 3, parallel: x}\n  server: {matrix: {a: 3}}\n",
    ];
    for text in documents {
        let mut sources = SourceMap::new();
        let file = sources.add("odd.yml", text);
        if let Ok(root) = slipway_yaml::load(text, file) {
            let _ = lower(&root, &sources, Vec::new());
            let _ = crate::validate::validate(&root);
        }
    }
    let directory = std::env::var_os("SLIPWAY_AZURE_CORPUS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/azure-pipelines"),
        PathBuf::from,
    );
    let listing = std::fs::read_dir(&directory);
    let needed = listing.as_ref().map(|_| ()).map_err(|error| format!("no corpus at {}: {error}", directory.display()));
    if !slipway_testing::needed_or_skip("lowering_never_panics (on the corpus)", "CORPUS", needed) {
        return;
    }
    let mut lowered = 0;
    for folder in listing.into_iter().flatten().flatten() {
        for entry in std::fs::read_dir(folder.path()).into_iter().flatten().flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            let mut sources = SourceMap::new();
            let file = sources.add(entry.path().display().to_string(), text.as_str());
            if let Ok(root) = slipway_yaml::load(&text, file)
                && lower(&root, &sources, Vec::new()).is_ok()
            {
                lowered += 1;
            }
        }
    }
    println!("corpus files lowered without error: {lowered}");
    assert!(lowered > 0, "no corpus file was lowered from {}", directory.display());
}
