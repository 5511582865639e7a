//! Per-user multi-factor rules.
//!
//! A user's `multi_factor_auth_rules` is a list of rules; a rule is a list of
//! method names. A login satisfies the rules when the methods it used
//! (including those carried in a receipt or by the `token` method) contain
//! every method of at least one rule. This is Keystone's meaning.
//!
//! # Rules that name methods which are not enabled
//!
//! Keystone intersects each rule with the enabled methods. That has a sharp
//! edge: with the rules `[[password, totp], [password, webauthn]]` and
//! `webauthn` disabled, the second rule shrinks to `[password]` and a
//! password alone gets in, although the user was meant to need two
//! factors. Before LP#2102096, rules made only of disabled methods let any
//! single method in.
//!
//! This framework never shrinks a rule. Its semantics:
//!
//! 1. No rules, or `multi_factor_auth_enabled == Some(false)`: any single
//!    successful method is enough.
//! 2. A rule is *applicable* when every method it names is enabled. Rules
//!    that name a method which is not enabled are set aside whole, and empty
//!    rules (invalid data) are set aside too.
//! 3. The login passes when the used methods contain an applicable rule.
//! 4. When the user has rules but none is applicable, the login **fails
//!    closed** with [`AuthError::MfaRulesUnsatisfiable`]: an operator who
//!    disables a method a user depends on locks that user out until the rules
//!    change, rather than silently lowering the user to fewer factors.
//! 5. Otherwise the login may continue: the receipt lists, as
//!    `required_auth_methods`, the applicable rules that share a method with
//!    those already used (every applicable rule if none does), each whole,
//!    as Keystone does.
//!
//! So a user is never let in with fewer factors than a whole rule, and a
//! rule is only ever satisfied by using every method it names.

use crate::AuthError;
use crate::store::UserOptions;

/// The result of checking the used methods against a user's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MfaDecision {
    /// The used methods are enough.
    Satisfied,
    /// More methods are needed; the applicable rules worth offering.
    Unsatisfied {
        /// Whole rules, as `required_auth_methods`.
        required: Vec<Vec<String>>,
    },
}

/// Checks `used` against the user's rules, given the enabled methods.
pub fn evaluate(
    options: &UserOptions,
    used: &[String],
    is_enabled: impl Fn(&str) -> bool,
) -> Result<MfaDecision, AuthError> {
    let rules = &options.multi_factor_auth_rules;
    if rules.is_empty() || options.multi_factor_auth_enabled == Some(false) {
        return Ok(MfaDecision::Satisfied);
    }
    let applicable: Vec<&Vec<String>> = rules
        .iter()
        .filter(|rule| !rule.is_empty() && rule.iter().all(|m| is_enabled(m)))
        .collect();
    if applicable.is_empty() {
        return Err(AuthError::MfaRulesUnsatisfiable);
    }
    let is_used = |m: &String| used.contains(m);
    if applicable.iter().any(|rule| rule.iter().all(is_used)) {
        return Ok(MfaDecision::Satisfied);
    }
    let touching: Vec<Vec<String>> = applicable
        .iter()
        .filter(|rule| rule.iter().any(is_used))
        .map(|rule| (*rule).clone())
        .collect();
    let required = if touching.is_empty() {
        applicable.into_iter().cloned().collect()
    } else {
        touching
    };
    Ok(MfaDecision::Unsatisfied { required })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(rules: &[&[&str]]) -> UserOptions {
        UserOptions {
            multi_factor_auth_rules: rules
                .iter()
                .map(|r| r.iter().map(|m| (*m).to_owned()).collect())
                .collect(),
            ..UserOptions::default()
        }
    }

    fn used(methods: &[&str]) -> Vec<String> {
        methods.iter().map(|m| (*m).to_owned()).collect()
    }

    const ENABLED: [&str; 3] = ["password", "totp", "token"];

    fn check(rules: &[&[&str]], methods: &[&str]) -> Result<MfaDecision, AuthError> {
        evaluate(&options(rules), &used(methods), |m| ENABLED.contains(&m))
    }

    #[test]
    fn no_rules_means_one_method_is_enough() {
        assert_eq!(check(&[], &["password"]).unwrap(), MfaDecision::Satisfied);
    }

    #[test]
    fn explicitly_disabled_rules_do_not_apply() {
        let mut o = options(&[&["password", "totp"]]);
        o.multi_factor_auth_enabled = Some(false);
        assert_eq!(
            evaluate(&o, &used(&["password"]), |_| true).unwrap(),
            MfaDecision::Satisfied
        );
        // Unset means enabled (Keystone's code).
        o.multi_factor_auth_enabled = None;
        assert!(matches!(
            evaluate(&o, &used(&["password"]), |_| true).unwrap(),
            MfaDecision::Unsatisfied { .. }
        ));
    }

    #[test]
    fn a_rule_is_satisfied_only_by_all_its_methods() {
        let rules: &[&[&str]] = &[&["password", "totp"]];
        assert_eq!(
            check(rules, &["password", "totp"]).unwrap(),
            MfaDecision::Satisfied
        );
        assert_eq!(
            check(rules, &["password"]).unwrap(),
            MfaDecision::Unsatisfied {
                required: vec![used(&["password", "totp"])]
            }
        );
    }

    #[test]
    fn required_lists_whole_rules_sharing_a_used_method() {
        let rules: &[&[&str]] = &[&["password", "totp"], &["token", "totp"]];
        assert_eq!(
            check(rules, &["password"]).unwrap(),
            MfaDecision::Unsatisfied {
                required: vec![used(&["password", "totp"])]
            }
        );
    }

    #[test]
    fn bypass_a_rule_with_a_disabled_method_is_not_shrunk() {
        // Keystone would shrink [password, webauthn] to [password].
        let rules: &[&[&str]] = &[&["password", "totp"], &["password", "webauthn"]];
        assert_eq!(
            check(rules, &["password"]).unwrap(),
            MfaDecision::Unsatisfied {
                required: vec![used(&["password", "totp"])]
            }
        );
    }

    #[test]
    fn bypass_rules_of_only_disabled_methods_fail_closed() {
        let rules: &[&[&str]] = &[&["webauthn", "u2f"], &["password", "u2f"]];
        assert!(matches!(
            check(rules, &["password"]),
            Err(AuthError::MfaRulesUnsatisfiable)
        ));
        assert!(matches!(
            check(rules, &["password", "totp", "token"]),
            Err(AuthError::MfaRulesUnsatisfiable)
        ));
    }

    #[test]
    fn bypass_empty_rules_are_never_satisfied() {
        assert!(matches!(
            check(&[&[]], &["password"]),
            Err(AuthError::MfaRulesUnsatisfiable)
        ));
        assert_eq!(
            check(&[&[], &["password", "totp"]], &["password"]).unwrap(),
            MfaDecision::Unsatisfied {
                required: vec![used(&["password", "totp"])]
            }
        );
    }

    #[test]
    fn bypass_unused_methods_do_not_count() {
        // A method listed but never passed (e.g. one that challenged) is not used.
        assert!(matches!(
            check(&[&["password", "totp"]], &["token"]).unwrap(),
            MfaDecision::Unsatisfied { .. }
        ));
    }
}
