//! Environments and their checks, through the API, with runs carried out by the engine: a stage
//! that deploys to an environment waits at a checkpoint (holding no agent) for the checks on it;
//! approvals, branch control, business hours, timeouts and the exclusive lock; deployments
//! recorded with what runs where; nothing lost across a restart of the server.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use slipway_store::ShiftedClock;

use crate::support::{
    DEPLOYS, TestResult, TestServer, create_user, make_repository, on_both_databases, send, wait_for_checkpoint,
    wait_for_run,
};

/// Creates pipeline `name` over a new repository whose pipeline deploys to `environment`.
async fn deploying_pipeline(
    app: &Router,
    admin: &str,
    directory: &std::path::Path,
    name: &str,
    yaml: &str,
) -> TestResult {
    let repository = directory.join(name);
    make_repository(&repository, &[("azure-pipelines.yml", yaml)])?;
    let pipeline = json!({ "name": name, "repository": repository.display().to_string() });
    let created = send(app, Method::POST, "/api/v1/pipelines", Some(admin), Some(pipeline)).await?;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    Ok(())
}

async fn start_run(app: &Router, token: &str, pipeline: &str, branch: &str) -> TestResult<i64> {
    let uri = format!("/api/v1/pipelines/{pipeline}/runs");
    let started = send(app, Method::POST, &uri, Some(token), Some(json!({ "branch": branch }))).await?;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    Ok(started.body["id"].as_i64().ok_or("no run id")?)
}

fn waiting_on(message_part: impl Into<String>) -> impl Fn(&Value) -> bool {
    let message_part: String = message_part.into();
    move |checkpoint: &Value| {
        checkpoint["state"] == "waiting"
            && checkpoint["checks"].as_array().is_some_and(|checks| {
                checks.iter().any(|check| check["message"].as_str().is_some_and(|m| m.contains(message_part.as_str())))
            })
    }
}

async fn add_check(app: &Router, admin: &str, environment: &str, check: Value) -> TestResult<i64> {
    let uri = format!("/api/v1/environments/{environment}/checks");
    let added = send(app, Method::POST, &uri, Some(admin), Some(check)).await?;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    Ok(added.body["id"].as_i64().ok_or("no check id")?)
}

async fn decide(
    app: &Router,
    token: &str,
    approval: i64,
    status: &str,
    comment: &str,
) -> TestResult<crate::support::Answer> {
    let uri = format!("/api/v1/approvals/{approval}");
    send(app, Method::POST, &uri, Some(token), Some(json!({ "status": status, "comment": comment }))).await
}

fn job<'a>(run: &'a Value, key: &str) -> &'a Value {
    run["jobs"].as_array().and_then(|jobs| jobs.iter().find(|job| job["key"] == key)).unwrap_or(&Value::Null)
}

on_both_databases! {
    /// A deployment stage waits for an approval by another user (the requester may not approve
    /// their own run, a stranger may not approve at all), across a restart of the server; a
    /// rejection fails the stage with the reason; every deployment is recorded, with what runs
    /// where.
    async fn an_approval_gates_a_deployment_stage_across_a_restart(database) {
        let directory = tempfile::tempdir()?;
        let data = directory.path().join("data");
        let server = TestServer::start_on(&data, database.as_deref(), 2).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let carl = create_user(&app, &admin, "carl", "contributor").await?;
        let ana = create_user(&app, &admin, "ana", "reader").await?;
        let rita = create_user(&app, &admin, "rita", "reader").await?;
        deploying_pipeline(&app, &admin, directory.path(), "shop", &DEPLOYS.replace("ENVIRONMENT", "production")).await?;

        // No checks yet: the environment is made on first use and the deployment recorded.
        let first = start_run(&app, &carl, "shop", "main").await?;
        assert_eq!(wait_for_run(&app, &carl, first).await?["result"], "Succeeded");
        let environments = send(&app, Method::GET, "/api/v1/environments", Some(&rita), None).await?;
        assert_eq!(environments.body["environments"][0]["name"], "production", "{}", environments.body);
        assert_eq!(environments.body["environments"][0]["createdBy"], Value::Null);

        add_check(&app, &admin, "production", json!({
            "type": "approval",
            "settings": {"approvers": ["carl", "ana"], "minRequiredApprovers": 1, "requesterCannotBeApprover": true,
                         "instructions": "check the dashboard first"},
        })).await?;
        let second = start_run(&app, &carl, "shop", "main").await?;
        let checkpoint = wait_for_checkpoint(&app, &rita, second, "Deploy", waiting_on("0 of 1 approvals")).await?;
        let approval = checkpoint["checks"][0]["id"].as_i64().ok_or("no approval id")?;
        let run = send(&app, Method::GET, &format!("/api/v1/runs/{second}"), Some(&rita), None).await?.body;
        assert_ne!(run["status"], "completed");
        assert_eq!(job(&run, "Deploy.ship"), &Value::Null, "no job of the waiting stage is queued: {run}");
        let pending = send(&app, Method::GET, "/api/v1/approvals?state=pending", Some(&rita), None).await?;
        assert_eq!(pending.body["approvals"].as_array().map(Vec::len), Some(1), "{}", pending.body);
        assert_eq!(pending.body["approvals"][0]["instructions"], "check the dashboard first");
        let mine = |token: String| {
            let app = app.clone();
            async move { send(&app, Method::GET, "/api/v1/approvals?mine=true", Some(&token), None).await }
        };
        assert_eq!(mine(carl.clone()).await?.body["approvals"].as_array().map(Vec::len), Some(0));
        assert_eq!(mine(ana.clone()).await?.body["approvals"].as_array().map(Vec::len), Some(1));
        let own = decide(&app, &carl, approval, "approved", "mine").await?.expect_problem(403);
        assert!(own.contains("carl started run"), "{own}");
        let stranger = decide(&app, &rita, approval, "approved", "").await?.expect_problem(403);
        assert!(stranger.contains("rita is not an approver"), "{stranger}");
        let bad = decide(&app, &ana, approval, "maybe", "").await?.expect_problem(400);
        assert!(bad.contains("'approved' or 'rejected'"), "{bad}");

        // The server stops while the stage waits; the approval is still pending after it starts again.
        drop(app);
        server.stop().await;
        let server = TestServer::start_on(&data, database.as_deref(), 2).await?;
        let app = server.app();
        let shown = send(&app, Method::GET, &format!("/api/v1/approvals/{approval}"), Some(&ana), None).await?;
        assert_eq!(shown.body["state"], "pending", "{}", shown.body);
        let approved = decide(&app, &ana, approval, "approved", "dashboards are green").await?;
        assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
        assert_eq!(approved.body["decisions"][0]["user"], "ana");
        let again = decide(&app, &ana, approval, "approved", "").await?.expect_problem(409);
        assert!(again.contains("already"), "{again}");
        let finished = wait_for_run(&app, &carl, second).await?;
        assert_eq!(finished["result"], "Succeeded", "{finished}");
        let passed = wait_for_checkpoint(&app, &rita, second, "Deploy", |checkpoint| checkpoint["state"] == "passed").await?;
        assert_eq!(passed["checks"][0]["message"], "approved by ana");

        // A rejection fails the stage, with the reason.
        let third = start_run(&app, &carl, "shop", "main").await?;
        let checkpoint = wait_for_checkpoint(&app, &rita, third, "Deploy", waiting_on("approvals")).await?;
        let approval = checkpoint["checks"][0]["id"].as_i64().ok_or("no approval id")?;
        assert_eq!(decide(&app, &ana, approval, "rejected", "not now").await?.status, StatusCode::OK);
        let rejected = wait_for_run(&app, &carl, third).await?;
        assert_eq!(rejected["result"], "Failed", "{rejected}");
        assert_eq!(job(&rejected, "Deploy.ship")["result"], "Skipped", "{rejected}");
        let failed = wait_for_checkpoint(&app, &rita, third, "Deploy", |checkpoint| checkpoint["state"] == "failed").await?;
        assert_eq!(
            failed["message"],
            "the approval check on environment 'production': rejected by ana: not now"
        );
        assert_eq!(
            job(&rejected, "Deploy.ship")["message"],
            "the stage did not start: the approval check on environment 'production': rejected by ana: not now"
        );

        // Re-running the failed jobs waits for the checks again, at a new checkpoint.
        let rerun = send(&app, Method::POST, &format!("/api/v1/runs/{third}/rerun"), Some(&carl), Some(json!({"failedOnly": true}))).await?;
        assert!(rerun.status.is_success(), "{}", rerun.body);
        let again = wait_for_checkpoint(&app, &rita, third, "Deploy", |c| c["state"] == "waiting" && c["checks"][0]["id"] != approval).await?;
        let second_approval = again["checks"][0]["id"].as_i64().ok_or("no approval id")?;
        assert_eq!(decide(&app, &ana, second_approval, "approved", "fixed now").await?.status, StatusCode::OK);
        let rerun = wait_for_run(&app, &carl, third).await?;
        assert_eq!(rerun["result"], "Succeeded", "{rerun}");
        let checkpoints = send(&app, Method::GET, &format!("/api/v1/runs/{third}/checkpoints"), Some(&rita), None).await?;
        let states: Vec<&str> = checkpoints.body["checkpoints"].as_array().map(|all| all.iter().filter_map(|c| c["state"].as_str()).collect()).unwrap_or_default();
        assert_eq!(states, ["failed", "passed"], "{}", checkpoints.body);

        // Three deployments, newest first; what runs where is the third run, after the second.
        let deployments = send(&app, Method::GET, "/api/v1/environments/production/deployments", Some(&rita), None).await?;
        let listed = deployments.body["deployments"].as_array().ok_or("no deployments")?;
        assert_eq!(listed.len(), 3, "{}", deployments.body);
        assert_eq!(listed[0]["run"], third);
        assert_eq!(listed[1]["run"], second);
        // Each ended deployment keeps when its job was queued, started and ended, in that order.
        for deployment in listed {
            let times: Vec<i64> = ["queuedAt", "startedAt", "finishedAt"].iter().filter_map(|field| deployment[field].as_i64()).collect();
            assert_eq!(times.len(), 3, "{deployment}");
            assert!(times.is_sorted() && times[0] > 0, "{deployment}");
        }
        let listed = &listed[1..];
        assert_eq!(listed[0]["result"], "Succeeded");
        assert_eq!(listed[0]["stage"], "Deploy");
        assert_eq!(listed[0]["jobName"], "ship");
        assert_eq!(listed[0]["strategy"], "runOnce");
        assert_eq!(listed[0]["triggeredBy"], "carl");
        assert_eq!(listed[0]["branch"], "refs/heads/main");
        assert!(listed[0]["commit"].as_str().is_some_and(|commit| commit.len() == 40));
        assert_eq!(deployments.body["current"][0]["deployment"]["run"], third);
        assert_eq!(deployments.body["current"][0]["previous"]["run"], second);
        server.stop().await;
        Ok(())
    }
}

/// Tomorrow's day of the week (UTC), as Azure's business hours name it.
fn tomorrow() -> &'static str {
    let days = ["Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday", "Wednesday"];
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    // 1970-01-01 was a Thursday.
    days[usize::try_from((now / 86_400 + 1) % 7).unwrap_or(0)]
}

on_both_databases! {
    /// Branch control fails a run of another branch at once; business hours wait until they
    /// open; an approval that nobody decides times out; an approval that needs all of its
    /// approvers waits for the last one.
    async fn branch_control_business_hours_timeouts_and_minimum_approvers(database) {
        let directory = tempfile::tempdir()?;
        let clock = Arc::new(ShiftedClock::new());
        let server = TestServer::start_with_clock(&directory.path().join("data"), database.as_deref(), 2, clock.clone()).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let ana = create_user(&app, &admin, "ana", "reader").await?;
        let bo = create_user(&app, &admin, "bo", "reader").await?;
        deploying_pipeline(&app, &admin, directory.path(), "api", &DEPLOYS.replace("ENVIRONMENT", "staging")).await?;
        let created = send(&app, Method::POST, "/api/v1/environments", Some(&admin),
            Some(json!({"name": "staging", "description": "before production"}))).await?;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        assert_eq!(created.body["createdBy"], "admin");

        // Branch control: main may not deploy.
        let branches = add_check(&app, &admin, "staging",
            json!({"type": "branchControl", "settings": {"allowedBranches": ["refs/heads/release/*"]}})).await?;
        let refused = start_run(&app, &admin, "api", "main").await?;
        let run = wait_for_run(&app, &admin, refused).await?;
        assert_eq!(run["result"], "Failed", "{run}");
        let checkpoint = wait_for_checkpoint(&app, &admin, refused, "Deploy", |c| c["state"] == "failed").await?;
        assert_eq!(checkpoint["message"], "the branchControl check on environment 'staging': branch 'refs/heads/main' is not one of the branches allowed to deploy: refs/heads/release/*");
        let uri = format!("/api/v1/environments/staging/checks/{branches}");
        assert_eq!(send(&app, Method::DELETE, &uri, Some(&admin), None).await?.status, StatusCode::NO_CONTENT);

        // Business hours: only tomorrow; the stage waits until the clock gets there.
        let hours = add_check(&app, &admin, "staging", json!({"type": "businessHours", "timeoutMinutes": 2880,
            "settings": {"timeZone": "UTC", "days": [tomorrow()], "startTime": "00:00", "endTime": "23:59"}})).await?;
        let waiting = start_run(&app, &admin, "api", "main").await?;
        wait_for_checkpoint(&app, &admin, waiting, "Deploy", waiting_on("outside business hours")).await?;
        let midnight_in = 86_400_000 - i64::try_from(slipway_events::now_ms() % 86_400_000)?;
        clock.shift_millis(midnight_in + 60_000);
        assert_eq!(wait_for_run(&app, &admin, waiting).await?["result"], "Succeeded");
        clock.shift_millis(-(midnight_in + 60_000));
        let uri = format!("/api/v1/environments/staging/checks/{hours}");
        assert_eq!(send(&app, Method::DELETE, &uri, Some(&admin), None).await?.status, StatusCode::NO_CONTENT);

        // An approval nobody decides within an hour times out.
        let lonely = add_check(&app, &admin, "staging",
            json!({"type": "approval", "timeoutMinutes": 60, "settings": {"approvers": ["ana"]}})).await?;
        let ignored = start_run(&app, &admin, "api", "main").await?;
        wait_for_checkpoint(&app, &admin, ignored, "Deploy", waiting_on("0 of 1 approvals")).await?;
        clock.shift_millis(61 * 60_000);
        let run = wait_for_run(&app, &admin, ignored).await?;
        assert_eq!(run["result"], "Failed", "{run}");
        let checkpoint = wait_for_checkpoint(&app, &admin, ignored, "Deploy", |c| c["state"] == "failed").await?;
        assert_eq!(checkpoint["checks"][0]["state"], "timedOut");
        assert_eq!(checkpoint["message"], "the approval check on environment 'staging': not decided within its timeout of 1 hour (0 of 1 approvals)");
        let uri = format!("/api/v1/environments/staging/checks/{lonely}");
        assert_eq!(send(&app, Method::DELETE, &uri, Some(&admin), None).await?.status, StatusCode::NO_CONTENT);

        // All approvers must approve (minRequiredApprovers 0).
        add_check(&app, &admin, "staging", json!({"type": "approval", "settings": {"approvers": ["ana", "bo"]}})).await?;
        let both = start_run(&app, &admin, "api", "main").await?;
        let checkpoint = wait_for_checkpoint(&app, &admin, both, "Deploy", waiting_on("0 of 2 approvals")).await?;
        let approval = checkpoint["checks"][0]["id"].as_i64().ok_or("no approval id")?;
        assert_eq!(decide(&app, &ana, approval, "approved", "").await?.status, StatusCode::OK);
        wait_for_checkpoint(&app, &admin, both, "Deploy", waiting_on("1 of 2 approvals")).await?;
        assert_eq!(decide(&app, &bo, approval, "approved", "").await?.status, StatusCode::OK);
        assert_eq!(wait_for_run(&app, &admin, both).await?["result"], "Succeeded");
        server.stop().await;
        Ok(())
    }
}

/// A deployment stage whose step waits until the test lets it go (a file named after the run
/// appears in `GATES`), under the exclusive lock of `ENVIRONMENT`.
const LOCKED: &str = "\
trigger: none
lockBehavior: BEHAVIOR
stages:
- stage: Deploy
  jobs:
  - deployment: ship
    environment: ENVIRONMENT
    strategy:
      runOnce:
        deploy:
          steps:
          - script: while [ ! -e GATES/$(Build.BuildId) ]; do sleep 0.1; done
";

on_both_databases! {
    /// Azure's order: a pre-check approval is asked first, the dynamic checks once it passed, a
    /// post-check approval once they passed; each check says what it waits for meanwhile.
    async fn pre_check_and_post_check_approvals_come_before_and_after_the_dynamic_checks(database) {
        let directory = tempfile::tempdir()?;
        let clock = Arc::new(ShiftedClock::new());
        let server = TestServer::start_with_clock(&directory.path().join("data"), database.as_deref(), 2, clock.clone()).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let ana = create_user(&app, &admin, "ana", "reader").await?;
        let bo = create_user(&app, &admin, "bo", "reader").await?;
        deploying_pipeline(&app, &admin, directory.path(), "api", &DEPLOYS.replace("ENVIRONMENT", "production")).await?;
        let created = send(&app, Method::POST, "/api/v1/environments", Some(&admin), Some(json!({"name": "production"}))).await?;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        add_check(&app, &admin, "production", json!({"type": "approval",
            "settings": {"approvers": ["bo"], "order": "postCheck"}})).await?;
        add_check(&app, &admin, "production", json!({"type": "businessHours", "timeoutMinutes": 2880,
            "settings": {"timeZone": "UTC", "days": [tomorrow()], "startTime": "00:00", "endTime": "23:59"}})).await?;
        add_check(&app, &admin, "production", json!({"type": "approval",
            "settings": {"approvers": ["ana"], "order": "preCheck"}})).await?;
        let messages = |checkpoint: &Value| -> Vec<String> {
            checkpoint["checks"].as_array().map(|checks| checks.iter()
                .map(|check| format!("{}: {}", check["type"].as_str().unwrap_or("?"), check["message"].as_str().unwrap_or("-")))
                .collect()).unwrap_or_default()
        };

        let id = start_run(&app, &admin, "api", "main").await?;
        let checkpoint = wait_for_checkpoint(&app, &admin, id, "Deploy", |c| c["checks"][2]["message"].is_string()).await?;
        assert_eq!(messages(&checkpoint), [
            "approval: 0 of 1 approvals",
            "businessHours: waits for the checks before it",
            "approval: waits for the checks before it",
        ], "{checkpoint}");
        let pre = checkpoint["checks"][0]["id"].as_i64().ok_or("no approval id")?;
        let post = checkpoint["checks"][2]["id"].as_i64().ok_or("no approval id")?;
        // The post-check approval is not asked yet: bo cannot decide it, nor is it among his.
        let early = decide(&app, &bo, post, "approved", "too soon").await?;
        assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
        assert_eq!(early.body["detail"], format!("approval {post} is asked once the checks before it pass (its order is postCheck); decide it then"));
        let mine = |token: String| {
            let app = app.clone();
            async move {
                let listed = send(&app, Method::GET, "/api/v1/approvals?state=pending&mine=true", Some(&token), None).await?;
                assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
                let ids: Vec<i64> = listed.body["approvals"].as_array().map(|all| all.iter().filter_map(|a| a["id"].as_i64()).collect()).unwrap_or_default();
                TestResult::Ok(ids)
            }
        };
        assert_eq!(mine(bo.clone()).await?, Vec::<i64>::new());
        assert_eq!(mine(ana.clone()).await?, [pre]);
        assert_eq!(decide(&app, &ana, pre, "approved", "go on").await?.status, StatusCode::OK);
        let checkpoint = wait_for_checkpoint(&app, &admin, id, "Deploy", waiting_on("outside business hours")).await?;
        let now = messages(&checkpoint);
        assert_eq!(now[2], "approval: waits for the checks before it", "{checkpoint}");
        assert_eq!(checkpoint["checks"][0]["state"], "passed", "{checkpoint}");

        // Tomorrow the hours are open; only then is the post-check approval asked.
        let midnight_in = 86_400_000 - i64::try_from(slipway_events::now_ms() % 86_400_000)?;
        clock.shift_millis(midnight_in + 60_000);
        let checkpoint = wait_for_checkpoint(&app, &admin, id, "Deploy", |c| c["checks"][1]["state"] == "passed" && c["checks"][2]["message"] == "0 of 1 approvals").await?;
        assert_eq!(checkpoint["state"], "waiting", "{checkpoint}");
        assert_eq!(mine(bo.clone()).await?, [post]);
        assert_eq!(decide(&app, &bo, post, "approved", "looks healthy").await?.status, StatusCode::OK);
        assert_eq!(wait_for_run(&app, &admin, id).await?["result"], "Succeeded");
        server.stop().await;
        Ok(())
    }
}

async fn deployments_of(app: &Router, token: &str, environment: &str) -> TestResult<Vec<i64>> {
    let uri = format!("/api/v1/environments/{environment}/deployments");
    let answer = send(app, Method::GET, &uri, Some(token), None).await?;
    let mut runs: Vec<i64> = answer.body["deployments"]
        .as_array()
        .ok_or("no deployments")?
        .iter()
        .filter_map(|deployment| deployment["run"].as_i64())
        .collect();
    runs.reverse();
    Ok(runs)
}

on_both_databases! {
    /// Three runs queue for an environment's exclusive lock: one at a time in order with
    /// `lockBehavior: sequential`; with `runLatest` the newest goes next and the older waiting
    /// one gives way.
    async fn an_exclusive_lock_takes_three_runs_one_at_a_time(database) {
        let directory = tempfile::tempdir()?;
        let gates = directory.path().join("gates");
        std::fs::create_dir_all(&gates)?;
        let server = TestServer::start_on(&directory.path().join("data"), database.as_deref(), 4).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        for (behavior, environment) in [("sequential", "line"), ("runLatest", "newest")] {
            let yaml = LOCKED
                .replace("BEHAVIOR", behavior)
                .replace("ENVIRONMENT", environment)
                .replace("GATES", &gates.display().to_string());
            deploying_pipeline(&app, &admin, directory.path(), environment, &yaml).await?;
            send(&app, Method::POST, "/api/v1/environments", Some(&admin), Some(json!({"name": environment}))).await?;
            add_check(&app, &admin, environment, json!({"type": "exclusiveLock"})).await?;
            let first = start_run(&app, &admin, environment, "main").await?;
            wait_for_checkpoint(&app, &admin, first, "Deploy", |c| c["state"] == "passed").await?;
            let second = start_run(&app, &admin, environment, "main").await?;
            let holder = format!("held by run {first}");
            let waiting = |checkpoint: &Value| {
                checkpoint["state"] == "waiting"
                    && checkpoint["checks"][0]["message"].as_str().is_some_and(|message| message.contains(&holder))
            };
            wait_for_checkpoint(&app, &admin, second, "Deploy", waiting).await?;
            let third = start_run(&app, &admin, environment, "main").await?;
            if behavior == "sequential" {
                wait_for_checkpoint(&app, &admin, third, "Deploy", waiting).await?;
                for run in [first, second, third] {
                    std::fs::write(gates.join(run.to_string()), "")?;
                    assert_eq!(wait_for_run(&app, &admin, run).await?["result"], "Succeeded");
                }
                assert_eq!(deployments_of(&app, &admin, environment).await?, [first, second, third]);
            } else {
                // The older waiting run gives way to the newer one.
                let gave_way = wait_for_checkpoint(&app, &admin, second, "Deploy", |c| c["state"] == "failed").await?;
                assert_eq!(gave_way["checks"][0]["state"], "canceled", "{gave_way}");
                assert!(gave_way["message"].as_str().is_some_and(|m| m.contains(&format!("run {third} asks for the exclusive lock too"))), "{gave_way}");
                assert_eq!(wait_for_run(&app, &admin, second).await?["result"], "Failed");
                for run in [first, third] {
                    std::fs::write(gates.join(run.to_string()), "")?;
                    assert_eq!(wait_for_run(&app, &admin, run).await?["result"], "Succeeded");
                }
                assert_eq!(deployments_of(&app, &admin, environment).await?, [first, third]);
            }
        }
        server.stop().await;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environments_and_checks_refuse_bad_input_with_clear_errors() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(&directory.path().join("data"), 0).await?;
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let reader = create_user(&app, &admin, "rita", "reader").await?;
    let create = |token: &str, body: Value| {
        let app = app.clone();
        let token = token.to_owned();
        async move { send(&app, Method::POST, "/api/v1/environments", Some(&token), Some(body)).await }
    };
    let mut problems = Vec::new();
    problems.push(create(&reader, json!({"name": "prod"})).await?.expect_problem(403));
    assert_eq!(create(&admin, json!({"name": "prod"})).await?.status, StatusCode::CREATED);
    problems.push(create(&admin, json!({"name": "PROD"})).await?.expect_problem(409));
    problems.push(create(&admin, json!({"name": "  "})).await?.expect_problem(400));
    problems.push(create(&admin, json!({"name": "x\u{7}"})).await?.expect_problem(400));
    problems.push(create(&admin, json!({"name": "prod", "colour": "red"})).await?.expect_problem(422));
    let check = |body: Value| {
        let app = app.clone();
        let admin = admin.clone();
        async move { send(&app, Method::POST, "/api/v1/environments/prod/checks", Some(&admin), Some(body)).await }
    };
    problems.push(check(json!({"type": "approval", "settings": {"approvers": []}})).await?.expect_problem(422));
    problems.push(
        check(json!({"type": "approval", "settings": {"approvers": ["a"]}, "timeoutMinutes": 0}))
            .await?
            .expect_problem(422),
    );
    problems.push(
        check(json!({"type": "requiredTemplate", "settings": {"requiredTemplates": []}})).await?.expect_problem(422),
    );
    problems.push(
        check(json!({"type": "invokeRestApi", "settings": {"url": "file:///etc/passwd"}})).await?.expect_problem(422),
    );
    problems.push(check(json!({"type": "businessHours", "settings": {"timeZone": "Nowhere/City", "startTime": "09:00", "endTime": "17:00"}})).await?.expect_problem(422));
    problems.push(check(json!({"settings": {}})).await?.expect_problem(422));
    let missing = send(&app, Method::GET, "/api/v1/environments/nowhere/checks", Some(&reader), None).await?;
    problems.push(missing.expect_problem(404));
    let approval =
        send(&app, Method::POST, "/api/v1/approvals/999", Some(&reader), Some(json!({"status": "approved"}))).await?;
    problems.push(approval.expect_problem(404));
    let state = send(&app, Method::GET, "/api/v1/approvals?state=sleeping", Some(&reader), None).await?;
    problems.push(state.expect_problem(400));
    let renamed =
        send(&app, Method::PATCH, "/api/v1/environments/prod", Some(&admin), Some(json!({"name": "production"})))
            .await?;
    assert_eq!(renamed.body["name"], "production", "{}", renamed.body);
    assert_eq!(
        send(&app, Method::DELETE, "/api/v1/environments/production", Some(&admin), None).await?.status,
        StatusCode::NO_CONTENT
    );
    insta::assert_snapshot!(problems.join("\n"));
    server.stop().await;
    Ok(())
}

/// A deployment stage with a secret from a variable group, for the REST API check.
const DEPLOYS_WITH_GROUP: &str = "\
trigger: none
variables:
- group: release
stages:
- stage: Deploy
  jobs:
  - deployment: ship
    environment: ENVIRONMENT
    strategy:
      runOnce:
        deploy:
          steps:
          - script: echo deploying
";

/// A REST API on 127.0.0.1 that a check calls: `/gate/...` answers `{"status": "pending"}` the
/// first time and `{"status": "ok"}` after, `/broken` answers 500, `/slow` answers after 6
/// seconds; every other request is recorded as `METHOD PATH AUTHORIZATION BODY`.
async fn fake_rest_api() -> TestResult<(String, Arc<std::sync::Mutex<Vec<String>>>)> {
    use axum::extract::State;
    let seen: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    async fn gate(
        State(seen): State<Arc<std::sync::Mutex<Vec<String>>>>,
        method: Method,
        uri: axum::http::Uri,
        headers: axum::http::HeaderMap,
        body: String,
    ) -> (StatusCode, String) {
        if uri.path() == "/slow" {
            tokio::time::sleep(Duration::from_secs(6)).await;
            return (StatusCode::OK, json!({ "status": "ok" }).to_string());
        }
        let authorization = headers.get("authorization").and_then(|value| value.to_str().ok()).unwrap_or("-");
        let mut seen = seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.push(format!("{method} {} {authorization} {body}", uri.path()));
        if uri.path() == "/broken" {
            return (StatusCode::INTERNAL_SERVER_ERROR, "down".into());
        }

        let status = if seen.iter().filter(|line| line.contains("/gate/")).count() == 1 { "pending" } else { "ok" };
        (StatusCode::OK, json!({ "status": status }).to_string())
    }
    let app = Router::new().fallback(gate).with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, seen))
}

on_both_databases! {
    /// Invoke REST API: the run's variables (a secret from a variable group among them) go into
    /// the request, the answer is judged by the success criteria, a check that does not pass is
    /// asked again at its retry interval, and one with no retry interval fails at once; the
    /// secret never shows in what is kept.
    async fn an_invoke_rest_api_check_asks_again_until_the_answer_passes(database) {
        let directory = tempfile::tempdir()?;
        let clock = Arc::new(ShiftedClock::new());
        let server = TestServer::start_with_clock(&directory.path().join("data"), database.as_deref(), 2, clock.clone()).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let (api, seen) = fake_rest_api().await?;
        send(&app, Method::POST, "/api/v1/variable-groups", Some(&admin), Some(json!({"name": "release"}))).await?;
        let secret = json!({"value": "s3cr3t-token", "secret": true});
        let set = send(&app, Method::PUT, "/api/v1/variable-groups/release/variables/deployToken", Some(&admin), Some(secret)).await?;
        assert_eq!(set.status, StatusCode::OK, "{}", set.body);
        deploying_pipeline(&app, &admin, directory.path(), "svc", &DEPLOYS_WITH_GROUP.replace("ENVIRONMENT", "canary")).await?;
        send(&app, Method::POST, "/api/v1/environments", Some(&admin), Some(json!({"name": "canary"}))).await?;
        let check = add_check(&app, &admin, "canary", json!({"type": "invokeRestApi", "timeoutMinutes": 60, "settings": {
            "method": "POST", "url": format!("{api}/gate/$(Build.BuildId)"),
            "headers": {"Authorization": "Bearer $(deployToken)"},
            "body": "{\"run\": \"$(Build.BuildId)\", \"token\": \"$(deployToken)\"}",
            "successCriteria": "eq(root['status'], 'ok')", "retryIntervalMinutes": 5,
        }})).await?;
        let run = start_run(&app, &admin, "svc", "main").await?;
        let waiting = wait_for_checkpoint(&app, &admin, run, "Deploy", waiting_on("is false")).await?;
        let message = waiting["checks"][0]["message"].as_str().unwrap_or_default().to_owned();
        assert_eq!(message, format!("POST {api}/gate/{run} answered 200; 'eq(root['status'], 'ok')' is false"));
        // Not asked again before its retry interval.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(seen.lock().map(|seen| seen.len()).unwrap_or_default(), 1);
        clock.shift_millis(5 * 60_000 + 1_000);
        assert_eq!(wait_for_run(&app, &admin, run).await?["result"], "Succeeded");
        let requests = seen.lock().map(|seen| seen.clone()).unwrap_or_default();
        assert_eq!(requests.len(), 2, "{requests:?}");
        assert_eq!(requests[0], format!("POST /gate/{run} Bearer s3cr3t-token {{\"run\": \"{run}\", \"token\": \"s3cr3t-token\"}}"));
        let checkpoints = send(&app, Method::GET, &format!("/api/v1/runs/{run}/checkpoints"), Some(&admin), None).await?;
        assert!(!checkpoints.body.to_string().contains("s3cr3t-token"), "{}", checkpoints.body);
        assert_eq!(checkpoints.body["checkpoints"][0]["checks"][0]["state"], "passed");

        // No retry interval: an answer that does not pass fails the stage at once.
        let uri = format!("/api/v1/environments/canary/checks/{check}");
        send(&app, Method::DELETE, &uri, Some(&admin), None).await?;
        add_check(&app, &admin, "canary", json!({"type": "invokeRestApi", "settings": {
            "method": "GET", "url": format!("{api}/broken"), "retryIntervalMinutes": 0}})).await?;
        let broken = start_run(&app, &admin, "svc", "main").await?;
        assert_eq!(wait_for_run(&app, &admin, broken).await?["result"], "Failed");
        let failed = wait_for_checkpoint(&app, &admin, broken, "Deploy", |c| c["state"] == "failed").await?;
        assert_eq!(failed["message"], format!("the invokeRestApi check on environment 'canary': GET {api}/broken answered 500"));
        server.stop().await;
        Ok(())
    }
}

/// A Prometheus with an empty configuration: constant queries (`vector(1)`) are all the test
/// asks.
async fn start_prometheus() -> TestResult<Option<slipway_testing::prometheus::TestPrometheus>> {
    Ok(tokio::task::spawn_blocking(|| {
        slipway_testing::prometheus::prometheus_or_skip(
            "the queryMetrics check against Prometheus",
            "global:\n  scrape_interval: 1m\n",
        )
    })
    .await??)
}

on_both_databases! {
    /// Query metrics against a real Prometheus: a query that returns nothing passes, one that
    /// fires fails (no retry interval), one Prometheus refuses says why, one that keeps firing
    /// with a retry interval times out with what it last found.
    async fn a_query_metrics_check_asks_a_real_prometheus(database) {
    let Some(prometheus) = start_prometheus().await? else { return Ok(()) };
    let directory = tempfile::tempdir()?;
    let clock = Arc::new(ShiftedClock::new());
    let server = TestServer::start_with_clock(&directory.path().join("data"), database.as_deref(), 2, clock.clone()).await?;
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    deploying_pipeline(&app, &admin, directory.path(), "web", &DEPLOYS.replace("ENVIRONMENT", "edge")).await?;
    send(&app, Method::POST, "/api/v1/environments", Some(&admin), Some(json!({"name": "edge"}))).await?;
    // Nothing fires: the stage goes on.
    let quiet = add_check(
        &app,
        &admin,
        "edge",
        json!({"type": "queryMetrics", "settings": {
        "url": prometheus.url, "query": "vector(1) == 2", "retryIntervalMinutes": 0}}),
    )
    .await?;
    let run = start_run(&app, &admin, "web", "main").await?;
    assert_eq!(wait_for_run(&app, &admin, run).await?["result"], "Succeeded");
    let passed = wait_for_checkpoint(&app, &admin, run, "Deploy", |c| c["state"] == "passed").await?;
    assert_eq!(passed["checks"][0]["message"], "'vector(1) == 2' returned nothing");
    send(&app, Method::DELETE, &format!("/api/v1/environments/edge/checks/{quiet}"), Some(&admin), None).await?;
    // An alert fires: with no retry interval the stage fails at once.
    add_check(
        &app,
        &admin,
        "edge",
        json!({"type": "queryMetrics", "settings": {
        "url": prometheus.url, "query": "vector(1)", "retryIntervalMinutes": 0}}),
    )
    .await?;
    let run = start_run(&app, &admin, "web", "main").await?;
    assert_eq!(wait_for_run(&app, &admin, run).await?["result"], "Failed");
    let failed = wait_for_checkpoint(&app, &admin, run, "Deploy", |c| c["state"] == "failed").await?;
    assert_eq!(failed["message"], "the queryMetrics check on environment 'edge': 'vector(1)' fires: 1 series returned");
    // A query Prometheus refuses says why.
    let run_bad = {
        let uri = "/api/v1/environments/edge/checks";
        let listed = send(&app, Method::GET, uri, Some(&admin), None).await?;
        let id = listed.body["checks"][0]["id"].as_i64().ok_or("no check")?;
        send(&app, Method::DELETE, &format!("{uri}/{id}"), Some(&admin), None).await?;
        add_check(
            &app,
            &admin,
            "edge",
            json!({"type": "queryMetrics", "settings": {
            "url": prometheus.url, "query": "rate(", "retryIntervalMinutes": 0}}),
        )
        .await?;
        start_run(&app, &admin, "web", "main").await?
    };
    let failed = wait_for_checkpoint(&app, &admin, run_bad, "Deploy", |c| c["state"] == "failed").await?;
    assert!(failed["message"].as_str().is_some_and(|m| m.contains("refused 'rate(':")), "{failed}");
    // An alert that keeps firing, asked again every minute, times out after three.
    let uri = "/api/v1/environments/edge/checks";
    let listed = send(&app, Method::GET, uri, Some(&admin), None).await?;
    let id = listed.body["checks"][0]["id"].as_i64().ok_or("no check")?;
    send(&app, Method::DELETE, &format!("{uri}/{id}"), Some(&admin), None).await?;
    add_check(&app, &admin, "edge", json!({"type": "queryMetrics", "timeoutMinutes": 3, "settings": {
        "url": prometheus.url, "query": "vector(1)", "retryIntervalMinutes": 1}})).await?;
    let firing = start_run(&app, &admin, "web", "main").await?;
    wait_for_checkpoint(&app, &admin, firing, "Deploy", waiting_on("'vector(1)' fires")).await?;
    clock.shift_millis(4 * 60_000);
    assert_eq!(wait_for_run(&app, &admin, firing).await?["result"], "Failed");
    let timed_out = wait_for_checkpoint(&app, &admin, firing, "Deploy", |c| c["state"] == "failed").await?;
    assert_eq!(timed_out["checks"][0]["state"], "timedOut", "{timed_out}");
    assert_eq!(
        timed_out["message"],
        "the queryMetrics check on environment 'edge': did not pass within its timeout of 3 minutes (last: 'vector(1)' fires: 1 series returned)"
    );
    server.stop().await;
    Ok(())
}
}

/// A template that deployment pipelines must extend, and a pipeline that does.
const TEMPLATE: &str = "\
stages:
- stage: Deploy
  jobs:
  - deployment: ship
    environment: guarded
    strategy:
      runOnce:
        deploy:
          steps:
          - script: echo deployed by the template
";

on_both_databases! {
    /// Required template: a pipeline that extends the required template deploys; one that does
    /// not fails before its stage starts, saying which templates it must extend.
    async fn a_required_template_check_lets_only_pipelines_that_extend_it_deploy(database) {
        let directory = tempfile::tempdir()?;
        let server = TestServer::start_on(&directory.path().join("data"), database.as_deref(), 2).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let repository = directory.path().join("repo");
        std::fs::create_dir_all(repository.join("templates"))?;
        make_repository(&repository, &[
            ("extends.yml", "trigger: none\nextends:\n  template: templates/deploy.yml\n"),
            ("direct.yml", &DEPLOYS.replace("ENVIRONMENT", "guarded")),
            ("templates/deploy.yml", TEMPLATE),
        ])?;
        for (name, file) in [("good", "extends.yml"), ("rogue", "direct.yml")] {
            let pipeline = json!({ "name": name, "repository": repository.display().to_string(), "yamlPath": file });
            let created = send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?;
            assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        }
        send(&app, Method::POST, "/api/v1/environments", Some(&admin), Some(json!({"name": "guarded"}))).await?;
        add_check(&app, &admin, "guarded", json!({"type": "requiredTemplate", "settings": {"requiredTemplates": [
            {"repositoryName": "self", "repositoryRef": "refs/heads/main", "templatePath": "/templates/deploy.yml"}]}})).await?;
        let good = start_run(&app, &admin, "good", "main").await?;
        assert_eq!(wait_for_run(&app, &admin, good).await?["result"], "Succeeded");
        let passed = wait_for_checkpoint(&app, &admin, good, "Deploy", |c| c["state"] == "passed").await?;
        assert_eq!(passed["checks"][0]["message"], "the pipeline extends templates/deploy.yml@self (refs/heads/main)");
        let rogue = start_run(&app, &admin, "rogue", "main").await?;
        assert_eq!(wait_for_run(&app, &admin, rogue).await?["result"], "Failed");
        let failed = wait_for_checkpoint(&app, &admin, rogue, "Deploy", |c| c["state"] == "failed").await?;
        assert_eq!(
            failed["message"],
            "the requiredTemplate check on environment 'guarded': the pipeline must extend one of these templates: \
             templates/deploy.yml@self (refs/heads/main); it extends no template"
        );
        server.stop().await;
        Ok(())
    }
}

/// Builds and publishes an artifact, then deploys.
const PUBLISHES: &str = "\
trigger: none
stages:
- stage: Build
  jobs:
  - job: build
    steps:
    - checkout: none
    - script: mkdir -p out && echo app > out/app.txt
    - publish: out
      artifact: app
- stage: Deploy
  jobs:
  - deployment: ship
    environment: history
    strategy:
      runOnce:
        deploy:
          steps:
          - script: cat $(Pipeline.Workspace)/app/app.txt
";

on_both_databases! {
    /// A deployment records the artifacts it consumed and the commits since the previous
    /// successful deployment.
    async fn a_deployment_records_its_artifacts_and_the_commits_it_brings(database) {
        let directory = tempfile::tempdir()?;
        let server = TestServer::start_on(&directory.path().join("data"), database.as_deref(), 2).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        deploying_pipeline(&app, &admin, directory.path(), "hist", PUBLISHES).await?;
        let first = start_run(&app, &admin, "hist", "main").await?;
        assert_eq!(wait_for_run(&app, &admin, first).await?["result"], "Succeeded");
        let repository = directory.path().join("hist");
        for message in ["fix the login page", "speed up the search"] {
            std::fs::write(repository.join("notes.txt"), message)?;
            for arguments in [vec!["add", "."], vec!["commit", "-qm", message]] {
                let status = std::process::Command::new("git")
                    .args(["-c", "user.name=Dee Veloper", "-c", "user.email=dee@example.com"])
                    .args(&arguments)
                    .current_dir(&repository)
                    .status()?;
                assert!(status.success());
            }
        }
        let second = start_run(&app, &admin, "hist", "main").await?;
        assert_eq!(wait_for_run(&app, &admin, second).await?["result"], "Succeeded");
        let listed = send(&app, Method::GET, "/api/v1/environments/history/deployments", Some(&admin), None).await?;
        let newest = &listed.body["deployments"][0];
        assert_eq!(newest["run"], second, "{}", listed.body);
        assert_eq!(newest["artifacts"], json!(["app"]));
        let changes: Vec<(&str, &str)> = newest["changes"]
            .as_array()
            .ok_or("no changes")?
            .iter()
            .map(|change| (change["message"].as_str().unwrap_or_default(), change["author"].as_str().unwrap_or_default()))
            .collect();
        assert_eq!(changes, [("speed up the search", "Dee Veloper"), ("fix the login page", "Dee Veloper")]);
        assert_eq!(listed.body["deployments"][1]["changes"], Value::Null, "the first has nothing to compare with");
        assert_eq!(listed.body["current"][0]["deployment"]["changes"].as_array().map(Vec::len), Some(2));
        server.stop().await;
        Ok(())
    }
}

/// A build stage, then a stage that uses the variable group `release`.
const USES_GROUP: &str = "\
trigger: none
stages:
- stage: Build
  jobs:
  - job: build
    steps:
    - checkout: none
    - script: echo built
- stage: Release
  variables:
  - group: release
  jobs:
  - job: publish
    steps:
    - checkout: none
    - script: echo releasing $(channel)
";

on_both_databases! {
    /// Checks on a variable group gate the stages that use it, and checks on an agent pool the
    /// stages whose jobs run in it; deleting the group deletes its checks.
    async fn checks_on_a_variable_group_and_an_agent_pool_gate_the_stages_that_use_them(database) {
        let directory = tempfile::tempdir()?;
        let server = TestServer::start_on(&directory.path().join("data"), database.as_deref(), 2).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let ana = create_user(&app, &admin, "ana", "reader").await?;
        send(&app, Method::POST, "/api/v1/variable-groups", Some(&admin), Some(json!({"name": "release"}))).await?;
        let value = json!({"value": "stable", "secret": false});
        send(&app, Method::PUT, "/api/v1/variable-groups/release/variables/channel", Some(&admin), Some(value)).await?;
        deploying_pipeline(&app, &admin, directory.path(), "lib", USES_GROUP).await?;

        // The default pool only takes release branches: the first stage fails at once.
        let uri = "/api/v1/pools/default/checks";
        let pool_check = send(&app, Method::POST, uri, Some(&admin),
            Some(json!({"type": "branchControl", "settings": {"allowedBranches": "refs/heads/release/*"}}))).await?;
        assert_eq!(pool_check.status, StatusCode::CREATED, "{}", pool_check.body);
        assert_eq!(pool_check.body["resourceType"], "pool");
        let run = start_run(&app, &admin, "lib", "main").await?;
        assert_eq!(wait_for_run(&app, &admin, run).await?["result"], "Failed");
        let failed = wait_for_checkpoint(&app, &admin, run, "Build", |c| c["state"] == "failed").await?;
        assert_eq!(failed["message"], "the branchControl check on agent pool 'default': branch 'refs/heads/main' is not one of the branches allowed to deploy: refs/heads/release/*");
        let id = pool_check.body["id"].as_i64().ok_or("no id")?;
        assert_eq!(send(&app, Method::DELETE, &format!("{uri}/{id}"), Some(&admin), None).await?.status, StatusCode::NO_CONTENT);

        // An approval on the group: the build runs at once, the release waits for ana.
        let added = send(&app, Method::POST, "/api/v1/variable-groups/release/checks", Some(&admin),
            Some(json!({"type": "approval", "settings": {"approvers": ["ana"]}}))).await?;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
        let run = start_run(&app, &admin, "lib", "main").await?;
        let waiting = wait_for_checkpoint(&app, &admin, run, "Release", waiting_on("0 of 1 approvals")).await?;
        let checkpoints = send(&app, Method::GET, &format!("/api/v1/runs/{run}/checkpoints"), Some(&admin), None).await?;
        assert_eq!(checkpoints.body["checkpoints"].as_array().map(Vec::len), Some(1), "the build kept no checkpoint: {}", checkpoints.body);
        assert_eq!(waiting["checks"][0]["resourceType"], "variableGroup");
        assert_eq!(waiting["checks"][0]["resource"], "release");
        let approval = waiting["checks"][0]["id"].as_i64().ok_or("no approval id")?;
        let pending = send(&app, Method::GET, "/api/v1/approvals?mine=true", Some(&ana), None).await?;
        assert_eq!(pending.body["approvals"][0]["resource"], "release", "{}", pending.body);
        assert_eq!(decide(&app, &ana, approval, "approved", "").await?.status, StatusCode::OK);
        assert_eq!(wait_for_run(&app, &admin, run).await?["result"], "Succeeded");

        // The group's checks go with it.
        assert_eq!(send(&app, Method::DELETE, "/api/v1/variable-groups/release", Some(&admin), None).await?.status, StatusCode::NO_CONTENT);
        send(&app, Method::POST, "/api/v1/variable-groups", Some(&admin), Some(json!({"name": "release"}))).await?;
        let checks = send(&app, Method::GET, "/api/v1/variable-groups/release/checks", Some(&admin), None).await?;
        assert_eq!(checks.body["checks"], json!([]), "{}", checks.body);
        let missing = send(&app, Method::GET, "/api/v1/variable-groups/nope/checks", Some(&admin), None).await?;
        assert!(missing.expect_problem(404).contains("no variable group named 'nope'"));
        server.stop().await;
        Ok(())
    }
}

on_both_databases! {
    /// Every check that waits ends when its timeout passes: business hours that do not open, a
    /// REST API that never answers as hoped (with the last answer in the reason), and an
    /// exclusive lock another run holds; branch control that allows the branch passes at once.
    async fn waiting_checks_time_out_with_the_reason(database) {
        let directory = tempfile::tempdir()?;
        let gates = directory.path().join("gates");
        std::fs::create_dir_all(&gates)?;
        let clock = Arc::new(ShiftedClock::new());
        let server = TestServer::start_with_clock(&directory.path().join("data"), database.as_deref(), 2, clock.clone()).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let (api, _seen) = fake_rest_api().await?;
        deploying_pipeline(&app, &admin, directory.path(), "slow", &DEPLOYS.replace("ENVIRONMENT", "slowenv")).await?;
        send(&app, Method::POST, "/api/v1/environments", Some(&admin), Some(json!({"name": "slowenv"}))).await?;
        let uri = "/api/v1/environments/slowenv/checks";
        let delete = |id: i64| {
            let app = app.clone();
            let admin = admin.clone();
            async move { send(&app, Method::DELETE, &format!("{uri}/{id}"), Some(&admin), None).await }
        };

        // Branch control that allows main: passes at once.
        let allowed = add_check(&app, &admin, "slowenv", json!({"type": "branchControl", "settings": {"allowedBranches": ["main"]}})).await?;
        let run = start_run(&app, &admin, "slow", "main").await?;
        assert_eq!(wait_for_run(&app, &admin, run).await?["result"], "Succeeded");
        let passed = wait_for_checkpoint(&app, &admin, run, "Deploy", |c| c["state"] == "passed").await?;
        assert_eq!(passed["checks"][0]["message"], "branch 'refs/heads/main' is allowed");
        delete(allowed).await?;

        // Business hours that open in two hours, with an hour's timeout.
        let now_minute = i64::try_from(slipway_events::now_ms() / 60_000 % 1440)?;
        let clock_text = |minute: i64| format!("{:02}:{:02}", minute.rem_euclid(1440) / 60, minute.rem_euclid(60));
        let hours = add_check(&app, &admin, "slowenv", json!({"type": "businessHours", "timeoutMinutes": 60, "settings": {
            "timeZone": "UTC", "startTime": clock_text(now_minute + 120), "endTime": clock_text(now_minute + 180)}})).await?;
        let run = start_run(&app, &admin, "slow", "main").await?;
        wait_for_checkpoint(&app, &admin, run, "Deploy", waiting_on("outside business hours")).await?;
        clock.shift_millis(61 * 60_000);
        assert_eq!(wait_for_run(&app, &admin, run).await?["result"], "Failed");
        let failed = wait_for_checkpoint(&app, &admin, run, "Deploy", |c| c["state"] == "failed").await?;
        assert_eq!(failed["checks"][0]["state"], "timedOut", "{failed}");
        assert!(failed["message"].as_str().is_some_and(|m| m.starts_with("the businessHours check on environment 'slowenv': not decided within its timeout of 1 hour (outside business hours")), "{failed}");
        delete(hours).await?;

        // A REST API that keeps failing, asked every minute for three.
        let rest = add_check(&app, &admin, "slowenv", json!({"type": "invokeRestApi", "timeoutMinutes": 3, "settings": {
            "method": "GET", "url": format!("{api}/broken"), "retryIntervalMinutes": 1}})).await?;
        let run = start_run(&app, &admin, "slow", "main").await?;
        wait_for_checkpoint(&app, &admin, run, "Deploy", waiting_on("answered 500")).await?;
        clock.shift_millis(4 * 60_000);
        assert_eq!(wait_for_run(&app, &admin, run).await?["result"], "Failed");
        let failed = wait_for_checkpoint(&app, &admin, run, "Deploy", |c| c["state"] == "failed").await?;
        assert_eq!(
            failed["message"],
            format!("the invokeRestApi check on environment 'slowenv': did not pass within its timeout of 3 minutes (last: GET {api}/broken answered 500)")
        );
        delete(rest).await?;

        // An exclusive lock held by a run that does not finish.
        let yaml = LOCKED.replace("BEHAVIOR", "sequential").replace("ENVIRONMENT", "locked").replace("GATES", &gates.display().to_string());
        deploying_pipeline(&app, &admin, directory.path(), "locked", &yaml).await?;
        send(&app, Method::POST, "/api/v1/environments", Some(&admin), Some(json!({"name": "locked"}))).await?;
        add_check(&app, &admin, "locked", json!({"type": "exclusiveLock", "timeoutMinutes": 10})).await?;
        let holder = start_run(&app, &admin, "locked", "main").await?;
        wait_for_checkpoint(&app, &admin, holder, "Deploy", |c| c["state"] == "passed").await?;
        let waiter = start_run(&app, &admin, "locked", "main").await?;
        wait_for_checkpoint(&app, &admin, waiter, "Deploy", waiting_on(&format!("held by run {holder}"))).await?;
        clock.shift_millis(11 * 60_000);
        assert_eq!(wait_for_run(&app, &admin, waiter).await?["result"], "Failed");
        let failed = wait_for_checkpoint(&app, &admin, waiter, "Deploy", |c| c["state"] == "failed").await?;
        assert_eq!(failed["checks"][0]["state"], "timedOut", "{failed}");
        std::fs::write(gates.join(holder.to_string()), "")?;
        assert_eq!(wait_for_run(&app, &admin, holder).await?["result"], "Succeeded");
        server.stop().await;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_run_that_waits_for_an_approval_ends_the_wait() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(&directory.path().join("data"), 2).await?;
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    deploying_pipeline(&app, &admin, directory.path(), "shop", &DEPLOYS.replace("ENVIRONMENT", "prod")).await?;
    send(&app, Method::POST, "/api/v1/environments", Some(&admin), Some(json!({"name": "prod"}))).await?;
    add_check(&app, &admin, "prod", json!({"type": "approval", "settings": {"approvers": ["admin"]}})).await?;
    let run = start_run(&app, &admin, "shop", "main").await?;
    wait_for_checkpoint(&app, &admin, run, "Deploy", waiting_on("0 of 1 approvals")).await?;
    let cancel = send(&app, Method::POST, &format!("/api/v1/runs/{run}/cancel"), Some(&admin), None).await?;
    assert!(cancel.status.is_success(), "{}", cancel.body);
    let finished = wait_for_run(&app, &admin, run).await?;
    assert_eq!(finished["result"], "Canceled", "{finished}");
    let ended = wait_for_checkpoint(&app, &admin, run, "Deploy", |c| c["state"] == "canceled").await?;
    assert_eq!(ended["checks"][0]["state"], "canceled", "{ended}");
    let pending = send(&app, Method::GET, "/api/v1/approvals?state=pending", Some(&admin), None).await?;
    assert_eq!(pending.body["approvals"], json!([]), "{}", pending.body);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_rest_api_check_does_not_hold_up_other_runs() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(&directory.path().join("data"), 2).await?;
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let (api, _seen) = fake_rest_api().await?;
    deploying_pipeline(&app, &admin, directory.path(), "gated", &DEPLOYS.replace("ENVIRONMENT", "slowapi")).await?;
    make_repository(&directory.path().join("plain"), &[("azure-pipelines.yml", crate::support::TWO_JOBS)])?;
    let plain = json!({ "name": "plain", "repository": directory.path().join("plain").display().to_string() });
    assert_eq!(
        send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(plain)).await?.status,
        StatusCode::CREATED
    );
    send(&app, Method::POST, "/api/v1/environments", Some(&admin), Some(json!({"name": "slowapi"}))).await?;
    add_check(
        &app,
        &admin,
        "slowapi",
        json!({"type": "invokeRestApi", "settings": {
        "method": "GET", "url": format!("{api}/slow"), "retryIntervalMinutes": 0}}),
    )
    .await?;
    let gated = start_run(&app, &admin, "gated", "main").await?;
    // The gated run reaches its check (the slow answer is on its way)...
    wait_for_checkpoint(&app, &admin, gated, "Deploy", |c| c["state"] == "waiting").await?;
    // ...and another run starts and completes while the answer is still on its way (an
    // orchestrator that waited for it could not have moved the other run on meanwhile).
    let other = start_run(&app, &admin, "plain", "main").await?;
    assert_eq!(wait_for_run(&app, &admin, other).await?["result"], "Succeeded");
    let checkpoints = send(&app, Method::GET, &format!("/api/v1/runs/{gated}/checkpoints"), Some(&admin), None).await?;
    let check = &checkpoints.body["checkpoints"][0]["checks"][0];
    assert_eq!((check["state"].as_str(), check["message"].as_str()), (Some("pending"), None), "{}", checkpoints.body);
    assert_eq!(wait_for_run(&app, &admin, gated).await?["result"], "Succeeded");
    server.stop().await;
    Ok(())
}
