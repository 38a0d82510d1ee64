//! `slipway serve --oidc-*` as people run it: a server started with a real OpenID Connect
//! provider (`oidc-provider` run with Node, see `slipway_testing::oidc`) signs a person in over
//! HTTP (the sign-in page's SSO link, `/auth/oidc/start`, the provider's login and consent,
//! `/auth/oidc/callback`, a signed-in page); a provider that cannot be reached, or a missing
//! client secret, stops the start with an error naming the flag, before the data directory is
//! made.

use slipway_testing::oidc::{CLIENT_ID, CLIENT_SECRET, oidc_provider_or_skip};

use crate::support::{Server, scratch_directory, slipway};

/// The address the server is told people reach it at (`--public-url`); the test maps it onto
/// the address it really listens on.
const BASE: &str = "http://slipway.test";

/// An answer: status, `Location`, the cookies set (name=value) and the body.
struct Answer {
    status: u16,
    location: String,
    cookies: Vec<String>,
    body: String,
}

/// A GET that does not follow redirects, with `cookies`.
fn get(url: &str, cookies: &[String]) -> Answer {
    let agent: ureq::Agent = ureq::Agent::config_builder().max_redirects(0).http_status_as_error(false).build().into();
    let mut request = agent.get(url);
    if !cookies.is_empty() {
        request = request.header("cookie", &cookies.join("; "));
    }
    let mut response = request.call().unwrap_or_else(|error| panic!("GET {url}: {error}"));
    let header = |name: &str| {
        response.headers().get_all(name).iter().filter_map(|value| value.to_str().ok()).map(str::to_owned).collect()
    };
    let location: Vec<String> = header("location");
    let set: Vec<String> = header("set-cookie");
    let cookies = set
        .iter()
        .filter(|cookie| !cookie.contains("Max-Age=0"))
        .filter_map(|cookie| cookie.split(';').next().map(str::to_owned))
        .collect();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    Answer { status: response.status().as_u16(), location: location.concat(), cookies, body }
}

#[test]
fn serve_signs_people_in_with_a_real_provider() {
    let groups = serde_json::json!({ "ada": ["ops"], "bob": ["visitors"] });
    let redirect = format!("{BASE}/auth/oidc/callback");
    let provider = match oidc_provider_or_skip("serve_signs_people_in_with_a_real_provider", &redirect, &groups) {
        Ok(Some(provider)) => provider,
        Ok(None) => return,
        Err(error) => panic!("{error}"),
    };
    let dir = scratch_directory("oidc");
    std::fs::create_dir_all(dir.join("cwd")).unwrap_or_else(|error| panic!("{error}"));
    let secret = dir.join("client-secret");
    std::fs::write(&secret, format!("{CLIENT_SECRET}\n")).unwrap_or_else(|error| panic!("{error}"));
    let secret = secret.display().to_string();
    let arguments = [
        "--no-example",
        "--public-url",
        BASE,
        "--oidc-issuer",
        &provider.issuer,
        "--oidc-client-id",
        CLIENT_ID,
        "--oidc-client-secret-file",
        &secret,
        "--oidc-admin-values",
        "ops",
    ];
    let server = Server::start_at(dir.clone(), &dir.join("cwd"), &arguments);

    let login = get(&format!("{}/login?next=/agents", server.url), &[]);
    assert_eq!(login.status, 200);
    assert!(login.body.contains("Sign in with SSO") && login.body.contains("/auth/oidc/start?next=%2Fagents"));

    let sign_in = |account: &str| {
        let started = get(&format!("{}/auth/oidc/start?next=%2Fagents", server.url), &[]);
        assert_eq!(started.status, 303, "{}", started.body);
        assert!(started.location.starts_with(&provider.issuer), "{}", started.location);
        assert!(started.cookies.iter().any(|cookie| cookie.starts_with("slipway_oidc=")), "{:?}", started.cookies);
        let back = provider.sign_in(&started.location, account, true).unwrap_or_else(|error| panic!("{error}"));
        let back = back.strip_prefix(BASE).unwrap_or_else(|| panic!("the provider sent the browser to {back}"));
        get(&format!("{}{back}", server.url), &started.cookies)
    };

    let back = sign_in("ada");
    assert_eq!((back.status, back.location.as_str()), (303, "/agents"), "{}", back.body);
    assert!(back.cookies.iter().any(|cookie| cookie.starts_with("slipway_session=")), "{:?}", back.cookies);
    let agents = get(&format!("{}/agents", server.url), &back.cookies);
    assert_eq!(agents.status, 200, "{}", agents.body);
    assert!(agents.body.contains("ada"));
    let users = get(&format!("{}/admin/users", server.url), &back.cookies);
    assert_eq!(users.status, 200, "ada, in ops, is not an admin: {}", users.body);

    let refused = sign_in("bob");
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("No Slipway role"), "{}", refused.body);
    assert!(server.output().contains("sign-in with OpenID Connect"), "{}", server.output());
}

#[test]
fn serve_stops_at_once_when_the_provider_cannot_be_used() {
    let dir = scratch_directory("oidc-unreachable");
    std::fs::create_dir_all(&dir).unwrap_or_else(|error| panic!("{error}"));
    let secret = dir.join("client-secret");
    std::fs::write(&secret, "s3cret").unwrap_or_else(|error| panic!("{error}"));
    let data = dir.join("data");
    let serve = |extra: &[&str]| {
        let output = slipway(&dir)
            .args(["serve", "--listen", "127.0.0.1:0", "--no-example", "--data-dir"])
            .arg(&data)
            .args(["--oidc-issuer", "http://127.0.0.1:9/realms/main", "--oidc-client-id", "slipway"])
            .args(extra)
            .output()
            .unwrap_or_else(|error| panic!("slipway serve: {error}"));
        (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let secret = secret.display().to_string();
    let (code, stderr) = serve(&["--oidc-client-secret-file", &secret, "--oidc-admin-values", "ops"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "error: --oidc-issuer: the OpenID Connect provider http://127.0.0.1:9/realms/main could not be asked for \
             http://127.0.0.1:9/realms/main/.well-known/openid-configuration"
        ),
        "{stderr}"
    );
    assert!(!data.exists(), "a start that failed made the data directory");

    let (code, stderr) = serve(&["--oidc-admin-values", "ops"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("--oidc-issuer needs the client's secret: give --oidc-client-secret-file FILE"),
        "{stderr}"
    );
    let (code, stderr) = serve(&["--oidc-client-secret-file", &secret]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("give at least one of --oidc-admin-values"), "{stderr}");
    assert!(!data.exists());
}
