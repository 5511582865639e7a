//! The `auth-server` binary end to end, as an operator runs it: each test
//! writes a configuration file into a temporary directory, runs the real
//! commands (`bootstrap`, `backup`, `restore`, `serve`) as child processes
//! and logs in over HTTP.
//!
//! Every child runs with an empty environment (`PATH` aside) and standard
//! input that is not a terminal, and is killed past a time limit, so a
//! command that waits for input fails its test instead of hanging it.
//!
//! The PostgreSQL runs need `AUTH_TEST_POSTGRES_URL` (each makes a database
//! of its own, since `pg_dump` dumps a whole database, and drops it); they
//! are skipped, saying so, without it, unless `AUTH_TEST_REQUIRE_POSTGRES=1`
//! (CI), which makes a missing or unreachable server a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test binary: panicking is how it fails

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_auth-server");

/// The most a command may take before its test fails (each takes well
/// under a second; the limit only keeps a hang from stalling the suite).
const LIMIT: Duration = Duration::from_secs(60);

const PG_URL_VAR: &str = "AUTH_TEST_POSTGRES_URL";
const PG_REQUIRED_VAR: &str = "AUTH_TEST_REQUIRE_POSTGRES";

/// One node's files: a configuration in a temporary directory, its data
/// (SQLite file, keys) in `data/` beside it.
struct Node {
    dir: tempfile::TempDir,
    config: PathBuf,
    /// The PostgreSQL database this node uses, dropped with it.
    postgres: Option<PgDatabase>,
}

impl Node {
    /// A node on a SQLite file in its data directory.
    fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/auth.db", dir.path().join("data").display());
        Self::with_database(dir, url, None)
    }

    /// A node on a new PostgreSQL database, or `None` (saying so) when
    /// `AUTH_TEST_POSTGRES_URL` is unset and not required.
    fn postgres() -> Option<Self> {
        let database = PgDatabase::create()?;
        let dir = tempfile::tempdir().expect("temp dir");
        let url = database.url.clone();
        Some(Self::with_database(dir, url, Some(database)))
    }

    fn with_database(dir: tempfile::TempDir, url: String, postgres: Option<PgDatabase>) -> Self {
        let config = dir.path().join("auth-server.toml");
        let keys = dir.path().join("data").join("keys");
        let text = format!(
            "[server]\n\
             listen = \"127.0.0.1:0\"\n\
             log_format = \"json\"\n\
             [database]\n\
             url = {url}\n\
             [keys]\n\
             dir = {keys}\n\
             # Cheap hashes: these tests are about the commands, not argon2.\n\
             [auth.method.password.hashing]\n\
             memory_kib = 64\n\
             iterations = 1\n\
             parallelism = 1\n",
            url = toml_string(&url),
            keys = toml_string(&keys.display().to_string()),
        );
        std::fs::write(&config, text).expect("write the configuration");
        Self {
            dir,
            config,
            postgres,
        }
    }

    /// The data directory (database file and keys).
    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The binary with this node's configuration and an empty environment
    /// (`PATH` aside: `backup` runs `pg_dump` from it).
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .arg("--config")
            .arg(&self.config)
            .args(args);
        command
    }

    /// Runs `args` with `env`, `stdin` as standard input (none: an empty,
    /// non-terminal one), within [`LIMIT`].
    fn run(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
        let mut command = self.command(args);
        command.envs(env.iter().copied());
        run_within(command, stdin, LIMIT)
    }

    /// Runs `args` and returns its standard output; fails the test, showing
    /// both outputs, unless it succeeds.
    fn ok(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> String {
        let output = self.run(args, env, stdin);
        assert!(output.status.success(), "{args:?}: {}", show(&output));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Starts `serve` and waits for its address.
    fn serve(&self) -> Server {
        Server::start(self.command(&["serve"]))
    }
}

/// A string as a TOML basic string.
fn toml_string(text: &str) -> String {
    // JSON's string escapes are valid TOML basic-string escapes.
    Value::String(text.to_owned()).to_string()
}

/// Both outputs of a finished command, for a failure message.
fn show(output: &Output) -> String {
    format!(
        "{}\n--- stdout:\n{}\n--- stderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Reads all of `from` on a thread of its own (so that a full pipe never
/// blocks the child).
fn drain(mut from: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = from.read_to_end(&mut all);
        all
    })
}

/// Runs `command` with `stdin` (none: an empty one) and waits for it, at
/// most `limit`: past that the child is killed and the test fails.
fn run_within(mut command: Command, stdin: Option<&str>, limit: Duration) -> Output {
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("start auth-server");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).expect("write stdin");
        // Dropped: the child sees the end of its input.
    }
    let stdout = drain(child.stdout.take().expect("stdout"));
    let stderr = drain(child.stderr.take().expect("stderr"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for auth-server") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = stderr.join().unwrap_or_default();
            panic!(
                "{command:?} did not finish within {limit:?} (waiting for input?): {}",
                String::from_utf8_lossy(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// A running `auth-server serve`, killed when dropped.
struct Server {
    child: Child,
    /// `ip:port` it listens on.
    address: String,
}

impl Server {
    fn start(mut command: Command) -> Self {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start auth-server serve");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = drain(child.stderr.take().expect("stderr"));
        // The JSON log line `serving` carries the address the OS chose for
        // 127.0.0.1:0; the log is drained to its end after that.
        let (found, address) = mpsc::channel();
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Ok(entry) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                let fields = &entry["fields"];
                if fields["message"] != "serving" {
                    continue;
                }
                if let (Some(address), Some(tx)) = (fields["address"].as_str(), found.take()) {
                    let _ = tx.send(address.to_owned());
                }
            }
        });
        match address.recv_timeout(LIMIT) {
            Ok(address) => Self { child, address },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let stderr = stderr.join().unwrap_or_default();
                panic!(
                    "auth-server serve did not say where it listens: {}",
                    String::from_utf8_lossy(&stderr)
                );
            }
        }
    }

    /// Logs `user` in with `password`, scoped to the admin project: the
    /// status and the body.
    fn login(&self, user: &str, password: &str) -> (u16, Value) {
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
        .to_string();
        let mut stream = TcpStream::connect(&self.address).expect("connect to the server");
        stream.set_read_timeout(Some(LIMIT)).expect("read timeout");
        // HTTP/1.0: the server closes the connection after its answer, so
        // the answer is everything read.
        write!(
            stream,
            "POST /v3/auth/tokens HTTP/1.0\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            self.address,
            body.len()
        )
        .expect("send the login");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read the answer");
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {answer}"));
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The public identity endpoints a token's catalog lists.
fn identity_urls(token: &Value) -> Vec<String> {
    token["token"]["catalog"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|service| service["type"] == "identity")
        .flat_map(|service| service["endpoints"].as_array().into_iter().flatten())
        .filter(|endpoint| endpoint["interface"] == "public")
        .filter_map(|endpoint| endpoint["url"].as_str().map(str::to_owned))
        .collect()
}

/// A PostgreSQL database of one test's own, dropped afterwards.
struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDatabase {
    /// A new database on the server `AUTH_TEST_POSTGRES_URL` names, or
    /// `None` (saying so) when it is unset and not required.
    fn create() -> Option<Self> {
        let admin_url = match std::env::var(PG_URL_VAR) {
            Ok(url) if !url.is_empty() => url,
            _ if std::env::var(PG_REQUIRED_VAR).as_deref() == Ok("1") => {
                panic!("{PG_URL_VAR} is not set but {PG_REQUIRED_VAR}=1")
            }
            _ => {
                // Straight to the process's stderr: the harness would only
                // show an eprintln! of a passing test with --nocapture.
                let _ = writeln!(
                    std::io::stderr(),
                    "NOTICE: the PostgreSQL CLI tests are skipped (they report ok): \
                     {PG_URL_VAR} is not set"
                );
                return None;
            }
        };
        let name = format!("auth_cli_{}", uuid::Uuid::new_v4().simple());
        pg_execute(&admin_url, &[&format!("CREATE DATABASE {name}")]);
        let (base, query) = match admin_url.split_once('?') {
            Some((base, query)) => (base, format!("?{query}")),
            None => (admin_url.as_str(), String::new()),
        };
        let (server, _) = base
            .rsplit_once('/')
            .unwrap_or_else(|| panic!("{PG_URL_VAR} names no database"));
        let url = format!("{server}/{name}{query}");
        Some(Self {
            admin_url,
            name,
            url,
        })
    }

    /// Empties the database: dropped and made again.
    fn recreate(&self) {
        pg_execute(
            &self.admin_url,
            &[
                &format!("DROP DATABASE {} WITH (FORCE)", self.name),
                &format!("CREATE DATABASE {}", self.name),
            ],
        );
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let url = self.admin_url.clone();
        // On a thread of its own: a failure here, during a test's panic,
        // must not become a second panic, which would abort the binary.
        let dropped = std::thread::spawn(move || pg_execute(&url, &[&drop])).join();
        if dropped.is_err() {
            let _ = writeln!(
                std::io::stderr(),
                "could not drop the test database {}",
                self.name
            );
        }
    }
}

/// Runs `statements` on the server at `url`, in order; panics on an error
/// (with the cause, never the URL, which may hold a password).
fn pg_execute(url: &str, statements: &[&str]) {
    use sqlx::Connection;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let mut conn = sqlx::PgConnection::connect(url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {PG_URL_VAR}: {e}"));
        for statement in statements {
            sqlx::query(statement)
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        let _ = conn.close().await;
    });
}

/// Bootstrapping again with another password and public URL resets the
/// password and moves the endpoint, and says so; the old password stops
/// working. The second run reads its password with --password-stdin.
#[test]
fn bootstrap_again_resets_the_password_and_moves_the_endpoint() {
    let node = Node::sqlite();
    let first = node.ok(
        &["bootstrap", "--public-url", "http://a.example:5000"],
        &[("AUTH_BOOTSTRAP_PASSWORD", "first-secret")],
        None,
    );
    assert!(first.contains("created user admin"), "{first}");
    assert!(
        first.contains("created the identity endpoint http://a.example:5000 in RegionOne"),
        "{first}"
    );

    let again = node.ok(
        &[
            "bootstrap",
            "--password-stdin",
            "--public-url",
            "http://b.example:5000",
        ],
        &[],
        Some("second-secret\n"),
    );
    assert!(
        again.contains("reset the password of admin (its tokens are revoked)"),
        "{again}"
    );
    assert!(
        again.contains(
            "moved the identity endpoint from http://a.example:5000 in RegionOne to \
             http://b.example:5000 in RegionOne"
        ),
        "{again}"
    );
    assert!(!again.contains("secret"), "a password is shown: {again}");

    let unchanged = node.ok(
        &[
            "bootstrap",
            "--admin-password",
            "second-secret",
            "--public-url",
            "http://b.example:5000",
        ],
        &[],
        None,
    );
    assert!(unchanged.contains("nothing changed"), "{unchanged}");

    let server = node.serve();
    let (status, token) = server.login("admin", "second-secret");
    assert_eq!(status, 201, "{token}");
    assert_eq!(identity_urls(&token), ["http://b.example:5000"], "{token}");
    let (status, body) = server.login("admin", "first-secret");
    assert_eq!(status, 401, "the old password still works: {body}");
}

/// Bootstraps `node`, backs it up, checks that a restore over the live
/// database is refused, lets `wipe` destroy the database, restores, and
/// logs in with the password of before.
fn survives_backup_wipe_and_restore(node: &Node, wipe: impl FnOnce(&Node)) {
    node.ok(
        &["bootstrap"],
        &[("AUTH_BOOTSTRAP_PASSWORD", "original-secret")],
        None,
    );
    let backup = node.dir.path().join("backup");
    let backup_arg = backup.to_str().expect("a UTF-8 path");
    let done = node.ok(&["backup", backup_arg], &[], None);
    assert!(done.starts_with("backed up"), "{done}");
    assert!(backup.join("manifest.json").is_file());

    let refused = node.run(&["restore", backup_arg], &[], None);
    assert!(!refused.status.success(), "{}", show(&refused));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("already holds") && message.contains("--force"),
        "{message}"
    );

    wipe(node);
    std::fs::remove_dir_all(node.data()).expect("wipe the data directory");

    let restored = node.ok(&["restore", backup_arg], &[], None);
    assert!(restored.starts_with("restored"), "{restored}");
    let server = node.serve();
    let (status, body) = server.login("admin", "original-secret");
    assert_eq!(status, 201, "{body}");
}

#[test]
fn a_sqlite_node_comes_back_from_a_backup() {
    // The SQLite file is in the data directory the helper removes.
    survives_backup_wipe_and_restore(&Node::sqlite(), |_| {});
}

#[test]
fn a_postgres_node_comes_back_from_a_backup() {
    let Some(node) = Node::postgres() else {
        return;
    };
    survives_backup_wipe_and_restore(&node, |node| {
        node.postgres
            .as_ref()
            .expect("a PostgreSQL node")
            .recreate();
    });
}

/// Without a terminal and without a password, the commands that set one
/// fail at once (no prompt, no wait), before touching the database, and
/// name the flag and the variable that would give it.
#[test]
fn without_a_terminal_a_missing_password_fails_at_once() {
    let node = Node::sqlite();
    for (args, flag, env) in [
        (
            &["bootstrap"][..],
            "--admin-password",
            "AUTH_BOOTSTRAP_PASSWORD",
        ),
        (
            &["user", "create", "--name", "bob"][..],
            "--password",
            "AUTH_USER_PASSWORD",
        ),
        (
            &["user", "set-password", "--name", "bob"][..],
            "--password",
            "AUTH_USER_PASSWORD",
        ),
    ] {
        let output = run_within(node.command(args), None, Duration::from_secs(10));
        assert!(!output.status.success(), "{args:?}: {}", show(&output));
        let message = String::from_utf8_lossy(&output.stderr);
        for needed in [flag, env, "--password-stdin", "not a terminal"] {
            assert!(message.contains(needed), "{args:?}: {message}");
        }
    }
    assert!(
        !node.data().exists(),
        "a command without its password touched the database"
    );
}

/// `--help` never shows a password set in the environment.
#[test]
fn help_hides_a_password_from_the_environment() {
    let node = Node::sqlite();
    for (args, env) in [
        (&["bootstrap", "--help"][..], "AUTH_BOOTSTRAP_PASSWORD"),
        (&["user", "create", "--help"][..], "AUTH_USER_PASSWORD"),
    ] {
        let help = node.ok(args, &[(env, "leaky-secret")], None);
        assert!(help.contains(env), "{help}");
        assert!(!help.contains("leaky-secret"), "{help}");
    }
}
