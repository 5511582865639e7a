use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::*;
use crate::handlers::testing::{closed_port, event, run, stores};

/// One mail as the responder saw it.
#[derive(Debug)]
struct Mail {
    from: String,
    to: Vec<String>,
    data: String,
}

/// A tiny SMTP responder on loopback: accepts every command and records
/// each message's envelope and DATA. `reject_rcpt` answers RCPT with 550.
async fn smtp_listener(reject_rcpt: bool) -> (u16, mpsc::UnboundedReceiver<Mail>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 test ESMTP\r\n").await.unwrap();
                let mut mail = Mail {
                    from: String::new(),
                    to: Vec::new(),
                    data: String::new(),
                };
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let answer: &[u8] = if upper.starts_with("EHLO") {
                        b"250-test\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("MAIL FROM:") {
                        mail.from = line[10..].to_owned();
                        b"250 ok\r\n"
                    } else if upper.starts_with("RCPT TO:") {
                        if reject_rcpt {
                            b"550 no such user\r\n"
                        } else {
                            mail.to.push(line[8..].to_owned());
                            b"250 ok\r\n"
                        }
                    } else if upper == "DATA" {
                        write.write_all(b"354 go ahead\r\n").await.unwrap();
                        while let Ok(Some(data)) = lines.next_line().await {
                            if data == "." {
                                break;
                            }
                            mail.data.push_str(&data);
                            mail.data.push('\n');
                        }
                        let done = std::mem::replace(
                            &mut mail,
                            Mail {
                                from: String::new(),
                                to: Vec::new(),
                                data: String::new(),
                            },
                        );
                        let _ = tx.send(done);
                        b"250 queued\r\n"
                    } else if upper == "QUIT" {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        b"250 ok\r\n"
                    };
                    write.write_all(answer).await.unwrap();
                }
            });
        }
    });
    (port, rx)
}

fn module(port: u16) -> UserNotification {
    let section = json!({"servers": {
        "default": {"host": "127.0.0.1", "port": port, "tls": "none",
                    "from": "Auth <auth@example.org>", "timeout_ms": 2000},
        "other": {"host": "127.0.0.1", "port": port, "tls": "none", "from": "x@example.org"}
    }});
    UserNotification::from_config(&PluginConfig::new(NAME, section)).unwrap()
}

/// `sendmail` with the default options, through the SMTP server on `port`.
async fn sendmail(port: u16, stores: &auth_core::Stores) -> Result<ActionEffect, AuthError> {
    run(
        &module(port),
        "sendmail",
        Value::Null,
        &event(),
        stores,
        None,
    )
    .await
}

#[tokio::test]
async fn mails_the_user_at_its_extra_email() {
    let (port, mut mails) = smtp_listener(false).await;
    let (_, stores) = stores();
    sendmail(port, &stores).await.unwrap();
    let mail = mails.recv().await.unwrap();
    assert_eq!(mail.from, "<auth@example.org>");
    assert_eq!(mail.to, ["<alice@example.org>"]);
    assert!(
        mail.data.contains("Subject: auth.tokens.create: failure"),
        "{}",
        mail.data
    );
    assert!(mail.data.contains("To: alice@example.org"), "{}", mail.data);
    assert!(
        mail.data
            .contains("Event auth.tokens.create (failure) for alice from 10.0.0.9"),
        "{}",
        mail.data
    );
}

#[tokio::test]
async fn recipient_subject_and_body_are_templates() {
    let (port, mut mails) = smtp_listener(false).await;
    let (_, stores) = stores();
    let options = json!({"server": "other", "to": "security+{user_name}@example.org",
                         "subject": "Locked: {user}", "body": "From {client_ip}"});
    run(&module(port), "sendmail", options, &event(), &stores, None)
        .await
        .unwrap();
    let mail = mails.recv().await.unwrap();
    assert_eq!(mail.to, ["<security+alice@example.org>"]);
    assert!(mail.data.contains("Subject: Locked: alice"));
    assert!(mail.data.contains("From 10.0.0.9"));
}

#[tokio::test]
async fn a_server_that_is_down_is_a_clear_failure() {
    let port = closed_port().await;
    let (_, stores) = stores();
    let e = sendmail(port, &stores).await.unwrap_err();
    assert!(
        matches!(
            e,
            AuthError::HandlerFailed {
                cause: "unreachable"
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.http_status(), 502);
}

#[tokio::test]
async fn a_refused_recipient_and_a_missing_one_are_failures() {
    let (port, _mails) = smtp_listener(true).await;
    let (store, stores) = stores();
    let e = sendmail(port, &stores).await.unwrap_err();
    assert!(
        matches!(e, AuthError::HandlerFailed { cause: "rejected" }),
        "{e:?}"
    );
    store.update_user("u1", |u| {
        u.extra.remove("email");
    });
    let e = sendmail(port, &stores).await.unwrap_err();
    assert!(
        matches!(
            e,
            AuthError::HandlerFailed {
                cause: "no_recipient"
            }
        ),
        "{e:?}"
    );
    let e = run(
        &module(port),
        "sendmail",
        json!({"to": "not an address"}),
        &event(),
        &stores,
        None,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            e,
            AuthError::HandlerFailed {
                cause: "bad_address"
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn servers_are_checked_at_start_up_and_at_save() {
    let (_, stores) = stores();
    let e = run(
        &module(25),
        "sendmail",
        json!({"server": "nope"}),
        &event(),
        &stores,
        None,
    )
    .await
    .unwrap_err();
    let message = e.to_string();
    assert!(
        message.contains("no SMTP server 'nope' is configured"),
        "{message}"
    );
    assert!(message.contains("configured: default, other"), "{message}");
    let bare = UserNotification::from_config(&PluginConfig::empty(NAME)).unwrap();
    let e = run(&bare, "sendmail", Value::Null, &event(), &stores, None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("configured: none"), "{e}");
    for bad in [
        json!({"servers": {"x": {"host": "h", "from": "nope"}}}),
        json!({"servers": {"x": {"host": "h", "from": "a@b.c", "username": "u"}}}),
        json!({"servers": {"x": {"host": "h", "from": "a@b.c", "tls": "sometimes"}}}),
        json!({"servers": {"x": {"from": "a@b.c"}}}),
    ] {
        let e = UserNotification::from_config(&PluginConfig::new(NAME, bad.clone())).unwrap_err();
        assert!(matches!(e, AuthError::InvalidConfig { .. }), "{bad}: {e}");
    }
    let with_password = json!({"servers": {"x": {"host": "h", "from": "a@b.c",
                                                  "username": "u", "password": "hunter2"}}});
    let m = UserNotification::from_config(&PluginConfig::new(NAME, with_password)).unwrap();
    assert!(!format!("{m:?}").contains("hunter2"));
}
