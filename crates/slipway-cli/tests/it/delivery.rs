//! Progressive delivery end to end, with real processes: a server, its in-process agents, the
//! demo service started in slots by `SlipwayDeploySlot@1`, traffic moved by `SlipwayTraffic@1`,
//! and releases judged by `SlipwayAnalysis@1` from the router's own measurements under synthetic
//! load. A canary that answers errors is rolled back on its own; a good one is promoted.

use crate::support::{Server, make_repository, output, scratch_directory};

/// The first release: version 1 straight into the stable slot (`runOnce`).
fn first_release(slipway: &str) -> String {
    format!(
        r"trigger: none
stages:
- stage: release
  jobs:
  - deployment: web
    environment: production
    strategy:
      runOnce:
        deploy:
          steps:
          - task: SlipwayDeploySlot@1
            inputs:
              service: web
              slot: stable
              command: {slipway}
              arguments: demo-service --version v1
              weight: 100
"
    )
}

/// A canary release of `parameters.version`, whose share of requests answered 500 is
/// `parameters.errorRate`: 30% of the traffic, judged from the router's success rate of the canary
/// under synthetic load, promoted or rolled back.
fn canary_release(slipway: &str) -> String {
    format!(
        r"trigger: none
parameters:
- name: version
  type: string
- name: errorRate
  type: string
  default: '0'
stages:
- stage: release
  jobs:
  - deployment: web
    environment: production
    strategy:
      canary:
        increments: [30]
        deploy:
          steps:
          - task: SlipwayDeploySlot@1
            condition: and(succeeded(), ne(variables['Strategy.Action'], 'promote'))
            inputs:
              service: web
              slot: canary
              command: {slipway}
              arguments: demo-service --version ${{{{ parameters.version }}}} --error-rate ${{{{ parameters.errorRate }}}}
        routeTraffic:
          steps:
          - task: SlipwayTraffic@1
            inputs:
              service: web
              action: route
              slot: canary
              percent: $(Strategy.Increment)
        postRouteTraffic:
          steps:
          - task: SlipwayAnalysis@1
            condition: and(succeeded(), ne(variables['Strategy.Action'], 'promote'))
            inputs:
              service: web
              loadRequestsPerSecond: 60
              template: |
                metrics:
                - name: success-rate
                  interval: 2s
                  count: 3
                  initialDelay: 2s
                  successCondition: result >= 0.95
                  provider:
                    slipway:
                      slot: canary
                      metric: success-rate
                      window: 2s
        on:
          failure:
            steps:
            - task: SlipwayTraffic@1
              inputs:
                service: web
                action: rollback
                slot: canary
          success:
            steps:
            - task: SlipwayTraffic@1
              inputs:
                service: web
                action: promote
                slot: canary
"
    )
}

/// A canary judged by the version's own counts (`/stats` of the demo service, Argo's `web`
/// provider), for a service nginx fronts (nginx counts its requests, not Slipway).
fn canary_judged_by_the_service(slipway: &str) -> String {
    canary_release(slipway).replace(
        r"              template: |
                metrics:
                - name: success-rate
                  interval: 2s
                  count: 3
                  initialDelay: 2s
                  successCondition: result >= 0.95
                  provider:
                    slipway:
                      slot: canary
                      metric: success-rate
                      window: 2s
",
        r"              args: canary=$(upstream)
              template: |
                args:
                - name: canary
                metrics:
                - name: error-rate
                  interval: 2s
                  count: 2
                  initialDelay: 2s
                  successCondition: result <= 0.05
                  provider:
                    web:
                      url: '{{args.canary}}/stats'
                      jsonPath: '{$.errorRate}'
",
    )
}

/// A canary of `parameters.version` answering `parameters.latency` ms slower, judged by the
/// statistical judge against a baseline (the stable version started again beside it), both given
/// the same share of the traffic.
fn judged_canary(slipway: &str) -> String {
    format!(
        r"trigger: none
parameters:
- name: version
  type: string
- name: latency
  type: string
  default: '0'
stages:
- stage: release
  jobs:
  - deployment: web
    environment: production
    strategy:
      canary:
        increments: [20]
        deploy:
          steps:
          - task: SlipwayDeploySlot@1
            condition: and(succeeded(), ne(variables['Strategy.Action'], 'promote'))
            inputs:
              service: web
              slot: baseline
              sameAs: stable
          - task: SlipwayDeploySlot@1
            condition: and(succeeded(), ne(variables['Strategy.Action'], 'promote'))
            inputs:
              service: web
              slot: canary
              command: {slipway}
              arguments: demo-service --version ${{{{ parameters.version }}}} --latency-ms ${{{{ parameters.latency }}}}
        routeTraffic:
          steps:
          - task: SlipwayTraffic@1
            condition: and(succeeded(), ne(variables['Strategy.Action'], 'promote'))
            inputs:
              service: web
              action: weights
              weights: |
                stable=60
                canary=20
                baseline=20
        postRouteTraffic:
          steps:
          - task: SlipwayAnalysis@1
            condition: and(succeeded(), ne(variables['Strategy.Action'], 'promote'))
            inputs:
              service: web
              loadRequestsPerSecond: 100
              template: |
                metrics:
                - name: judge
                  initialDelay: 7s
                  provider:
                    judge:
                      canary: canary
                      baseline: baseline
                      metrics: [error-rate, latency-p50]
                      window: 6s
                      config:
                        metrics:
                          latency-p50: {{critical: true}}
        on:
          failure:
            steps:
            - task: SlipwayTraffic@1
              inputs:
                service: web
                action: rollback
                slot: canary
            - task: SlipwayTraffic@1
              inputs:
                service: web
                action: retire
                slot: baseline
          success:
            steps:
            - task: SlipwayTraffic@1
              inputs:
                service: web
                action: promote
                slot: canary
            - task: SlipwayTraffic@1
              inputs:
                service: web
                action: retire
                slot: baseline
"
    )
}

/// Blue-green: version 4 into the `green` slot, which never becomes healthy (`--unhealthy`), so
/// it is never registered and the swap never happens.
fn blue_green(slipway: &str) -> String {
    format!(
        r"trigger: none
stages:
- stage: release
  jobs:
  - deployment: web
    environment: production
    strategy:
      runOnce:
        deploy:
          steps:
          - task: SlipwayDeploySlot@1
            inputs:
              service: web
              slot: green
              command: {slipway}
              arguments: demo-service --version v4 --unhealthy
              healthTimeoutSeconds: 3
        routeTraffic:
          steps:
          - task: SlipwayTraffic@1
            inputs:
              service: web
              action: swap
              slot: green
              with: stable
"
    )
}

/// Blue-green that works: version 5 into `green`, healthy, then swapped with `stable`.
fn blue_green_swap(slipway: &str) -> String {
    blue_green(slipway).replace("--version v4 --unhealthy", "--version v5")
}

/// A version the pipeline's own steps run elsewhere, registered by its address.
const REGISTER: &str = r"trigger: none
parameters:
- name: upstream
  type: string
jobs:
- deployment: external
  environment: production
  strategy:
    runOnce:
      deploy:
        steps:
        - task: SlipwayTraffic@1
          inputs:
            service: web
            action: register
            slot: external
            upstream: ${{ parameters.upstream }}
            weight: 100
";

/// A tiny HTTP server on loopback answering every request with `{"version": "<version>"}`.
fn external_version(version: &'static str) -> std::net::SocketAddr {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|error| panic!("{error}"));
    let address = listener.local_addr().unwrap_or_else(|error| panic!("{error}"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buffer = [0_u8; 4096];
            let _ = stream.read(&mut buffer);
            let body = format!("{{\"version\":\"{version}\"}}");
            let answer =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    address
}

/// A job that is not a deployment job may not touch services.
const NOT_A_DEPLOYMENT: &str = r"trigger: none
steps:
- task: SlipwayTraffic@1
  inputs:
    service: web
    action: route
    slot: stable
    percent: 0
";

/// A free loopback address, for a service's router.
fn free_address() -> String {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.to_string())
        .unwrap_or_default()
}

/// Environment `production` with the service `web`, its router (`provider`) on `listen`, and a
/// pipeline NAME of `NAME.yml` in the server's `repo` for each name.
fn set_up(server: &Server, listen: &str, provider: &str, pipelines: &[&str]) {
    let mut commands: Vec<Vec<String>> = vec![
        vec!["environments".into(), "create".into(), "production".into()],
        ["services", "create", "production", "web", "--listen", listen, "--provider", provider]
            .map(str::to_owned)
            .to_vec(),
    ];
    for name in pipelines {
        commands.push(
            ["pipelines", "create", "--name", name, "--repo", "repo", "--file", &format!("{name}.yml")]
                .map(str::to_owned)
                .to_vec(),
        );
    }
    for arguments in commands {
        let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
        let (ok, text) = output(&mut server.admin(&arguments));
        assert!(ok, "slipway {arguments:?}: {text}");
    }
}

/// Runs the pipeline `first` (version 1 into the stable slot), which must succeed.
fn first_release_runs(server: &Server) {
    let (ok, text) = output(&mut server.admin(&["pipelines", "run", "first", "--wait"]));
    assert!(ok, "the first release failed:\n{text}\n{}", server.output());
}

/// GETs `/` through the router at `address`: the status line's code and the body.
fn through(address: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let Ok(mut stream) = std::net::TcpStream::connect(address) else { return (0, String::new()) };
    let _ = stream.write_all(b"GET / HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let code = answer.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    (code, answer.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned())
}

/// The versions that answered `count` requests through the router.
fn versions(address: &str, count: usize) -> std::collections::BTreeMap<String, usize> {
    let mut seen = std::collections::BTreeMap::new();
    for _ in 0..count {
        let (code, body) = through(address);
        let version = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|json| json["version"].as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("status {code}: {body}"));
        *seen.entry(version).or_default() += 1;
    }
    seen
}

fn deployments(server: &Server) -> Vec<serde_json::Value> {
    let (_, text) = output(&mut server.admin(&["environments", "deployments", "production", "--format", "json"]));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|error| panic!("{error}: {text}"));
    json["deployments"].as_array().cloned().unwrap_or_else(|| json.as_array().cloned().unwrap_or_default())
}

#[test]
fn a_bad_canary_is_rolled_back_on_its_own_and_a_good_one_is_promoted() {
    let server = Server::start();
    let slipway = env!("CARGO_BIN_EXE_slipway");
    make_repository(
        &server.dir.join("repo"),
        &[
            ("first.yml", &first_release(slipway)),
            ("canary.yml", &canary_release(slipway)),
            ("bluegreen.yml", &blue_green(slipway)),
            ("swap.yml", &blue_green_swap(slipway)),
            ("register.yml", REGISTER),
            ("plain.yml", NOT_A_DEPLOYMENT),
        ],
    );
    let listen = free_address();
    set_up(&server, &listen, "router", &["first", "canary", "bluegreen", "plain", "swap", "register"]);

    // Version 1 goes straight to the stable slot and takes all the traffic.
    first_release_runs(&server);
    assert_eq!(versions(&listen, 10), [("v1".to_owned(), 10)].into(), "{}", server.output());

    // Version 2 answers 500 to 40% of requests: the analysis fails, and the on-failure hook puts
    // all the traffic back on version 1 and retires the canary.
    let (ok, text) = output(&mut server.admin(&[
        "pipelines",
        "run",
        "canary",
        "--param",
        "version=v2",
        "--param",
        "errorRate=0.4",
        "--wait",
    ]));
    assert!(!ok, "the bad canary's run should fail:\n{text}");
    assert!(text.contains("success-rate"), "the log tells the measurements:\n{text}");
    assert_eq!(versions(&listen, 20), [("v1".to_owned(), 20)].into(), "traffic is back on v1:\n{text}");
    let recorded = deployments(&server);
    let last = recorded.first().cloned().unwrap_or_default();
    assert_eq!(last["outcome"], "rolledBack", "{last:#}");
    assert_eq!(last["result"], "Failed", "{last:#}");
    let detail = last["outcomeDetail"].as_str().unwrap_or_default();
    assert!(detail.contains("Failed") && detail.contains("success-rate"), "the analysis that caused it: {detail}");
    assert!(last["analysisRun"].as_i64().is_some(), "{last:#}");

    // Version 3 is good: promoted, it takes all the traffic in the stable slot, and version 1 stops.
    let (ok, text) = output(&mut server.admin(&["pipelines", "run", "canary", "--param", "version=v3", "--wait"]));
    assert!(ok, "the good canary's run failed:\n{text}\n{}", server.output());
    assert_eq!(versions(&listen, 20), [("v3".to_owned(), 20)].into(), "{text}");
    let last = deployments(&server).first().cloned().unwrap_or_default();
    assert_eq!(last["outcome"], "promoted", "{last:#}");
    assert_eq!(last["result"], "Succeeded", "{last:#}");
    let (_, services) = output(&mut server.admin(&["services", "list", "production", "--format", "json"]));
    assert!(services.contains("stable") && !services.contains("canary"), "{services}");

    // The manual rollback: version 1's deployment deployed again, recorded as one.
    let first_deployment = recorded.last().and_then(|deployment| deployment["id"].as_i64()).unwrap_or_default();
    let (ok, text) =
        output(&mut server.admin(&["environments", "redeploy", "production", &first_deployment.to_string()]));
    assert!(ok && text.contains("is queued again"), "{text}");
    let mut last = serde_json::Value::Null;
    for _ in 0..300 {
        last = deployments(&server).first().cloned().unwrap_or_default();
        if last["result"].is_string() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        (last["outcome"].as_str(), last["result"].as_str()),
        (Some("redeployed"), Some("Succeeded")),
        "{last:#}"
    );
    assert!(last["outcomeDetail"].as_str().is_some_and(|detail| detail.contains("manual rollback")), "{last:#}");
    assert_eq!(versions(&listen, 10), [("v1".to_owned(), 10)].into(), "v1 serves again");
    let (ok, text) = output(&mut server.admin(&["environments", "redeploy", "production", "999"]));
    assert!(!ok && text.contains("has no deployment 999"), "{text}");

    // Blue-green: the green version never answers its health check, so it never takes traffic.
    let (ok, text) = output(&mut server.admin(&["pipelines", "run", "bluegreen", "--wait"]));
    assert!(!ok, "the blue-green run with an unhealthy version should fail:\n{text}");
    assert!(text.contains("not healthy") || text.contains("healthy within"), "says why:\n{text}");
    assert_eq!(versions(&listen, 10), [("v1".to_owned(), 10)].into(), "{text}");
    let (_, services) = output(&mut server.admin(&["services", "list", "production", "--format", "json"]));
    assert!(!services.contains("green"), "the unhealthy version was never registered: {services}");
    let last = deployments(&server).first().cloned().unwrap_or_default();
    assert_eq!((last["result"].as_str(), last["outcome"].as_str()), (Some("Failed"), Some("failed")), "{last:#}");

    // Only deployment jobs, and only for their own environment's services.
    let (ok, text) = output(&mut server.admin(&["pipelines", "run", "plain", "--wait"]));
    assert!(!ok && text.contains("is not a deployment job"), "{text}");
    assert_eq!(versions(&listen, 5), [("v1".to_owned(), 5)].into(), "{text}");

    // Blue-green that works: the healthy green version takes all the traffic at once.
    let (ok, text) = output(&mut server.admin(&["pipelines", "run", "swap", "--wait"]));
    assert!(ok, "{text}\n{}", server.output());
    assert_eq!(versions(&listen, 10), [("v5".to_owned(), 10)].into(), "{text}");

    // A version the pipeline's steps run elsewhere joins by its address.
    let external = format!("http://{}", external_version("elsewhere"));
    let (ok, text) = output(&mut server.admin(&[
        "pipelines",
        "run",
        "register",
        "--param",
        &format!("upstream={external}"),
        "--wait",
    ]));
    assert!(ok, "{text}");
    let seen = versions(&listen, 40);
    assert!(seen.contains_key("elsewhere") && seen.contains_key("v5") && seen.len() == 2, "{seen:?}");
}

/// Asks through `address` until every one of 10 answers comes from `version` (nginx takes a new
/// configuration a moment after it is told to reload); what was seen last.
fn settles_on(address: &str, version: &str) -> std::collections::BTreeMap<String, usize> {
    let wanted: std::collections::BTreeMap<String, usize> = [(version.to_owned(), 10)].into();
    let mut seen = versions(address, 10);
    for _ in 0..100 {
        if seen == wanted {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        seen = versions(address, 10);
    }
    seen
}

#[test]
fn the_same_canary_through_nginx_is_rolled_back_on_its_own() {
    let dir = scratch_directory("server");
    let Some(nginx) = slipway_testing::nginx::nginx_or_skip("a canary through nginx", &dir.join("nginx"))
        .unwrap_or_else(|error| panic!("{error}"))
    else {
        return;
    };
    std::fs::create_dir_all(dir.join("cwd")).unwrap_or_else(|error| panic!("{error}"));
    let main_config = nginx.main_config.display().to_string();
    let services_dir = nginx.services.display().to_string();
    let server = Server::start_at(
        dir.clone(),
        &dir.join("cwd"),
        &["--nginx-config", &main_config, "--nginx-services", &services_dir],
    );
    let slipway = env!("CARGO_BIN_EXE_slipway");
    let canary = canary_judged_by_the_service(slipway);
    assert!(canary.contains("/stats"), "the template was replaced");
    make_repository(&server.dir.join("repo"), &[("first.yml", &first_release(slipway)), ("canary.yml", &canary)]);
    let listen = free_address();
    set_up(&server, &listen, "nginx", &["first", "canary"]);
    first_release_runs(&server);
    assert_eq!(settles_on(&listen, "v1"), [("v1".to_owned(), 10)].into(), "{}", server.output());

    let (ok, text) = output(&mut server.admin(&[
        "pipelines",
        "run",
        "canary",
        "--param",
        "version=v2",
        "--param",
        "errorRate=0.4",
        "--wait",
    ]));
    assert!(!ok, "the bad canary's run should fail:\n{text}");
    assert!(text.contains("error-rate: Failed"), "judged by the service's own counts:\n{text}\n{}", server.output());
    assert_eq!(settles_on(&listen, "v1"), [("v1".to_owned(), 10)].into(), "back on v1 through nginx:\n{text}");
    let last = deployments(&server).first().cloned().unwrap_or_default();
    assert_eq!(last["outcome"], "rolledBack", "{last:#}");

    let (ok, text) = output(&mut server.admin(&["pipelines", "run", "canary", "--param", "version=v3", "--wait"]));
    assert!(ok, "the good canary's run failed:\n{text}\n{}", server.output());
    assert_eq!(settles_on(&listen, "v3"), [("v3".to_owned(), 10)].into(), "{text}");
    drop(server);
    drop(nginx);
}

#[test]
fn a_canary_slower_than_its_baseline_is_caught_by_the_statistical_judge() {
    let server = Server::start();
    let slipway = env!("CARGO_BIN_EXE_slipway");
    make_repository(
        &server.dir.join("repo"),
        &[("first.yml", &first_release(slipway)), ("judged.yml", &judged_canary(slipway))],
    );
    let listen = free_address();
    set_up(&server, &listen, "router", &["first", "judged"]);
    first_release_runs(&server);

    // 25 ms slower than the baseline, with the same (zero) error rate: the judge's latency
    // comparison, a critical metric, fails it.
    let (ok, text) = output(&mut server.admin(&[
        "pipelines",
        "run",
        "judged",
        "--param",
        "version=v2",
        "--param",
        "latency=25",
        "--wait",
    ]));
    assert!(!ok, "the slow canary's run should fail:\n{text}\n{}", server.output());
    assert!(text.contains("judge: Failed"), "the judge's measurement is logged:\n{text}");
    assert_eq!(versions(&listen, 10), [("v1".to_owned(), 10)].into(), "back on v1 alone:\n{text}");
    let last = deployments(&server).first().cloned().unwrap_or_default();
    assert_eq!(last["outcome"], "rolledBack", "{last:#}");
    let (_, services) = output(&mut server.admin(&["services", "list", "production", "--format", "json"]));
    assert!(!services.contains("baseline") && !services.contains("canary"), "{services}");
}

#[test]
fn an_inconclusive_analysis_waits_for_a_person_to_decide() {
    let server = Server::start();
    let slipway = env!("CARGO_BIN_EXE_slipway");
    // Neither condition holds for a canary whose success rate is about 0.8.
    let unsure = canary_release(slipway).replace(
        "                  successCondition: result >= 0.95\n",
        "                  successCondition: result >= 0.99\n                  failureCondition: result < 0.5\n",
    );
    assert!(unsure.contains("failureCondition"), "the conditions were replaced");
    make_repository(&server.dir.join("repo"), &[("first.yml", &first_release(slipway)), ("unsure.yml", &unsure)]);
    let listen = free_address();
    set_up(&server, &listen, "router", &["first", "unsure"]);
    first_release_runs(&server);

    let mut waiting = server
        .admin(&["pipelines", "run", "unsure", "--param", "version=v2", "--param", "errorRate=0.2", "--wait"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("{error}"));
    // The canary's analysis is the server's first; it ends inconclusive and waits.
    let mut shown = String::new();
    for _ in 0..300 {
        shown = output(&mut server.admin(&["analysis", "show", "1", "--format", "json"])).1;
        if shown.contains("\"phase\": \"Inconclusive\"") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(shown.contains("\"phase\": \"Inconclusive\""), "{shown}\n{}", server.output());
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert!(matches!(waiting.try_wait(), Ok(None)), "the run waits for the decision");
    let (ok, decided) =
        output(&mut server.admin(&["analysis", "decide", "1", "--pass", "--comment", "errors are expected today"]));
    assert!(ok && decided.contains("Analysis run 1: Successful"), "{decided}");
    assert!(decided.contains("passed by admin: errors are expected today"), "{decided}");
    let (ok, again) = output(&mut server.admin(&["analysis", "decide", "1", "--fail"]));
    assert!(!ok && again.contains("not inconclusive"), "decided once: {again}");
    let finished = waiting.wait_with_output().unwrap_or_else(|error| panic!("{error}"));
    let text = String::from_utf8_lossy(&finished.stdout).into_owned();
    assert!(finished.status.success(), "the run goes on once decided:\n{text}\n{}", server.output());
    assert!(text.contains("is inconclusive") && text.contains("slipway analysis decide 1"), "{text}");
    let last = deployments(&server).first().cloned().unwrap_or_default();
    assert_eq!(last["outcome"], "promoted", "{last:#}");
}

/// A chaos experiment against the stable slot: `fault` is the method's fault provider's fields.
fn chaos_pipeline(listen: &str, fault: &str) -> String {
    format!(
        r"trigger: none
jobs:
- deployment: chaos
  environment: production
  strategy:
    runOnce:
      deploy:
        steps:
        - task: SlipwayChaos@1
          inputs:
            service: web
            loadRequestsPerSecond: 60
            experiment: |
              title: the stable version under a fault
              steady-state-hypothesis:
                title: it answers
                probes:
                - type: probe
                  name: success rate
                  tolerance: [0.95, 1.0]
                  pauses: {{before: 2}}
                  provider: {{type: slipway, slot: stable, metric: success-rate, window: 2}}
                - type: probe
                  name: health
                  tolerance: 200
                  provider: {{type: http, url: 'http://{listen}/healthz'}}
              method:
              - type: action
                name: the fault
                pauses: {{after: 3}}
                provider: {{type: fault, slot: stable, duration: 20, {fault}}}
              rollbacks: []
"
    )
}

#[test]
fn a_chaos_experiment_passes_when_the_steady_state_holds_and_fails_when_it_deviates() {
    let server = Server::start();
    let slipway = env!("CARGO_BIN_EXE_slipway");
    let listen = free_address();
    make_repository(
        &server.dir.join("repo"),
        &[
            ("first.yml", &first_release(slipway)),
            ("slow.yml", &chaos_pipeline(&listen, "fault: latency, latency_ms: 30, percent: 50")),
            ("broken.yml", &chaos_pipeline(&listen, "fault: error, status: 503, percent: 60")),
        ],
    );
    set_up(&server, &listen, "router", &["first", "slow", "broken"]);
    first_release_runs(&server);

    // Slower answers for half the requests: the steady state holds.
    let (ok, text) = output(&mut server.admin(&["pipelines", "run", "slow", "--wait"]));
    assert!(ok, "the service tolerates latency:\n{text}\n{}", server.output());
    assert!(text.contains("the steady state held"), "{text}");
    assert!(text.contains("Method: the fault: succeeded"), "{text}");
    assert!(text.contains("artifact 'chaos-journal-1'"), "the journal is kept with the run:\n{text}");

    // Errors for 60% of the requests: it deviates, the step fails with the evidence.
    let (ok, text) = output(&mut server.admin(&["pipelines", "run", "broken", "--wait"]));
    assert!(!ok, "the service does not tolerate errors:\n{text}");
    assert!(text.contains("OUT of tolerance"), "the evidence:\n{text}");
    assert!(text.contains("deviated from its steady state"), "{text}");
    // The faults were taken away at the end.
    assert_eq!(versions(&listen, 20), [("v1".to_owned(), 20)].into(), "{text}");
}

#[test]
fn a_pipeline_releases_a_feature_without_deploying() {
    let server = Server::start();
    let flags = r#"{"flags": {"banner-color": {"state": "ENABLED", "variants": {"red": "f00", "blue": "00f"}, "defaultVariant": "red"}}}"#;
    std::fs::write(server.dir.join("flags.json"), flags).unwrap_or_else(|error| panic!("{error}"));
    let release = |flag: &str| {
        format!(
            r"trigger: none
jobs:
- deployment: release
  environment: production
  strategy:
    runOnce:
      deploy:
        steps:
        - task: SlipwayFeatureFlag@1
          inputs:
            flag: {flag}
            variant: blue
"
        )
    };
    make_repository(
        &server.dir.join("repo"),
        &[("blue.yml", &release("banner-color")), ("missing.yml", &release("no-such-flag"))],
    );
    for arguments in [
        &["environments", "create", "production"][..],
        &["flags", "import", "production", "flags.json"],
        &["pipelines", "create", "--name", "blue", "--repo", "repo", "--file", "blue.yml"],
        &["pipelines", "create", "--name", "missing", "--repo", "repo", "--file", "missing.yml"],
    ] {
        let (ok, text) = output(&mut server.admin(arguments));
        assert!(ok, "slipway {arguments:?}: {text}");
    }
    let (_, before) = output(&mut server.admin(&["flags", "eval", "production", "banner-color"]));
    assert!(before.contains("f00") && !before.contains("00f"), "{before}");
    let (ok, text) = output(&mut server.admin(&["pipelines", "run", "blue", "--wait"]));
    assert!(ok && text.contains("Flag 'banner-color' of production is ENABLED with default variant blue"), "{text}");
    let (_, after) = output(&mut server.admin(&["flags", "eval", "production", "banner-color"]));
    assert!(after.contains("00f"), "the application now gets blue: {after}");
    let (ok, text) = output(&mut server.admin(&["pipelines", "run", "missing", "--wait"]));
    assert!(!ok && text.contains("environment 'production' has no flag 'no-such-flag'"), "{text}");
}

#[test]
fn a_canary_judged_by_a_real_prometheus_scraping_the_router_is_rolled_back() {
    let server = Server::start();
    let target = server.url.trim_start_matches("http://").to_owned();
    let configuration = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n- job_name: slipway\n  scrape_interval: 1s\n  \
         metrics_path: /api/v1/metrics/router\n  authorization:\n    credentials: {}\n  static_configs:\n  - targets: \
         ['{target}']\n",
        server.token
    );
    let Some(prometheus) =
        slipway_testing::prometheus::prometheus_or_skip("a canary judged by Prometheus", &configuration)
            .unwrap_or_else(|error| panic!("{error}"))
    else {
        return;
    };
    let slipway = env!("CARGO_BIN_EXE_slipway");
    // The canary's share of 5xx answers over the last 5 seconds, as Prometheus computes it from
    // the router's counters.
    let judged = canary_release(slipway).replace(
        r"                - name: success-rate
                  interval: 2s
                  count: 3
                  initialDelay: 2s
                  successCondition: result >= 0.95
                  provider:
                    slipway:
                      slot: canary
                      metric: success-rate
                      window: 2s
",
        &format!(
            r#"                - name: error-share
                  interval: 2s
                  count: 3
                  initialDelay: 6s
                  successCondition: len(result) > 0 && result[0] < 0.05
                  provider:
                    prometheus:
                      address: {}
                      query: sum(rate(slipway_router_requests_total{{slot="canary",class="5xx"}}[5s])) / sum(rate(slipway_router_requests_total{{slot="canary"}}[5s]))
"#,
            prometheus.url
        ),
    );
    assert!(judged.contains("prometheus:"), "the template was replaced");
    make_repository(&server.dir.join("repo"), &[("first.yml", &first_release(slipway)), ("canary.yml", &judged)]);
    let listen = free_address();
    set_up(&server, &listen, "router", &["first", "canary"]);
    first_release_runs(&server);
    let (ok, text) = output(&mut server.admin(&[
        "pipelines",
        "run",
        "canary",
        "--param",
        "version=v2",
        "--param",
        "errorRate=0.4",
        "--wait",
    ]));
    assert!(!ok, "the bad canary's run should fail:\n{text}");
    assert!(text.contains("error-share: Failed ([0."), "Prometheus's vector is the measurement:\n{text}");
    assert_eq!(versions(&listen, 10), [("v1".to_owned(), 10)].into(), "{text}");
    let (ok, text) = output(&mut server.admin(&["pipelines", "run", "canary", "--param", "version=v3", "--wait"]));
    assert!(ok, "the good canary is promoted:\n{text}\n{}", server.output());
    assert!(text.contains("error-share: Successful ([0"), "{text}");
    assert_eq!(versions(&listen, 10), [("v3".to_owned(), 10)].into(), "{text}");
}
