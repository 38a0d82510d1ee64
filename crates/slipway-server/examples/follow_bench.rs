//! Log streaming benchmark client (`bench/server.sh`): follows one run's log with N live followers.
//!
//! `follow_bench ADDRESS TOKEN RUN_ID FOLLOWERS` opens FOLLOWERS connections to
//! `GET /api/v1/runs/RUN_ID/logs?follow=true` (server-sent events), counts the `log` events each
//! one receives until the `end` event, and prints, as one JSON line, how many lines each follower
//! got (minimum and maximum) and the seconds from the start until the first and the last follower
//! saw the end. Plain HTTP/1.0 over a TCP socket, so that the body is not chunked and the
//! client stays out of the measurement's way.

use std::process::ExitCode;
use std::time::Instant;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const LOG_EVENT: &[u8] = b"event: log";
const END_EVENT: &[u8] = b"event: end";

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).filter(|window| *window == needle).count()
}

async fn follow(address: String, token: String, run: i64) -> Result<(usize, f64), String> {
    let started = Instant::now();
    let mut stream = tokio::net::TcpStream::connect(&address).await.map_err(|error| error.to_string())?;
    let request = format!(
        "GET /api/v1/runs/{run}/logs?follow=true HTTP/1.0\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.map_err(|error| error.to_string())?;
    let mut lines = 0;
    let mut carry: Vec<u8> = Vec::new();
    let mut buffer = vec![0_u8; 64 * 1024];
    loop {
        let read = stream.read(&mut buffer).await.map_err(|error| error.to_string())?;
        if read == 0 {
            return Err(format!("the stream ended without an end event after {lines} lines"));
        }
        carry.extend_from_slice(&buffer[..read]);
        lines += count(&carry, LOG_EVENT);
        if count(&carry, END_EVENT) > 0 {
            return Ok((lines, started.elapsed().as_secs_f64()));
        }
        // Keep a tail shorter than a needle, so that a needle split between reads is counted once.
        let keep = carry.len().min(LOG_EVENT.len() - 1);
        carry.drain(..carry.len() - keep);
    }
}

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let [address, token, run, followers] = arguments.as_slice() else {
        eprintln!("usage: follow_bench ADDRESS TOKEN RUN_ID FOLLOWERS");
        return ExitCode::from(2);
    };
    let (Ok(run), Ok(followers)) = (run.parse::<i64>(), followers.parse::<usize>()) else {
        eprintln!("RUN_ID and FOLLOWERS must be numbers");
        return ExitCode::from(2);
    };
    let Ok(runtime) = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build() else {
        eprintln!("cannot start a runtime");
        return ExitCode::FAILURE;
    };
    let results = runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..followers {
            tasks.spawn(follow(address.clone(), token.clone(), run));
        }
        let mut results = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            results.push(joined.map_err(|error| error.to_string()).and_then(|result| result));
        }
        results
    });
    let mut counts = Vec::new();
    let mut times = Vec::new();
    for result in results {
        match result {
            Ok((lines, seconds)) => {
                counts.push(lines);
                times.push(seconds);
            }
            Err(error) => {
                eprintln!("a follower failed: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    let min_lines = counts.iter().min().copied().unwrap_or(0);
    let max_lines = counts.iter().max().copied().unwrap_or(0);
    let first = times.iter().copied().fold(f64::INFINITY, f64::min);
    let last = times.iter().copied().fold(0.0, f64::max);
    println!(
        "{{\"followers\":{followers},\"minLines\":{min_lines},\"maxLines\":{max_lines},\"firstEndSeconds\":{first:.3},\"lastEndSeconds\":{last:.3}}}"
    );
    ExitCode::SUCCESS
}
