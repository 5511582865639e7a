//! The `auth-server` command: serve, migrate, bootstrap, rotate keys (and
//! the key-encryption keys that seal them).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use auth_core::SystemClock;
use auth_server::bootstrap::{self, Bootstrap};
use auth_server::config::{LogFormat, resolve_listen};
use auth_server::policy::Policy;
use auth_server::services::Context;
use auth_server::{AppState, Config, ServerError, keys, operations, state};
use clap::{Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;

// Not `Debug`: some arguments are passwords. (A `//` comment: clap shows
// the doc comment in `--help`.)
/// A Keystone-compatible authentication server.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// The configuration file (TOML); defaults work without one.
    #[arg(long, short, global = true, env = "AUTH_CONFIG")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Create the default domain, admin project, roles, admin user and
    /// catalog entry (idempotent), as keystone-manage bootstrap does.
    Bootstrap {
        /// The admin user's name.
        #[arg(long, default_value = "admin")]
        admin_username: String,
        /// The admin user's password. Without it (or --password-stdin) it
        /// is asked for, twice, on a terminal.
        #[arg(long, env = "AUTH_BOOTSTRAP_PASSWORD", hide_env_values = true, value_parser = secret)]
        admin_password: Option<SecretString>,
        /// Read the admin password from standard input (up to its end; one
        /// trailing newline is dropped), as `docker login --password-stdin`.
        #[arg(long)]
        password_stdin: bool,
        /// The admin project's name.
        #[arg(long, default_value = "admin")]
        project_name: String,
        /// The public URL for the identity endpoint in the catalog.
        #[arg(long, default_value = "http://127.0.0.1:5000")]
        public_url: String,
        /// The catalog region.
        #[arg(long, default_value = "RegionOne")]
        region: String,
    },
    /// Manage key sets.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Check the configuration, the database, its schema and the keys.
    Doctor,
    /// Back up the database (SQLite: an online copy; PostgreSQL: pg_dump)
    /// and the key files into a new directory, with a manifest.
    Backup {
        /// The directory to create (it must not exist or be empty).
        dir: PathBuf,
    },
    /// Restore a backup into the configured database and key directory.
    Restore {
        /// The backup directory.
        dir: PathBuf,
        /// Replace a database that already holds tables, and key files
        /// that differ.
        #[arg(long)]
        force: bool,
    },
    /// Inspect the policy (the default rules with `[policy] file` applied).
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// The configuration reference.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print a complete commented configuration file: every option with
    /// its type, default, environment variable and meaning.
    Example {
        /// Put the database and the keys in this directory (the package
        /// uses /var/lib/auth-server).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Print every effective rule: name, scope types, where its check
    /// string comes from (keystone, server, file, file-only) and the check
    /// string, tab-separated. Fails like the server would on a bad file.
    List,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user with a password.
    Create {
        /// The user's name.
        #[arg(long)]
        name: String,
        /// The password (or AUTH_USER_PASSWORD). Without it (or
        /// --password-stdin) it is asked for, twice, on a terminal.
        #[arg(long, env = "AUTH_USER_PASSWORD", hide_env_values = true, value_parser = secret)]
        password: Option<SecretString>,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// The user's domain.
        #[arg(long, default_value = "default")]
        domain_id: String,
    },
    /// List users.
    List {
        /// Only this domain's users.
        #[arg(long)]
        domain_id: Option<String>,
    },
    /// Set a user's password (and end the user's sessions).
    SetPassword {
        /// The user's name.
        #[arg(long)]
        name: String,
        /// The new password (or AUTH_USER_PASSWORD). Without it (or
        /// --password-stdin) it is asked for, twice, on a terminal.
        #[arg(long, env = "AUTH_USER_PASSWORD", hide_env_values = true, value_parser = secret)]
        password: Option<SecretString>,
        /// Read the new password from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// The user's domain.
        #[arg(long, default_value = "default")]
        domain_id: String,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Rotate the receipt and token signing keys shared through the
    /// database. Refused while it would drop a key that signed tokens
    /// still valid (within [token] expiration + [keys] refresh_interval of
    /// the previous rotation).
    Rotate {
        /// Rotate even if tokens signed before the previous rotation stop
        /// validating.
        #[arg(long)]
        force: bool,
    },
    /// Rotate the key-encryption keys in `[keys] dir` and re-seal every key
    /// set stored in the database under the new one. Copy the rotated file
    /// to every node before the next KEK rotation.
    RotateKek,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Reads no configuration: the reference must print even when the
    // configured file is broken.
    if let Some(Command::Config {
        command: ConfigCommand::Example { data_dir },
    }) = &cli.command
    {
        print!(
            "{}",
            auth_server::config_reference::example(data_dir.as_deref())
        );
        return ExitCode::SUCCESS;
    }
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("auth-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: a log written to a file or a journal
    // would carry the escape codes.
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal());
    match config.server.log_format {
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => logs.init(),
    }
    match run(cli, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("auth-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, config: Config) -> Result<(), ServerError> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let address = resolve_listen("listen", &config.server.listen).await?;
            let listener = TcpListener::bind(address.as_slice()).await?;
            let management = match &config.server.management_listen {
                Some(address) => {
                    let address = resolve_listen("management_listen", address).await?;
                    Some(TcpListener::bind(address.as_slice()).await?)
                }
                None => None,
            };
            let gateway = match config.gateway.listen {
                Some(address) if config.gateway.enabled() => {
                    // A bad upstream stops the start, not just the gateway.
                    auth_server::gateway::proxy::Upstream::from_config(&config.gateway)?;
                    Some(TcpListener::bind(address).await?)
                }
                Some(_) => {
                    return Err(ServerError::Config(
                        "[gateway] listen is set but upstream is not".into(),
                    ));
                }
                None => None,
            };
            let dicom = match config.dicom.listen {
                Some(address) => {
                    // A bad [dicom] section stops the start, not just the listener.
                    config.dicom.check(&config.auth.methods)?;
                    Some(TcpListener::bind(address).await?)
                }
                None => None,
            };
            let state = AppState::build(config).await?;
            let reload = tokio::spawn(reload_on_hangup(state.clone()));
            tracing::info!(address = %listener.local_addr()?, "serving");
            let (stop, stopping) = tokio::sync::watch::channel(false);
            let gateway = match gateway {
                Some(gateway) => {
                    tracing::info!(address = %gateway.local_addr()?, "serving the gateway");
                    let mut stopping = stopping.clone();
                    Some(tokio::spawn(auth_server::gateway::serve(
                        gateway,
                        state.clone(),
                        async move {
                            let _ = stopping.wait_for(|stop| *stop).await;
                        },
                    )))
                }
                None => None,
            };
            let management = match management {
                Some(management) => {
                    tracing::info!(address = %management.local_addr()?, "serving management");
                    let mut stopping = stopping.clone();
                    Some(tokio::spawn(auth_server::serve_management(
                        management,
                        state.clone(),
                        async move {
                            let _ = stopping.wait_for(|stop| *stop).await;
                        },
                    )))
                }
                None => None,
            };
            let dicom = match dicom {
                Some(dicom) => {
                    tracing::info!(address = %dicom.local_addr()?, "serving DICOM");
                    let mut stopping = stopping.clone();
                    Some(tokio::spawn(auth_server::dicom::serve(
                        dicom,
                        state.clone(),
                        async move {
                            let _ = stopping.wait_for(|stop| *stop).await;
                        },
                    )))
                }
                None => None,
            };
            let served = auth_server::serve(listener, state, async move {
                shutdown_signal().await;
                let _ = stop.send(true);
            })
            .await;
            drop(stopping);
            reload.abort();
            if let Some(gateway) = gateway {
                match gateway.await {
                    Ok(result) => result?,
                    Err(e) => return Err(ServerError::Config(format!("the gateway stopped: {e}"))),
                }
            }
            if let Some(management) = management {
                match management.await {
                    Ok(result) => result?,
                    Err(e) => {
                        return Err(ServerError::Config(format!(
                            "the management listener stopped: {e}"
                        )));
                    }
                }
            }
            if let Some(dicom) = dicom {
                match dicom.await {
                    Ok(result) => result?,
                    Err(e) => {
                        return Err(ServerError::Config(format!(
                            "the DICOM listener stopped: {e}"
                        )));
                    }
                }
            }
            served
        }
        Command::Migrate => {
            state::connect(&config).await?.migrate().await?;
            println!("database is up to date");
            Ok(())
        }
        Command::Bootstrap {
            admin_username,
            admin_password,
            password_stdin,
            project_name,
            public_url,
            region,
        } => {
            // Before connecting: a missing password fails at once.
            let admin_password = new_password(
                admin_password,
                password_stdin,
                &BOOTSTRAP_PASSWORD,
                &admin_username,
            )?;
            let storage = state::connect(&config).await?;
            let plan = Bootstrap {
                admin_user: admin_username,
                admin_password,
                admin_project: project_name,
                public_url,
                region,
            };
            let hasher = auth_plugins::hashing::PasswordHasher::new(config.password_hashing()?)?;
            let compliance = config.compliance()?;
            let cx = Context::new(storage.as_ref(), &hasher, &compliance, &SystemClock);
            let done = bootstrap::run(&cx, &plan).await?;
            println!(
                "bootstrapped: user {} ({}), project {} ({})",
                done.user.name, done.user.id, done.project.name, done.project.id
            );
            if done.changes.is_empty() {
                println!("nothing changed");
            }
            for change in &done.changes {
                println!("{change}");
            }
            Ok(())
        }
        Command::User { command } => user(command, &config).await,
        Command::Doctor => {
            print!(
                "{}",
                operations::report(&operations::doctor(&config).await)?
            );
            Ok(())
        }
        Command::Backup { dir } => {
            let manifest = auth_server::backup::backup(&config, &dir).await?;
            println!(
                "backed up {} file(s) to {}",
                manifest.files.len(),
                dir.display()
            );
            Ok(())
        }
        Command::Restore { dir, force } => {
            let manifest = auth_server::backup::restore(&config, &dir, force).await?;
            println!(
                "restored {} file(s) from {}",
                manifest.files.len(),
                dir.display()
            );
            Ok(())
        }
        Command::Config { .. } => Ok(()), // printed in `main`, before loading
        Command::Policy {
            command: PolicyCommand::List,
        } => {
            print!("{}", Policy::from_config(&config.policy)?.listing());
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::RotateKek,
        } => {
            let storage = state::connect(&config).await?;
            let resealed = keys::rotate_kek(&config.keys.dir, storage.as_ref()).await?;
            println!(
                "rotated {} and re-sealed {resealed} stored key set(s); running nodes reload \
                 them within {} s ([keys] refresh_interval). Copy the new file to every node \
                 before the next KEK rotation",
                keys::kek_path(&config.keys.dir).display(),
                config.keys.refresh_interval
            );
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::Rotate { force },
        } => {
            let storage = state::connect(&config).await?;
            let kek = keys::kek(&config.keys.dir, storage.as_ref()).await?;
            let wait = keys::rotation_wait(config.token.expiration, config.keys.refresh_interval);
            let algorithm = config.token.algorithm;
            keys::rotate_checked(storage.as_ref(), &kek, algorithm, &SystemClock, wait, force)
                .await?;
            println!(
                "rotated the receipt and token signing keys; running nodes reload them within \
                 {} s ([keys] refresh_interval); the next rotation is refused for {} s \
                 ([token] expiration + [keys] refresh_interval) unless --force",
                config.keys.refresh_interval,
                wait.num_seconds()
            );
            Ok(())
        }
    }
}

async fn user(command: UserCommand, config: &Config) -> Result<(), ServerError> {
    match command {
        UserCommand::Create {
            name,
            password,
            password_stdin,
            domain_id,
        } => {
            // Read before connecting: a missing password fails at once.
            let password = new_password(password, password_stdin, &USER_PASSWORD, &name)?;
            let tools = UserTools::open(config).await?;
            let user = operations::create_user(&tools.cx(), &domain_id, &name, password).await?;
            println!("created user {} ({})", user.name, user.id);
        }
        UserCommand::List { domain_id } => {
            let storage = state::connect(config).await?;
            print!(
                "{}",
                operations::list_users(storage.as_ref(), domain_id.as_deref()).await?
            );
        }
        UserCommand::SetPassword {
            name,
            password,
            password_stdin,
            domain_id,
        } => {
            let password = new_password(password, password_stdin, &USER_PASSWORD, &name)?;
            let tools = UserTools::open(config).await?;
            let user = operations::set_password(&tools.cx(), &domain_id, &name, password).await?;
            println!(
                "set the password of {} ({}); its tokens are revoked",
                user.name, user.id
            );
        }
    }
    Ok(())
}

/// What the user commands work with: the store, the password hasher and
/// the compliance rules.
struct UserTools {
    storage: std::sync::Arc<dyn auth_core::store::Storage>,
    hasher: auth_plugins::hashing::PasswordHasher,
    compliance: auth_plugins::compliance::SecurityCompliance,
}

impl UserTools {
    /// Connects to the database (migrating it) and reads the hashing and
    /// compliance settings.
    async fn open(config: &Config) -> Result<Self, ServerError> {
        Ok(Self {
            storage: state::connect(config).await?,
            hasher: auth_plugins::hashing::PasswordHasher::new(config.password_hashing()?)?,
            compliance: config.compliance()?,
        })
    }

    /// The services' context over these parts.
    fn cx(&self) -> Context<'_> {
        Context::new(
            self.storage.as_ref(),
            &self.hasher,
            &self.compliance,
            &SystemClock,
        )
    }
}

/// A password argument: its flag and environment variable, for messages.
struct PasswordArg {
    /// The flag (`--admin-password`).
    flag: &'static str,
    /// The environment variable that stands for the flag.
    env: &'static str,
}

/// `bootstrap`'s admin password.
const BOOTSTRAP_PASSWORD: PasswordArg = PasswordArg {
    flag: "--admin-password",
    env: "AUTH_BOOTSTRAP_PASSWORD",
};

/// `user create`'s and `user set-password`'s password.
const USER_PASSWORD: PasswordArg = PasswordArg {
    flag: "--password",
    env: "AUTH_USER_PASSWORD",
};

/// Parses a password argument straight into a [`SecretString`].
fn secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(value))
}

/// The new password of `user`: the one given (flag or variable), else
/// standard input's with `--password-stdin`, else asked for twice on the
/// terminal without echo (as `kanidmd recover-account` or `passwd` do).
/// Without a terminal it fails at once, naming the flag and the variable,
/// rather than waiting on input that will not come.
fn new_password(
    given: Option<SecretString>,
    from_stdin: bool,
    arg: &PasswordArg,
    user: &str,
) -> Result<SecretString, ServerError> {
    read_new_password(
        given,
        from_stdin,
        arg,
        user,
        std::io::stdin().is_terminal(),
        |prompt| rpassword::prompt_password(prompt).map(SecretString::from),
        || {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
            Ok(SecretString::from(text))
        },
    )
}

/// [`new_password`], with the terminal and standard input passed in.
fn read_new_password(
    given: Option<SecretString>,
    from_stdin: bool,
    arg: &PasswordArg,
    user: &str,
    on_terminal: bool,
    mut prompt: impl FnMut(&str) -> std::io::Result<SecretString>,
    read_stdin: impl FnOnce() -> std::io::Result<SecretString>,
) -> Result<SecretString, ServerError> {
    let PasswordArg { flag, env } = arg;
    let fail = |message: String| Err(ServerError::Input(message));
    let password = match (given, from_stdin) {
        (Some(_), true) => {
            return fail(format!(
                "the password is given twice: by {flag} or {env}, and by --password-stdin"
            ));
        }
        (Some(password), false) => password,
        (None, true) => {
            let read = read_stdin()
                .map_err(|e| ServerError::Input(format!("cannot read standard input: {e}")))?;
            // A newline ends what `echo` or a file gives; it is not part
            // of the password (as docker login --password-stdin).
            let text = read.expose_secret();
            let text = text.strip_suffix('\n').unwrap_or(text);
            SecretString::from(text.strip_suffix('\r').unwrap_or(text))
        }
        (None, false) if !on_terminal => {
            return fail(format!(
                "no password for {user}: give {flag}, set {env}, or pipe it with \
                 --password-stdin (standard input is not a terminal, so it is not asked for)"
            ));
        }
        (None, false) => {
            let asked = |e: std::io::Error| {
                ServerError::Input(format!("cannot read the password from the terminal: {e}"))
            };
            let first = prompt(&format!("New password for {user}: ")).map_err(asked)?;
            let again = prompt(&format!("New password for {user} (again): ")).map_err(asked)?;
            if first.expose_secret() != again.expose_secret() {
                return fail("the two passwords differ; nothing was changed".to_owned());
            }
            first
        }
    };
    if password.expose_secret().is_empty() {
        return fail(format!("the password for {user} is empty"));
    }
    Ok(password)
}

/// Reads the TLS certificate and key again on every `SIGHUP` (what
/// `systemctl reload auth-server` sends), besides `[tls]
/// reload_interval_secs`.
async fn reload_on_hangup(state: AppState) {
    #[cfg(unix)]
    {
        let Ok(mut hangups) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hangups.recv().await.is_some() {
            match state.tls() {
                Some(certificates) => {
                    if certificates.reload() == auth_server::tls::Reloaded::Unchanged {
                        tracing::info!("SIGHUP: the TLS certificate and key are unchanged");
                    }
                }
                None => tracing::info!("SIGHUP: nothing to reload ([tls] is not set)"),
            }
        }
    }
    #[cfg(not(unix))]
    drop(state);
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn config_example_takes_a_data_directory() {
        let cli = Cli::try_parse_from(["auth-server", "config", "example", "--data-dir", "/d"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            cli.command,
            Some(Command::Config {
                command: ConfigCommand::Example { data_dir: Some(ref d) }
            }) if d == std::path::Path::new("/d")
        ));
    }

    #[test]
    fn the_help_shows_no_developer_comment() {
        let help = Cli::command().render_long_help().to_string();
        assert!(
            help.starts_with("A Keystone-compatible authentication server"),
            "{help}"
        );
        assert!(!help.contains("Debug"), "{help}");
    }

    /// [`read_new_password`] with `given`, `--password-stdin` when
    /// `stdin` is some (what standard input holds), on a terminal whose
    /// user types `typed` in turn; returns the outcome and the prompts.
    fn read(
        given: Option<&str>,
        stdin: Option<&str>,
        on_terminal: bool,
        typed: &[&str],
    ) -> (Result<String, String>, Vec<String>) {
        let mut prompts = Vec::new();
        let mut typed = typed.iter();
        let result = read_new_password(
            given.map(SecretString::from),
            stdin.is_some(),
            &BOOTSTRAP_PASSWORD,
            "admin",
            on_terminal,
            |prompt| {
                prompts.push(prompt.to_owned());
                typed
                    .next()
                    .map(|t| SecretString::from(*t))
                    .ok_or_else(|| std::io::Error::other("no more input"))
            },
            || Ok(SecretString::from(stdin.unwrap_or_default())),
        );
        let result = result
            .map(|p| p.expose_secret().to_owned())
            .map_err(|e| e.to_string());
        (result, prompts)
    }

    #[test]
    fn a_given_password_is_used_without_asking() {
        let (result, prompts) = read(Some("given-secret"), None, true, &[]);
        assert_eq!(result.as_deref(), Ok("given-secret"));
        assert!(prompts.is_empty());
    }

    #[test]
    fn a_missing_password_is_asked_for_twice_on_a_terminal() {
        let (result, prompts) = read(None, None, true, &["typed-secret", "typed-secret"]);
        assert_eq!(result.as_deref(), Ok("typed-secret"));
        assert_eq!(prompts.len(), 2, "{prompts:?}");
        assert!(prompts.iter().all(|p| p.contains("admin")), "{prompts:?}");
    }

    #[test]
    fn two_different_answers_are_refused_without_showing_them() {
        let (result, _) = read(None, None, true, &["first-secret", "second-secret"]);
        let e = result.unwrap_err();
        assert!(e.contains("differ"), "{e}");
        assert!(!e.contains("first-secret") && !e.contains("second-secret"));
        let (result, _) = read(None, None, true, &["", ""]);
        assert!(result.unwrap_err().contains("empty"));
    }

    #[test]
    fn without_a_terminal_a_missing_password_fails_at_once_naming_the_flag() {
        let (result, prompts) = read(None, None, false, &["never-read"]);
        let e = result.unwrap_err();
        assert!(prompts.is_empty(), "asked without a terminal: {prompts:?}");
        for needed in [
            "--admin-password",
            "AUTH_BOOTSTRAP_PASSWORD",
            "--password-stdin",
        ] {
            assert!(e.contains(needed), "{e}");
        }
    }

    #[test]
    fn password_stdin_reads_standard_input_less_one_newline() {
        for (input, expected) in [
            ("piped-secret\n", "piped-secret"),
            ("piped-secret\r\n", "piped-secret"),
            ("piped-secret", "piped-secret"),
            ("two lines\n\n", "two lines\n"),
        ] {
            let (result, prompts) = read(None, Some(input), true, &[]);
            assert_eq!(result.as_deref(), Ok(expected), "{input:?}");
            assert!(prompts.is_empty());
        }
        let (result, _) = read(None, Some("\n"), false, &[]);
        assert!(result.unwrap_err().contains("empty"));
        let (result, _) = read(Some("given-secret"), Some("piped-secret"), false, &[]);
        let e = result.unwrap_err();
        assert!(e.contains("twice") && !e.contains("-secret"), "{e}");
    }

    #[test]
    fn password_flags_are_optional_and_parse_as_secrets() {
        let cli = Cli::try_parse_from(["auth-server", "bootstrap", "--password-stdin"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            cli.command,
            Some(Command::Bootstrap {
                admin_password: None,
                password_stdin: true,
                ..
            })
        ));
        let cli = Cli::try_parse_from(["auth-server", "user", "set-password", "--name", "bob"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            cli.command,
            Some(Command::User {
                command: UserCommand::SetPassword {
                    password: None,
                    password_stdin: false,
                    ..
                }
            })
        ));
    }

    #[test]
    fn keys_rotate_takes_force() {
        let parsed = |args: &[&str]| match Cli::try_parse_from(args).map(|c| c.command) {
            Ok(Some(Command::Keys {
                command: KeysCommand::Rotate { force },
            })) => Some(force),
            _ => None,
        };
        assert_eq!(parsed(&["auth-server", "keys", "rotate"]), Some(false));
        assert_eq!(
            parsed(&["auth-server", "keys", "rotate", "--force"]),
            Some(true)
        );
    }
}
