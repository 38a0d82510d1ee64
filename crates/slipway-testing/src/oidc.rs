//! A real OpenID Connect provider for tests: the npm package `oidc-provider` (8.8.1, the last
//! line that supports Node 20) run with the machine's `node`, on a free loopback port, with one
//! client (`slipway`, secret `test-secret`, PKCE required) and accounts whose `groups` claim the
//! test chooses. Its development interactions accept any login. Killed on drop.
//!
//! The package is looked for in `SLIPWAY_OIDC_PROVIDER_DIR` (a directory holding
//! `node_modules/oidc-provider`), else in `~/.cache/slipway/oidc-provider`; `.ci/run` installs it
//! there with npm and sets `SLIPWAY_REQUIRE_OIDC=1`.

use std::path::PathBuf;
use std::time::Duration;

/// The client the provider knows.
pub const CLIENT_ID: &str = "slipway";

/// The client's secret.
pub const CLIENT_SECRET: &str = "test-secret";

/// The provider's program: arguments are the port, the client's redirect URI and the accounts'
/// groups as JSON (`{"ada": ["ops"]}`).
const PROVIDER: &str = r"
import { createRequire } from 'node:module';
const require = createRequire(process.env.SLIPWAY_OIDC_MODULES + '/');
const { default: Provider } = await import(require.resolve('oidc-provider'));
const [port, redirect, groups] = [Number(process.argv[2]), process.argv[3], JSON.parse(process.argv[4])];
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{ client_id: 'slipway', client_secret: 'test-secret', redirect_uris: [redirect],
              grant_types: ['authorization_code'], response_types: ['code'] }],
  pkce: { required: () => true },
  cookies: { keys: ['slipway-test-cookie-key'] },
  claims: { openid: ['sub'], profile: ['preferred_username', 'email'], groups: ['groups'] },
  conformIdTokenClaims: false,
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, preferred_username: id, email: `${id}@example.com`, groups: groups[id] ?? [] }),
  }),
});
provider.listen(port, '127.0.0.1');
";

/// An `oidc-provider` started for a test.
#[derive(Debug)]
pub struct TestOidcProvider {
    /// Its issuer (`http://127.0.0.1:PORT`), also the base of its endpoints.
    pub issuer: String,
    child: std::process::Child,
    directory: PathBuf,
}

impl Drop for TestOidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

/// An answer of the provider: its status, `Location` and `Set-Cookie` values, and its body.
struct Answer {
    status: u16,
    location: Option<String>,
    cookies: Vec<String>,
    body: String,
}

/// One HTTP/1.1 request to 127.0.0.1:`port` (`Connection: close`).
fn request(port: u16, method: &str, path: &str, cookies: &str, form: Option<&str>) -> Result<Answer, String> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|error| error.to_string())?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let body = form.unwrap_or_default();
    let content = if form.is_some() {
        format!("Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n", body.len())
    } else {
        String::new()
    };
    let text = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookies}\r\n{content}Connection: close\r\n\r\n{body}"
    );
    stream.write_all(text.as_bytes()).map_err(|error| error.to_string())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).map_err(|error| error.to_string())?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|line| line.split(' ').nth(1)).and_then(|code| code.parse().ok()).unwrap_or(0);
    let (mut location, mut set_cookies) = (None, Vec::new());
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        if name.eq_ignore_ascii_case("location") {
            location = Some(value.trim().to_owned());
        } else if name.eq_ignore_ascii_case("set-cookie")
            && let Some(pair) = value.trim().split(';').next()
        {
            set_cookies.push(pair.to_owned());
        }
    }
    Ok(Answer { status, location, cookies: set_cookies, body: body.to_owned() })
}

impl TestOidcProvider {
    /// Does what a person's browser does after being sent to `authorization_url`: follows the
    /// provider's redirects, signs in as `account` on the login page (any password), then gives
    /// consent (or, when `consent` is false, aborts there), and answers the URL the provider
    /// finally sends the browser to (the client's redirect URI with `code` and `state`, or
    /// `error`).
    ///
    /// # Errors
    /// When the provider answers something unexpected.
    pub fn sign_in(&self, authorization_url: &str, account: &str, consent: bool) -> Result<String, String> {
        let port = self.issuer.rsplit(':').next().and_then(|port| port.parse::<u16>().ok()).unwrap_or(0);
        let mut jar: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
        let mut next = authorization_url.strip_prefix(&self.issuer).unwrap_or(authorization_url).to_owned();
        let mut form: Option<String> = None;
        for _ in 0..20 {
            let cookies = jar.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; ");
            let method = if form.is_some() { "POST" } else { "GET" };
            let answer = request(port, method, &next, &cookies, form.take().as_deref())?;
            for pair in answer.cookies {
                if let Some((name, value)) = pair.split_once('=') {
                    jar.insert(name.trim().to_owned(), value.to_owned());
                }
            }
            match (answer.status, answer.location) {
                (300..=399, Some(location)) => match location.strip_prefix(&self.issuer) {
                    Some(path) => next = path.to_owned(),
                    None if location.starts_with('/') => next = location,
                    None => return Ok(location),
                },
                (200, _) if next.starts_with("/interaction/") => {
                    if answer.body.contains("name=\"login\"") {
                        form = Some(format!("prompt=login&login={account}&password=any"));
                    } else if consent {
                        form = Some("prompt=consent".to_owned());
                    } else {
                        next = format!("{next}/abort");
                    }
                }
                (status, _) => return Err(format!("the provider answered {status} to {next}: {}", answer.body)),
            }
        }
        Err("the provider's sign-in did not end in 20 steps".into())
    }
}

/// Where the npm package is installed.
fn modules() -> PathBuf {
    if let Some(directory) = std::env::var_os("SLIPWAY_OIDC_PROVIDER_DIR").filter(|value| !value.is_empty()) {
        return PathBuf::from(directory).join("node_modules");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache/slipway/oidc-provider/node_modules")
}

/// Whether the discovery document on 127.0.0.1:`port` answers 200.
fn ready(port: u16) -> bool {
    use std::io::{Read as _, Write as _};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = b"GET /.well-known/openid-configuration HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request).is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer.starts_with(b"HTTP/1.1 200")
}

/// Starts `oidc-provider` with `redirect_uri` as its client's and `groups` (JSON: account name to
/// its groups) as the accounts' `groups` claims, or `None` when the machine lacks `node` or the
/// package (the test then says it is skipped, unless `SLIPWAY_REQUIRE_OIDC=1` makes that a
/// failure). Blocking: waits until it answers (at most 15 seconds).
///
/// # Errors
/// When it is there but does not start.
pub fn oidc_provider_or_skip(
    test: &str,
    redirect_uri: &str,
    groups: &serde_json::Value,
) -> Result<Option<TestOidcProvider>, String> {
    let modules = modules();
    let node = std::process::Command::new("node").arg("--version").output();
    let available = match node {
        Ok(output) if output.status.success() => {
            if modules.join("oidc-provider/package.json").is_file() {
                Ok(())
            } else {
                Err(format!(
                    "the npm package oidc-provider is not in {} (npm install --prefix {} oidc-provider@8.8.1)",
                    modules.display(),
                    modules.parent().map_or_else(|| modules.display().to_string(), |dir| dir.display().to_string())
                ))
            }
        }
        _ => Err("node is not installed".to_owned()),
    };
    if !crate::needed_or_skip(test, "OIDC", available) {
        return Ok(None);
    }
    let directory = std::env::temp_dir().join(format!(
        "slipway-oidc-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_nanos())
    ));
    std::fs::create_dir_all(&directory).map_err(|error| format!("{}: {error}", directory.display()))?;
    let program = directory.join("provider.mjs");
    std::fs::write(&program, PROVIDER).map_err(|error| format!("{}: {error}", program.display()))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|error| error.to_string())?
        .port();
    let child = std::process::Command::new("node")
        .arg(&program)
        .arg(port.to_string())
        .arg(redirect_uri)
        .arg(groups.to_string())
        .env("SLIPWAY_OIDC_MODULES", &modules)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|error| format!("node: {error}"))?;
    let mut provider = TestOidcProvider { issuer: format!("http://127.0.0.1:{port}"), child, directory };
    for _ in 0..150 {
        if ready(port) {
            return Ok(Some(provider));
        }
        if let Ok(Some(status)) = provider.child.try_wait() {
            return Err(format!("oidc-provider stopped at once ({status})"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err("oidc-provider did not answer in 15 seconds".into())
}
