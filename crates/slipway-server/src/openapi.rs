//! The hand-written OpenAPI 3.1 document of the routes that exist.

use serde_json::{Value, json};

fn problem_responses(codes: &[&str]) -> serde_json::Map<String, Value> {
    let mut responses = serde_json::Map::new();
    for code in codes {
        responses.insert(
            (*code).to_owned(),
            json!({
                "description": "A problem (RFC 9457).",
                "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
            }),
        );
    }
    responses
}

fn responses(success: &str, description: &str, schema: Value, problems: &[&str]) -> Value {
    let mut all = problem_responses(problems);
    all.insert(
        success.to_owned(),
        json!({ "description": description, "content": { "application/json": { "schema": schema } } }),
    );
    Value::Object(all)
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn run_id_parameter() -> Value {
    json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "integer" } })
}

/// `GET /me` and `POST /users/{name}/tokens` (crate::tokens).
fn token_paths() -> Value {
    let authenticated = json!([{ "bearer": [] }]);
    json!({
        "/me": { "get": {
            "summary": "The user the token belongs to (any valid token).",
            "security": authenticated,
            "responses": responses("200", "The user.", reference("User"), &["401"])
        } },
        "/users/{name}/tokens": { "post": {
            "summary": "Creates a personal access token for a user, shown once (admin, or the user themselves).",
            "security": authenticated,
            "parameters": [{ "name": "name", "in": "path", "required": true, "schema": { "type": "string" } }],
            "requestBody": { "required": false, "content": { "application/json": { "schema": { "type": "object",
                "properties": { "name": { "type": "string", "maxLength": 100, "default": "token" } } } } } },
            "responses": responses("201", "The token, shown this once.", json!({ "type": "object", "properties": {
                "user": { "type": "string" }, "name": { "type": "string" }, "record": { "type": "object" },
                "token": { "type": "string" } } }), &["400", "401", "403", "404", "422"])
        } }
    })
}

/// Adds the paths and schemas of `more` (an object of paths) to the document.
fn merge_paths(document: &mut Value, more: Value) {
    if let (Some(paths), Value::Object(more)) = (document["paths"].as_object_mut(), more) {
        paths.extend(more);
    }
}

/// The document served at `/api/v1/openapi.json`.
#[must_use]
pub fn document() -> Value {
    let mut document = base_document();
    if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
        paths.extend(crate::webhooks::openapi_paths());
    }
    merge_paths(&mut document, token_paths());
    merge_paths(&mut document, agent_paths());
    if let Some(schemas) = document["components"]["schemas"].as_object_mut() {
        schemas.insert(
            "User".to_owned(),
            json!({ "type": "object", "properties": { "id": { "type": "integer" }, "name": { "type": "string" },
                "role": { "enum": ["admin", "contributor", "reader"] }, "createdAt": { "type": "integer" } } }),
        );
    }
    merge_section(&mut document, "paths", variables_artifacts_and_runs_paths());
    merge_section(&mut document["components"], "schemas", variables_artifacts_and_runs_schemas());
    document
}

/// Adds the entries of `extra` (an object) to the object `document[section]`.
fn merge_section(document: &mut Value, section: &str, extra: Value) {
    if let (Some(target), Value::Object(extra)) = (document.get_mut(section).and_then(Value::as_object_mut), extra) {
        target.extend(extra);
    }
}

fn path_parameter(name: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } })
}

fn json_body(schema: Value) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": schema } } })
}

fn empty_response(success: &str, description: &str, problems: &[&str]) -> Value {
    let mut all = problem_responses(problems);
    all.insert(success.to_owned(), json!({ "description": description }));
    Value::Object(all)
}

/// Variables, variable groups, artifacts, test results, re-runs and retention.
#[expect(clippy::too_many_lines, reason = "one literal document")]
fn variables_artifacts_and_runs_paths() -> Value {
    let authenticated = json!([{ "bearer": [] }]);
    let name = path_parameter("name");
    let var = path_parameter("var");
    let group = path_parameter("group");
    let variables = json!({ "type": "array", "items": reference("Variable") });
    json!({
        "/pipelines/{name}": {
            "get": {
                "summary": "A pipeline, with its queue status and what its triggers last found (reader).",
                "security": authenticated,
                "parameters": [name],
                "responses": responses("200", "The pipeline.", reference("Pipeline"), &["400", "401", "403", "404"])
            },
            "patch": {
                "summary": "Changes a pipeline's retention settings or queue status (admin); the retention object given replaces the old one. A disabled pipeline takes no new runs, from people or triggers; runs already queued go on.",
                "security": authenticated,
                "parameters": [name],
                "requestBody": json_body(json!({ "type": "object", "properties": {
                    "retention": reference("Retention"),
                    "queueStatus": { "enum": ["enabled", "disabled"] } } })),
                "responses": responses("200", "The pipeline.", reference("Pipeline"), &["400", "401", "403", "404", "413", "415", "422"])
            },
            "delete": {
                "summary": "Deletes a pipeline with its runs (admin); refused while it has unfinished runs.",
                "security": authenticated,
                "parameters": [name],
                "responses": empty_response("204", "Deleted.", &["400", "401", "403", "404", "409"])
            }
        },
        "/pipelines/{name}/variables": { "get": {
            "summary": "A pipeline's variables (reader); secret values are null.",
            "security": authenticated,
            "parameters": [name],
            "responses": responses("200", "The variables.", variables, &["400", "401", "403", "404"])
        } },
        "/pipelines/{name}/variables/{var}": {
            "put": {
                "summary": "Sets a pipeline variable (contributor). Secret values are encrypted at rest, never returned and masked in logs. Names: letters, digits, '.' and '_', not a system prefix.",
                "security": authenticated,
                "parameters": [name, var],
                "requestBody": json_body(reference("SetVariable")),
                "responses": responses("200", "The variable.", reference("Variable"), &["400", "401", "403", "404", "413", "415", "422"])
            },
            "delete": {
                "summary": "Deletes a pipeline variable (contributor).",
                "security": authenticated,
                "parameters": [name, var],
                "responses": empty_response("204", "Deleted.", &["400", "401", "403", "404"])
            }
        },
        "/variable-groups": {
            "get": {
                "summary": "Every variable group (Azure's Library, `- group: NAME` in YAML) with its variables (reader); secret values are null.",
                "security": authenticated,
                "responses": responses("200", "The groups.", json!({ "type": "array", "items": reference("VariableGroup") }), &["401", "403"])
            },
            "post": {
                "summary": "Creates a variable group (admin).",
                "security": authenticated,
                "requestBody": json_body(json!({ "type": "object", "required": ["name"], "properties": {
                    "name": { "type": "string" }, "description": { "type": "string", "maxLength": 1000 } } })),
                "responses": responses("201", "The group.", reference("VariableGroup"), &["400", "401", "403", "409", "413", "415", "422"])
            }
        },
        "/variable-groups/{group}": {
            "get": {
                "summary": "A variable group (reader).",
                "security": authenticated,
                "parameters": [group],
                "responses": responses("200", "The group.", reference("VariableGroup"), &["400", "401", "403", "404"])
            },
            "delete": {
                "summary": "Deletes a variable group with its variables (admin).",
                "security": authenticated,
                "parameters": [group],
                "responses": empty_response("204", "Deleted.", &["400", "401", "403", "404"])
            }
        },
        "/variable-groups/{group}/variables/{var}": {
            "put": {
                "summary": "Sets a variable of a group (contributor).",
                "security": authenticated,
                "parameters": [group, var],
                "requestBody": json_body(reference("SetVariable")),
                "responses": responses("200", "The variable.", reference("Variable"), &["400", "401", "403", "404", "413", "415", "422"])
            },
            "delete": {
                "summary": "Deletes a variable of a group (contributor).",
                "security": authenticated,
                "parameters": [group, var],
                "responses": empty_response("204", "Deleted.", &["400", "401", "403", "404"])
            }
        },
        "/runs/{id}/artifacts": { "get": {
            "summary": "A run's pipeline artifacts (reader).",
            "security": authenticated,
            "parameters": [run_id_parameter()],
            "responses": responses("200", "The artifacts, by name.", json!({ "type": "array", "items": reference("Artifact") }), &["400", "401", "403", "404"])
        } },
        "/runs/{id}/artifacts/{name}": {
            "get": {
                "summary": "Downloads an artifact as a tar archive, streamed (reader).",
                "security": authenticated,
                "parameters": [run_id_parameter(), name],
                "responses": {
                    "200": { "description": "The artifact's files.", "content": { "application/x-tar": { "schema": { "type": "string", "format": "binary" } } } },
                    "400": problem_responses(&["400"])["400"].clone(),
                    "401": problem_responses(&["401"])["401"].clone(),
                    "403": problem_responses(&["403"])["403"].clone(),
                    "404": problem_responses(&["404"])["404"].clone()
                }
            },
            "put": {
                "summary": "Publishes an artifact of a run that has not completed from a tar archive of its files (contributor), replacing one of the same name. Entries with absolute paths or `..`, links and special files are refused with 400.",
                "security": authenticated,
                "parameters": [run_id_parameter(), name, { "name": "job", "in": "query", "schema": { "type": "string" },
                    "description": "The key of the job that publishes it (STAGE.JOB)." }],
                "requestBody": { "required": true, "content": { "application/x-tar": { "schema": { "type": "string", "format": "binary" } } } },
                "responses": responses("201", "The artifact.", reference("Artifact"), &["400", "401", "403", "404", "409", "413"])
            }
        },
        "/runs/{id}/tests": { "get": {
            "summary": "A run's test results (PublishTestResults) and coverage summaries (PublishCodeCoverageResults) (reader).",
            "security": authenticated,
            "parameters": [run_id_parameter()],
            "responses": responses("200", "Totals, every published set of results with its tests, and every coverage summary.", reference("RunTests"), &["400", "401", "403", "404"])
        } },
        "/runs/{id}/rerun": { "post": {
            "summary": "Re-runs a completed run (contributor): failedOnly false queues a new run of the same commit, branch, parameters and variables (201); failedOnly true runs its failed, cancelled and skipped jobs again in place as a new attempt, keeping the succeeded jobs' results and outputs (202).",
            "security": authenticated,
            "parameters": [run_id_parameter()],
            "requestBody": json_body(json!({ "type": "object", "properties": { "failedOnly": { "type": "boolean", "default": false } } })),
            "responses": {
                "201": { "description": "The new run.", "content": { "application/json": { "schema": reference("Run") } } },
                "202": { "description": "The run, queued again.", "content": { "application/json": { "schema": reference("Run") } } },
                "400": problem_responses(&["400"])["400"].clone(),
                "401": problem_responses(&["401"])["401"].clone(),
                "403": problem_responses(&["403"])["403"].clone(),
                "404": problem_responses(&["404"])["404"].clone(),
                "409": problem_responses(&["409"])["409"].clone(),
                "422": problem_responses(&["422"])["422"].clone()
            }
        } },
        "/runs/{id}/keep": { "post": {
            "summary": "Marks a run to be kept by retention whatever the pipeline's settings, or not (contributor).",
            "security": authenticated,
            "parameters": [run_id_parameter()],
            "requestBody": json_body(json!({ "type": "object", "required": ["keep"], "properties": { "keep": { "type": "boolean" } } })),
            "responses": responses("200", "The run.", reference("Run"), &["400", "401", "403", "404", "413", "415", "422"])
        } }
    })
}

fn variables_artifacts_and_runs_schemas() -> Value {
    json!({
        "Variable": { "type": "object", "required": ["name", "value", "secret"], "properties": {
            "name": { "type": "string" },
            "value": { "type": ["string", "null"], "description": "null for a secret" },
            "secret": { "type": "boolean" } } },
        "SetVariable": { "type": "object", "required": ["value"], "properties": {
            "value": { "type": "string" }, "secret": { "type": "boolean", "default": false } } },
        "VariableGroup": { "type": "object", "properties": {
            "name": { "type": "string" }, "description": { "type": "string" },
            "variables": { "type": "array", "items": reference("Variable") } } },
        "Retention": { "type": "object", "properties": {
            "days": { "type": ["integer", "null"], "minimum": 1, "description": "Keep runs that finished less than this many days ago." },
            "runs": { "type": ["integer", "null"], "minimum": 1, "description": "Keep the newest this many completed runs." } },
            "description": "A completed run is deleted when it is beyond every limit set, unless it is marked keep, is the newest successful run of its branch, or a kept run needs it." },
        "Artifact": { "type": "object", "properties": {
            "name": { "type": "string" }, "job": { "type": ["string", "null"] }, "digest": { "type": "string" },
            "files": { "type": "integer" }, "bytes": { "type": "integer" }, "createdAt": { "type": "integer" },
            "downloadUrl": { "type": "string" } } },
        "RunTests": { "type": "object", "properties": {
            "totals": { "type": "object", "properties": { "total": { "type": "integer" }, "passed": { "type": "integer" },
                "failed": { "type": "integer" }, "skipped": { "type": "integer" } } },
            "runs": { "type": "array", "items": { "type": "object" } },
            "coverage": { "type": "array", "items": { "type": "object" } } } }
    })
}

fn base_document() -> Value {
    let authenticated = json!([{ "bearer": [] }]);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Slipway API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Pipelines, runs and their logs. Errors are application/problem+json. \
                Every route but health and this document needs `Authorization: Bearer TOKEN`; \
                readers read, contributors run and cancel, admins create pipelines and users."
        },
        "servers": [{ "url": "/api/v1" }],
        "paths": {
            "/health": { "get": {
                "summary": "Whether the server is up.",
                "security": [],
                "responses": responses("200", "Up.", json!({ "type": "object", "properties": {
                    "status": { "type": "string" }, "database": { "type": "string" } } }), &[])
            } },
            "/openapi.json": { "get": {
                "summary": "This document.",
                "security": [],
                "responses": responses("200", "The OpenAPI document.", json!({ "type": "object" }), &[])
            } },
            "/pipelines": {
                "get": {
                    "summary": "Every pipeline (reader).",
                    "security": authenticated,
                    "responses": responses("200", "The pipelines.", json!({ "type": "object", "properties": {
                        "pipelines": { "type": "array", "items": reference("Pipeline") } } }), &["401", "403"])
                },
                "post": {
                    "summary": "Creates a pipeline (admin).",
                    "security": authenticated,
                    "requestBody": { "required": true, "content": { "application/json": { "schema": reference("CreatePipeline") } } },
                    "responses": responses("201", "The pipeline.", reference("Pipeline"), &["400", "401", "403", "409", "413", "415", "422"])
                }
            },
            "/pipelines/{name}/runs": { "post": {
                "summary": "Checks out the branch, loads the pipeline and queues a run (contributor).",
                "security": authenticated,
                "parameters": [{ "name": "name", "in": "path", "required": true, "schema": { "type": "string" } }],
                "requestBody": { "required": false, "content": { "application/json": { "schema": reference("CreateRun") } } },
                "responses": responses("201", "The run.", reference("Run"), &["400", "401", "403", "404", "413", "415", "422"])
            } },
            "/runs": { "get": {
                "summary": "Runs, newest first, a page at a time (reader).",
                "security": authenticated,
                "parameters": [
                    { "name": "pipeline", "in": "query", "schema": { "type": "string" } },
                    { "name": "status", "in": "query", "schema": { "enum": ["queued", "running", "completed"] } },
                    { "name": "before", "in": "query", "schema": { "type": "integer" } },
                    { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 200, "default": 50 } }
                ],
                "responses": responses("200", "A page of runs.", json!({ "type": "object", "properties": {
                    "runs": { "type": "array", "items": reference("Run") },
                    "nextBefore": { "type": ["integer", "null"] } } }), &["400", "401", "403", "404"])
            } },
            "/runs/{id}": { "get": {
                "summary": "A run with its jobs (reader).",
                "security": authenticated,
                "parameters": [run_id_parameter()],
                "responses": responses("200", "The run.", reference("Run"), &["400", "401", "403", "404"])
            } },
            "/runs/{id}/logs": { "get": {
                "summary": "The whole log of each job of a run (reader).",
                "security": authenticated,
                "parameters": [run_id_parameter(), { "name": "follow", "in": "query", "schema": { "type": "boolean" },
                    "description": "Follow live: server-sent events `log` (data: {job, line, text}) as lines come, then `end` (data: {status, result}) when the run completes, or `shutdown` when the server stops." }],
                "responses": responses("200", "The logs.", json!({ "type": "object", "properties": {
                    "run": { "type": "integer" }, "status": { "type": "string" },
                    "result": { "type": ["string", "null"] },
                    "jobs": { "type": "array", "items": { "type": "object", "properties": {
                        "key": { "type": "string" }, "status": { "type": "string" }, "log": { "type": "string" } } } } } }),
                    &["400", "401", "403", "404"])
            } },
            "/runs/{id}/cancel": { "post": {
                "summary": "Asks a run to cancel (contributor).",
                "security": authenticated,
                "parameters": [run_id_parameter()],
                "responses": responses("202", "The run.", reference("Run"), &["400", "401", "403", "404", "409"])
            } },
            "/users": { "post": {
                "summary": "Creates a user with a first personal access token, shown once (admin).",
                "security": authenticated,
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object",
                    "required": ["name", "role"], "properties": { "name": { "type": "string" },
                    "role": { "enum": ["admin", "contributor", "reader"] } } } } } },
                "responses": responses("201", "The user and their token.", json!({ "type": "object", "properties": {
                    "user": { "type": "object" }, "token": { "type": "string" } } }), &["400", "401", "403", "409", "422"])
            } }
        },
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "A personal access token (slw_...)." },
                "session": { "type": "apiKey", "in": "cookie", "name": "slipway_session",
                    "description": "The web UI's session, accepted wherever a token is: for reading as is, for \
                        changes only with the session's CSRF token in the X-CSRF-Token header." },
                "agentCredential": { "type": "http", "scheme": "bearer", "description": "An agent's credential (slwagent_...)." }
            },
            "schemas": {
                "Problem": { "type": "object", "required": ["type", "title", "status", "detail"], "properties": {
                    "type": { "type": "string" }, "title": { "type": "string" },
                    "status": { "type": "integer" }, "detail": { "type": "string" } } },
                "CreatePipeline": { "type": "object", "required": ["name", "repository"], "properties": {
                    "name": { "type": "string", "pattern": "^[A-Za-z0-9._-]{1,100}$" },
                    "repository": { "type": "string", "description": "A local path or a URL git can clone." },
                    "yamlPath": { "type": "string", "default": "azure-pipelines.yml" },
                    "defaultBranch": { "type": "string" } } },
                "Pipeline": { "type": "object", "properties": {
                    "id": { "type": "integer" }, "name": { "type": "string" }, "repository": { "type": "string" },
                    "yamlPath": { "type": "string" }, "defaultBranch": { "type": "string" },
                    "queueStatus": { "enum": ["enabled", "disabled"] },
                    "triggers": { "type": "object", "properties": {
                        "checkedAt": { "type": ["integer", "null"], "description": "When the repository was last polled (milliseconds since 1970)." },
                        "error": { "type": ["string", "null"], "description": "What went wrong then; null when all went well." } } } } },
                "CreateRun": { "type": "object", "properties": {
                    "branch": { "type": "string" },
                    "parameters": { "type": "object", "additionalProperties": true },
                    "variables": { "type": "object", "additionalProperties": { "type": "string" },
                        "description": "Queue-time values of the pipeline's own variables that are not secret; YAML variables of the same name still win." } } },
                "Run": { "type": "object", "properties": {
                    "id": { "type": "integer" }, "pipeline": { "type": "integer" }, "runNumber": { "type": "string" },
                    "branch": { "type": ["string", "null"] }, "commit": { "type": ["string", "null"] },
                    "status": { "enum": ["queued", "running", "completed"] },
                    "result": { "type": ["string", "null"] },
                    "jobs": { "type": "array", "items": { "type": "object" } } } }
            }
        }
    })
}

/// The agent protocol's routes (see `docs/agent-protocol.md`) and the admin routes for agents.
fn agent_paths() -> Value {
    let authenticated = || json!([{ "bearer": [] }]);
    let agent = || json!([{ "agentCredential": [] }]);
    let object = || json!({ "type": "object" });
    let job = || json!({ "name": "job", "in": "path", "required": true, "schema": { "type": "integer" } });
    let lease = || json!({ "name": "slipway-lease", "in": "header", "required": true, "schema": { "type": "string" } });
    let protocol = || {
        json!({ "name": "slipway-agent-protocol", "in": "header", "required": true,
        "schema": { "type": "integer" }, "description": "The agent protocol version the agent speaks (1)." })
    };
    let json_body = |description: &str| {
        json!({ "required": true, "description": description,
        "content": { "application/json": { "schema": { "type": "object" } } } })
    };
    let agent_problems = ["400", "401", "409", "426"];
    json!({
        "/agent/register": { "post": {
            "summary": "Registers an agent with a one-time registration token; answers its credential, shown once.",
            "security": [], "parameters": [protocol()],
            "requestBody": json_body("{protocolVersion, registrationToken, name, pool, version, capabilities}"),
            "responses": responses("201", "The agent and its credential.", object(), &["400", "401", "409", "422", "426"])
        } },
        "/agent/hello": { "post": {
            "summary": "An agent starts: its version and capabilities; answers the timing it must keep.",
            "security": agent(), "parameters": [protocol()], "requestBody": json_body("{version, capabilities}"),
            "responses": responses("200", "The agent and the settings.", object(), &agent_problems)
        } },
        "/agent/lease": { "post": {
            "summary": "Waits (long poll) for a job of the agent's pool whose demands it meets.",
            "security": agent(), "parameters": [protocol()], "requestBody": json_body("{waitMs}"),
            "responses": responses("200", "A job message; 204 when none came in time.", object(), &agent_problems)
        } },
        "/agent/state": { "post": {
            "summary": "The agent drains, stops or is idle again.",
            "security": agent(), "parameters": [protocol()], "requestBody": json_body("{state: idle | draining | offline}"),
            "responses": responses("200", "The state.", object(), &agent_problems)
        } },
        "/agent/jobs/{job}/heartbeat": { "post": {
            "summary": "Renews the job's lease; tells whether the run was cancelled.",
            "security": agent(), "parameters": [protocol(), job(), lease()],
            "responses": responses("200", "{leaseRemainingMs, cancelRequested}.", object(), &agent_problems)
        } },
        "/agent/jobs/{job}/chunks": { "post": {
            "summary": "One numbered chunk of the job's events (logs, steps, test results); stored once.",
            "security": agent(), "parameters": [protocol(), job(), lease()], "requestBody": json_body("{sequence, events}"),
            "responses": responses("200", "{stored}: false for a chunk sent again.", object(), &agent_problems)
        } },
        "/agent/jobs/{job}/complete": { "post": {
            "summary": "The job ended: its result, message and output variables.",
            "security": agent(), "parameters": [protocol(), job(), lease()], "requestBody": json_body("{result, message, outputs}"),
            "responses": responses("200", "The job's result.", object(), &agent_problems)
        } },
        "/agent/jobs/{job}/artifacts": { "get": {
            "summary": "The artifacts of the job's run.",
            "security": agent(), "parameters": [protocol(), job(), lease()],
            "responses": responses("200", "{artifacts}.", object(), &agent_problems)
        } },
        "/agent/jobs/{job}/artifacts/{name}": { "put": {
            "summary": "Records an artifact the job published (its blobs uploaded first).",
            "security": agent(),
            "parameters": [protocol(), job(), lease(), { "name": "name", "in": "path", "required": true, "schema": { "type": "string" } }],
            "requestBody": json_body("{manifest: {name, files: [{path, digest, size, executable}]}}"),
            "responses": responses("200", "Recorded.", object(), &agent_problems)
        } },
        "/agent/jobs/{job}/blobs/missing": { "post": {
            "summary": "Which of these blob digests the run's artifact store lacks.",
            "security": agent(), "parameters": [protocol(), job(), lease()], "requestBody": json_body("{digests}"),
            "responses": responses("200", "{digests}: the missing ones.", object(), &agent_problems)
        } },
        "/agent/jobs/{job}/blobs/{digest}": {
            "put": {
                "summary": "Uploads a blob (raw bytes), checked against its digest.",
                "security": agent(),
                "parameters": [protocol(), job(), lease(), { "name": "digest", "in": "path", "required": true, "schema": { "type": "string", "pattern": "^sha256:[0-9a-f]{64}$" } }],
                "requestBody": { "required": true, "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } },
                "responses": responses("201", "Stored (204: it was there).", object(), &["400", "401", "409", "413", "426"])
            },
            "get": {
                "summary": "Downloads a blob of the run's artifact store (raw bytes).",
                "security": agent(),
                "parameters": [protocol(), job(), lease(), { "name": "digest", "in": "path", "required": true, "schema": { "type": "string" } }],
                "responses": responses("200", "The bytes.", json!({ "type": "string", "format": "binary" }), &["401", "404", "409", "426"])
            }
        },
        "/registration-tokens": {
            "post": {
                "summary": "Creates a one-time token that registers one agent, shown once (admin).",
                "security": authenticated(), "requestBody": json_body("{expiresInHours} (optional, 1 to 8760)"),
                "responses": responses("201", "The token record and `token`.", object(), &["400", "401", "403", "422"])
            },
            "get": {
                "summary": "Registration tokens, without their secrets (admin).",
                "security": authenticated(),
                "responses": responses("200", "{registrationTokens}.", object(), &["401", "403"])
            }
        },
        "/agents": { "get": {
            "summary": "Every agent: pool, version, capabilities, state (idle, busy, draining, offline), current job (reader).",
            "security": authenticated(),
            "responses": responses("200", "{agents}.", object(), &["401", "403"])
        } },
        "/agents/{id}": { "delete": {
            "summary": "Deletes an agent: its credential stops working (admin).",
            "security": authenticated(),
            "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "integer" } }],
            "responses": responses("204", "Deleted.", object(), &["400", "401", "403", "404"])
        } },
        "/pools": { "get": {
            "summary": "Agent pools with settings or agents (reader).",
            "security": authenticated(),
            "responses": responses("200", "{pools}.", object(), &["401", "403"])
        } },
        "/pools/{name}": { "put": {
            "summary": "Sets a pool's settings: onAgentLost (fail | requeue) and vmImages (label to demands) (admin).",
            "security": authenticated(),
            "parameters": [{ "name": "name", "in": "path", "required": true, "schema": { "type": "string" } }],
            "requestBody": json_body("{onAgentLost, vmImages}"),
            "responses": responses("200", "The pool.", object(), &["400", "401", "403", "422"])
        } }
    })
}
