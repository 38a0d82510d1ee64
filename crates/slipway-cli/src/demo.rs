//! `slipway demo-service`: the tiny HTTP service of [`slipway_delivery::demo`], to try
//! progressive delivery with (a slot started by a deployment gets its port as `$PORT`). It
//! serves until SIGTERM or Ctrl-C. Bad arguments are one line on standard error and exit
//! status 2; a failure to serve is exit status 1.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use slipway_delivery::demo::{self, DemoOptions};

/// Arguments of `slipway demo-service`.
#[derive(Args, Debug)]
pub struct DemoServiceArgs {
    /// The address and port to listen on, e.g. `0.0.0.0:8080`.
    #[arg(long, value_name = "ADDR", conflicts_with = "port")]
    listen: Option<String>,
    /// The port to listen on, on 127.0.0.1 [default: $PORT].
    #[arg(long, value_name = "N")]
    port: Option<u16>,
    /// The version it says it is (at `/` and `/version`).
    #[arg(long, value_name = "TEXT")]
    version: String,
    /// The fraction of requests to `/` answered 500, from 0 to 1.
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    error_rate: f64,
    /// Milliseconds added to each answer of `/`.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    latency_ms: u64,
    /// Answer `/healthz` with 503.
    #[arg(long)]
    unhealthy: bool,
}

/// Where to listen: `--listen`, else 127.0.0.1 on `--port`, else on `$PORT` (`environment_port`).
fn listen_address(
    listen: Option<&str>,
    port: Option<u16>,
    environment_port: Option<&str>,
) -> Result<SocketAddr, String> {
    let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);
    if let Some(listen) = listen {
        return listen
            .parse()
            .map_err(|_| format!("--listen takes an address and a port, such as 127.0.0.1:8080, not '{listen}'"));
    }
    if let Some(port) = port {
        return Ok(SocketAddr::new(localhost, port));
    }
    match environment_port {
        Some(text) => text
            .trim()
            .parse()
            .map(|port| SocketAddr::new(localhost, port))
            .map_err(|_| format!("PORT is not a port number: '{text}'")),
        None => Err("no port to listen on: give --port N or --listen ADDR, or set PORT".to_owned()),
    }
}

/// The options of the demo service, or what is wrong with the arguments.
fn options(args: &DemoServiceArgs, environment_port: Option<&str>) -> Result<DemoOptions, String> {
    if !(0.0..=1.0).contains(&args.error_rate) {
        return Err(format!("--error-rate is a fraction of requests, from 0 to 1, not {}", args.error_rate));
    }
    Ok(DemoOptions {
        listen: listen_address(args.listen.as_deref(), args.port, environment_port)?,
        version: args.version.clone(),
        error_rate: args.error_rate,
        latency: Duration::from_millis(args.latency_ms),
        healthy: !args.unhealthy,
    })
}

/// `slipway demo-service`.
pub fn demo_service_command(args: &DemoServiceArgs) -> ExitCode {
    let environment_port = std::env::var("PORT").ok();
    let options = match options(args, environment_port.as_deref()) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let listen = options.listen;
    eprintln!("demo service {} listening on http://{listen}", options.version);
    match demo::run_blocking(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: cannot serve on {listen}: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[derive(clap::Parser)]
    struct Command {
        #[command(flatten)]
        args: DemoServiceArgs,
    }

    fn parse(arguments: &[&str]) -> DemoServiceArgs {
        let parsed = Command::try_parse_from(std::iter::once("demo-service").chain(arguments.iter().copied()));
        parsed.unwrap_or_else(|error| panic!("{error}")).args
    }

    #[test]
    fn the_port_comes_from_the_arguments_or_the_environment() {
        let address = |listen, port, environment| listen_address(listen, port, environment).map(|a| a.to_string());
        assert_eq!(address(Some("0.0.0.0:80"), None, Some("9")), Ok("0.0.0.0:80".to_owned()));
        assert_eq!(address(None, Some(81), Some("9")), Ok("127.0.0.1:81".to_owned()));
        assert_eq!(address(None, None, Some("8082")), Ok("127.0.0.1:8082".to_owned()));
        assert_eq!(
            address(None, None, None),
            Err("no port to listen on: give --port N or --listen ADDR, or set PORT".to_owned())
        );
        assert_eq!(address(None, None, Some("web")), Err("PORT is not a port number: 'web'".to_owned()));
        assert!(address(Some("localhost"), None, None).is_err_and(|error| error.starts_with("--listen takes")));
    }

    #[test]
    fn arguments_become_options() {
        let args = parse(&["--version", "2.0", "--error-rate", "0.25", "--latency-ms", "5", "--unhealthy"]);
        let made = options(&args, Some("7000")).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(made.listen.to_string(), "127.0.0.1:7000");
        assert_eq!((made.version.as_str(), made.error_rate), ("2.0", 0.25));
        assert_eq!((made.latency, made.healthy), (Duration::from_millis(5), false));
        let args = parse(&["--version", "2.0", "--port", "7001", "--error-rate", "1.5"]);
        assert_eq!(
            options(&args, None).err(),
            Some("--error-rate is a fraction of requests, from 0 to 1, not 1.5".into())
        );
        assert!(Command::try_parse_from(["demo-service", "--version", "1", "--port", "1", "--listen", "x"]).is_err());
    }
}
