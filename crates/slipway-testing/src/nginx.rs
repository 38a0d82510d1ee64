//! Debian's nginx for tests of services it fronts: a master process of its own over a scratch
//! directory, whose main configuration includes every `*.conf` of `services/` in its `http`
//! block (where Slipway writes the services' routes). Stopped on drop.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// An nginx started for a test.
#[derive(Debug)]
pub struct TestNginx {
    /// The nginx binary.
    pub binary: PathBuf,
    /// Its prefix (the scratch directory).
    pub prefix: PathBuf,
    /// Its main configuration.
    pub main_config: PathBuf,
    /// The directory of the services' configuration files it includes.
    pub services: PathBuf,
    child: std::process::Child,
}

impl Drop for TestNginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts nginx over `directory`, or `None` when the machine has none (the test then says it is
/// skipped, unless `SLIPWAY_REQUIRE_NGINX=1`, which makes that a failure).
///
/// # Errors
/// When nginx is there but does not start.
pub fn nginx_or_skip(test: &str, directory: &Path) -> Result<Option<TestNginx>, String> {
    let binary = ["/usr/sbin/nginx", "/usr/bin/nginx"].into_iter().map(PathBuf::from).find(|path| path.exists());
    let available =
        binary.clone().map(|_| ()).ok_or_else(|| "nginx is not installed (apt-get install nginx-light)".to_owned());
    if !crate::needed_or_skip(test, "NGINX", available) {
        return Ok(None);
    }
    let binary = binary.ok_or("no nginx")?;
    let services = directory.join("services");
    std::fs::create_dir_all(&services).map_err(|error| format!("{}: {error}", services.display()))?;
    let dir = directory.display();
    let main_config = directory.join("nginx.conf");
    std::fs::write(
        &main_config,
        format!(
            "worker_processes 1;\ndaemon off;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log;\n\
             events {{ worker_connections 256; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {dir}/body;\n  \
             proxy_temp_path {dir}/proxy;\n  fastcgi_temp_path {dir}/fastcgi;\n  uwsgi_temp_path {dir}/uwsgi;\n  \
             scgi_temp_path {dir}/scgi;\n  include {dir}/services/*.conf;\n}}\n"
        ),
    )
    .map_err(|error| format!("{}: {error}", main_config.display()))?;
    let child = std::process::Command::new(&binary)
        .arg("-p")
        .arg(directory)
        .arg("-c")
        .arg(&main_config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|error| format!("{}: {error}", binary.display()))?;
    let started = TestNginx { binary, prefix: directory.to_path_buf(), main_config, services, child };
    for _ in 0..100 {
        if directory.join("nginx.pid").exists() {
            return Ok(Some(started));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("nginx did not start".into())
}
