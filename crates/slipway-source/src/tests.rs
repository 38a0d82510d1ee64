use std::os::unix::fs::symlink;

use slipway_azure::{FileSystem, Location, ReadError};

use super::{RepositoryFiles, read_inside};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A repository directory beside a secret file outside it.
fn layout() -> Result<(tempfile::TempDir, std::path::PathBuf), Box<dyn std::error::Error>> {
    let top = tempfile::tempdir()?;
    std::fs::write(top.path().join("admin-token"), "the-secret\n")?;
    let repository = top.path().join("repository");
    std::fs::create_dir_all(repository.join("templates"))?;
    std::fs::write(repository.join("templates/steps.yml"), "steps: []\n")?;
    Ok((top, repository))
}

#[test]
fn files_and_links_inside_the_repository_are_read() -> TestResult {
    let (_top, repository) = layout()?;
    symlink("templates/steps.yml", repository.join("linked.yml"))?;
    symlink("templates", repository.join("dir-link"))?;
    let files = RepositoryFiles::new(&repository);
    assert_eq!(files.read(&Location::local("templates/steps.yml"))?, "steps: []\n");
    assert_eq!(files.read(&Location::local("linked.yml"))?, "steps: []\n");
    assert_eq!(files.read(&Location::local("dir-link/steps.yml"))?, "steps: []\n");
    Ok(())
}

#[test]
fn a_link_out_of_the_repository_is_refused_and_nothing_is_read() -> TestResult {
    let (top, repository) = layout()?;
    symlink(top.path().join("admin-token"), repository.join("absolute.yml"))?;
    symlink("../admin-token", repository.join("relative.yml"))?;
    symlink("../..", repository.join("templates/up"))?;
    symlink("/etc", repository.join("etc"))?;
    let files = RepositoryFiles::new(&repository);
    for path in ["absolute.yml", "relative.yml", "templates/up/admin-token", "etc/passwd"] {
        assert_eq!(files.read(&Location::local(path)), Err(ReadError::OutsideRepository), "{path}");
    }
    Ok(())
}

#[test]
fn dot_dot_and_absolute_paths_are_refused() -> TestResult {
    let (_top, repository) = layout()?;
    let root = std::fs::canonicalize(&repository)?;
    assert_eq!(read_inside(&root, "../admin-token"), Err(ReadError::OutsideRepository));
    assert_eq!(read_inside(&root, "/etc/passwd"), Err(ReadError::OutsideRepository));
    assert_eq!(read_inside(&root, "templates/./steps.yml")?, b"steps: []\n");
    Ok(())
}

#[test]
fn missing_files_dangling_links_and_directories() -> TestResult {
    let (_top, repository) = layout()?;
    symlink("nowhere.yml", repository.join("dangling.yml"))?;
    let files = RepositoryFiles::new(&repository);
    assert_eq!(files.read(&Location::local("missing.yml")), Err(ReadError::NotFound));
    assert_eq!(files.read(&Location::local("dangling.yml")), Err(ReadError::NotFound));
    assert!(matches!(files.read(&Location::local("templates")), Err(ReadError::Other(_))));
    Ok(())
}

#[test]
fn other_repositories_are_confined_to_their_own_checkout() -> TestResult {
    let (top, repository) = layout()?;
    let other = top.path().join("other");
    std::fs::create_dir_all(&other)?;
    std::fs::write(other.join("shared.yml"), "jobs: []\n")?;
    symlink("../repository/templates/steps.yml", other.join("sideways.yml"))?;
    let files = RepositoryFiles::new(&repository).with_repository("tools", &other);
    let at = |path: &str| Location { repository: Some("tools".into()), path: path.into() };
    assert_eq!(files.read(&at("shared.yml"))?, "jobs: []\n");
    assert_eq!(files.read(&at("sideways.yml")), Err(ReadError::OutsideRepository));
    let unknown = Location { repository: Some("nope".into()), path: "x.yml".into() };
    assert_eq!(files.read(&unknown), Err(ReadError::NoCheckout));
    Ok(())
}

#[test]
fn display_names_are_relative_to_the_current_directory() -> TestResult {
    let (top, repository) = layout()?;
    let files = RepositoryFiles::new(&repository).shown_relative_to(top.path());
    assert_eq!(files.display_name(&Location::local("templates/steps.yml")), "repository/templates/steps.yml");
    let plain = RepositoryFiles::new(&repository);
    assert_eq!(plain.display_name(&Location::local("templates/steps.yml")), "templates/steps.yml");
    Ok(())
}

#[test]
fn contained_work_gives_its_result_or_its_panic() {
    assert_eq!(super::contained(|| 6 * 7), Ok(42));
    let panicked = super::contained(|| -> u8 { panic!("boom at depth") });
    assert_eq!(panicked, Err(super::Panicked("boom at depth".into())));
    // Deep recursion that would overflow a 2 MiB thread runs.
    fn down(depth: u32) -> u32 {
        let pad = [depth; 64];
        if depth == 0 { 0 } else { std::hint::black_box(pad)[0].min(1) + down(depth - 1) }
    }
    assert_eq!(super::contained(|| down(40_000)), Ok(40_000));
}
