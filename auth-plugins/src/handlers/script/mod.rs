//! `Script`: runs an executable from a configured directory with the
//! event's data as arguments (privacyIDEA's Script handler).
//!
//! Running programs from an admin API is dangerous, so the module is off
//! unless the operator's configuration turns it on and names the one
//! directory scripts come from:
//!
//! ```toml
//! [events.modules.Script]
//! enabled = true
//! directory = "/etc/auth/scripts"
//! ```
//!
//! A binding names a script by its file name only: no path separators, no
//! `..`, no hidden files, and the resolved file (symbolic links followed)
//! must still be inside the directory. The program is started directly,
//! never through a shell, with an empty environment (`PATH` aside), no
//! input, and its output discarded; the run's time limit kills it.
//!
//! Arguments, each present only when the event has it: `--event NAME`,
//! `--result R`, `--user-id ID`, `--user NAME`, `--domain ID`,
//! `--project ID`, `--client-ip IP`, `--request-id ID`, `--binding NAME`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use async_trait::async_trait;
use auth_core::handlers::{
    ActionCall, ActionEffect, ActionOptions, ActionSpec, HandlerModule, OptionSpec,
};
use auth_core::{AuthError, PluginConfig};
use serde::Deserialize;

/// The registered name.
pub const NAME: &str = "Script";

/// The `PATH` a script gets.
const SCRIPT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// The module: the canonical script directory, when enabled.
#[derive(Debug)]
pub struct Script {
    directory: Option<PathBuf>,
    actions: Vec<ActionSpec>,
}

/// `[events.modules.Script]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ScriptConfig {
    enabled: bool,
    directory: Option<PathBuf>,
}

impl Script {
    /// Builds the module. Enabled, it needs an existing directory.
    pub fn from_config(config: &PluginConfig) -> Result<Self, AuthError> {
        let ScriptConfig { enabled, directory } = config.parse()?;
        let directory = match (enabled, directory) {
            (false, _) => None,
            (true, None) => {
                return Err(AuthError::invalid_config(
                    NAME,
                    "enabled scripts need a 'directory'",
                ));
            }
            (true, Some(dir)) => {
                let canonical =
                    dir.canonicalize()
                        .ok()
                        .filter(|d| d.is_dir())
                        .ok_or_else(|| {
                            AuthError::invalid_config(
                                NAME,
                                "the script 'directory' is not a directory",
                            )
                        })?;
                Some(canonical)
            }
        };
        let run = ActionSpec::new("run", "runs a script with the event's data as arguments")
            .option(
                OptionSpec::string("script", "the script's file name in the script directory")
                    .required(),
            );
        Ok(Self {
            directory,
            actions: vec![run],
        })
    }

    /// The script's canonical path, if the name is acceptable and the file
    /// is inside the directory.
    fn resolve(&self, name: &str) -> Result<PathBuf, AuthError> {
        let directory = self.directory.as_deref().ok_or_else(|| {
            AuthError::bad_request(
                "scripts are disabled: the Script module's configuration must set enabled = \
                 true and a directory",
            )
        })?;
        let plain = !name.is_empty()
            && !name.starts_with('.')
            && !name.contains(['/', '\\', '\0'])
            && Path::new(name).file_name() == Some(std::ffi::OsStr::new(name));
        if !plain {
            return Err(AuthError::bad_request(
                "option 'script' must be a plain file name in the script directory",
            ));
        }
        directory
            .join(name)
            .canonicalize()
            .ok()
            .filter(|path| path.starts_with(directory) && path.is_file())
            .ok_or_else(|| {
                AuthError::bad_request(format!(
                    "there is no script '{name}' in the script directory"
                ))
            })
    }
}

#[async_trait]
impl HandlerModule for Script {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "runs a configured script (off unless configured)"
    }

    fn actions(&self) -> &[ActionSpec] {
        &self.actions
    }

    fn check(&self, _action: &str, options: &ActionOptions) -> Result<(), AuthError> {
        self.resolve(options.require_str("script")?).map(drop)
    }

    async fn run(&self, call: ActionCall<'_>) -> Result<ActionEffect, AuthError> {
        // Resolved again: the directory may have changed since the save.
        let path = self
            .resolve(call.options().require_str("script")?)
            .map_err(|_| AuthError::handler_failed("no_script"))?;
        let event = call.event();
        let mut args: Vec<(&str, String)> = vec![("--event", event.name.clone())];
        if let Some(result) = event.result {
            let result = serde_json::to_value(result).ok();
            if let Some(result) = result.as_ref().and_then(|r| r.as_str()) {
                args.push(("--result", result.to_owned()));
            }
        }
        let optional = [
            ("--user-id", event.user_id.clone()),
            ("--user", call.user().await.map(|u| u.name.clone())),
            ("--domain", event.domain_id.clone()),
            ("--project", event.project_id.clone()),
            ("--client-ip", event.client_addr.map(|a| a.to_string())),
            ("--request-id", event.request_id.clone()),
        ];
        args.extend(
            optional
                .into_iter()
                .filter_map(|(flag, v)| Some((flag, v?))),
        );
        if !call.binding().is_empty() {
            args.push(("--binding", call.binding().to_owned()));
        }
        let mut command = tokio::process::Command::new(&path);
        for (flag, value) in &args {
            command.arg(flag).arg(value);
        }
        let status = command
            .env_clear()
            .env("PATH", SCRIPT_PATH)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Dropped at the run's time limit: the child is killed.
            .kill_on_drop(true)
            .status()
            .await
            .map_err(|_| AuthError::handler_failed("not_runnable"))?;
        if status.success() {
            Ok(ActionEffect::Unchanged)
        } else {
            Err(AuthError::handler_failed("exit_status"))
        }
    }
}

builtin_handler!(Script);

#[cfg(test)]
mod tests;
