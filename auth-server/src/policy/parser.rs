//! oslo.policy's check-string language, parsed once into a [`Check`] tree.
//!
//! Tokens are split on whitespace, as oslo.policy's `_parse_tokenize` does:
//! `(` at the start and `)` at the end of a token are parentheses (so
//! `%(target.user.domain_id)s` inside a check is not), `and`, `or` and
//! `not` are operators in any case, and everything else is one check.
//! Precedence is oslo.policy's: `not` binds tightest, then `and`, then
//! `or` (`a or b and c` is `a or (b and c)`).
//!
//! Where oslo.policy logs a rule it cannot parse and then denies it,
//! this parser refuses it with the position (1-based, in characters) of the
//! problem, so that a bad policy file stops the server at start-up.

use std::fmt;

use super::check::{Check, CredAttr, Left, Match, Segment};

/// A check string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    /// 1-based character column where the problem is.
    pub(crate) column: usize,
    /// What is wrong.
    pub(crate) message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at column {}: {}", self.column, self.message)
    }
}

#[derive(Debug)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Not,
    Check(Check),
}

/// Splits `text` into tokens with their 1-based columns.
fn tokenize(text: &str) -> Result<Vec<(usize, Token)>, ParseError> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    // Column (in characters) of each byte offset we visit.
    let mut column = 0;
    while let Some(&(_, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            column += 1;
            continue;
        }
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        let start_column = column + 1;
        let mut end = text.len();
        let mut width = 0;
        while let Some(&(i, c)) = chars.peek() {
            if c.is_whitespace() {
                end = i;
                break;
            }
            chars.next();
            width += 1;
        }
        column += width;
        let word = &text[start..end];
        classify(word, start_column, &mut tokens)?;
    }
    Ok(tokens)
}

/// Turns one whitespace-separated word into parentheses, an operator or
/// a check.
fn classify(word: &str, column: usize, tokens: &mut Vec<(usize, Token)>) -> Result<(), ParseError> {
    let inner = word.trim_start_matches('(');
    let opening = word.len() - inner.len();
    for i in 0..opening {
        tokens.push((column + i, Token::Open));
    }
    if inner.is_empty() {
        return Ok(());
    }
    let column = column + opening;
    let clean = inner.trim_end_matches(')');
    let closing = inner.len() - clean.len();
    if !clean.is_empty() {
        let token = if clean.eq_ignore_ascii_case("and") {
            Token::And
        } else if clean.eq_ignore_ascii_case("or") {
            Token::Or
        } else if clean.eq_ignore_ascii_case("not") {
            Token::Not
        } else if is_quoted(inner) {
            return Err(ParseError {
                column,
                message: format!("{inner} is a quoted string, not a check"),
            });
        } else {
            Token::Check(parse_check(clean, column)?)
        };
        tokens.push((column, token));
    }
    let close_column = column + clean.chars().count();
    for i in 0..closing {
        tokens.push((close_column + i, Token::Close));
    }
    Ok(())
}

fn is_quoted(text: &str) -> bool {
    text.len() >= 2
        && ((text.starts_with('"') && text.ends_with('"'))
            || (text.starts_with('\'') && text.ends_with('\'')))
}

/// One check: `@`, `!`, `rule:<name>`, `role:<match>` or
/// `<left>:<match>`.
fn parse_check(text: &str, column: usize) -> Result<Check, ParseError> {
    match text {
        "@" => return Ok(Check::True),
        "!" => return Ok(Check::False),
        _ => {}
    }
    let Some((kind, matched)) = text.split_once(':') else {
        return Err(ParseError {
            column,
            message: format!("{text} is not a check (expected kind:match, @ or !)"),
        });
    };
    let match_column = column + kind.chars().count() + 1;
    match kind {
        "rule" => {
            if matched.is_empty() {
                return Err(ParseError {
                    column: match_column,
                    message: "rule: names no rule".into(),
                });
            }
            Ok(Check::Rule {
                name: matched.to_owned(),
                index: usize::MAX,
            })
        }
        "role" => Ok(Check::Role(match parse_match(matched, match_column)? {
            Match::Literal(name) => Match::Literal(name.to_lowercase()),
            other => other,
        })),
        "http" | "https" => Err(ParseError {
            column,
            message: format!("{kind}: checks (asking a remote server) are not supported"),
        }),
        _ => Ok(Check::Generic {
            left: parse_left(kind),
            right: parse_match(matched, match_column)?,
        }),
    }
}

/// The left side of a generic check: a Python literal (as `str()` prints
/// it), or a caller attribute.
fn parse_left(kind: &str) -> Left {
    if is_quoted(kind) {
        return Left::Literal(kind[1..kind.len() - 1].to_owned());
    }
    if matches!(kind, "None" | "True" | "False") {
        return Left::Literal(kind.to_owned());
    }
    let digits = kind.strip_prefix('-').unwrap_or(kind);
    let leading_zero = digits.len() > 1 && digits.starts_with('0');
    if !digits.is_empty() && !leading_zero && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = kind.parse::<i64>() {
            return Left::Literal(n.to_string());
        }
    }
    Left::Attr(CredAttr::from_path(kind))
}

/// The right side: literal text, `%(key)s` substitutions, `%%`.
fn parse_match(text: &str, column: usize) -> Result<Match, ParseError> {
    if !text.contains('%') {
        return Ok(Match::Literal(text.to_owned()));
    }
    let mut segments = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(at) = rest.find('%') {
        literal.push_str(&rest[..at]);
        let here = column + text[..offset + at].chars().count();
        let after = &rest[at + 1..];
        if let Some(after_percent) = after.strip_prefix('%') {
            literal.push('%');
            offset += at + 2;
            rest = after_percent;
            continue;
        }
        let Some(key_and_rest) = after.strip_prefix('(') else {
            return Err(ParseError {
                column: here,
                message: "a % must start %(key)s (or be written %%)".into(),
            });
        };
        let Some(close) = key_and_rest.find(')') else {
            return Err(ParseError {
                column: here,
                message: "%( is not closed".into(),
            });
        };
        let key = &key_and_rest[..close];
        let Some(tail) = key_and_rest[close + 1..].strip_prefix('s') else {
            return Err(ParseError {
                column: here,
                message: format!("%({key}) must be followed by s, as in %({key})s"),
            });
        };
        if !literal.is_empty() {
            segments.push(Segment::Text(std::mem::take(&mut literal)));
        }
        segments.push(Segment::Key(key.to_owned()));
        offset += at + 1 + 1 + close + 1 + 1;
        rest = tail;
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        segments.push(Segment::Text(literal));
    }
    Ok(match segments.as_slice() {
        [Segment::Key(key)] => Match::Key(key.clone()),
        [Segment::Text(text)] => Match::Literal(text.clone()),
        _ => Match::Template(segments),
    })
}

/// Parses a whole check string. An empty string is `@`, as in oslo.policy.
pub(crate) fn parse(text: &str) -> Result<Check, ParseError> {
    if text.is_empty() {
        return Ok(Check::True);
    }
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err(ParseError {
            column: 1,
            message: "no check (only whitespace); write @ to allow or ! to deny".into(),
        });
    }
    let end = text.chars().count() + 1;
    let mut parser = Parser {
        tokens: tokens.into_iter().peekable(),
        end,
    };
    let check = parser.or_expr()?;
    match parser.tokens.next() {
        None => Ok(check),
        Some((column, token)) => Err(ParseError {
            column,
            message: match token {
                Token::Close => "unbalanced )".into(),
                _ => "expected and, or, or the end after a check".into(),
            },
        }),
    }
}

struct Parser {
    tokens: std::iter::Peekable<std::vec::IntoIter<(usize, Token)>>,
    /// The column just past the text, for "unexpected end" errors.
    end: usize,
}

impl Parser {
    fn or_expr(&mut self) -> Result<Check, ParseError> {
        let mut checks = vec![self.and_expr()?];
        while matches!(self.tokens.peek(), Some((_, Token::Or))) {
            self.tokens.next();
            checks.push(self.and_expr()?);
        }
        Ok(if checks.len() == 1 {
            checks.remove(0)
        } else {
            Check::Or(checks)
        })
    }

    fn and_expr(&mut self) -> Result<Check, ParseError> {
        let mut checks = vec![self.not_expr()?];
        while matches!(self.tokens.peek(), Some((_, Token::And))) {
            self.tokens.next();
            checks.push(self.not_expr()?);
        }
        Ok(if checks.len() == 1 {
            checks.remove(0)
        } else {
            Check::And(checks)
        })
    }

    fn not_expr(&mut self) -> Result<Check, ParseError> {
        if matches!(self.tokens.peek(), Some((_, Token::Not))) {
            self.tokens.next();
            return Ok(Check::Not(Box::new(self.not_expr()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Check, ParseError> {
        match self.tokens.next() {
            Some((_, Token::Check(check))) => Ok(check),
            Some((open, Token::Open)) => {
                let inner = self.or_expr()?;
                match self.tokens.next() {
                    Some((_, Token::Close)) => Ok(inner),
                    Some((column, _)) => Err(ParseError {
                        column,
                        message: format!("expected ) to close the ( at column {open}"),
                    }),
                    None => Err(ParseError {
                        column: self.end,
                        message: format!("the ( at column {open} is never closed"),
                    }),
                }
            }
            Some((column, token)) => Err(ParseError {
                column,
                message: match token {
                    Token::Close => "expected a check before )".into(),
                    Token::And | Token::Or => "expected a check before this operator".into(),
                    _ => "expected a check".into(),
                },
            }),
            None => Err(ParseError {
                column: self.end,
                message: "the check string ends where a check is expected".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(name: &str) -> Check {
        Check::Role(Match::Literal(name.into()))
    }

    fn rule(name: &str) -> Check {
        Check::Rule {
            name: name.into(),
            index: usize::MAX,
        }
    }

    fn err(text: &str) -> ParseError {
        parse(text).expect_err(text)
    }

    #[test]
    fn every_simple_check() {
        assert_eq!(parse(""), Ok(Check::True));
        assert_eq!(parse("@"), Ok(Check::True));
        assert_eq!(parse("!"), Ok(Check::False));
        assert_eq!(parse("role:Admin"), Ok(role("admin")));
        assert_eq!(parse("rule:admin_required"), Ok(rule("admin_required")));
        assert_eq!(
            parse("system_scope:all"),
            Ok(Check::Generic {
                left: Left::Attr(CredAttr::SystemScope),
                right: Match::Literal("all".into()),
            })
        );
        assert_eq!(
            parse("user_id:%(user_id)s"),
            Ok(Check::Generic {
                left: Left::Attr(CredAttr::UserId),
                right: Match::Key("user_id".into()),
            })
        );
        assert_eq!(
            parse("token.project.domain.id:%(target.domain.id)s"),
            Ok(Check::Generic {
                left: Left::Attr(CredAttr::TokenProjectDomainId),
                right: Match::Key("target.domain.id".into()),
            })
        );
        assert_eq!(
            parse("'manager':%(target.role.name)s"),
            Ok(Check::Generic {
                left: Left::Literal("manager".into()),
                right: Match::Key("target.role.name".into()),
            })
        );
        assert_eq!(
            parse("None:%(target.role.domain_id)s"),
            Ok(Check::Generic {
                left: Left::Literal("None".into()),
                right: Match::Key("target.role.domain_id".into()),
            })
        );
        assert_eq!(
            parse("is_admin:1"),
            Ok(Check::Generic {
                left: Left::Attr(CredAttr::IsAdmin),
                right: Match::Literal("1".into()),
            })
        );
        assert_eq!(
            parse("1:%(n)s"),
            Ok(Check::Generic {
                left: Left::Literal("1".into()),
                right: Match::Key("n".into()),
            })
        );
        assert_eq!(
            parse("role:%(target.role.name)s"),
            Ok(Check::Role(Match::Key("target.role.name".into())))
        );
        assert_eq!(
            parse("user_id:a%%b-%(x)s"),
            Ok(Check::Generic {
                left: Left::Attr(CredAttr::UserId),
                right: Match::Template(vec![
                    Segment::Text("a%b-".into()),
                    Segment::Key("x".into())
                ]),
            })
        );
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let (a, b, c) = (role("a"), role("b"), role("c"));
        assert_eq!(
            parse("role:a or role:b and role:c"),
            Ok(Check::Or(vec![
                a.clone(),
                Check::And(vec![b.clone(), c.clone()])
            ]))
        );
        assert_eq!(
            parse("role:a and role:b or role:c"),
            Ok(Check::Or(vec![
                Check::And(vec![a.clone(), b.clone()]),
                c.clone()
            ]))
        );
        assert_eq!(
            parse("not role:a and role:b"),
            Ok(Check::And(vec![Check::Not(Box::new(a.clone())), b.clone()]))
        );
        assert_eq!(
            parse("role:a AND NOT (role:b Or role:c)"),
            Ok(Check::And(vec![
                a.clone(),
                Check::Not(Box::new(Check::Or(vec![b.clone(), c.clone()])))
            ]))
        );
        assert_eq!(
            parse("((role:a)) and (role:b or role:c)"),
            Ok(Check::And(vec![
                a.clone(),
                Check::Or(vec![b.clone(), c.clone()])
            ]))
        );
        assert_eq!(
            parse("role:a or role:b or role:c and role:a"),
            Ok(Check::Or(vec![
                a.clone(),
                b.clone(),
                Check::And(vec![c.clone(), a.clone()])
            ]))
        );
        assert_eq!(
            parse("not not role:a"),
            Ok(Check::Not(Box::new(Check::Not(Box::new(a)))))
        );
    }

    #[test]
    fn parentheses_only_at_the_edges_of_a_word() {
        // As in oslo.policy, the parentheses of %(...)s stay in the check.
        assert_eq!(
            parse("(domain_id:%(target.domain_id)s)"),
            Ok(Check::Generic {
                left: Left::Attr(CredAttr::DomainId),
                right: Match::Key("target.domain_id".into()),
            })
        );
    }

    #[test]
    fn errors_name_the_column() {
        assert_eq!(err("role:a and").column, 11);
        assert_eq!(
            err("role:a and").message,
            "the check string ends where a check is expected"
        );
        assert_eq!(err("role:a or or role:b").column, 11);
        assert_eq!(
            err("(role:a or role:b").message,
            "the ( at column 1 is never closed"
        );
        assert_eq!(err("role:a)").column, 7);
        assert_eq!(err("role:a)").message, "unbalanced )");
        assert_eq!(err("role:a role:b").column, 8);
        assert_eq!(err("role:a and admin").column, 12);
        assert!(err("role:a and admin").message.contains("not a check"));
        assert_eq!(err("'quoted'").column, 1);
        assert_eq!(err("user_id:%(user_id)d").column, 9);
        assert_eq!(err("user_id:50%").column, 11);
        assert_eq!(err("user_id:%(user_id").column, 9);
        assert_eq!(err("rule:").column, 6);
        assert_eq!(err("()").column, 2);
        assert_eq!(err("   ").column, 1);
        assert!(
            err("http:http://example.com")
                .message
                .contains("not supported")
        );
        // Columns count characters, not bytes.
        assert_eq!(err("role:é and").column, 11);
    }
}
