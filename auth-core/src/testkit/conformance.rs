//! The conformance kit every auth method runs, built-in or third-party.
//!
//! Describe the method with a [`MethodCase`] (the name it is enabled under,
//! the handler, its stores, a payload that works, a wrong credential, an
//! unknown user, payloads that are malformed, the secrets used) and call
//! [`check`]. It asserts what the
//! framework promises to clients about every method:
//!
//! 1. the working payload authenticates (or starts a challenge);
//! 2. a wrong credential is a 401 (or the status the case declares: the
//!    `token` method answers Keystone's 404);
//! 3. an unknown user and a wrong credential are indistinguishable: same
//!    status, same message;
//! 4. each malformed payload is a 400, and payloads derived from the
//!    working one by changing the type of any member are refused with a
//!    4xx, never a success and never a 5xx;
//! 5. arbitrary JSON objects as payloads never panic and never give a 5xx;
//! 6. no secret appears in any error message or in the `Debug` output of
//!    the method, the errors or the outcomes.
//!
//! It panics with a message naming the method and the check that failed,
//! so it reads well as the body of a `#[tokio::test]`.

use std::net::IpAddr;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

use crate::{
    AuthAttempt, AuthError, AuthMethodHandler, AuthOutcome, Clock, Engine, RequestHeaders,
    RequestLine, Stores,
};

/// How many random payloads check 5 tries.
const RANDOM_PAYLOADS: usize = 256;

/// One request of a case: a payload, and optionally the headers and client
/// address to send instead of the case's.
///
/// Built with [`Round::new`] (or `From<Value>`) and the `with_*` methods, so
/// that a field added later breaks no plugin's tests.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Round {
    /// The method's payload.
    pub payload: Value,
    /// Headers for this round only.
    pub headers: Option<RequestHeaders>,
    /// Client address for this round only.
    pub client_addr: Option<IpAddr>,
}

impl Round {
    /// A round sending `payload` with the case's headers and address.
    pub fn new(payload: Value) -> Self {
        Self {
            payload,
            headers: None,
            client_addr: None,
        }
    }

    /// Sends these headers in this round instead of the case's.
    pub fn with_headers(mut self, headers: RequestHeaders) -> Self {
        self.headers = Some(headers);
        self
    }

    /// Sends from this address in this round instead of the case's.
    pub fn with_client_addr(mut self, addr: IpAddr) -> Self {
        self.client_addr = Some(addr);
        self
    }
}

impl From<Value> for Round {
    fn from(payload: Value) -> Self {
        Self::new(payload)
    }
}

/// One method under test.
///
/// Built with [`MethodCase::new`], which takes what every case needs, and
/// the `with_*` methods for the rest, so that a check added later (with a
/// field to describe it) breaks no plugin's tests.
#[non_exhaustive]
pub struct MethodCase {
    /// The name the method is enabled under (its registration name).
    pub name: String,
    /// The handler.
    pub handler: Arc<dyn AuthMethodHandler>,
    /// The stores it reads, holding the user the payloads name.
    pub stores: Stores,
    /// A clock, if the method's payloads depend on time (TOTP).
    pub clock: Option<Arc<dyn Clock>>,
    /// A token provider, for methods that accept tokens.
    pub tokens: Option<Arc<dyn crate::TokenProvider>>,
    /// Headers to send with every request.
    pub headers: RequestHeaders,
    /// The client address to send with every request.
    pub client_addr: Option<IpAddr>,
    /// The door every request comes through
    /// ([`AuthAttempt::door`](crate::AuthAttempt::door)); `None`: the HTTP
    /// API.
    pub door: Option<String>,
    /// The HTTP method and URL every request comes in on
    /// ([`AuthAttempt::request_line`](crate::AuthAttempt::request_line)),
    /// for methods that check a signature over the request.
    pub request_line: Option<RequestLine>,
    /// A payload that authenticates or starts a challenge.
    pub valid: Round,
    /// The same user with a wrong credential. Several rounds for a
    /// multi-step method: each round after the first carries the receipt
    /// of the one before, and the last must fail.
    pub wrong_secret: Vec<Round>,
    /// A user that does not exist, with a plausible credential, in rounds
    /// like `wrong_secret`.
    pub unknown_user: Option<Vec<Round>>,
    /// The status of a wrong credential: 401, except for methods that follow
    /// a Keystone quirk (a bad token is a 404).
    pub failure_status: u16,
    /// Payloads that must be refused with a 400.
    pub malformed: Vec<Value>,
    /// Every secret the payloads carry (passwords, keys, passcodes, the
    /// stored secrets): none may appear in errors or `Debug` output.
    pub secrets: Vec<String>,
}

impl MethodCase {
    /// A case for `handler`, enabled under `name`, reading `stores`:
    /// `valid` must authenticate (or start a challenge) and `wrong_secret`
    /// must fail with a 401. No unknown-user rounds, malformed payloads or
    /// secrets until added.
    pub fn new(
        name: impl Into<String>,
        handler: Arc<dyn AuthMethodHandler>,
        stores: Stores,
        valid: impl Into<Round>,
        wrong_secret: impl IntoIterator<Item = Round>,
    ) -> Self {
        Self {
            name: name.into(),
            handler,
            stores,
            clock: None,
            tokens: None,
            headers: RequestHeaders::new(),
            client_addr: None,
            door: None,
            request_line: None,
            valid: valid.into(),
            wrong_secret: wrong_secret.into_iter().collect(),
            unknown_user: None,
            failure_status: 401,
            malformed: Vec::new(),
            secrets: Vec::new(),
        }
    }

    /// The clock the engine uses (for time-dependent payloads).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The token provider the engine hands the method.
    pub fn with_tokens(mut self, tokens: Arc<dyn crate::TokenProvider>) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// Headers sent with every round.
    pub fn with_headers(mut self, headers: RequestHeaders) -> Self {
        self.headers = headers;
        self
    }

    /// The client address of every round.
    pub fn with_client_addr(mut self, addr: IpAddr) -> Self {
        self.client_addr = Some(addr);
        self
    }

    /// The door every request comes through (a method believed from one
    /// door only, such as the DICOM listener's asserted identities).
    pub fn with_door(mut self, door: impl Into<String>) -> Self {
        self.door = Some(door.into());
        self
    }

    /// The request line of every round (a method that signs the request
    /// again, such as OAuth1's).
    pub fn with_request_line(mut self, line: RequestLine) -> Self {
        self.request_line = Some(line);
        self
    }

    /// Rounds naming a user that does not exist; they must fail exactly as
    /// `wrong_secret` does.
    pub fn with_unknown_user(mut self, rounds: impl IntoIterator<Item = Round>) -> Self {
        self.unknown_user = Some(rounds.into_iter().collect());
        self
    }

    /// The status a wrong credential fails with, when not 401.
    pub fn with_failure_status(mut self, status: u16) -> Self {
        self.failure_status = status;
        self
    }

    /// Payloads that must be refused with a 400.
    pub fn with_malformed(mut self, payloads: impl IntoIterator<Item = Value>) -> Self {
        self.malformed.extend(payloads);
        self
    }

    /// Secrets that must never appear in errors or `Debug` output.
    pub fn with_secrets<S: Into<String>>(mut self, secrets: impl IntoIterator<Item = S>) -> Self {
        self.secrets.extend(secrets.into_iter().map(Into::into));
        self
    }
}

impl std::fmt::Debug for MethodCase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MethodCase")
            .field("method", &self.name)
            .finish_non_exhaustive()
    }
}

struct Runner<'a> {
    case: &'a MethodCase,
    engine: Engine,
    name: String,
}

impl Runner<'_> {
    async fn run(&self, payload: &Value) -> Result<AuthOutcome, AuthError> {
        self.run_round(&Round::from(payload.clone()), None).await
    }

    async fn run_round(
        &self,
        round: &Round,
        receipt: Option<&str>,
    ) -> Result<AuthOutcome, AuthError> {
        let name = self.name.as_str();
        let body = json!({"auth": {"identity": {"methods": [name], name: round.payload}}});
        let headers = round.headers.as_ref().unwrap_or(&self.case.headers).clone();
        let mut attempt = AuthAttempt::from_json(body).headers(headers);
        if let Some(addr) = round.client_addr.or(self.case.client_addr) {
            attempt = attempt.client_addr(addr);
        }
        if let Some(receipt) = receipt {
            attempt = attempt.receipt(receipt);
        }
        if let Some(door) = &self.case.door {
            attempt = attempt.door(door);
        }
        if let Some(line) = &self.case.request_line {
            attempt = attempt.request_line(line.clone());
        }
        let result = self.engine.authenticate(attempt).await;
        self.assert_no_secret(&result);
        result
    }

    /// Runs `rounds`, threading receipts; the result of the last round.
    async fn run_rounds(&self, rounds: &[Round]) -> Result<AuthOutcome, AuthError> {
        let mut receipt: Option<String> = None;
        let mut result = Err(AuthError::bad_request("a case needs at least one round"));
        for round in rounds {
            result = self.run_round(round, receipt.as_deref()).await;
            receipt = match &result {
                Ok(AuthOutcome::Continue(c)) => Some(c.receipt.clone()),
                _ => None,
            };
        }
        result
    }

    fn assert_no_secret(&self, result: &Result<AuthOutcome, AuthError>) {
        let shown = match result {
            Ok(outcome) => format!("{outcome:?}"),
            Err(error) => format!("{error} {error:?}"),
        };
        for secret in &self.case.secrets {
            assert!(
                !shown.contains(secret.as_str()),
                "{}: a secret appears in an outcome or error: {shown}",
                self.name
            );
        }
    }

    fn fail(&self, check: &str, detail: impl std::fmt::Display) -> ! {
        panic!("{} fails conformance check '{check}': {detail}", self.name)
    }
}

/// Runs every check on `case`; panics on the first that fails.
pub async fn check(case: MethodCase) {
    let name = case.name.clone();
    let mut builder = Engine::builder()
        .method(name.clone(), Arc::clone(&case.handler))
        .stores(case.stores.clone());
    if let Some(clock) = &case.clock {
        builder = builder.clock(Arc::clone(clock));
    }
    if let Some(tokens) = &case.tokens {
        builder = builder.token_provider(Arc::clone(tokens));
    }
    let engine = match builder.build() {
        Ok(engine) => engine,
        Err(e) => panic!("{name}: the engine cannot be built: {e}"),
    };
    let runner = Runner {
        case: &case,
        engine,
        name,
    };

    // 6, for the method itself.
    let debug = format!("{:?}", case.handler);
    for secret in &case.secrets {
        if debug.contains(secret.as_str()) {
            runner.fail(
                "no secret in Debug",
                format!("the method's Debug shows one: {debug}"),
            );
        }
    }

    // 1.
    if let Err(e) = runner.run_round(&case.valid, None).await {
        runner.fail("valid payload authenticates", e);
    }

    // 2.
    let wrong = match runner.run_rounds(&case.wrong_secret).await {
        Ok(outcome) => runner.fail("wrong credential fails", format!("it gave {outcome:?}")),
        Err(e) if e.http_status() != case.failure_status => runner.fail(
            "wrong credential fails with the declared status",
            format!(
                "it gave {} {e}, not {}",
                e.http_status(),
                case.failure_status
            ),
        ),
        Err(e) => e,
    };

    // 3.
    if let Some(unknown) = &case.unknown_user {
        match runner.run_rounds(unknown).await {
            Ok(outcome) => runner.fail("unknown user fails", format!("it gave {outcome:?}")),
            Err(e)
                if e.http_status() != wrong.http_status() || e.to_string() != wrong.to_string() =>
            {
                runner.fail(
                    "unknown user and wrong credential are indistinguishable",
                    format!("'{e}' against '{wrong}'"),
                )
            }
            Err(_) => {}
        }
    }

    // 4.
    for payload in &case.malformed {
        match runner.run(payload).await {
            Err(e) if e.http_status() == 400 => {}
            other => runner.fail(
                "malformed payload is a 400",
                format!("{payload} gave {other:?}"),
            ),
        }
    }
    for payload in retyped(&case.valid.payload) {
        match runner.run(&payload).await {
            Err(e) if (400..500).contains(&e.http_status()) => {}
            other => runner.fail(
                "a payload with a retyped member is refused with a 4xx",
                format!("{payload} gave {other:?}"),
            ),
        }
    }

    // 5.
    let mut rng = StdRng::seed_from_u64(0x5EED);
    for _ in 0..RANDOM_PAYLOADS {
        let payload = Value::Object(random_object(&mut rng, 0));
        if let Err(e) = runner.run(&payload).await {
            if e.http_status() >= 500 {
                runner.fail(
                    "arbitrary JSON never gives a 5xx",
                    format!("{payload} gave {e}"),
                );
            }
        }
    }
}

/// Every payload obtained from `valid` by giving one member (at any depth)
/// a value of another type.
fn retyped(valid: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    collect_retyped(valid, valid, &mut path, &mut out);
    out
}

fn collect_retyped(root: &Value, here: &Value, path: &mut Vec<String>, out: &mut Vec<Value>) {
    let Value::Object(members) = here else {
        return;
    };
    for (key, value) in members {
        path.push(key.clone());
        let replacements: &[Value] = match value {
            Value::String(_) => &[json!(12345), json!(["x"]), json!({"x": 1})],
            Value::Object(_) => &[json!("x"), json!(7), json!([])],
            Value::Number(_) => &[json!("7"), json!({})],
            Value::Array(_) => &[json!("x"), json!({})],
            Value::Bool(_) => &[json!("true"), json!(1)],
            Value::Null => &[],
        };
        for replacement in replacements {
            let mut changed = root.clone();
            if let Some(slot) = pointer_mut(&mut changed, path) {
                *slot = replacement.clone();
            }
            out.push(changed);
        }
        collect_retyped(root, value, path, out);
        path.pop();
    }
}

fn pointer_mut<'v>(value: &'v mut Value, path: &[String]) -> Option<&'v mut Value> {
    path.iter().try_fold(value, |v, key| v.get_mut(key))
}

fn random_object(rng: &mut StdRng, depth: u32) -> Map<String, Value> {
    const KEYS: &[&str] = &[
        "user",
        "id",
        "name",
        "domain",
        "password",
        "passcode",
        "secret",
        "signature",
        "key",
        "token",
        "x",
    ];
    let mut map = Map::new();
    for _ in 0..rng.gen_range(0..5) {
        let key = KEYS[rng.gen_range(0..KEYS.len())].to_owned();
        map.insert(key, random_value(rng, depth + 1));
    }
    map
}

fn random_value(rng: &mut StdRng, depth: u32) -> Value {
    match rng.gen_range(0..if depth > 3 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.r#gen()),
        2 => json!(rng.gen_range(-1_000_000i64..1_000_000)),
        3 => json!(random_string(rng)),
        4 => json!(""),
        5 => Value::Array(
            (0..rng.gen_range(0..3))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => Value::Object(random_object(rng, depth)),
    }
}

fn random_string(rng: &mut StdRng) -> String {
    const CHARS: &[char] = &['a', 'Z', '0', ' ', '$', '"', '\\', 'é', '\u{0}', '💥'];
    (0..rng.gen_range(0..12))
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retyping_reaches_every_member() {
        let variants = retyped(&json!({"user": {"id": "u", "password": "p"}}));
        // user: 3 replacements, id: 3, password: 3.
        assert_eq!(variants.len(), 9);
        assert!(variants.contains(&json!({"user": {"id": 12345, "password": "p"}})));
        assert!(variants.contains(&json!({"user": "x"})));
    }
}
