//! Every configuration example in the documentation is one the server
//! accepts.
//!
//! Each ```` ```toml ```` block of the Markdown files and of the doc
//! comments of the workspace's crates is parsed with the server's own
//! [`Config`] (which refuses unknown keys at every level it types), and
//! then every part the server hands to a plugin is built by that plugin as
//! at start-up: each `[auth.method.<name>]` by its method (their sections
//! refuse unknown keys too), `[security_compliance]`, the password hashing
//! parameters, each `[events.modules.<Name>]` by its handler module, and
//! each `[[events.bindings]]` checked as the server checks it. So a README
//! that documents a section the server does not read fails here rather
//! than in a user's hands.

use std::path::{Path, PathBuf};

use auth_core::handlers::{Dispatcher, HandlerModuleRegistration};
use auth_core::store::HandlerBinding;
use auth_core::{AuthError, Registry};
use auth_server::Config;
use serde_json::{Map, Value, json};

/// Methods whose documentation shows them but which this binary does not
/// link, and where their section is checked instead.
const CHECKED_ELSEWHERE: &[(&str, &str)] = &[(
    "api_key",
    "examples/api-key-method: the_documented_configuration_builds_the_method",
)];

/// One ```` ```toml ```` block: where it starts, and its text.
struct Block {
    origin: String,
    text: String,
    /// Marked ```` ```toml cargo ````: a `Cargo.toml` excerpt, not server
    /// configuration (it must still be TOML).
    cargo: bool,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the workspace")
        .to_path_buf()
}

/// The Markdown files at the root and every `.rs` and `.md` file of the
/// crates and examples.
fn documented_files(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "target") {
                    walk(&path, out);
                }
            } else if path
                .extension()
                .is_some_and(|ext| ext == "rs" || ext == "md")
            {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "md") {
            files.push(path);
        }
    }
    files.sort();
    for dir in ["auth-core", "auth-plugins", "auth-server", "examples"] {
        walk(&root.join(dir), &mut files);
    }
    files
}

/// The ```` ```toml ```` blocks of a Markdown text, or of the doc comments
/// (`//!`, `///`) of Rust source.
fn toml_blocks(relative: &str, text: &str) -> Vec<Block> {
    let rust = relative.ends_with(".rs");
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (number, line) in text.lines().enumerate() {
        let line = if rust {
            let trimmed = line.trim_start();
            match trimmed
                .strip_prefix("//!")
                .or_else(|| trimmed.strip_prefix("///"))
            {
                Some(doc) => doc.strip_prefix(' ').unwrap_or(doc),
                None => {
                    // A doc comment ended: so does any block in it.
                    if let Some(block) = open.take() {
                        panic!("{}: a ```toml block is never closed", block.origin);
                    }
                    continue;
                }
            }
        } else {
            line
        };
        match &mut open {
            None => {
                let origin = format!("{relative}:{}", number + 1);
                let cargo = match line.trim().strip_prefix("```toml") {
                    None => continue,
                    Some("") => false,
                    Some(" cargo") => true,
                    Some(other) => panic!(
                        "{origin}: a ```toml block is server configuration, or marked \
                         `cargo`; not `{other}`"
                    ),
                };
                open = Some(Block {
                    origin,
                    text: String::new(),
                    cargo,
                });
            }
            Some(_) if line.trim() == "```" => blocks.extend(open.take()),
            Some(block) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
        }
    }
    assert!(
        open.is_none(),
        "{relative}: a ```toml block is never closed"
    );
    blocks
}

fn all_blocks() -> Vec<Block> {
    let root = workspace_root();
    documented_files(&root)
        .iter()
        .flat_map(|path| {
            let relative = path.strip_prefix(&root).unwrap().display().to_string();
            toml_blocks(&relative, &std::fs::read_to_string(path).unwrap())
        })
        .collect()
}

fn elsewhere(name: &str) -> bool {
    CHECKED_ELSEWHERE.iter().any(|(n, _)| *n == name)
}

/// Builds what the server builds from `config` at start-up, short of the
/// database: the methods, the compliance rules, the hashing parameters,
/// the handler modules and the file's bindings.
async fn build_plugins(config: &Config) -> Result<(), String> {
    config.compliance().map_err(|e| e.to_string())?;
    config.password_hashing().map_err(|e| e.to_string())?;

    // Every method the block enables or configures, each from its section.
    let sections: Map<String, Value> = config
        .auth
        .sections
        .iter()
        .filter(|(name, _)| !elsewhere(name))
        .map(|(name, section)| (name.clone(), section.clone()))
        .collect();
    let mut enabled: Vec<&String> = config
        .auth
        .methods
        .iter()
        .chain(sections.keys())
        .filter(|name| !elsewhere(name))
        .collect();
    enabled.sort();
    enabled.dedup();
    crate::registry()
        .instantiate_with_shared(&enabled, &sections, &config.shared_sections())
        .map_err(|e| e.to_string())?;

    // Handler modules, then the bindings against them.
    let mut modules = config.events.modules.clone();
    let scripts = tempfile::tempdir().unwrap();
    if let Some(Value::Object(script)) = modules.get_mut("Script") {
        if script.contains_key("directory") {
            // The documented directory need not exist on this machine; the
            // keys around it are what is checked.
            script.insert("directory".into(), json!(scripts.path()));
        }
    }
    let modules = Registry::<HandlerModuleRegistration>::from_inventory()
        .and_then(|r| r.instantiate(&modules))
        .map_err(|e| e.to_string())?;
    let dispatcher = Dispatcher::builder()
        .modules(modules)
        .config(config.events.dispatcher.clone())
        .build()
        .map_err(|e| e.to_string())?;
    for file in &config.events.bindings {
        let binding = HandlerBinding::new(
            "documented",
            file.name.clone(),
            file.events.clone(),
            file.module.clone(),
            file.action.clone(),
        )
        .with_options(file.options.clone())
        .with_conditions(file.conditions.clone())
        .with_position(file.position)
        .with_ordering(file.ordering)
        .with_active(file.active)
        .with_abort_on_error(file.abort_on_error);
        dispatcher
            .validate(&binding)
            .map_err(|e: AuthError| format!("[[events.bindings]] '{}': {e}", file.name))?;
    }
    Ok(())
}

#[tokio::test]
async fn every_documented_toml_block_is_a_configuration_the_server_accepts() {
    let blocks = all_blocks();
    let from_readme = blocks
        .iter()
        .filter(|b| b.origin.starts_with("README.md:"))
        .count();
    // Not vacuous: the README's and every method's examples are found.
    assert!(from_readme >= 2, "README.md has {from_readme} toml blocks");
    assert!(
        blocks.len() >= 12,
        "only {} toml blocks found",
        blocks.len()
    );

    let mut failures = Vec::new();
    for block in &blocks {
        let result = if block.cargo {
            toml::from_str::<toml::Table>(&block.text)
                .map(drop)
                .map_err(|e| e.to_string())
        } else {
            match Config::from_toml(&block.text) {
                Err(e) => Err(e.to_string()),
                Ok(config) => build_plugins(&config).await,
            }
        };
        if let Err(e) = result {
            failures.push(format!("{}:\n{}\n=> {e}", block.origin, block.text));
        }
    }
    assert!(
        failures.is_empty(),
        "documented configuration the server refuses:\n\n{}",
        failures.join("\n\n")
    );
}

#[test]
fn the_extractor_reads_markdown_and_doc_comments() {
    let md = "text\n```toml\n[auth]\nmethods = []\n```\n```sh\nx\n```\n```toml cargo\n[dependencies]\n```\n";
    let blocks = toml_blocks("a.md", md);
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[0].origin, "a.md:2");
    assert_eq!(blocks[0].text, "[auth]\nmethods = []\n");
    assert!(!blocks[0].cargo && blocks[1].cargo);
    let rs = "//! ```toml\n//! [token]\n//! expiration = 60\n//! ```\n/// ```toml\n///[receipt]\n/// ```\nfn x() {}\n";
    let blocks = toml_blocks("a.rs", rs);
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[0].text, "[token]\nexpiration = 60\n");
    assert_eq!(blocks[1].text, "[receipt]\n");
}

#[tokio::test]
async fn a_documented_mistake_would_be_caught() {
    // The shapes the checks above exist for: the plural section the README
    // used to show, an unknown key in a typed section, an unknown key in a
    // method's section, a section for a method nobody registered, and a
    // binding with an option its action does not have.
    for text in [
        "[auth.methods.totp]\nincluded_previous_windows = 2\n",
        "[token]\nexpiry = 60\n",
        "[auth.method.totp]\nwindows = 2\n",
        "[auth.method.totpp]\nincluded_previous_windows = 2\n",
        "[[events.bindings]]\nname = \"x\"\nevents = [\"*\"]\nmodule = \"Logging\"\naction = \"log\"\noptions = { nonsense = 1 }\n",
    ] {
        let refused = match Config::from_toml(text) {
            Err(_) => true,
            Ok(config) => build_plugins(&config).await.is_err(),
        };
        assert!(refused, "accepted:\n{text}");
    }
}
