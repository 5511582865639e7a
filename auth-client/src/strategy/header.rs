//! Vitrea-style header login: credentials in `X-Userid`, `X-Password` and
//! `X-Realm`, the session in the cookie the answer sets.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cookie::Cookie;
use reqwest::Url;
use reqwest::header::{HeaderValue, SET_COOKIE};
use secrecy::{ExposeSecret, SecretString};

use super::{LoginContext, LoginStrategy};
use crate::{Credential, LoginError, Session};

/// The realm Vitrea and dicomtrolley send when none is given.
pub const DEFAULT_REALM: &str = "DefaultSystemRealm";

type Passcode = Arc<dyn Fn() -> SecretString + Send + Sync>;

/// `POST login_url` with `X-Userid`, `X-Password`, `X-Realm` (and
/// `X-Passcode` when a passcode source is set), no body. Success is any
/// 2xx that sets a cookie; the session is the cookies it sets (or only the
/// one named by [`HeaderLogin::cookie`]), and expires at the JSON body's
/// `expires_at`, else at the cookie's `Max-Age`/`Expires`.
#[derive(Clone)]
pub struct HeaderLogin {
    url: Url,
    user: String,
    password: SecretString,
    realm: String,
    passcode: Option<Passcode>,
    cookie: Option<String>,
}

impl HeaderLogin {
    /// A login of `user` with `password` at `url`, in the default realm.
    pub fn new(url: Url, user: impl Into<String>, password: SecretString) -> Self {
        Self {
            url,
            user: user.into(),
            password,
            realm: DEFAULT_REALM.to_owned(),
            passcode: None,
            cookie: None,
        }
    }

    /// The realm (the server maps it to a domain).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// Where each login's `X-Passcode` comes from (a TOTP generator, for
    /// users whose server asks for a second factor): called per login,
    /// because a passcode is good once.
    pub fn passcode(mut self, source: impl Fn() -> SecretString + Send + Sync + 'static) -> Self {
        self.passcode = Some(Arc::new(source));
        self
    }

    /// Keeps only the cookie `name` as the session (the others a login
    /// sets, load-balancer affinity say, are not sent).
    pub fn cookie(mut self, name: impl Into<String>) -> Self {
        self.cookie = Some(name.into());
        self
    }
}

impl fmt::Debug for HeaderLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeaderLogin")
            .field("url", &self.url.as_str())
            .field("user", &self.user)
            .field("password", &self.password)
            .field("realm", &self.realm)
            .field("passcode", &self.passcode.as_ref().map(|_| "[REDACTED]"))
            .field("cookie", &self.cookie)
            .finish()
    }
}

#[async_trait]
impl LoginStrategy for HeaderLogin {
    async fn login(&self, cx: &LoginContext<'_>) -> Result<Session, LoginError> {
        let mut request = cx
            .client
            .post(self.url.clone())
            .header("X-Userid", &self.user)
            .header("X-Password", secret_header(&self.password)?)
            .header("X-Realm", &self.realm)
            .header(reqwest::header::CONTENT_LENGTH, 0);
        if let Some(passcode) = &self.passcode {
            request = request.header("X-Passcode", secret_header(&passcode())?);
        }
        let response = request.send().await?;
        if !response.status().is_success() {
            return Err(LoginError::refused(response).await);
        }
        let now = cx.clock.now();
        let mut pairs = Vec::new();
        let mut cookie_expiry: Option<DateTime<Utc>> = None;
        for header in response.headers().get_all(SET_COOKIE) {
            let Some(cookie) = header.to_str().ok().and_then(|h| Cookie::parse(h).ok()) else {
                continue;
            };
            if self
                .cookie
                .as_deref()
                .is_some_and(|name| name != cookie.name())
            {
                continue;
            }
            let expiry = expiry(&cookie, now);
            if expiry.is_some_and(|at| at <= now) {
                continue; // a deletion, not a session
            }
            cookie_expiry = earliest(cookie_expiry, expiry);
            pairs.push(format!("{}={}", cookie.name(), cookie.value()));
        }
        if pairs.is_empty() {
            return Err(LoginError::Malformed(
                "the login set no session cookie".into(),
            ));
        }
        let body: Option<serde_json::Value> = response.json().await.ok();
        let expires_at = body
            .as_ref()
            .and_then(|body| body["expires_at"].as_str())
            .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
            .map(|at| at.with_timezone(&Utc))
            .or(cookie_expiry);
        let credential = Credential::cookies(&SecretString::from(pairs.join("; ")))?;
        Ok(Session::new(credential).expiring_at(expires_at))
    }
}

fn secret_header(secret: &SecretString) -> Result<HeaderValue, LoginError> {
    let mut value = HeaderValue::from_str(secret.expose_secret())
        .map_err(|_| LoginError::Malformed("a credential is not a valid header value".into()))?;
    value.set_sensitive(true);
    Ok(value)
}

/// When `cookie` stops being sent: `Max-Age` wins over `Expires`.
fn expiry(cookie: &Cookie<'_>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if let Some(max_age) = cookie.max_age() {
        return Some(now + chrono::Duration::seconds(max_age.whole_seconds()));
    }
    let expires = cookie.expires_datetime()?;
    DateTime::from_timestamp(expires.unix_timestamp(), 0)
}

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use axum::Router;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{AppendHeaders, IntoResponse};
    use axum::routing::post;

    use super::*;
    use crate::SystemClock;

    /// What the login endpoint saw: the headers of each login.
    type Seen = Arc<Mutex<Vec<HeaderMap>>>;

    /// A login endpoint answering `answer` to every login.
    async fn endpoint(
        answer: impl Fn(&HeaderMap) -> axum::response::Response + Clone + Send + Sync + 'static,
    ) -> (Url, Seen) {
        let seen: Seen = Arc::default();
        let log = seen.clone();
        let app = Router::new().route(
            "/login",
            post(move |headers: HeaderMap| {
                let answer = answer.clone();
                let log = log.clone();
                async move {
                    log.lock().unwrap().push(headers.clone());
                    answer(&headers)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/login", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url.parse().unwrap(), seen)
    }

    fn gateway_like(headers: &HeaderMap) -> axum::response::Response {
        if headers["x-password"] != "pw" || headers["x-realm"] != DEFAULT_REALM {
            let body = r#"{"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}"#;
            return (StatusCode::UNAUTHORIZED, body).into_response();
        }
        (
            StatusCode::OK,
            AppendHeaders([
                (SET_COOKIE, "session=tok-1; Path=/; HttpOnly; SameSite=Lax"),
                (SET_COOKIE, "affinity=node-2; Path=/"),
            ]),
            r#"{"access_token": "tok-1", "expires_at": "2030-01-02T03:04:05.000000Z"}"#,
        )
            .into_response()
    }

    async fn login(strategy: &HeaderLogin) -> Result<Session, LoginError> {
        strategy
            .login(&LoginContext::new(&reqwest::Client::new(), &SystemClock))
            .await
    }

    fn cookies_of(session: &Session) -> String {
        let mut headers = reqwest::header::HeaderMap::new();
        session.attach(&mut headers);
        headers[reqwest::header::COOKIE]
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[tokio::test]
    async fn sends_the_vitrea_headers_and_keeps_the_cookies_and_expiry() {
        let (url, seen) = endpoint(gateway_like).await;
        let strategy = HeaderLogin::new(url, "alice", SecretString::from("pw".to_owned()));
        let session = login(&strategy).await.unwrap();
        assert_eq!(cookies_of(&session), "session=tok-1; affinity=node-2");
        assert_eq!(
            session.expires_at().unwrap().to_rfc3339(),
            "2030-01-02T03:04:05+00:00"
        );
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0]["x-userid"], "alice");
        assert_eq!(seen[0]["x-realm"], DEFAULT_REALM);
        assert_eq!(seen[0]["content-length"], "0");
        assert!(seen[0].get("x-passcode").is_none());
    }

    #[tokio::test]
    async fn a_named_cookie_is_the_only_one_kept() {
        let (url, _) = endpoint(gateway_like).await;
        let strategy =
            HeaderLogin::new(url, "alice", SecretString::from("pw".to_owned())).cookie("session");
        let session = login(&strategy).await.unwrap();
        assert_eq!(cookies_of(&session), "session=tok-1");
    }

    #[tokio::test]
    async fn a_passcode_is_asked_for_at_each_login() {
        let (url, seen) = endpoint(gateway_like).await;
        let strategy = HeaderLogin::new(url, "alice", SecretString::from("pw".to_owned()))
            .passcode(|| SecretString::from("123456".to_owned()));
        login(&strategy).await.unwrap();
        assert_eq!(seen.lock().unwrap()[0]["x-passcode"], "123456");
    }

    #[tokio::test]
    async fn without_a_json_body_the_cookie_max_age_is_the_expiry() {
        let (url, _) = endpoint(|_| {
            (StatusCode::OK, [(SET_COOKIE, "JSESSIONID=j; Max-Age=600")]).into_response()
        })
        .await;
        let before = Utc::now();
        let session = login(&HeaderLogin::new(
            url,
            "u",
            SecretString::from("p".to_owned()),
        ))
        .await
        .unwrap();
        let expires = session.expires_at().unwrap();
        assert!(expires >= before + chrono::Duration::seconds(600));
        assert!(expires <= Utc::now() + chrono::Duration::seconds(600));
    }

    #[tokio::test]
    async fn a_wrong_password_is_refused_with_status_and_reason() {
        let (url, _) = endpoint(gateway_like).await;
        let strategy = HeaderLogin::new(url, "alice", SecretString::from("nope".to_owned()));
        let error = login(&strategy).await.unwrap_err();
        assert_eq!(error.status(), Some(reqwest::StatusCode::UNAUTHORIZED));
        assert_eq!(
            error.to_string(),
            "login failed. 401 Unauthorized: The request you have made requires authentication."
        );
        assert!(!error.to_string().contains("nope"));
    }

    #[tokio::test]
    async fn a_success_without_a_cookie_is_malformed() {
        let (url, _) = endpoint(|_| StatusCode::OK.into_response()).await;
        let error = login(&HeaderLogin::new(
            url,
            "u",
            SecretString::from("p".to_owned()),
        ))
        .await
        .unwrap_err();
        assert!(matches!(error, LoginError::Malformed(_)), "{error}");
    }

    #[tokio::test]
    async fn a_cookie_deletion_is_not_a_session() {
        let (url, _) =
            endpoint(|_| (StatusCode::OK, [(SET_COOKIE, "session=; Max-Age=0")]).into_response())
                .await;
        let error = login(&HeaderLogin::new(
            url,
            "u",
            SecretString::from("p".to_owned()),
        ))
        .await
        .unwrap_err();
        assert!(matches!(error, LoginError::Malformed(_)), "{error}");
    }

    #[test]
    fn debug_hides_the_password_and_passcode() {
        let strategy = HeaderLogin::new(
            "http://x/login".parse().unwrap(),
            "alice",
            SecretString::from("hunter2".to_owned()),
        )
        .passcode(|| SecretString::from("999999".to_owned()));
        let shown = format!("{strategy:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("999999"),
            "{shown}"
        );
    }
}
