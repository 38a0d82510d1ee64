//! What a hostile contributor or a careless admin can send the server (issue 10): pipeline files
//! that link out of their repository, pipelines nested to blow the stack, repositories that are
//! not repositories. Each is refused with a clear error, and the server stays up.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{TestResult, TestServer, create_user, make_repository, send};

/// A pipeline file, or a template, committed as a link to the server's admin token or to a file
/// of the machine is not read: the run is refused with T0017 and the answer quotes nothing of the
/// target. A link inside the repository still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_files_linking_out_of_the_repository_are_not_read() -> TestResult {
    let directory = tempfile::tempdir()?;
    let data = directory.path().join("data");
    let server = TestServer::start(&data, 0).await?;
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let contributor = create_user(&app, &admin, "mallory", "contributor").await?;
    let token_file = data.join(slipway_server::ADMIN_TOKEN_FILE);
    assert!(token_file.is_file());
    let token_text = std::fs::read_to_string(&token_file)?;
    let first_line = token_text.lines().next().ok_or("empty token file")?.to_owned();

    let repository = directory.path().join("repository");
    make_repository(&repository, &[("real.yml", "steps:\n- script: echo inside\n")])?;
    std::os::unix::fs::symlink(&token_file, repository.join("azure-pipelines.yml"))?;
    std::os::unix::fs::symlink("/etc/passwd", repository.join("passwd.yml"))?;
    std::fs::write(repository.join("templated.yml"), "steps:\n- template: passwd.yml\n")?;
    std::os::unix::fs::symlink("real.yml", repository.join("inside.yml"))?;
    let git = |arguments: &[&str]| {
        std::process::Command::new("git")
            .args(["-c", "user.name=T", "-c", "user.email=t@e"])
            .args(arguments)
            .current_dir(&repository)
            .output()
    };
    git(&["add", "."])?;
    git(&["commit", "--quiet", "-m", "links"])?;

    let repository_text = repository.display().to_string();
    for (name, path) in [("token", "azure-pipelines.yml"), ("passwd", "templated.yml"), ("inside", "inside.yml")] {
        let pipeline = json!({ "name": name, "repository": repository_text, "yamlPath": path });
        let created = send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    }
    for name in ["token", "passwd"] {
        let answer =
            send(&app, Method::POST, &format!("/api/v1/pipelines/{name}/runs"), Some(&contributor), Some(json!({})))
                .await?;
        let detail = answer.expect_problem(422);
        assert!(detail.contains("T0017") && detail.contains("leads outside its repository"), "{detail}");
        let body = answer.body.to_string();
        assert!(!body.contains(&first_line), "the admin token leaked: {body}");
        assert!(!body.contains("root:"), "/etc/passwd leaked: {body}");
    }
    let inside = send(&app, Method::POST, "/api/v1/pipelines/inside/runs", Some(&contributor), Some(json!({}))).await?;
    assert_eq!(inside.status, StatusCode::CREATED, "{}", inside.body);
    server.stop().await;
    Ok(())
}
