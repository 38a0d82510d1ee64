//! `slipway serve`: runs the Slipway server (the API, the orchestrator and the worker slots) on
//! this machine; everything it does is in the `slipway-server` crate.
//!
//! On a first start (a new data directory) from inside a git repository that has
//! `examples/azure-pipelines.yml`, such as a fresh checkout of Slipway, it also registers that
//! file as the pipeline `example` and starts one run of it through the API, so that a new server
//! shows a working run at once (`--no-example` leaves it out).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use slipway_client::Client;
use slipway_client::api::{CreatePipeline, CreateRun};
use slipway_server::{Notice, ServeOptions};

/// The example pipeline's file in a repository, and the name it is registered under.
const EXAMPLE_FILE: &str = "examples/azure-pipelines.yml";
const EXAMPLE_NAME: &str = "example";

/// Arguments of `slipway serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Where the server keeps its database, secret key and runs [default: $SLIPWAY_DATA_DIR, or
    /// ./.slipway].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The database: a `postgres://` URL, or a SQLite file [default: SQLite in the data directory].
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// How many in-process agents run jobs on this machine; 0 makes a server that only
    /// coordinates remote agents [default: the number of cores].
    #[arg(long, visible_alias = "workers", value_name = "N")]
    pub local_agents: Option<u32>,
    /// How often each pipeline's repository is polled for pushes, in seconds; 0 turns polling off
    /// (webhooks, schedules and pipeline completion triggers still work).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub poll_interval: u64,
    /// Mark the web UI's session cookies `Secure` (only sent over https) whatever the request:
    /// for a server behind an https proxy that does not send `X-Forwarded-Proto`.
    #[arg(long)]
    pub secure_cookies: bool,
    /// nginx's main configuration, for services created with `--provider nginx`: it must
    /// `include` the files of `--nginx-services` inside its `http` block; Slipway checks the whole
    /// with `nginx -t` and reloads nginx (`nginx -p DIR -c FILE`, DIR being FILE's directory).
    #[arg(long, value_name = "FILE", requires = "nginx_services")]
    pub nginx_config: Option<PathBuf>,
    /// Where Slipway writes one nginx configuration file per service nginx fronts.
    #[arg(long, value_name = "DIR", requires = "nginx_config")]
    pub nginx_services: Option<PathBuf>,
    /// The nginx binary [default: nginx on the PATH, or /usr/sbin/nginx].
    #[arg(long, value_name = "PATH")]
    pub nginx_binary: Option<PathBuf>,
    /// The server's address as people and agents reach it (`https://ci.example.com`): the builder
    /// named in the provenance it signs for what runs publish, which `slipway verify --builder`
    /// checks [default: http:// and the address it listens on].
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Send each finished run's trace (a span for the run, its stages, jobs and steps, with
    /// OpenTelemetry's CI/CD attributes) over OTLP/HTTP to this receiver, such as
    /// `http://127.0.0.1:4318` (`/v1/traces` is added unless the URL ends with it) [default:
    /// $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else $OTEL_EXPORTER_OTLP_ENDPOINT; none: no traces].
    /// Headers come from $OTEL_EXPORTER_OTLP_HEADERS, the service name from $OTEL_SERVICE_NAME.
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    /// Offer sign-in with OpenID Connect (Keycloak, Dex, Entra ID...) beside personal access
    /// tokens: the provider's issuer URL, exactly as its discovery document
    /// (`ISSUER/.well-known/openid-configuration`) writes it. The provider must allow
    /// `<public-url>/auth/oidc/callback` as the client's redirect URI. See docs/oidc.md.
    #[arg(long, value_name = "URL", requires = "oidc_client_id")]
    pub oidc_issuer: Option<String>,
    /// The client's ID at the OpenID Connect provider.
    #[arg(long, value_name = "ID", requires = "oidc_issuer")]
    pub oidc_client_id: Option<String>,
    /// A file holding the client's secret at the OpenID Connect provider.
    #[arg(long, value_name = "FILE", requires = "oidc_issuer", conflicts_with = "oidc_client_secret")]
    pub oidc_client_secret_file: Option<PathBuf>,
    /// The client's secret itself (visible to other users of this machine in its process list:
    /// prefer --oidc-client-secret-file).
    #[arg(long, value_name = "SECRET", requires = "oidc_issuer")]
    pub oidc_client_secret: Option<String>,
    /// The ID token's claim whose values give Slipway roles, such as `groups` or `roles`.
    #[arg(long, value_name = "CLAIM", default_value = "groups")]
    pub oidc_roles_claim: String,
    /// Values of the roles claim (comma-separated) that make an admin.
    #[arg(long, value_name = "VALUES", requires = "oidc_issuer")]
    pub oidc_admin_values: Option<String>,
    /// Values of the roles claim (comma-separated) that make a contributor.
    #[arg(long, value_name = "VALUES", requires = "oidc_issuer")]
    pub oidc_contributor_values: Option<String>,
    /// Values of the roles claim (comma-separated) that make a reader. Someone whose claim has
    /// none of the mapped values is not let in.
    #[arg(long, value_name = "VALUES", requires = "oidc_issuer")]
    pub oidc_reader_values: Option<String>,
    /// On a first start, do not register the repository's example pipeline.
    #[arg(long)]
    pub no_example: bool,
    /// Run in-process agents' jobs without confining them (by default each job is kept out of the
    /// data directory with Linux Landlock, and where the machine cannot do that the server runs
    /// no in-process agent): their steps can then read and write the server's data directory (the
    /// admin token, the secret key, the database). Only for servers whose pipelines are all
    /// trusted; otherwise run `slipway agent` as another user.
    #[arg(long)]
    pub unconfined_local_agents: bool,
    /// How the server's log lines (on stderr) are written; `RUST_LOG` filters them [default
    /// level: info].
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// The formats of the server's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One line per event for people, with its fields as `name=value`.
    Text,
    /// One JSON object per line, with its fields, for log collectors.
    Json,
}

/// Sends the server's `tracing` events to stderr in `format`, filtered by `RUST_LOG`.
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second initialisation (never in the binary) is not an error worth stopping for.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// The git repository around the current directory, when it has the example pipeline.
fn example_repository() -> Option<PathBuf> {
    let here = std::env::current_dir().ok()?;
    let root = crate::git::repository_root(&here)?;
    root.join(EXAMPLE_FILE).is_file().then_some(root)
}

/// Registers the example pipeline of `repository` on the server at `address` and starts a run of
/// it; says what it did, or why not.
fn register_example(address: SocketAddr, token: &str, repository: &Path) {
    let reachable = match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), address.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), address.port()),
        _ => address,
    };
    let registered = Client::new(&format!("http://{reachable}")).and_then(|client| {
        let client = client.with_token(token);
        let pipeline = CreatePipeline {
            name: EXAMPLE_NAME.to_owned(),
            repository: repository.display().to_string(),
            yaml_path: EXAMPLE_FILE.to_owned(),
            default_branch: String::new(),
        };
        client.create_pipeline(&pipeline)?;
        let run = client.start_run(EXAMPLE_NAME, &CreateRun::default())?;
        Ok((run, client))
    });
    match registered {
        Ok((run, client)) => {
            println!(
                "Registered {EXAMPLE_FILE} of {} as the pipeline '{EXAMPLE_NAME}' and started run {}: {}",
                repository.display(),
                run.id,
                client.run_url(run.id)
            );
        }
        Err(error) => eprintln!("warning: the example pipeline was not registered: {error}"),
    }
}

/// Lease timing from the environment, for tests: `SLIPWAY_LEASE_MS`, `SLIPWAY_HEARTBEAT_MS`,
/// `SLIPWAY_LONG_POLL_MS`.
fn timing_from_environment() -> Option<slipway_server::AgentTiming> {
    let read =
        |name: &str| std::env::var(name).ok().and_then(|text| text.parse::<u64>().ok()).map(Duration::from_millis);
    let (lease, heartbeat, long_poll) =
        (read("SLIPWAY_LEASE_MS"), read("SLIPWAY_HEARTBEAT_MS"), read("SLIPWAY_LONG_POLL_MS"));
    if lease.is_none() && heartbeat.is_none() && long_poll.is_none() {
        return None;
    }
    let defaults = slipway_server::AgentTiming::default();
    Some(slipway_server::AgentTiming {
        lease_duration: lease.unwrap_or(defaults.lease_duration),
        heartbeat_interval: heartbeat.unwrap_or(defaults.heartbeat_interval),
        long_poll: long_poll.unwrap_or(defaults.long_poll),
        kill_grace: read("SLIPWAY_KILL_GRACE_MS").unwrap_or(defaults.kill_grace),
    })
}

/// The OpenID Connect configuration of the `--oidc-*` flags, when `--oidc-issuer` is given.
fn oidc_config(args: &ServeArgs) -> Result<Option<slipway_server::oidc::OidcConfig>, String> {
    use slipway_server::oidc::{OidcConfig, RoleMapping, split_values};
    let Some(issuer) = &args.oidc_issuer else { return Ok(None) };
    let (secret, source) = match (&args.oidc_client_secret_file, &args.oidc_client_secret) {
        (Some(file), _) => {
            let secret = std::fs::read_to_string(file).map_err(|error| {
                format!(
                    "--oidc-client-secret-file {}: {error}: give a file holding the client's secret",
                    file.display()
                )
            })?;
            (secret, file.display().to_string())
        }
        (None, Some(secret)) => (secret.clone(), "of --oidc-client-secret".to_owned()),
        (None, None) => {
            return Err("--oidc-issuer needs the client's secret: give --oidc-client-secret-file FILE (or \
                        --oidc-client-secret)"
                .to_owned());
        }
    };
    let list = |values: &Option<String>| values.as_deref().map(split_values).unwrap_or_default();
    let roles = RoleMapping {
        claim: args.oidc_roles_claim.trim().to_owned(),
        admin: list(&args.oidc_admin_values),
        contributor: list(&args.oidc_contributor_values),
        reader: list(&args.oidc_reader_values),
    };
    let client_id = args.oidc_client_id.as_deref().unwrap_or_default();
    OidcConfig::new(issuer, client_id, &secret, &source, roles).map(Some).map_err(|error| error.to_string())
}

/// `slipway serve`.
pub fn serve_command(args: &ServeArgs) -> ExitCode {
    init_logging(args.log_format);
    let data_dir = args
        .data_dir
        .clone()
        .or_else(|| std::env::var_os("SLIPWAY_DATA_DIR").filter(|dir| !dir.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(".slipway"));
    let traces = match slipway_server::TracesConfig::from_environment(args.otlp_endpoint.as_deref()) {
        Ok(traces) => traces,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let oidc = match oidc_config(args) {
        Ok(oidc) => oidc,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let options = ServeOptions {
        oidc,
        data_dir,
        listen: args.listen,
        public_url: args.public_url.clone(),
        traces,
        database: args.database.clone(),
        workers: args.local_agents.map(|agents| agents as usize),
        poll_interval: Some(std::time::Duration::from_secs(args.poll_interval)),
        secure_cookies: args.secure_cookies,
        timing: timing_from_environment(),
        local_jobs: if args.unconfined_local_agents {
            slipway_server::LocalJobs::Unconfined
        } else {
            slipway_server::LocalJobs::Confined
        },
        nginx: match (&args.nginx_config, &args.nginx_services) {
            (Some(config), Some(services)) => {
                let absolute = |path: &PathBuf| std::path::absolute(path).unwrap_or_else(|_| path.clone());
                let config = absolute(config);
                let binary = args.nginx_binary.clone().unwrap_or_else(|| {
                    let standard = PathBuf::from("/usr/sbin/nginx");
                    if standard.exists() { standard } else { PathBuf::from("nginx") }
                });
                Some(slipway_delivery::nginx::Nginx {
                    binary,
                    prefix: config.parent().map(std::path::Path::to_path_buf).unwrap_or_else(|| PathBuf::from("/")),
                    main_config: config,
                    directory: absolute(services),
                })
            }
            _ => None,
        },
    };
    let mut first_token = None;
    let mut notify = |notice: Notice| match notice {
        Notice::AdminToken { token, path } => {
            println!("Created the user 'admin'. Its token, shown this once (also in {}):", path.display());
            println!("  {token}");
            first_token = Some(token);
        }
        Notice::Listening(address) => {
            println!("Slipway is listening on http://{address}/ (web UI) and http://{address}/api/v1 (API)");
            let Some(token) = first_token.take() else { return };
            println!(
                "Sign in at http://{address}/ as 'admin' with that token, or from another terminal: \
                 slipway login --server http://{address}"
            );
            let example = if args.no_example { None } else { example_repository() };
            if let Some(repository) = example {
                // Through the API, as a person would: the server is serving by now.
                let _ = std::thread::Builder::new()
                    .name("example".into())
                    .spawn(move || register_example(address, &token, &repository));
            }
        }
        Notice::Stopped => eprintln!("Slipway stopped: running jobs finished, queued ones wait for the next start."),
        Notice::LocalAgentsOff(reason) => eprintln!("warning: {reason}"),
    };
    match slipway_server::run(&options, &mut notify) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
