use std::io::ErrorKind;
use std::path::Path;
use std::process::Command;

use super::{ConfineError, Confinement};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Whether the machine can confine; without Landlock the test says so and passes, unless
/// `SLIPWAY_REQUIRE_LANDLOCK=1` (CI) makes it fail.
fn landlock_or_skip(test: &str) -> bool {
    slipway_testing::needed_or_skip(test, "LANDLOCK", Confinement::check_available().map_err(|error| error.to_string()))
}

/// A data directory with a secret, an open run directory in it, and a directory beside it.
fn layout(top: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(top.join("data/runs/1/work"))?;
    std::fs::create_dir_all(top.join("data/runs/2"))?;
    std::fs::create_dir_all(top.join("beside"))?;
    std::fs::write(top.join("data/admin-token"), "the-admin-token\n")?;
    std::fs::write(top.join("data/runs/2/other-run.txt"), "another run's file\n")?;
    std::fs::write(top.join("beside/readme.txt"), "beside\n")?;
    Ok(())
}

/// Runs `work` on a thread confined by `confinement`.
fn confined<T: Send>(confinement: &Confinement, work: impl FnOnce() -> T + Send) -> Result<T, ConfineError> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                confinement.apply_to_this_thread()?;
                Ok(work())
            })
            .join()
            .unwrap_or_else(|_| Err(ConfineError::Failed("the thread panicked".into())))
    })
}

#[test]
fn a_confined_thread_and_its_processes_cannot_touch_the_protected_directory() -> TestResult {
    if !landlock_or_skip("a_confined_thread_and_its_processes_cannot_touch_the_protected_directory") {
        return Ok(());
    }
    let top = tempfile::tempdir()?;
    layout(top.path())?;
    let data = top.path().join("data");
    let run = data.join("runs/1");
    let confinement = Confinement::new(&data, &[run.clone(), data.join("cache")])?;
    let outcome = confined(&confinement, || {
        fn denied<T>(result: std::io::Result<T>) -> bool {
            matches!(result, Err(error) if error.kind() == ErrorKind::PermissionDenied)
        }
        let shell = Command::new("sh")
            .arg("-c")
            .arg(format!("cat {}/admin-token; echo x > {}/planted", data.display(), data.display()))
            .output();
        (
            denied(std::fs::read(data.join("admin-token"))),
            denied(std::fs::read(data.join("runs/2/other-run.txt"))),
            denied(std::fs::write(data.join("admin-token"), "replaced")),
            denied(std::fs::write(data.join("new-file"), "x")),
            std::fs::write(run.join("work/out.txt"), "mine").is_ok() && std::fs::read(run.join("work/out.txt")).is_ok(),
            std::fs::write(data.join("cache/entry"), "cached").is_ok(),
            std::fs::read(top.path().join("beside/readme.txt")).is_ok(),
            std::fs::write(top.path().join("beside/new.txt"), "x").is_ok(),
            std::fs::read("/etc/hostname").is_ok() || !Path::new("/etc/hostname").exists(),
            shell.map(|output| String::from_utf8_lossy(&output.stderr).into_owned()).unwrap_or_default(),
        )
    })?;
    let (token, other_run, overwrite, create, own_run, cache, beside, beside_write, etc, shell) = outcome;
    assert!(token, "the admin token was readable");
    assert!(other_run, "another run's directory was readable");
    assert!(overwrite && create, "the data directory was writable");
    assert!(own_run && cache, "the job's own directories must stay usable");
    assert!(beside && beside_write && etc, "the rest of the machine must stay as it was");
    assert_eq!(shell.matches("Permission denied").count(), 2, "{shell}");
    assert_eq!(std::fs::read_to_string(data.join("admin-token"))?, "the-admin-token\n");
    assert!(!data.join("planted").exists() && !data.join("new-file").exists());
    Ok(())
}

#[test]
fn confinement_needs_existing_paths_and_creates_the_open_ones() {
    assert!(matches!(Confinement::new(Path::new("/no/such/dir"), &[]), Err(ConfineError::Failed(_))));
    let Ok(top) = tempfile::tempdir() else { return };
    let made = Confinement::new(top.path(), &[top.path().join("runs/7/work")]);
    assert!(made.is_ok_and(|confinement| confinement.open.len() == 1));
    assert!(top.path().join("runs/7/work").is_dir());
}
