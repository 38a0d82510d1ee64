//! The job queue: leasing, heartbeats, expiry, steps and outputs.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use slipway_events::TaskResult;
use slipway_store::{
    Demand, JobStatus, LeaseRequest, Reclaim, ReclaimAction, Step, StepStatus, Timestamp, VariableValue,
};

use crate::support::{conformance, job};

/// A lease request of the default pool with no capabilities, for 30 seconds.
pub(crate) fn request(holder: &str) -> LeaseRequest {
    LeaseRequest {
        holder: holder.to_owned(),
        pool: "default".to_owned(),
        capabilities: BTreeMap::new(),
        duration: Duration::from_secs(30),
    }
}

fn step(number: i64, status: StepStatus) -> Step {
    Step {
        number,
        name: None,
        display_name: format!("Step {number}"),
        status,
        result: (status == StepStatus::Completed).then_some(TaskResult::Succeeded),
        exit_code: (status == StepStatus::Completed).then_some(0),
        attempts: 1,
        message: None,
        started_at: Some(crate::support::START),
        finished_at: None,
    }
}

conformance! {
    /// Many workers leasing at once never get the same job, and together they run every job once.
    async fn concurrent_workers_never_lease_a_job_twice(test: TestStore) {
        let app = test.pipeline("app").await?;
        let mut expected = 0;
        for _ in 0..4 {
            let run = test.run(&app).await?;
            let jobs: Vec<_> = (0..15).map(|index| job(&format!("job{index}"), true)).collect();
            expected += test.store.add_jobs(run.id, &jobs).await?.len();
        }
        let mut workers = Vec::new();
        for worker in 0..8 {
            let store = test.store.clone();
            workers.push(tokio::spawn(async move {
                let mut taken = Vec::new();
                while let Some(lease) = store.lease_job(&request(&format!("agent-{worker}"))).await? {
                    assert_eq!(lease.job.status, JobStatus::Running);
                    taken.push(lease.job.id);
                    tokio::task::yield_now().await;
                    store.complete_job(&lease.token, TaskResult::Succeeded, None).await?;
                }
                Ok::<_, slipway_store::StoreError>(taken)
            }));
        }
        let mut times_leased: HashMap<_, usize> = HashMap::new();
        for worker in workers {
            for id in worker.await?? {
                *times_leased.entry(id).or_default() += 1;
            }
        }
        assert_eq!(times_leased.len(), expected);
        assert!(times_leased.values().all(|count| *count == 1), "a job was leased twice: {times_leased:?}");
        assert!(test.store.queued_jobs(None).await?.is_empty());
        Ok(())
    }
}

conformance! {
    /// A worker gets only jobs of its pool whose demands its capabilities meet, oldest first.
    async fn leases_respect_pools_and_demands(test: TestStore) {
        let app = test.pipeline("app").await?;
        let run = test.run(&app).await?;
        let mut java = job("java", true);
        java.demands = vec![Demand { name: "java".into(), equals: Some("17".into()) }];
        let mut docker = job("docker", true);
        docker.demands = vec![Demand { name: "docker".into(), equals: None }];
        let mut gpu = job("gpu", true);
        gpu.pool = "gpu".into();
        let plain = job("plain", true);
        test.store.add_jobs(run.id, &[java, docker, gpu, plain]).await?;
        let mut worker = request("agent-a");
        worker.capabilities.insert("Java".into(), "17".into());
        let first = test.store.lease_job(&worker).await?.ok_or("no job")?;
        assert_eq!(first.job.job, "java");
        let second = test.store.lease_job(&worker).await?.ok_or("no job")?;
        assert_eq!(second.job.job, "plain", "the docker job is skipped, not blocking the queue");
        assert!(test.store.lease_job(&worker).await?.is_none());
        let waiting: Vec<String> = test.store.queued_jobs(None).await?.into_iter().map(|job| job.job).collect();
        assert_eq!(waiting, ["docker", "gpu"]);
        let mut docker_worker = request("agent-b");
        docker_worker.capabilities.insert("docker".into(), "27.1".into());
        assert_eq!(test.store.lease_job(&docker_worker).await?.map(|lease| lease.job.job).as_deref(), Some("docker"));
        let gpu_worker = LeaseRequest { pool: "gpu".into(), ..request("agent-c") };
        assert_eq!(test.store.lease_job(&gpu_worker).await?.map(|lease| lease.job.job).as_deref(), Some("gpu"));
        let waiting_reason = test.store.queued_jobs(Some("gpu")).await?;
        assert!(waiting_reason.is_empty());
        Ok(())
    }
}

conformance! {
    /// A lease that is not renewed expires; reclaiming fails the job with the reason (and its
    /// running steps), and the old holder can no longer renew, report or complete it.
    async fn an_expired_lease_fails_the_job_with_its_reason(test: TestStore) {
        let app = test.pipeline("app").await?;
        let run = test.run(&app).await?;
        test.store.add_jobs(run.id, &[job("compile", true), job("test", true)]).await?;
        let lost = test.store.lease_job(&request("agent-lost")).await?.ok_or("no job")?;
        let alive = test.store.lease_job(&request("agent-alive")).await?.ok_or("no job")?;
        test.store.record_step(&lost.token, &step(1, StepStatus::Completed)).await?;
        test.store.record_step(&lost.token, &step(2, StepStatus::Running)).await?;
        test.advance(20_000);
        test.store.renew_lease(&alive.token, Duration::from_secs(30)).await?;
        assert!(test.store.reclaim_leases(&Reclaim::Expired, |_| ReclaimAction::Fail("agent lost".into())).await?.is_empty());
        test.advance(20_000);
        let reclaimed = test.store.reclaim_leases(&Reclaim::Expired, |_| ReclaimAction::Fail("agent lost".into())).await?;
        assert_eq!(reclaimed.len(), 1);
        assert_eq!((reclaimed[0].job.id, reclaimed[0].holder.as_str()), (lost.job.id, "agent-lost"));
        let failed = test.store.job(lost.job.id).await?;
        assert_eq!((failed.status, failed.result, failed.message.as_deref()), (JobStatus::Completed, Some(TaskResult::Failed), Some("agent lost")));
        let steps = test.store.steps_of_job(lost.job.id).await?;
        assert_eq!(steps.iter().map(|step| step.result).collect::<Vec<_>>(), vec![Some(TaskResult::Succeeded), Some(TaskResult::Failed)]);
        assert!(test.store.renew_lease(&lost.token, Duration::from_secs(30)).await.err().is_some_and(|error| error.is_lease_lost()));
        assert!(test.store.record_step(&lost.token, &step(3, StepStatus::Running)).await.err().is_some_and(|error| error.is_lease_lost()));
        assert!(test.store.complete_job(&lost.token, TaskResult::Succeeded, None).await.err().is_some_and(|error| error.is_lease_lost()));
        assert!(test.store.append_log_chunk(&lost.token, 0, &["late".into()]).await.err().is_some_and(|error| error.is_lease_lost()));
        // Reclaiming again finds nothing more.
        assert!(test.store.reclaim_leases(&Reclaim::Expired, |_| ReclaimAction::Fail("agent lost".into())).await?.is_empty());
        assert_eq!(test.store.job(alive.job.id).await?.status, JobStatus::Running);
        Ok(())
    }
}

conformance! {
    /// A reclaimed job can instead go back to the queue; the next lease is a new attempt with a new
    /// lease id, and the old holder's writes are refused.
    async fn an_expired_lease_can_requeue_the_job(test: TestStore) {
        let app = test.pipeline("app").await?;
        let run = test.run(&app).await?;
        test.store.add_jobs(run.id, &[job("compile", true)]).await?;
        let first = test.store.lease_job(&request("agent-1")).await?.ok_or("no job")?;
        assert_eq!(first.job.attempt, 1);
        test.store.append_log_chunk(&first.token, 0, &["first attempt".into()]).await?;
        test.advance(31_000);
        let reclaimed = test.store.reclaim_leases(&Reclaim::Expired, |job| {
            if job.attempt < 3 { ReclaimAction::Requeue } else { ReclaimAction::Fail("agent lost".into()) }
        }).await?;
        assert_eq!(reclaimed.len(), 1);
        assert_eq!(reclaimed[0].job.status, JobStatus::Queued);
        assert!(reclaimed[0].job.message.as_deref().is_some_and(|message| message.contains("agent-1")));
        let second = test.store.lease_job(&request("agent-2")).await?.ok_or("the job was not requeued")?;
        assert_eq!((second.job.id, second.job.attempt), (first.job.id, 2));
        assert_ne!(second.token, first.token);
        assert!(test.store.append_log_chunk(&first.token, 1, &["zombie".into()]).await.err().is_some_and(|error| error.is_lease_lost()));
        // The new holder numbers its chunks from 0 again; the log keeps both attempts in order.
        test.store.append_log_chunk(&second.token, 0, &["second attempt".into()]).await?;
        let log = test.store.read_log(first.job.id, 0, 100).await?;
        assert_eq!(log.lines, ["first attempt", "second attempt"]);
        test.store.complete_job(&second.token, TaskResult::Succeeded, None).await?;
        Ok(())
    }
}

conformance! {
    /// Leases of a holder that is gone (the in-process slots of a server that restarted) are
    /// reclaimed by holder; completing is idempotent; unleased jobs are finished or queued explicitly.
    async fn leases_are_reclaimed_by_holder_and_completion_is_idempotent(test: TestStore) {
        let app = test.pipeline("app").await?;
        let run = test.run(&app).await?;
        let jobs = test.store.add_jobs(run.id, &[job("a", true), job("b", true), job("c", false), job("d", false)]).await?;
        let local = test.store.lease_job(&request("local:0")).await?.ok_or("no job")?;
        let agent = test.store.lease_job(&request("agent-x")).await?.ok_or("no job")?;
        let reclaimed = test.store.reclaim_leases(&Reclaim::HeldBy("local:".into()), |_| {
            ReclaimAction::Fail("the server restarted while the job ran".into())
        }).await?;
        assert_eq!(reclaimed.iter().map(|lease| lease.job.id).collect::<Vec<_>>(), vec![local.job.id]);
        let done = test.store.complete_job(&agent.token, TaskResult::Succeeded, None).await?;
        assert_eq!(test.store.complete_job(&agent.token, TaskResult::Succeeded, None).await?, done);
        assert!(test.store.complete_job(&agent.token, TaskResult::Failed, None).await.err().is_some_and(|error| error.is_lease_lost()));
        assert_eq!(done.finished_at, Some(Timestamp(crate::support::START.millis())));
        // Pending jobs are not leased until queued.
        assert!(test.store.lease_job(&request("agent-x")).await?.is_none());
        assert!(test.store.queue_job(slipway_store::JobId(987_654)).await.err().is_some_and(|error| error.is_not_found()));
        let queued = test.store.queue_job(jobs[2].id).await?;
        assert_eq!(queued.status, JobStatus::Queued);
        assert_eq!(test.store.queue_job(jobs[2].id).await?.status, JobStatus::Queued);
        let skipped = test.store.finish_job_unleased(jobs[3].id, TaskResult::Skipped, Some("condition was false")).await?;
        assert_eq!((skipped.status, skipped.result), (JobStatus::Completed, Some(TaskResult::Skipped)));
        assert!(test.store.queue_job(jobs[3].id).await.is_err());
        test.store.set_job_message(jobs[2].id, Some("no agent in pool default has java")).await?;
        assert_eq!(test.store.job(jobs[2].id).await?.message.as_deref(), Some("no agent in pool default has java"));
        let last = test.store.lease_job(&request("agent-x")).await?.ok_or("no job")?;
        assert_eq!(last.job.id, jobs[2].id);
        assert_eq!(last.job.message, None);
        assert!(test.store.finish_job_unleased(last.job.id, TaskResult::Skipped, None).await.is_err());
        Ok(())
    }
}

conformance! {
    /// Steps are recorded by number and replaced; output variables keep secrets encrypted and out
    /// of listings.
    async fn steps_and_outputs_are_recorded_by_the_lease_holder(test: TestStore) {
        let app = test.pipeline("app").await?;
        let run = test.run(&app).await?;
        let jobs = test.store.add_jobs(run.id, &[job("a", true), job("b", false)]).await?;
        let lease = test.store.lease_job(&request("agent")).await?.ok_or("no job")?;
        test.store.record_step(&lease.token, &step(1, StepStatus::Running)).await?;
        test.store.record_step(&lease.token, &step(2, StepStatus::Pending)).await?;
        let mut done = step(1, StepStatus::Completed);
        done.exit_code = Some(3);
        done.result = Some(TaskResult::Failed);
        done.finished_at = Some(Timestamp(crate::support::START.millis() + 9));
        test.store.record_step(&lease.token, &done).await?;
        let steps = test.store.steps_of_job(lease.job.id).await?;
        assert_eq!(steps, vec![done.clone(), step(2, StepStatus::Pending)]);
        assert_eq!(test.store.steps_of_run(run.id).await?.len(), 2);
        test.store.set_job_outputs(&lease.token, &[
            VariableValue { name: "setver.version".into(), value: "1.2.3".into(), is_secret: false },
            VariableValue { name: "login.token".into(), value: "s3cr3t".into(), is_secret: true },
        ]).await?;
        let listed = test.store.list_job_outputs(lease.job.id).await?;
        assert_eq!(listed.iter().map(|output| (output.name.as_str(), output.value.as_deref())).collect::<Vec<_>>(),
            vec![("login.token", None), ("setver.version", Some("1.2.3"))]);
        let values = test.store.job_output_values(lease.job.id).await?;
        assert_eq!(values[0].value, "s3cr3t");
        assert!(!format!("{values:?}").contains("s3cr3t"), "Debug shows a secret");
        assert!(test.store.job_output_values(jobs[1].id).await?.is_empty());
        Ok(())
    }
}

conformance! {
    /// Leasing, heartbeats, queueing and cancelling at the same time never fail (no deadlock on
    /// PostgreSQL: locks are taken run first, then job) and leave every job in one final place.
    async fn leasing_and_cancelling_at_once_never_deadlock(test: TestStore) {
        let app = test.pipeline("app").await?;
        let mut runs = Vec::new();
        for _ in 0..6 {
            let run = test.run(&app).await?;
            let jobs: Vec<_> = (0..8).map(|index| job(&format!("job{index}"), index % 2 == 0)).collect();
            let added = test.store.add_jobs(run.id, &jobs).await?;
            runs.push((run.id, added));
        }
        let mut tasks = Vec::new();
        for worker in 0..4 {
            let store = test.store.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(lease) = store.lease_job(&request(&format!("agent-{worker}"))).await? {
                    store.renew_lease(&lease.token, Duration::from_secs(30)).await?;
                    store.complete_job(&lease.token, TaskResult::Succeeded, None).await?;
                }
                Ok::<_, slipway_store::StoreError>(())
            }));
        }
        for (run, jobs) in runs.clone() {
            let store = test.store.clone();
            tasks.push(tokio::spawn(async move {
                for job in jobs.iter().filter(|job| job.status == JobStatus::Pending) {
                    store.queue_job(job.id).await?;
                }
                store.request_cancel(run).await?;
                Ok(())
            }));
        }
        for task in tasks {
            task.await??;
        }
        // Whatever the workers had not finished when they stopped looking is leased now.
        while let Some(lease) = test.store.lease_job(&request("sweeper")).await? {
            test.store.complete_job(&lease.token, TaskResult::Succeeded, None).await?;
        }
        for (run, _) in runs {
            let jobs = test.store.jobs_of_run(run).await?;
            assert!(jobs.iter().all(|job| job.status == JobStatus::Completed), "{jobs:?}");
        }
        Ok(())
    }
}

conformance! {
    /// Re-running jobs of a completed run puts them back (pending, next attempt, log kept, steps
    /// and outputs cleared) and the run back in the queue; the other jobs keep what they had.
    async fn rerunning_jobs_resets_them_and_requeues_the_run(test: TestStore) {
        let app = test.pipeline("app").await?;
        let run = test.run(&app).await?;
        let added = test.store.add_jobs(run.id, &[job("good", true), job("bad", true)]).await?;
        let (good, bad) = (added[0].id, added[1].id);
        // Not before the run completes.
        let early = test.store.rerun_jobs(run.id, &[bad]).await;
        assert!(matches!(early, Err(slipway_store::StoreError::InvalidState { .. })), "{early:?}");
        for (id, result) in [(good, TaskResult::Succeeded), (bad, TaskResult::Failed)] {
            let lease = test.store.lease_job(&request("w")).await?.ok_or("nothing to lease")?;
            assert_eq!(lease.job.id, id);
            test.store.append_log_chunk(&lease.token, 0, &[format!("first attempt of {id}")]).await?;
            test.store.record_step(&lease.token, &step(1, StepStatus::Completed)).await?;
            let output = VariableValue { name: "s.out".into(), value: "1".into(), is_secret: false };
            test.store.set_job_outputs(&lease.token, &[output]).await?;
            test.store.complete_job(&lease.token, result, None).await?;
        }
        test.store.finish_run(run.id, TaskResult::Failed).await?;

        let other = test.run(&app).await?;
        let stranger = test.store.add_jobs(other.id, &[job("x", false)]).await?;
        let wrong = test.store.rerun_jobs(run.id, &[stranger[0].id]).await;
        assert!(matches!(wrong, Err(slipway_store::StoreError::NotFound { .. })), "{wrong:?}");

        let requeued = test.store.rerun_jobs(run.id, &[bad]).await?;
        assert_eq!(requeued.status, slipway_store::RunStatus::Queued);
        assert_eq!(requeued.result, None);
        assert_eq!(requeued.finished_at, None);
        let reset = test.store.job(bad).await?;
        assert_eq!((reset.status, reset.result, reset.attempt), (JobStatus::Pending, None, 1));
        assert!(test.store.steps_of_job(bad).await?.is_empty());
        assert!(test.store.job_output_values(bad).await?.is_empty());
        let kept = test.store.job(good).await?;
        assert_eq!((kept.status, kept.result), (JobStatus::Completed, Some(TaskResult::Succeeded)));
        assert_eq!(test.store.job_output_values(good).await?.len(), 1);
        assert_eq!(test.store.steps_of_job(good).await?.len(), 1);

        // The next attempt: its log follows the first one's.
        test.store.queue_job(bad).await?;
        let lease = test.store.lease_job(&request("w")).await?.ok_or("the job was not queued again")?;
        assert_eq!(lease.job.attempt, 2);
        test.store.append_log_chunk(&lease.token, 0, &["second attempt".to_owned()]).await?;
        test.store.complete_job(&lease.token, TaskResult::Succeeded, None).await?;
        let log = test.store.read_log(bad, 0, 10).await?;
        assert_eq!(log.lines, [format!("first attempt of {bad}"), "second attempt".to_owned()]);
        Ok(())
    }
}
