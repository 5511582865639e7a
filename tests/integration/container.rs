//! The container image (`Dockerfile`, `compose.yaml`) is not built here:
//! this machine has no container engine and reaches no image registry.
//! What it must share with the Debian package, which CI does build,
//! install and run (`scripts/check-package`), is checked instead: the same
//! release build, the same configuration file, a non-root user, and
//! environment variables the server reads, with values it accepts.

use std::collections::BTreeSet;
use std::path::Path;

use auth_server::Config;

fn read(relative: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the workspace");
    std::fs::read_to_string(root.join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// The Dockerfile's instructions, continuation lines joined and comments
/// dropped, as (keyword, arguments).
fn instructions(dockerfile: &str) -> Vec<(String, String)> {
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(start) => {
                current.push_str(start);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                joined.push(std::mem::take(&mut current));
            }
        }
    }
    joined
        .into_iter()
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (keyword, rest) = line.split_once(' ').unwrap_or((&line, ""));
            (
                keyword.to_uppercase(),
                rest.split_whitespace().collect::<Vec<_>>().join(" "),
            )
        })
        .collect()
}

/// The `KEY=value` pairs of the Dockerfile's `ENV` instructions.
fn environment(instructions: &[(String, String)]) -> Vec<(String, String)> {
    instructions
        .iter()
        .filter(|(keyword, _)| keyword == "ENV")
        .flat_map(|(_, rest)| rest.split(' '))
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
}

#[test]
fn the_image_is_built_and_configured_as_the_tested_package_is() {
    let dockerfile = instructions(&read("Dockerfile"));
    let runs: Vec<&str> = dockerfile
        .iter()
        .filter(|(keyword, _)| keyword == "RUN")
        .map(|(_, rest)| rest.as_str())
        .collect();
    // The release build `cargo deb -p auth-server --locked` makes in
    // scripts/check-package: the release profile, the one package, the
    // committed lock file.
    assert!(
        runs.iter()
            .any(|run| run.starts_with("cargo build --release -p auth-server --locked")),
        "{runs:?}"
    );
    assert!(read("scripts/check-package").contains("cargo deb -p auth-server --locked"));

    // The package's configuration file, where the package puts it.
    let packaged = read("auth-server/Cargo.toml");
    assert!(
        packaged
            .contains(r#"["debian/auth-server.toml", "etc/auth-server/auth-server.toml", "640"]"#),
        "the package's conffile moved; move the image's too"
    );
    assert!(
        dockerfile.iter().any(|(keyword, rest)| keyword == "COPY"
            && rest.ends_with(
                "auth-server/debian/auth-server.toml /etc/auth-server/auth-server.toml"
            )),
        "{dockerfile:?}"
    );

    // Not root, and the same entry point as the systemd unit.
    let users: Vec<&str> = dockerfile
        .iter()
        .filter(|(keyword, _)| keyword == "USER")
        .map(|(_, rest)| rest.as_str())
        .collect();
    assert_eq!(users, ["auth-server"]);
    assert!(dockerfile.contains(&("ENTRYPOINT".into(), r#"["/usr/bin/auth-server"]"#.into())));
    assert!(dockerfile.contains(&("CMD".into(), r#"["serve"]"#.into())));
    assert!(read("auth-server/debian/auth-server.service").contains(
        "ExecStart=/usr/bin/auth-server --config /etc/auth-server/auth-server.toml serve"
    ));

    // The image's environment over the packaged file is a configuration
    // the server accepts, listening on every interface.
    let env = environment(&dockerfile);
    assert!(env.contains(&(
        "AUTH_CONFIG".into(),
        "/etc/auth-server/auth-server.toml".into()
    )));
    let mut config = Config::from_toml(&read("auth-server/debian/auth-server.toml")).unwrap();
    config
        .apply_env(|name| {
            env.iter()
                .find(|(key, _)| key == name)
                .map(|(_, v)| v.clone())
        })
        .unwrap();
    assert_eq!(config.server.listen, "0.0.0.0:5000");
    assert!(dockerfile.contains(&("EXPOSE".into(), "5000".into())));
}

#[test]
fn compose_sets_only_variables_the_server_reads() {
    let compose = read("compose.yaml");
    let named: BTreeSet<&str> = compose
        .split(|c: char| !(c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit()))
        .filter(|word| word.starts_with("AUTH_"))
        .collect();
    let read_by_loader = std::cell::RefCell::new(BTreeSet::new());
    Config::default()
        .apply_env(|name| {
            read_by_loader.borrow_mut().insert(name.to_owned());
            None
        })
        .unwrap();
    // The CLI's own (clap `env`): the configuration file and bootstrap's.
    let cli = read("auth-server/src/main.rs");
    for name in &named {
        assert!(
            read_by_loader.borrow().contains(*name) || cli.contains(&format!("env = \"{name}\"")),
            "compose.yaml sets {name}, which nothing reads"
        );
    }
    // Two nodes on one PostgreSQL database and one key directory, after a
    // bootstrap that has finished.
    assert!(named.contains("AUTH_DATABASE_URL"));
    assert!(compose.contains("postgres://"));
    assert_eq!(
        compose.matches("- keys:/var/lib/auth-server/keys").count(),
        1,
        "shared by the anchor"
    );
    for node in ["node1:", "node2:"] {
        let start = compose.find(node).unwrap_or_else(|| panic!("no {node}"));
        let section = &compose[start..];
        let end = section[node.len()..]
            .find("\n  n")
            .map_or(section.len(), |i| i + node.len());
        let section = &section[..end];
        assert!(section.contains("<<: *auth-server"), "{section}");
        assert!(
            section.contains("service_completed_successfully"),
            "{section}"
        );
    }
}
