//! A bootstrapped auth-server on 127.0.0.1:0 in a process of its own, for
//! tests that need one: the connection tests run it under a low open-file
//! limit (`ulimit -n`), which a test cannot impose on a server inside the
//! shared test process.
//!
//! Configuration is the test harness's (cheap password hashing, a fresh
//! SQLite database in a temporary folder) plus the `AUTH_*` environment
//! overrides. It prints `listening http://ADDRESS` once it accepts, and
//! serves until its standard input closes. The admin's password is
//! `bootstrap-secret`.

use std::io::Read;

use auth_server::bootstrap::{self, Bootstrap};
use auth_server::{AppState, Config};
use secrecy::SecretString;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let mut config = Config::from_toml(
        r#"
        [auth.method.password.hashing]
        memory_kib = 64
        iterations = 1
        parallelism = 1
        "#,
    )?;
    config.apply_env(|name| std::env::var(name).ok())?;
    config.database.url = format!("sqlite://{}/auth.db", dir.path().display());
    config.keys.dir = dir.path().join("keys");
    let state = AppState::build(config.clone()).await?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let plan = Bootstrap {
        admin_user: "admin".into(),
        admin_password: SecretString::from("bootstrap-secret".to_owned()),
        admin_project: "admin".into(),
        public_url: base.clone(),
        region: "RegionOne".into(),
    };
    bootstrap::run(&state.services(), &plan).await?;
    println!("listening {base}");
    let stdin_closed = async {
        let _ = tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await;
    };
    auth_server::serve(listener, state, stdin_closed).await?;
    Ok(())
}
