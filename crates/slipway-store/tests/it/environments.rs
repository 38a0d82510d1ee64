//! Environments' deployments: what was deployed where, and when.

use slipway_events::TaskResult;
use slipway_store::NewDeployment;

use crate::support::{conformance, job};

use super::queue::request;

conformance! {
    /// A deployment is queued with its job; it started when its job was leased (read from the job
    /// while it runs) and keeps that time, with its end and result, once it ends.
    async fn a_deployment_keeps_when_its_job_was_queued_started_and_ended(test: TestStore) {
        let app = test.pipeline("app").await?;
        let run = test.run(&app).await?;
        let added = test.store.add_jobs(run.id, &[job("ship", true)]).await?;
        let ship = added.first().ok_or("no job")?;
        let production = test.store.create_environment("production", "", None).await?;
        let deployment = NewDeployment {
            environment: production.id,
            resource: None,
            run: run.id,
            job: ship.id,
            stage: "Deploy".into(),
            job_name: "ship".into(),
            strategy: "runOnce".into(),
            triggered_by: "carl".into(),
            artifacts: Vec::new(),
            changes: None,
        };
        test.store.record_deployment(&deployment).await?;
        let queued = test.store.list_deployments(production.id, None, 10).await?;
        assert_eq!(queued.len(), 1);
        assert_eq!((queued[0].started_at, queued[0].finished_at, queued[0].result), (None, None, None));

        let lease = test.store.lease_job(&request("agent-1")).await?.ok_or("no job")?;
        let started = lease.job.started_at.ok_or("the leased job has no start")?;
        let running = test.store.list_deployments(production.id, None, 10).await?;
        assert_eq!((running[0].started_at, running[0].finished_at), (Some(started), None));
        assert!(running[0].queued_at <= started);

        test.store.complete_job(&lease.token, TaskResult::Succeeded, None).await?;
        test.store.finish_deployment(ship.id, TaskResult::Succeeded).await?;
        let ended = test.store.list_deployments(production.id, None, 10).await?;
        assert_eq!(ended[0].started_at, Some(started));
        assert_eq!(ended[0].result, Some(TaskResult::Succeeded));
        assert_eq!(ended[0].outcome, None, "a success says nothing of a release");
        assert!(ended[0].finished_at.is_some_and(|finished| finished >= started), "{:?}", ended[0]);
        Ok(())
    }
}

conformance! {
    /// An analysis run keeps its template, load and measurements; it ends once (a late update
    /// changes nothing), and the job's deployment records the outcome it decided.
    async fn analysis_runs_end_once_and_decide_a_deployment_outcome(test: TestStore) {
        let app = test.pipeline("app").await?;
        let run = test.run(&app).await?;
        let added = test.store.add_jobs(run.id, &[job("ship", true)]).await?;
        let ship = added.first().ok_or("no job")?;
        let production = test.store.create_environment("production", "", None).await?;
        test.store
            .record_deployment(&NewDeployment {
                environment: production.id,
                resource: None,
                run: run.id,
                job: ship.id,
                stage: "Deploy".into(),
                job_name: "ship".into(),
                strategy: "canary".into(),
                triggered_by: "carl".into(),
                artifacts: Vec::new(),
                changes: None,
            })
            .await?;
        let web = test.store.create_service(production.id, "web", "127.0.0.1:1", "router", None).await?;
        let started = test
            .store
            .create_analysis_run(&slipway_store::NewAnalysisRun {
                service: web.id,
                job: Some(ship.id),
                run: Some(run.id),
                template_name: "inline".into(),
                template: serde_json::json!({"metrics": []}),
                load: Some(serde_json::json!({"rate": 5, "path": "/"})),
            })
            .await?;
        assert_eq!((started.phase.as_str(), started.finished_at), ("Running", None));
        assert_eq!(test.store.unfinished_analysis_runs().await?.len(), 1);
        let measured = serde_json::json!({"success-rate": [{"phase": "failed"}]});
        assert!(test.store.update_analysis_run(started.id, "Failed", Some("too many errors"), &measured, true).await?);
        assert!(!test.store.update_analysis_run(started.id, "Successful", None, &measured, true).await?);
        let ended = test.store.analysis_run(started.id).await?;
        assert_eq!((ended.phase.as_str(), ended.message.as_deref()), ("Failed", Some("too many errors")));
        assert_eq!(ended.measurements, measured);
        assert!(ended.finished_at.is_some());
        assert!(test.store.unfinished_analysis_runs().await?.is_empty());
        assert_eq!(test.store.service_analysis_runs(web.id, 10).await?.len(), 1, "the first run");

        // Only an inconclusive run waits for a person's decision.
        assert!(!test.store.decide_analysis_run(started.id, "Successful", "carl: looks fine").await?);
        let unsure = test
            .store
            .create_analysis_run(&slipway_store::NewAnalysisRun {
                service: web.id,
                job: None,
                run: None,
                template_name: "inline".into(),
                template: serde_json::json!({"metrics": []}),
                load: None,
            })
            .await?;
        assert!(test.store.update_analysis_run(unsure.id, "Inconclusive", None, &measured, true).await?);
        assert!(test.store.decide_analysis_run(unsure.id, "Successful", "carl: looks fine").await?);
        assert!(!test.store.decide_analysis_run(unsure.id, "Failed", "dora: no").await?, "decided once");
        let decided = test.store.analysis_run(unsure.id).await?;
        assert_eq!((decided.phase.as_str(), decided.message.as_deref()), ("Successful", Some("carl: looks fine")));

        test.store.set_deployment_outcome(ship.id, "rolledBack", Some("canary failed"), Some(started.id)).await?;
        test.store.finish_deployment(ship.id, TaskResult::Failed).await?;
        let deployment = test.store.job_deployment(ship.id).await?.ok_or("no deployment")?;
        assert_eq!(deployment.outcome.as_deref(), Some("rolledBack"), "a failure keeps the rollback it had");
        assert_eq!(deployment.outcome_detail.as_deref(), Some("canary failed"));
        assert_eq!(deployment.analysis_run, Some(started.id));
        Ok(())
    }
}
