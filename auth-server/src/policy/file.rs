//! Policy files in oslo.policy's format: one mapping of rule names to
//! check strings, in YAML or JSON.
//!
//! ```yaml
//! "identity:list_users": "role:reader and system_scope:all"
//! "domain_admin": "role:admin and domain_id:%(target.domain_id)s"
//! "identity:get_user": "rule:domain_admin or user_id:%(target.user.id)s"
//! ```
//!
//! A name that is a default rule overrides its check string (its scope
//! types stay Keystone's, as in oslo.policy); any other name defines a new
//! rule that others may reference with `rule:`. Unlike oslo.policy, which
//! reads a `null` value as "allow everyone" and skips what it cannot parse,
//! every value must be a string that parses.

use std::path::Path;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

/// One `name: check string` entry of a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The rule's name.
    pub(crate) name: String,
    /// Its check string, not yet parsed.
    pub(crate) check_str: String,
    /// Where it is: `<file>:<line>` when known, else `<file>`.
    pub(crate) location: String,
}

/// Reads the policy file at `path`: JSON if its name ends in `.json`,
/// YAML otherwise.
pub(crate) fn read(path: &Path) -> Result<Vec<Entry>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("policy file {}: cannot read it: {e}", path.display()))?;
    let shown = path.display().to_string();
    let is_json = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
    if is_json {
        parse_json(&text, &shown)
    } else {
        parse_yaml(&text, &shown)
    }
}

/// Parses a JSON policy document.
pub(crate) fn parse_json(text: &str, source: &str) -> Result<Vec<Entry>, String> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("policy file {source}: not valid JSON: {e}"))?;
    let serde_json::Value::Object(map) = value else {
        return Err(format!(
            "policy file {source}: must be an object of rule names to check strings"
        ));
    };
    map.into_iter()
        .map(|(name, value)| match value {
            serde_json::Value::String(check_str) => Ok(Entry {
                name,
                check_str,
                location: source.to_owned(),
            }),
            other => Err(format!(
                "policy file {source}: rule {name}: the check string must be a string, not {}",
                json_kind(&other)
            )),
        })
        .collect()
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list (oslo.policy's old list syntax is not supported)",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Parses a YAML policy document (JSON is YAML too). An empty document
/// overrides nothing.
pub(crate) fn parse_yaml(text: &str, source: &str) -> Result<Vec<Entry>, String> {
    let documents = MarkedYaml::load_from_str(text)
        .map_err(|e| format!("policy file {source}: not valid YAML: {e}"))?;
    let mut documents = documents.into_iter();
    let Some(document) = documents.next() else {
        return Ok(Vec::new());
    };
    if documents.next().is_some() {
        return Err(format!(
            "policy file {source}: holds more than one YAML document"
        ));
    }
    let YamlData::Mapping(map) = document.data else {
        if matches!(document.data, YamlData::Value(Scalar::Null)) {
            return Ok(Vec::new());
        }
        return Err(format!(
            "policy file {source}: must be a mapping of rule names to check strings"
        ));
    };
    let mut entries = Vec::with_capacity(map.len());
    for (key, value) in map {
        let line = key.span.start.line();
        let location = format!("{source}:{line}");
        let name = match &key.data {
            YamlData::Value(Scalar::String(name)) => name.to_string(),
            _ => {
                return Err(format!(
                    "policy file {location}: a rule name must be a string"
                ));
            }
        };
        let check_str = match value.data {
            YamlData::Value(Scalar::String(check_str)) => check_str.into_owned(),
            other => {
                return Err(format!(
                    "policy file {location}: rule {name}: the check string must be a string, \
                     not {} (quote it)",
                    yaml_kind(&other)
                ));
            }
        };
        entries.push(Entry {
            name,
            check_str,
            location,
        });
    }
    Ok(entries)
}

fn yaml_kind<'a>(data: &YamlData<'a, MarkedYaml<'a>>) -> &'static str {
    match data {
        YamlData::Value(Scalar::Null) => "empty",
        YamlData::Value(Scalar::Boolean(_)) => "a boolean",
        YamlData::Value(Scalar::Integer(_) | Scalar::FloatingPoint(_)) => "a number",
        YamlData::Sequence(_) => "a list (oslo.policy's old list syntax is not supported)",
        YamlData::Mapping(_) => "a mapping",
        _ => "a value of another kind",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_entries_keep_their_order_and_lines() {
        let entries = parse_yaml(
            "# comment\n\"identity:list_users\": \"role:reader\"\nmine: 'role:x or rule:y'\n",
            "p.yaml",
        )
        .unwrap();
        assert_eq!(
            entries,
            [
                Entry {
                    name: "identity:list_users".into(),
                    check_str: "role:reader".into(),
                    location: "p.yaml:2".into(),
                },
                Entry {
                    name: "mine".into(),
                    check_str: "role:x or rule:y".into(),
                    location: "p.yaml:3".into(),
                },
            ]
        );
        assert_eq!(parse_yaml("", "p.yaml").unwrap(), []);
        assert_eq!(parse_yaml("# nothing\n", "p.yaml").unwrap(), []);
    }

    #[test]
    fn json_entries() {
        let entries = parse_json(r#"{"identity:get_user": "@", "x": ""}"#, "p.json").unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].check_str, "@");
        // JSON is YAML, so a .yaml file may hold JSON as well.
        assert_eq!(
            parse_yaml(r#"{"identity:get_user": "@"}"#, "p.yaml").unwrap()[0].name,
            "identity:get_user"
        );
    }

    #[test]
    fn values_that_are_not_strings_are_refused_naming_the_rule() {
        let e = parse_yaml("a: 'role:x'\nb:\n", "p.yaml").unwrap_err();
        assert!(
            e.contains("p.yaml:2") && e.contains("rule b") && e.contains("empty"),
            "{e}"
        );
        let e = parse_yaml("a: [role:x]\n", "p.yaml").unwrap_err();
        assert!(e.contains("rule a") && e.contains("list"), "{e}");
        let e = parse_yaml("a: true\n", "p.yaml").unwrap_err();
        assert!(e.contains("boolean"), "{e}");
        let e = parse_json(r#"{"a": 1}"#, "p.json").unwrap_err();
        assert!(e.contains("rule a") && e.contains("number"), "{e}");
        let e = parse_json(r#"["a"]"#, "p.json").unwrap_err();
        assert!(e.contains("must be an object"), "{e}");
        let e = parse_yaml("- a\n", "p.yaml").unwrap_err();
        assert!(e.contains("must be a mapping"), "{e}");
    }

    #[test]
    fn syntax_errors_and_duplicates_say_where() {
        let e = parse_yaml("a: 'role:x\n", "p.yaml").unwrap_err();
        assert!(e.contains("not valid YAML") && e.contains("line"), "{e}");
        let e = parse_yaml("a: 'role:x'\na: 'role:y'\n", "p.yaml").unwrap_err();
        assert!(e.contains("not valid YAML"), "{e}");
        let e = parse_json("{\"a\": }", "p.json").unwrap_err();
        assert!(e.contains("line 1 column 7"), "{e}");
    }
}
