//! A throwaway PostgreSQL server for the tests, one per test process, made from the machine's
//! server binaries; every test gets a database of its own in it.
//!
//! The data directory is copied from a template made once by `initdb` (shared by the test
//! processes of a run, under a file lock), so that starting a server costs a fraction of a second
//! even when every test runs in a process of its own (nextest). The server runs as the `postgres`
//! user when the tests run as root (PostgreSQL refuses to run as root), listens on a free port of
//! 127.0.0.1, and is started through `setpriv --pdeathsig` from a thread that lives as long as the
//! process, so it is stopped when the test process ends, however it ends. Data directories left
//! by processes that died are removed by the next run.
//!
//! `SLIPWAY_TEST_POSTGRES_URL` (an administrator URL such as `postgres://user:pw@host/postgres`)
//! uses an existing server instead; `SLIPWAY_POSTGRES_BIN` names the directory of the binaries.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sqlx::Connection;

/// Where the server is: its administrator URL, without a database name.
struct Server {
    base_url: String,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
static DATABASES: AtomicU32 = AtomicU32::new(0);

/// A new empty database's URL, or why PostgreSQL is not available.
pub async fn new_database() -> Result<String, String> {
    let server = tokio::task::spawn_blocking(|| {
        SERVER
            .get_or_init(|| match std::env::var("SLIPWAY_TEST_POSTGRES_URL") {
                Ok(url) => {
                    Ok(Server { base_url: url.rsplit_once('/').map_or(url.clone(), |(base, _)| base.to_owned()) })
                }
                Err(_) => start_server(),
            })
            .as_ref()
            .map(|server| server.base_url.clone())
            .map_err(Clone::clone)
    })
    .await
    .map_err(|error| error.to_string())??;
    let name = format!("slipway_test_{}_{}", std::process::id(), DATABASES.fetch_add(1, Ordering::SeqCst));
    // The server may still be starting up: retry for a while.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let attempt = async {
            let mut connection = sqlx::PgConnection::connect(&format!("{server}/postgres")).await?;
            sqlx::raw_sql(&format!("CREATE DATABASE {name}")).execute(&mut connection).await?;
            connection.close().await
        };
        match attempt.await {
            Ok(()) => return Ok(format!("{server}/{name}")),
            Err(error) if Instant::now() > deadline => {
                return Err(format!("PostgreSQL at {server} did not accept connections: {error}"));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|error| format!("cannot run {command:?}: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "{command:?} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}

fn binaries() -> Result<PathBuf, String> {
    if let Ok(directory) = std::env::var("SLIPWAY_POSTGRES_BIN") {
        let directory = PathBuf::from(directory);
        if !directory.join("initdb").is_file() || !directory.join("postgres").is_file() {
            return Err(format!("SLIPWAY_POSTGRES_BIN={} has no initdb and postgres", directory.display()));
        }
        return Ok(directory);
    }
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("postgres").is_file() && bin.join("initdb").is_file()).then_some((version, bin))
        })
        .collect();
    found.sort();
    if let Some((_, bin)) = found.pop() {
        return Ok(bin);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .find(|directory| directory.join("initdb").is_file() && directory.join("postgres").is_file())
        .ok_or_else(|| {
            "no PostgreSQL server binaries (initdb, postgres) in /usr/lib/postgresql/*/bin or on the PATH \
             (install Debian's `postgresql` package, or set SLIPWAY_POSTGRES_BIN)"
                .to_owned()
        })
}

/// The user and group ids to run the server as, when the tests run as root.
fn server_user() -> Result<Option<(u32, u32)>, String> {
    let running_as_root = fs::metadata("/proc/self").map(|metadata| metadata.uid() == 0).unwrap_or(false);
    if !running_as_root {
        return Ok(None);
    }
    let id = |flag: &str| -> Result<u32, String> {
        let output = Command::new("id").args([flag, "postgres"]).output().map_err(|error| error.to_string())?;
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .map_err(|_| "the tests run as root and there is no `postgres` user to run PostgreSQL as".to_owned())
    };
    Ok(Some((id("-u")?, id("-g")?)))
}

/// `command` run as the server's user, when there is one.
fn as_server_user(program: &Path, user: Option<(u32, u32)>) -> Command {
    let mut command = Command::new("setpriv");
    if let Some((uid, gid)) = user {
        command.args([format!("--reuid={uid}"), format!("--regid={gid}"), "--clear-groups".to_owned()]);
    }
    command.arg("--pdeathsig=KILL").arg("--").arg(program);
    command
}

fn chown_tree(path: &Path, user: Option<(u32, u32)>) -> Result<(), String> {
    if let Some((uid, gid)) = user {
        run(Command::new("chown").arg("-R").arg(format!("{uid}:{gid}")).arg(path))?;
    }
    Ok(())
}

/// Removes data directories of test processes that no longer run.
fn remove_stale_directories() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("slipway-store-pg-run-") else {
            continue;
        };
        let alive = pid.parse::<u32>().is_ok_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// The template data directory, made by `initdb` the first time (under a lock: test processes
/// start together).
fn template(bin: &Path, user: Option<(u32, u32)>) -> Result<PathBuf, String> {
    let version =
        bin.parent().and_then(Path::file_name).map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let uid = fs::metadata("/proc/self").map(|metadata| metadata.uid()).unwrap_or(0);
    let root = std::env::temp_dir().join(format!("slipway-store-pg-template-{version}-{uid}"));
    fs::create_dir_all(&root).map_err(|error| format!("creating {}: {error}", root.display()))?;
    let lock = fs::File::create(root.join("lock")).map_err(|error| error.to_string())?;
    lock.lock().map_err(|error| format!("locking the template: {error}"))?;
    let data = root.join("data");
    if root.join("ready").exists() {
        return Ok(data);
    }
    let _ = fs::remove_dir_all(&data);
    let work = root.join("work");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).map_err(|error| error.to_string())?;
    chown_tree(&work, user)?;
    let mut initdb = as_server_user(&bin.join("initdb"), user);
    initdb
        .arg("-D")
        .arg(work.join("data"))
        .args(["--auth=trust", "--username=slipway", "--encoding=UTF8", "--locale=C", "--no-sync"])
        .stdin(Stdio::null());
    run(&mut initdb)?;
    fs::rename(work.join("data"), &data).map_err(|error| error.to_string())?;
    fs::write(root.join("ready"), b"").map_err(|error| error.to_string())?;
    Ok(data)
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|error| error.to_string())?;
    listener.local_addr().map(|address| address.port()).map_err(|error| error.to_string())
}

fn start_server() -> Result<Server, String> {
    remove_stale_directories();
    let bin = binaries()?;
    let user = server_user()?;
    let template = template(&bin, user)?;
    let directory = std::env::temp_dir().join(format!("slipway-store-pg-run-{}", std::process::id()));
    let _ = fs::remove_dir_all(&directory);
    fs::create_dir_all(&directory).map_err(|error| error.to_string())?;
    run(Command::new("cp").arg("-a").arg(&template).arg(directory.join("data")))?;
    chown_tree(&directory, user)?;
    let mut last_error = String::new();
    for _ in 0..5 {
        let port = free_port()?;
        let (sender, receiver) = mpsc::channel();
        let mut command = as_server_user(&bin.join("postgres"), user);
        command
            .arg("-D")
            .arg(directory.join("data"))
            .args(["-c", "listen_addresses=127.0.0.1", "-c", &format!("port={port}")])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", directory.display()))
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
            .args(["-c", "max_connections=400", "-c", "shared_buffers=32MB"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(directory.join("server.log")).map_err(|error| error.to_string())?);
        // The thread that starts the server never ends: the server gets its death signal when the
        // process ends, not when the test that happened to start it does.
        std::thread::spawn(move || match command.spawn() {
            Ok(mut child) => {
                let _ = sender.send(Ok(()));
                let status = child.wait();
                let _ = sender.send(Err(format!("the server exited: {status:?}")));
                loop {
                    std::thread::park();
                }
            }
            Err(error) => {
                let _ = sender.send(Err(format!("cannot start postgres: {error}")));
            }
        });
        receiver.recv().map_err(|error| error.to_string())??;
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut exited = None;
        while Instant::now() < deadline {
            if let Ok(Err(error)) = receiver.try_recv() {
                exited = Some(error);
                break;
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(Server { base_url: format!("postgres://slipway@127.0.0.1:{port}") });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = fs::read_to_string(directory.join("server.log")).unwrap_or_default();
        last_error =
            format!("{}; its log: {log}", exited.unwrap_or_else(|| "it did not listen within 30 s".to_owned()));
    }
    Err(format!("PostgreSQL could not be started from {}: {last_error}", bin.display()))
}
