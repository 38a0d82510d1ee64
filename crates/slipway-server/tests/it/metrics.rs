//! `/metrics` scraped by a real Prometheus: runs carried out by the engine over a real git
//! repository (one deployment to `production` that succeeds, one that fails), the server on a
//! loopback port, Debian's Prometheus scraping it every second, and its HTTP API asked for the
//! OpenTelemetry CI/CD series, the deployments and DORA's figures; then the same figures from a
//! server opened again on the same data (they come from the store, not from memory).

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestResult, TestServer, make_repository, on_both_databases, send, wait_for_run};

/// A deployment job to `production` that fails on the branch `broken`.
const PIPELINE: &str = "\
trigger: none
stages:
- stage: Deploy
  jobs:
  - deployment: ship
    environment: production
    strategy:
      runOnce:
        deploy:
          steps:
          - script: test \"$(Build.SourceBranchName)\" != broken
";

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `GET path` over HTTP/1.0 (no chunks) from `address`, with a bearer token when given: the
/// status, the content type and the body.
async fn get(address: &str, path: &str, token: Option<&str>) -> TestResult<(u16, String, String)> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    let authorization = token.map_or_else(String::new, |token| format!("Authorization: Bearer {token}\r\n"));
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: {address}\r\n{authorization}\r\n").as_bytes()).await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    let (head, body) = answer.split_once("\r\n\r\n").ok_or("no end of the headers")?;
    let status = head.get(9..12).and_then(|code| code.parse().ok()).unwrap_or(0);
    let content_type = head
        .lines()
        .find_map(|line| line.split_once(':').filter(|(name, _)| name.eq_ignore_ascii_case("content-type")))
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_default();
    Ok((status, content_type, body.to_owned()))
}

/// `text` with everything but unreserved characters percent-encoded, for a query string.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The series Prometheus at `address` answers `query` with, each as its labels (`__name__`
/// aside) and its value.
async fn query(address: &str, query: &str) -> TestResult<Vec<(BTreeMap<String, String>, String)>> {
    let (status, _, body) = get(address, &format!("/api/v1/query?query={}", encode(query)), None).await?;
    assert_eq!(status, 200, "{query}: {body}");
    let answer: Value = serde_json::from_str(&body)?;
    let series = answer["data"]["result"].as_array().ok_or_else(|| format!("{query}: {body}"))?;
    Ok(series
        .iter()
        .map(|one| {
            let labels = one["metric"]
                .as_object()
                .map(|labels| {
                    labels
                        .iter()
                        .filter(|(name, _)| *name != "__name__")
                        .map(|(name, value)| (name.clone(), value.as_str().unwrap_or_default().to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            (labels, one["value"][1].as_str().unwrap_or_default().to_owned())
        })
        .collect())
}

/// The values of the series of `query`, keyed by the values of the labels `keys`.
async fn values(address: &str, expression: &str, keys: &[&str]) -> TestResult<BTreeMap<Vec<String>, String>> {
    Ok(query(address, expression)
        .await?
        .into_iter()
        .map(|(labels, value)| (keys.iter().map(|key| labels.get(*key).cloned().unwrap_or_default()).collect(), value))
        .collect())
}

fn key(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|part| (*part).to_owned()).collect()
}

on_both_databases! {
    /// Prometheus scrapes `/metrics` and finds the runs, errors, workers, deployments and DORA's
    /// figures the engine's runs made; a server opened again on the same data says the same.
    async fn a_real_prometheus_scrapes_the_cicd_metrics(database) {
        let directory = tempfile::tempdir()?;
        let data = directory.path().join("data");
        let server = TestServer::start_on(&data, database.as_deref(), 2).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let repository = directory.path().join("shop");
        make_repository(&repository, &[("azure-pipelines.yml", PIPELINE)])?;
        let branched = std::process::Command::new("git").args(["branch", "broken"]).current_dir(&repository).status()?;
        assert!(branched.success(), "git branch broken");
        let pipeline = json!({ "name": "shop", "repository": repository.display().to_string() });
        let created = send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        for (branch, expected) in [("main", "Succeeded"), ("broken", "Failed")] {
            let started =
                send(&app, Method::POST, "/api/v1/pipelines/shop/runs", Some(&admin), Some(json!({ "branch": branch }))).await?;
            assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
            let run = started.body["id"].as_i64().ok_or("no run id")?;
            assert_eq!(wait_for_run(&app, &admin, run).await?["result"], expected);
        }

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        let served = app.clone();
        let serving = tokio::spawn(async move { axum::serve(listener, served).await });

        // Open without a session; a bearer token, when one comes, must be good.
        let (status, content_type, text) = get(&address, "/metrics", None).await?;
        assert_eq!((status, content_type.as_str()), (200, OPENMETRICS), "{text}");
        for line in [
            "cicd_pipeline_run_errors_total{cicd_pipeline_name=\"shop\",error_type=\"job_failed\"} 1\n",
            "slipway_deployments_total{environment=\"production\",outcome=\"failure\"} 1\n",
            "slipway_deployments_total{environment=\"production\",outcome=\"success\"} 1\n",
            "cicd_pipeline_run_active{cicd_pipeline_name=\"shop\",cicd_pipeline_run_state=\"pending\"} 0.0\n",
            "slipway_dora_change_failure_rate{environment=\"production\"} 0.5\n",
        ] {
            assert!(text.contains(line), "{line} in:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert_eq!(get(&address, "/metrics", Some(&admin)).await?.0, 200);
        let (status, _, refused) = get(&address, "/metrics", Some("slw_not_a_token")).await?;
        assert_eq!(status, 401, "{refused}");

        let configuration = format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n- job_name: slipway\n  scrape_interval: 1s\n  \
             static_configs:\n  - targets: ['{address}']\n"
        );
        let started = tokio::task::spawn_blocking(move || {
            slipway_testing::prometheus::prometheus_or_skip("/metrics scraped by Prometheus", &configuration)
        })
        .await??;
        if let Some(prometheus) = started {
            let prometheus_address = prometheus.url.trim_start_matches("http://").to_owned();
            let up = "up{job=\"slipway\"}";
            let mut scraped = false;
            for _ in 0..300 {
                let found = values(&prometheus_address, up, &[]).await?;
                if found.get(&key(&[])).is_some_and(|value| value == "1") {
                    scraped = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert!(scraped, "Prometheus did not scrape /metrics in 30 seconds");

            let runs = values(
                &prometheus_address,
                "cicd_pipeline_run_duration_seconds_count{cicd_pipeline_run_state=\"executing\"}",
                &["cicd_pipeline_name", "cicd_pipeline_result", "error_type"],
            )
            .await?;
            assert_eq!(
                runs,
                BTreeMap::from([
                    (key(&["shop", "failure", "job_failed"]), "1".to_owned()),
                    (key(&["shop", "success", ""]), "1".to_owned()),
                ])
            );
            let queued = values(
                &prometheus_address,
                "sum by (cicd_pipeline_run_state) (cicd_pipeline_run_duration_seconds_count)",
                &["cicd_pipeline_run_state"],
            )
            .await?;
            assert_eq!(queued, BTreeMap::from([(key(&["executing"]), "2".to_owned()), (key(&["pending"]), "2".to_owned())]));
            let under = values(
                &prometheus_address,
                "sum(cicd_pipeline_run_duration_seconds_bucket{cicd_pipeline_run_state=\"executing\",le=\"+Inf\"})",
                &[],
            )
            .await?;
            assert_eq!(under, BTreeMap::from([(key(&[]), "2".to_owned())]));
            let errors =
                values(&prometheus_address, "cicd_pipeline_run_errors_total", &["cicd_pipeline_name", "error_type"]).await?;
            assert_eq!(errors, BTreeMap::from([(key(&["shop", "job_failed"]), "1".to_owned())]));
            let active = values(&prometheus_address, "sum(cicd_pipeline_run_active)", &[]).await?;
            assert_eq!(active, BTreeMap::from([(key(&[]), "0".to_owned())]));
            let workers = values(&prometheus_address, "sum(cicd_worker_count)", &[]).await?;
            let states = values(&prometheus_address, "cicd_worker_count", &["cicd_worker_state"]).await?;
            assert_eq!(
                states.keys().map(|state| state.concat()).collect::<Vec<_>>(),
                ["available", "busy", "offline"],
                "{states:?}"
            );
            let registered = server.state.store().list_agents().await?.len();
            assert_eq!(workers, BTreeMap::from([(key(&[]), registered.to_string())]));
            let deployments =
                values(&prometheus_address, "slipway_deployments_total", &["environment", "outcome"]).await?;
            assert_eq!(
                deployments,
                BTreeMap::from([
                    (key(&["production", "failure"]), "1".to_owned()),
                    (key(&["production", "success"]), "1".to_owned()),
                ])
            );
            let failure_rate = values(&prometheus_address, "slipway_dora_change_failure_rate", &["environment"]).await?;
            assert_eq!(failure_rate, BTreeMap::from([(key(&["production"]), "0.5".to_owned())]));
            let frequency =
                values(&prometheus_address, "slipway_dora_deployment_frequency_per_day", &["environment"]).await?;
            let per_day: f64 = frequency.get(&key(&["production"])).ok_or("no deployment frequency")?.parse()?;
            // One successful deployment in 30 days.
            assert!((per_day - 1.0 / 30.0).abs() < 1e-9, "{frequency:?}");
        }

        // Opened again on the same data: the same counts, from the store.
        serving.abort();
        server.stop().await;
        let server = TestServer::start_on(&data, database.as_deref(), 0).await?;
        let answer = tower::ServiceExt::oneshot(
            server.app(),
            axum::http::Request::builder().uri("/metrics").body(axum::body::Body::empty())?,
        )
        .await?;
        assert_eq!(answer.status(), StatusCode::OK);
        let bytes = http_body_util::BodyExt::collect(answer.into_body()).await?.to_bytes();
        let again = String::from_utf8(bytes.to_vec())?;
        for line in [
            "cicd_pipeline_run_errors_total{cicd_pipeline_name=\"shop\",error_type=\"job_failed\"} 1\n",
            "slipway_deployments_total{environment=\"production\",outcome=\"success\"} 1\n",
            "cicd_pipeline_run_duration_seconds_count{cicd_pipeline_name=\"shop\",cicd_pipeline_run_state=\"executing\",cicd_pipeline_result=\"success\"} 1\n",
        ] {
            assert!(again.contains(line), "{line} after a restart in:\n{again}");
        }
        server.stop().await;
        Ok(())
    }
}
