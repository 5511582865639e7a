//! The DICOM door over real TCP: a client of raw PDUs (written and read by
//! `dicom-ul`) against the listener, and, for the guard, a small SCP on
//! 127.0.0.1:0 as the upstream, recording which commands and how many data
//! bytes reach it. The real clients (pynetdicom, a Debian Orthanc) are in
//! `tests/clients/test_dicom.py`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use auth_core::{
    AuthError, AuthHandlerResponse, AuthMethodHandler, MethodContext, MethodRegistration, Payload,
    Registry, ResponseData,
};
use base64::Engine as _;
use bytes::BytesMut;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;
use dicom_ul::Pdu;
use dicom_ul::association::read_pdu_from_wire_async;
use dicom_ul::pdu::{
    AssociationAC, AssociationRQ, PDataValue, PDataValueType, PresentationContextProposed,
    PresentationContextResult, PresentationContextResultReason, UserVariableItem,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use super::harness::{ADMIN_PASSWORD, TestServer};

const VERIFICATION: &str = "1.2.840.10008.1.1";
const CT_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
const STUDY_FIND: &str = "1.2.840.10008.5.1.4.1.2.2.1";
const IMPLICIT: &str = "1.2.840.10008.1.2";
const MAX_PDU: u32 = 16384;

/// A server and its DICOM listener on a loopback port.
struct Door {
    server: TestServer,
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

impl Door {
    async fn start(extra: &str) -> Self {
        Self::start_custom(extra, |_| {}, None).await
    }

    async fn start_custom(
        extra: &str,
        configure: impl FnOnce(&mut auth_server::Config),
        methods: Option<Registry<MethodRegistration>>,
    ) -> Self {
        let server = TestServer::start_custom(None, extra, configure, methods).await;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(auth_server::dicom::serve(
            listener,
            server.state.clone(),
            async {
                let _ = stopped.await;
            },
        ));
        Self {
            server,
            addr,
            _stop: stop,
        }
    }

    async fn associate(&self, rq: AssociationRQ) -> (Answer, Option<Client>) {
        associate(self.addr, rq).await
    }
}

/// What the listener answered an association request with.
#[derive(Debug)]
enum Answer {
    Accepted(AssociationAC),
    Rejected([u8; 3]),
    Closed,
}

impl Answer {
    fn accepted(self) -> AssociationAC {
        match self {
            Self::Accepted(ac) => ac,
            other => panic!("not accepted: {other:?}"),
        }
    }

    fn rejection(&self) -> [u8; 3] {
        match self {
            Self::Rejected(triple) => *triple,
            other => panic!("not rejected: {other:?}"),
        }
    }
}

/// An association of the test client.
struct Client {
    stream: TcpStream,
    buffer: BytesMut,
    next_id: u16,
}

async fn associate(addr: SocketAddr, rq: AssociationRQ) -> (Answer, Option<Client>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut bytes = Vec::new();
    dicom_ul::write_pdu(&mut bytes, &Pdu::AssociationRQ(rq)).unwrap();
    stream.write_all(&bytes).await.unwrap();
    let mut client = Client {
        stream,
        buffer: BytesMut::new(),
        next_id: 1,
    };
    match client.receive().await {
        Some(Pdu::AssociationAC(ac)) => (Answer::Accepted(ac), Some(client)),
        Some(rj @ Pdu::AssociationRJ(_)) => {
            // The RJ's bytes, as pynetdicom's EVT_ACSE_RECV reads them.
            let mut raw = Vec::new();
            dicom_ul::write_pdu(&mut raw, &rj).unwrap();
            (Answer::Rejected([raw[7], raw[8], raw[9]]), None)
        }
        _ => (Answer::Closed, None),
    }
}

impl Client {
    async fn receive(&mut self) -> Option<Pdu> {
        let read = read_pdu_from_wire_async(&mut self.stream, &mut self.buffer, 1 << 20, true);
        tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .expect("an answer within 10 s")
            .ok()
    }

    async fn send(&mut self, pdu: &Pdu) {
        let mut bytes = Vec::new();
        dicom_ul::write_pdu(&mut bytes, pdu).unwrap();
        self.stream.write_all(&bytes).await.unwrap();
    }

    /// Sends a request (its command, then its data set in fragments) and
    /// returns every response's status until the final one.
    async fn request(
        &mut self,
        context: u8,
        command: Vec<DataElement<InMemDicomObject>>,
        data: Option<&[u8]>,
    ) -> Vec<u16> {
        let id = self.next_id;
        self.next_id += 1;
        let mut elements = command;
        elements.push(element(tags::MESSAGE_ID, PrimitiveValue::from(id)));
        elements.push(element(
            tags::COMMAND_DATA_SET_TYPE,
            PrimitiveValue::from(if data.is_some() { 0x0000u16 } else { 0x0101 }),
        ));
        self.send(&Pdu::PData {
            data: vec![pdv(
                context,
                PDataValueType::Command,
                true,
                encode(elements),
            )],
        })
        .await;
        if let Some(data) = data {
            let chunks: Vec<_> = data.chunks(8000).collect();
            for (i, chunk) in chunks.iter().enumerate() {
                let last = i + 1 == chunks.len();
                self.send(&Pdu::PData {
                    data: vec![pdv(context, PDataValueType::Data, last, chunk.to_vec())],
                })
                .await;
            }
        }
        let mut statuses = Vec::new();
        loop {
            let Some(Pdu::PData { data }) = self.receive().await else {
                panic!("no response");
            };
            for value in data {
                if value.value_type != PDataValueType::Command {
                    continue;
                }
                let response = decode(&value.data);
                let status = response
                    .element(tags::STATUS)
                    .unwrap()
                    .to_int::<u16>()
                    .unwrap();
                statuses.push(status);
                if !matches!(status, 0xFF00 | 0xFF01) {
                    return statuses;
                }
            }
        }
    }

    async fn echo(&mut self, context: u8) -> u16 {
        let statuses = self
            .request(
                context,
                vec![
                    uid(tags::AFFECTED_SOP_CLASS_UID, VERIFICATION),
                    element(tags::COMMAND_FIELD, PrimitiveValue::from(0x0030u16)),
                ],
                None,
            )
            .await;
        statuses[0]
    }

    async fn store(&mut self, context: u8, data: &[u8]) -> u16 {
        let statuses = self
            .request(
                context,
                vec![
                    uid(tags::AFFECTED_SOP_CLASS_UID, CT_STORAGE),
                    element(tags::COMMAND_FIELD, PrimitiveValue::from(0x0001u16)),
                    element(tags::PRIORITY, PrimitiveValue::from(0u16)),
                    uid(tags::AFFECTED_SOP_INSTANCE_UID, "1.2.3.4.5"),
                ],
                Some(data),
            )
            .await;
        statuses[0]
    }

    async fn find(&mut self, context: u8) -> Vec<u16> {
        let identifier = encode_dataset(vec![DataElement::new(
            tags::QUERY_RETRIEVE_LEVEL,
            VR::CS,
            PrimitiveValue::from("STUDY "),
        )]);
        self.request(
            context,
            vec![
                uid(tags::AFFECTED_SOP_CLASS_UID, STUDY_FIND),
                element(tags::COMMAND_FIELD, PrimitiveValue::from(0x0020u16)),
                element(tags::PRIORITY, PrimitiveValue::from(0u16)),
            ],
            Some(&identifier),
        )
        .await
    }

    async fn release(mut self) {
        self.send(&Pdu::ReleaseRQ).await;
        assert_eq!(self.receive().await, Some(Pdu::ReleaseRP));
    }

    /// Whether the listener closed the connection (after an A-ABORT or
    /// not) within 10 s.
    async fn is_closed(&mut self) -> bool {
        loop {
            match self.receive().await {
                None => return true,
                Some(Pdu::AbortRQ { .. }) => continue,
                Some(other) => panic!("{other:?} instead of a close"),
            }
        }
    }
}

fn element(tag: dicom_core::Tag, value: PrimitiveValue) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::US, value)
}

fn uid(tag: dicom_core::Tag, value: &str) -> DataElement<InMemDicomObject> {
    let mut value = value.to_owned();
    if value.len() % 2 == 1 {
        value.push('\0');
    }
    DataElement::new(tag, VR::UI, PrimitiveValue::from(value))
}

fn encode(elements: Vec<DataElement<InMemDicomObject>>) -> Vec<u8> {
    let mut bytes = Vec::new();
    InMemDicomObject::command_from_element_iter(elements)
        .write_dataset_with_ts(&mut bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .unwrap();
    bytes
}

fn encode_dataset(elements: Vec<DataElement<InMemDicomObject>>) -> Vec<u8> {
    let mut bytes = Vec::new();
    InMemDicomObject::from_element_iter(elements)
        .write_dataset_with_ts(&mut bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .unwrap();
    bytes
}

fn decode(bytes: &[u8]) -> InMemDicomObject {
    InMemDicomObject::read_dataset_with_ts(bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased()).unwrap()
}

fn pdv(context: u8, value_type: PDataValueType, is_last: bool, data: Vec<u8>) -> PDataValue {
    PDataValue {
        presentation_context_id: context,
        value_type,
        is_last,
        data,
    }
}

/// An A-ASSOCIATE-RQ proposing Verification (1), CT storage (3) and study
/// FIND (5), with a User Identity item `(type, response requested,
/// primary, secondary)` if given (written as bytes, so any type goes).
fn request(
    calling: &str,
    called: &str,
    identity: Option<(u8, bool, &[u8], &[u8])>,
) -> AssociationRQ {
    let context = |id, abstract_syntax: &str| PresentationContextProposed {
        id,
        abstract_syntax: abstract_syntax.to_owned(),
        transfer_syntaxes: vec![IMPLICIT.to_owned()],
    };
    let mut user_variables = vec![
        UserVariableItem::MaxLength(MAX_PDU),
        UserVariableItem::ImplementationClassUID("1.2.3.4".to_owned()),
    ];
    if let Some((kind, requested, primary, secondary)) = identity {
        let mut value = vec![kind, u8::from(requested)];
        value.extend_from_slice(&u16::try_from(primary.len()).unwrap().to_be_bytes());
        value.extend_from_slice(primary);
        value.extend_from_slice(&u16::try_from(secondary.len()).unwrap().to_be_bytes());
        value.extend_from_slice(secondary);
        user_variables.push(UserVariableItem::Unknown(0x58, value));
    }
    AssociationRQ {
        protocol_version: 1,
        calling_ae_title: calling.to_owned(),
        called_ae_title: called.to_owned(),
        application_context_name: "1.2.840.10008.3.1.1.1".to_owned(),
        presentation_contexts: vec![
            context(1, VERIFICATION),
            context(3, CT_STORAGE),
            context(5, STUDY_FIND),
        ],
        user_variables,
    }
}

fn password(user: &str, secret: &str) -> Option<(u8, bool, Vec<u8>, Vec<u8>)> {
    Some((
        2,
        true,
        user.as_bytes().to_vec(),
        secret.as_bytes().to_vec(),
    ))
}

/// `request` with an owned identity.
fn rq(calling: &str, identity: Option<(u8, bool, Vec<u8>, Vec<u8>)>) -> AssociationRQ {
    request(
        calling,
        "AUTH_SCP",
        identity
            .as_ref()
            .map(|(k, r, p, s)| (*k, *r, p.as_slice(), s.as_slice())),
    )
}

/// The 0x59 item of an AC, if any.
fn server_response(ac: &AssociationAC) -> Option<Vec<u8>> {
    ac.user_variables.iter().find_map(|item| match item {
        UserVariableItem::Unknown(0x59, value) => Some(value[2..].to_vec()),
        _ => None,
    })
}

fn accepted_ids(ac: &AssociationAC) -> Vec<u8> {
    ac.presentation_contexts
        .iter()
        .filter(|c| c.reason == PresentationContextResultReason::Acceptance)
        .map(|c| c.id)
        .collect()
}

#[tokio::test]
async fn a_password_identity_is_accepted_and_its_echo_answered_here() {
    let door = Door::start("").await;
    let (answer, client) = door
        .associate(rq("MODALITY", password("admin", ADMIN_PASSWORD)))
        .await;
    let ac = answer.accepted();
    // Without an upstream only Verification is accepted; type 2 gets no
    // server response, even when it asked (as pynetdicom's own acceptor).
    assert_eq!(accepted_ids(&ac), [1]);
    assert_eq!(server_response(&ac), None);
    let mut client = client.unwrap();
    assert_eq!(client.echo(1).await, 0x0000);
    client.release().await;

    let associated = door.server.audit_of("dicom.associate").await;
    assert_eq!(associated.len(), 1);
    assert!(associated[0].success);
    assert_eq!(
        associated[0].user_id.as_deref(),
        Some(door.server.admin.user.id.as_str())
    );
    let request = &associated[0].detail["request"];
    assert_eq!(request["calling_ae_title"], "MODALITY");
    assert_eq!(request["identity_type"], 2);
    assert!(!associated[0].detail.to_string().contains(ADMIN_PASSWORD));
    let commands = door.server.audit_of("dicom.command").await;
    assert_eq!(commands.len(), 1);
    assert_eq!(commands[0].detail["request"]["command"], "C-ECHO");
    assert_eq!(commands[0].detail["request"]["allowed"], true);
    assert_eq!(
        commands[0].detail["request"]["association"].as_str(),
        associated[0].request_id.as_deref()
    );
}

#[tokio::test]
async fn a_wrong_password_is_the_configured_rejection_and_counts_towards_lockout() {
    let door =
        Door::start("[security_compliance]\nlockout_failure_attempts = 2\nlockout_duration = 600")
            .await;
    for _ in 0..2 {
        let (answer, _) = door
            .associate(rq("MODALITY", password("admin", "wrong")))
            .await;
        assert_eq!(answer.rejection(), [2, 2, 1]);
    }
    // Locked: the right password fails too, over DICOM and over HTTP.
    let (answer, _) = door
        .associate(rq("MODALITY", password("admin", ADMIN_PASSWORD)))
        .await;
    assert_eq!(answer.rejection(), [2, 2, 1]);
    let response = door
        .server
        .client
        .post(format!("{}/v3/auth/tokens", door.server.base))
        .json(&super::harness::password_body(
            "admin",
            ADMIN_PASSWORD,
            None,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let failures = door.server.audit_of("dicom.associate").await;
    assert_eq!(failures.len(), 3);
    assert!(failures.iter().all(|row| !row.success));

    let configured = Door::start("[dicom]\nreject = [1, 1, 1]").await;
    let (answer, _) = configured
        .associate(rq("MODALITY", password("admin", "wrong")))
        .await;
    assert_eq!(answer.rejection(), [1, 1, 1]);
}

#[tokio::test]
async fn ae_titles_and_modes_decide_before_any_identity() {
    let door = Door::start(
        "[dicom]\ncalling_ae_titles = [\"MODALITY\"]\n[dicom.called.OPEN_AE]\nmode = \"supports\"\n[dicom.called.IGNORING_AE]\nmode = \"not_supported\"",
    )
    .await;
    let good = password("admin", ADMIN_PASSWORD);
    let good = good
        .as_ref()
        .map(|(k, r, p, s)| (*k, *r, p.as_slice(), s.as_slice()));
    let (answer, _) = door.associate(request("MODALITY", "NOBODY", good)).await;
    assert_eq!(answer.rejection(), [1, 1, 7]);
    let (answer, _) = door.associate(request("STRANGER", "AUTH_SCP", good)).await;
    assert_eq!(answer.rejection(), [1, 1, 3]);
    // Required (the listener's own AE title): no identity, no association.
    let (answer, _) = door.associate(request("MODALITY", "AUTH_SCP", None)).await;
    assert_eq!(answer.rejection(), [2, 2, 1]);
    // Supports: no identity is anonymous, a wrong one is still refused.
    let (answer, client) = door.associate(request("MODALITY", "OPEN_AE", None)).await;
    answer.accepted();
    let mut client = client.unwrap();
    assert_eq!(client.echo(1).await, 0x0000);
    client.release().await;
    let (answer, _) = door
        .associate(request(
            "MODALITY",
            "OPEN_AE",
            Some((2, false, b"admin", b"wrong")),
        ))
        .await;
    assert_eq!(answer.rejection(), [2, 2, 1]);
    // Not supported: the item is ignored.
    let (answer, _) = door
        .associate(request(
            "MODALITY",
            "IGNORING_AE",
            Some((2, false, b"admin", b"wrong")),
        ))
        .await;
    answer.accepted();
}

#[tokio::test]
async fn a_token_of_this_server_gets_a_session_token_in_the_server_response() {
    let door = Door::start("").await;
    let token = door.server.admin_token().await;
    let (answer, client) = door
        .associate(rq(
            "MODALITY",
            Some((5, true, token.as_bytes().to_vec(), Vec::new())),
        ))
        .await;
    let ac = answer.accepted();
    client.unwrap().release().await;
    let session = String::from_utf8(server_response(&ac).expect("a 0x59 item")).unwrap();
    assert_ne!(session, token);
    // The same identity works at the HTTP doors.
    let validated = door
        .server
        .client
        .get(format!("{}/v3/auth/tokens", door.server.base))
        .header("X-Auth-Token", &session)
        .header("X-Subject-Token", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(validated.status(), 200);
    let body: Value = validated.json().await.unwrap();
    assert_eq!(body["token"]["user"]["name"], "admin");
    // Not asked for: no item. Not a token: refused.
    let (answer, _) = door
        .associate(rq(
            "MODALITY",
            Some((5, false, token.as_bytes().to_vec(), Vec::new())),
        ))
        .await;
    assert_eq!(server_response(&answer.accepted()), None);
    let (answer, _) = door
        .associate(rq(
            "MODALITY",
            Some((5, true, b"not.a.token".to_vec(), Vec::new())),
        ))
        .await;
    assert_eq!(answer.rejection(), [2, 2, 1]);
}

#[tokio::test]
async fn a_jwt_of_an_external_issuer_goes_to_the_jwt_method() {
    let testdata = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../auth-plugins/src/methods/jwt/testdata"
    );
    let door = Door::start_custom(
        &format!(
            "[[auth.method.jwt.issuers]]\nissuer = \"https://idp.test\"\naudiences = [\"pacs\"]\n\
             jwks_file = \"{testdata}/jwks.json\"\n[auth.method.jwt.issuers.mapping]\n\
             user_claim = \"preferred_username\""
        ),
        |config| config.auth.methods.push("jwt".into()),
        None,
    )
    .await;
    let now = chrono::Utc::now().timestamp();
    let sign = |username: &str| {
        let claims = json!({"iss": "https://idp.test", "aud": "pacs", "sub": "0001",
            "preferred_username": username, "iat": now, "exp": now + 300});
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some("ec-1".into());
        let key = std::fs::read(format!("{testdata}/ec.pem")).unwrap();
        let key = jsonwebtoken::EncodingKey::from_ec_pem(&key).unwrap();
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    };
    let (answer, client) = door
        .associate(rq(
            "MODALITY",
            Some((5, true, sign("admin").into_bytes(), Vec::new())),
        ))
        .await;
    let ac = answer.accepted();
    client.unwrap().release().await;
    assert!(server_response(&ac).is_some());
    let associated = door.server.audit_of("dicom.associate").await;
    assert_eq!(
        associated[0].user_id.as_deref(),
        Some(door.server.admin.user.id.as_str())
    );
    // Signed for a user that does not exist: refused.
    let (answer, _) = door
        .associate(rq(
            "MODALITY",
            Some((5, true, sign("nobody").into_bytes(), Vec::new())),
        ))
        .await;
    assert_eq!(answer.rejection(), [2, 2, 1]);
}

#[tokio::test]
async fn a_user_whose_mfa_rules_need_another_factor_is_refused() {
    let door = Door::start("").await;
    let admin = door.server.admin_token().await;
    let user = door
        .server
        .create_user_with_role(&admin, "careful", "a-long-password", None)
        .await;
    let updated = door
        .server
        .call(reqwest::Method::PATCH, &format!("/v3/users/{user}"), &admin)
        .json(&json!({"user": {"options": {"multi_factor_auth_rules": [["password", "totp"]]}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), 200);
    let (answer, _) = door
        .associate(rq("MODALITY", password("careful", "a-long-password")))
        .await;
    assert_eq!(answer.rejection(), [2, 2, 1]);
    let rows = door.server.audit_of("dicom.associate").await;
    assert_eq!(
        rows[0].detail["request"]["reason"],
        "multi-factor rules need another method"
    );
}

#[tokio::test]
async fn an_asserted_user_is_believed_from_a_trusted_ae_title_only() {
    let door = Door::start_custom(
        "[auth.method.dicom_asserted]\nae_titles = [\"TRUSTED\"]\nnetworks = [\"127.0.0.1/32\"]",
        |config| config.auth.methods.push("dicom_asserted".into()),
        None,
    )
    .await;
    let asserted = || Some((1, false, b"admin".to_vec(), Vec::new()));
    let (answer, client) = door.associate(rq("TRUSTED", asserted())).await;
    answer.accepted();
    client.unwrap().release().await;
    let (answer, _) = door.associate(rq("UNTRUSTED", asserted())).await;
    assert_eq!(answer.rejection(), [2, 2, 1]);
    // The same payload through the HTTP API is just what a client wrote.
    let body = json!({"auth": {"identity": {"methods": ["dicom_asserted"], "dicom_asserted": {
        "user": {"name": "admin", "domain": {"id": "default"}}, "calling_ae_title": "TRUSTED"}}}});
    let response = door
        .server
        .client
        .post(format!("{}/v3/auth/tokens", door.server.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

/// A plugin's method for a private identity type: tickets `ticket:<user>`.
#[derive(Debug)]
struct Tickets;

#[async_trait]
impl AuthMethodHandler for Tickets {
    async fn authenticate(
        &self,
        payload: &Payload,
        ctx: &MethodContext<'_>,
    ) -> Result<AuthHandlerResponse, AuthError> {
        let payload: Value = payload.parse()?;
        let field = payload["user_identity"]["primary_field"]
            .as_str()
            .unwrap_or("");
        let ticket = base64::engine::general_purpose::STANDARD
            .decode(field)
            .map_err(|_| AuthError::InvalidCredentials)?;
        let name = ticket
            .strip_prefix(b"ticket:")
            .and_then(|n| std::str::from_utf8(n).ok())
            .ok_or(AuthError::InvalidCredentials)?;
        assert_eq!(ctx.door(), Some("dicom"));
        assert_eq!(payload["calling_ae_title"], "MODALITY");
        let user = ctx
            .stores()
            .users()?
            .find_user_by_name("default", name)
            .await?;
        Ok(AuthHandlerResponse::success(ResponseData::for_user(
            user.id,
        )))
    }
}

#[tokio::test]
async fn any_identity_type_goes_to_the_method_configured_for_it() {
    let methods = Registry::<MethodRegistration>::builder()
        .with_inventory()
        .register(MethodRegistration::new("tickets", |_| {
            Ok(Arc::new(Tickets))
        }))
        .build()
        .unwrap();
    let door = Door::start_custom(
        "[dicom.identity_methods]\n7 = \"tickets\"",
        |config| config.auth.methods.push("tickets".into()),
        Some(methods),
    )
    .await;
    // Type 7 is one dicom-ul does not know: found in the request's bytes.
    let (answer, client) = door
        .associate(rq(
            "MODALITY",
            Some((7, true, b"ticket:admin".to_vec(), Vec::new())),
        ))
        .await;
    answer.accepted();
    client.unwrap().release().await;
    let (answer, _) = door
        .associate(rq(
            "MODALITY",
            Some((7, true, b"forged".to_vec(), Vec::new())),
        ))
        .await;
    assert_eq!(answer.rejection(), [2, 2, 1]);
    // Kerberos (3) has no method configured: refused.
    let (answer, _) = door
        .associate(rq(
            "MODALITY",
            Some((3, true, b"ticket:admin".to_vec(), Vec::new())),
        ))
        .await;
    assert_eq!(answer.rejection(), [2, 2, 1]);
}

#[tokio::test]
async fn garbage_oversized_requests_and_stalls_are_dropped_without_harm_to_others() {
    let door = Door::start("[dicom]\nartim_timeout_secs = 1").await;
    let mut garbage = TcpStream::connect(door.addr).await.unwrap();
    garbage
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut oversized = TcpStream::connect(door.addr).await.unwrap();
    oversized
        .write_all(&[0x01, 0, 0, 0x10, 0, 0])
        .await
        .unwrap();
    let mut silent = TcpStream::connect(door.addr).await.unwrap();
    // A good association meanwhile.
    let (answer, client) = door
        .associate(rq("MODALITY", password("admin", ADMIN_PASSWORD)))
        .await;
    answer.accepted();
    let mut client = client.unwrap();
    assert_eq!(client.echo(1).await, 0);
    for stream in [&mut garbage, &mut oversized, &mut silent] {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest));
        read.await.expect("closed within 10 s").unwrap_or_default();
        // Nothing but, at most, an A-ABORT.
        assert!(rest.is_empty() || rest[0] == 0x07, "{rest:?}");
    }
    assert_eq!(client.echo(1).await, 0);
    client.release().await;
}

/// What reached the upstream SCP.
#[derive(Debug, Default)]
struct Seen {
    commands: Vec<u16>,
    data_bytes: usize,
    releases: usize,
    aborts: usize,
}

/// A small SCP: accepts every context, answers C-ECHO and C-STORE with
/// success and C-FIND with one match then success, records what arrives.
async fn upstream() -> (SocketAddr, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let record = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(scp(stream, record.clone()));
        }
    });
    (addr, seen)
}

async fn scp(stream: TcpStream, seen: Arc<Mutex<Seen>>) {
    let mut peer = Client {
        stream,
        buffer: BytesMut::new(),
        next_id: 1,
    };
    let Some(Pdu::AssociationRQ(rq)) = peer.receive().await else {
        return;
    };
    assert!(
        !rq.user_variables.iter().any(|v| matches!(
            v,
            UserVariableItem::UserIdentityItem(_) | UserVariableItem::Unknown(0x58, _)
        )),
        "the identity item never reaches the upstream"
    );
    let ac = AssociationAC {
        protocol_version: 1,
        calling_ae_title: rq.calling_ae_title.clone(),
        called_ae_title: rq.called_ae_title.clone(),
        application_context_name: rq.application_context_name.clone(),
        presentation_contexts: rq
            .presentation_contexts
            .iter()
            .map(|c| PresentationContextResult {
                id: c.id,
                reason: PresentationContextResultReason::Acceptance,
                transfer_syntax: c.transfer_syntaxes[0].clone(),
            })
            .collect(),
        user_variables: vec![UserVariableItem::MaxLength(MAX_PDU)],
    };
    peer.send(&Pdu::AssociationAC(ac)).await;
    let mut pending: Option<(u8, InMemDicomObject)> = None;
    loop {
        match peer.receive().await {
            Some(Pdu::PData { data }) => {
                for value in data {
                    let context = value.presentation_context_id;
                    if value.value_type == PDataValueType::Command {
                        let command = decode(&value.data);
                        let field = command
                            .element(tags::COMMAND_FIELD)
                            .unwrap()
                            .to_int::<u16>()
                            .unwrap();
                        seen.lock().unwrap().commands.push(field);
                        let has_data = command
                            .element(tags::COMMAND_DATA_SET_TYPE)
                            .unwrap()
                            .to_int::<u16>()
                            .unwrap()
                            != 0x0101;
                        if has_data {
                            pending = Some((context, command));
                        } else {
                            answer(&mut peer, context, &command, 0).await;
                        }
                    } else {
                        seen.lock().unwrap().data_bytes += value.data.len();
                        if value.is_last
                            && let Some((context, command)) = pending.take()
                        {
                            let field = command
                                .element(tags::COMMAND_FIELD)
                                .unwrap()
                                .to_int::<u16>()
                                .unwrap();
                            if field == 0x0020 {
                                answer(&mut peer, context, &command, 0xFF00).await;
                            }
                            answer(&mut peer, context, &command, 0).await;
                        }
                    }
                }
            }
            Some(Pdu::ReleaseRQ) => {
                seen.lock().unwrap().releases += 1;
                peer.send(&Pdu::ReleaseRP).await;
                return;
            }
            Some(Pdu::AbortRQ { .. }) => {
                seen.lock().unwrap().aborts += 1;
                return;
            }
            _ => return,
        }
    }
}

async fn answer(peer: &mut Client, context: u8, request: &InMemDicomObject, status: u16) {
    let int = |tag| request.element(tag).unwrap().to_int::<u16>().unwrap();
    let class = request
        .element(tags::AFFECTED_SOP_CLASS_UID)
        .unwrap()
        .to_str()
        .unwrap();
    let mut elements = vec![
        uid(tags::AFFECTED_SOP_CLASS_UID, class.trim_end_matches('\0')),
        element(
            tags::COMMAND_FIELD,
            PrimitiveValue::from(int(tags::COMMAND_FIELD) | 0x8000),
        ),
        element(
            tags::MESSAGE_ID_BEING_RESPONDED_TO,
            PrimitiveValue::from(int(tags::MESSAGE_ID)),
        ),
        element(
            tags::COMMAND_DATA_SET_TYPE,
            PrimitiveValue::from(if status == 0xFF00 { 0u16 } else { 0x0101 }),
        ),
        element(tags::STATUS, PrimitiveValue::from(status)),
    ];
    let mut data = vec![pdv(
        context,
        PDataValueType::Command,
        true,
        encode(std::mem::take(&mut elements)),
    )];
    if status == 0xFF00 {
        let found = encode_dataset(vec![DataElement::new(
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("1.2.3.4.5.6\0"),
        )]);
        data.push(pdv(context, PDataValueType::Data, true, found));
    }
    peer.send(&Pdu::PData { data }).await;
}

/// A guard in front of the recording SCP, with `reader` (view and
/// download) and `member` (upload too) users on the admin project.
async fn guard() -> (Door, Arc<Mutex<Seen>>) {
    let (addr, seen) = upstream().await;
    let door = Door::start(&format!("[dicom]\nupstream = \"PACS@{addr}\"")).await;
    let admin = door.server.admin_token().await;
    for (name, role) in [("reader", "reader"), ("member", "member")] {
        let role = door.server.role_id(&admin, role).await.unwrap();
        door.server
            .create_user_with_role(&admin, name, "a-long-password", Some(&role))
            .await;
    }
    (door, seen)
}

#[tokio::test]
async fn through_the_guard_a_view_only_user_may_find_but_not_store() {
    let (door, seen) = guard().await;
    let instance = vec![7u8; 100_000];
    let (answer, client) = door
        .associate(rq("MODALITY", password("reader", "a-long-password")))
        .await;
    // The upstream's answer: every context it accepted.
    assert_eq!(accepted_ids(&answer.accepted()), [1, 3, 5]);
    let mut client = client.unwrap();
    assert_eq!(client.store(3, &instance).await, 0x0124);
    // The association is still usable, and the refused store reached
    // nothing upstream.
    assert_eq!(client.find(5).await, [0xFF00, 0x0000]);
    assert_eq!(client.echo(1).await, 0);
    client.release().await;
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.commands, [0x0020, 0x0030]);
        assert!(
            seen.data_bytes < 100,
            "only the find's identifier: {}",
            seen.data_bytes
        );
        assert_eq!(seen.releases, 1);
    }
    let commands = door.server.audit_of("dicom.command").await;
    let refused: Vec<_> = commands.iter().filter(|row| !row.success).collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].detail["request"]["command"], "C-STORE");

    let (answer, client) = door
        .associate(rq("MODALITY", password("member", "a-long-password")))
        .await;
    answer.accepted();
    let mut client = client.unwrap();
    assert_eq!(client.store(3, &instance).await, 0);
    let data_bytes = seen.lock().unwrap().data_bytes;
    assert!(data_bytes >= instance.len(), "{data_bytes}");
    client.release().await;
}

#[tokio::test]
async fn a_revoked_role_refuses_the_next_command_and_an_abort_reaches_the_upstream() {
    let (door, seen) = guard().await;
    let (answer, client) = door
        .associate(rq("MODALITY", password("member", "a-long-password")))
        .await;
    answer.accepted();
    let mut client = client.unwrap();
    assert_eq!(client.store(3, &[1u8; 1000]).await, 0);
    // The admin takes the role away: the association's next store is
    // refused, though its session token was issued before.
    let admin = door.server.admin_token().await;
    let member_role = door.server.role_id(&admin, "member").await.unwrap();
    let users: Value = door
        .server
        .call(reqwest::Method::GET, "/v3/users?name=member", &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user = users["users"][0]["id"].as_str().unwrap();
    let project = &door.server.admin.project.id;
    let revoked = door
        .server
        .call(
            reqwest::Method::DELETE,
            &format!("/v3/projects/{project}/users/{user}/roles/{member_role}"),
            &admin,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    assert_eq!(client.store(3, &[1u8; 1000]).await, 0x0124);
    client
        .send(&Pdu::AbortRQ {
            source: dicom_ul::pdu::AbortRQSource::ServiceUser,
        })
        .await;
    assert!(client.is_closed().await);
    for _ in 0..100 {
        if seen.lock().unwrap().aborts == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.aborts, 1);
    assert_eq!(seen.commands, [0x0001]);
}

#[tokio::test]
async fn an_upstream_that_cannot_be_reached_is_a_transient_rejection() {
    // A port nothing listens on any more.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let door = Door::start(&format!("[dicom]\nupstream = \"PACS@{closed}\"")).await;
    let (answer, _) = door
        .associate(rq("MODALITY", password("admin", ADMIN_PASSWORD)))
        .await;
    assert_eq!(answer.rejection(), [2, 3, 1]);
}

#[tokio::test]
async fn a_client_breaking_the_protocol_is_aborted_and_so_is_the_upstream() {
    let (door, seen) = guard().await;
    let (answer, client) = door
        .associate(rq("MODALITY", password("member", "a-long-password")))
        .await;
    answer.accepted();
    let mut client = client.unwrap();
    // A second association request within the association.
    client.send(&Pdu::AssociationRQ(rq("MODALITY", None))).await;
    assert!(matches!(client.receive().await, Some(Pdu::AbortRQ { .. })));
    assert!(client.is_closed().await);
    for _ in 0..100 {
        if seen.lock().unwrap().aborts == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen.lock().unwrap().aborts, 1);
}
