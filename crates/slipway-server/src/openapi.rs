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
        paths.extend(crate::triggering::webhooks::openapi_paths());
    }
    merge_paths(&mut document, token_paths());
    if let Some(schemas) = document["components"]["schemas"].as_object_mut() {
        schemas.insert(
            "User".to_owned(),
            json!({ "type": "object", "properties": { "id": { "type": "integer" }, "name": { "type": "string" },
                "role": { "enum": ["admin", "contributor", "reader"] }, "createdAt": { "type": "integer" } } }),
        );
    }
    document
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
                        changes only with the session's CSRF token in the X-CSRF-Token header." }
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
                    "yamlPath": { "type": "string" }, "defaultBranch": { "type": "string" } } },
                "CreateRun": { "type": "object", "properties": {
                    "branch": { "type": "string" },
                    "parameters": { "type": "object", "additionalProperties": true } } },
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
