//! The route table names every call's event, and the events middleware
//! raises exactly that event for every routed call.

use auth_core::store::{AuditQuery, AuditRecord};
use reqwest::Method;

use super::harness::TestServer;

async fn newest_row(s: &TestServer) -> Option<AuditRecord> {
    s.state.dispatcher().audit().flush().await;
    let query = AuditQuery::new(1);
    s.storage().query_audit(&query).await.unwrap().pop()
}

/// `/v3/users/{id}` with every parameter filled with `none`.
fn filled(template: &str) -> String {
    let mut path = String::new();
    let mut in_param = false;
    for c in template.chars() {
        match c {
            '{' => in_param = true,
            '}' => {
                in_param = false;
                path.push_str("none");
            }
            _ if in_param => {}
            _ => path.push(c),
        }
    }
    path
}

#[tokio::test]
async fn every_routed_call_raises_the_event_its_route_names_and_only_that() {
    // Every call audited, successful validations too.
    let s = TestServer::start_with("[audit]\nskip_successful = []").await;
    let admin = s.admin_token().await;
    let table = auth_server::routes();
    assert!(table.calls().len() > 70, "the whole table");
    for call in table.calls() {
        let before = newest_row(&s).await.map(|r| r.id);
        let method = Method::from_bytes(call.method.as_str().as_bytes()).unwrap();
        let path = filled(&call.path);
        let mut request = s.call(method.clone(), &path, &admin);
        if [Method::POST, Method::PUT, Method::PATCH].contains(&method) {
            request = request
                .header("content-type", "application/json")
                .body("{}");
        }
        let status = request.send().await.unwrap().status();
        assert_ne!(status, 405, "{method} {path} is routed");
        let after = newest_row(&s).await;
        match call.event {
            Some(name) => {
                let row = after.unwrap_or_else(|| panic!("{method} {path}: no audit row"));
                assert!(Some(row.id) > before, "{method} {path}: no new audit row");
                assert_eq!(row.event, name, "{method} {path}");
            }
            None => assert_eq!(
                after.map(|r| r.id),
                before,
                "{method} {path} is not an API call, yet it raised an event"
            ),
        }
    }
}
