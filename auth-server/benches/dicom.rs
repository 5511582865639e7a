//! The DICOM door's per-message costs, in-process, each next to a
//! reference measured in the same run:
//!
//! - `decide_store`: the guard's decision on a C-STORE (the association's
//!   session token validated again from the cache, the role map, the
//!   `dicom.command` event and its audit row), next to `parse_command`,
//!   reading the command set that any relay must read;
//! - `decode_pdata_16k`: decoding one 16 KiB P-DATA PDU with `dicom-ul`,
//!   what the relay does to every PDU a client sends, next to
//!   `copy_16k`, copying the same bytes.
//!
//! ```text
//! cargo bench -p auth-server --bench dicom -- --warm-up-time 2 --measurement-time 5
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;

use auth_core::SystemClock;
use auth_server::bootstrap::{self, Bootstrap};
use auth_server::dicom::dimse::CommandSet;
use auth_server::dicom::guard::{Decision, Guard};
use auth_server::dicom::identity::Principal;
use auth_server::dicom::wire::Frame;
use auth_server::services::sessions;
use auth_server::services::tokens::Outcome;
use auth_server::{AppState, Config};
use criterion::{Criterion, criterion_group, criterion_main};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;
use dicom_ul::Pdu;
use dicom_ul::pdu::{PDataValue, PDataValueType};
use secrecy::SecretString;
use serde_json::json;

fn store_command() -> Vec<u8> {
    let elements = vec![
        DataElement::new(
            tags::AFFECTED_SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.2\0"),
        ),
        DataElement::new(tags::COMMAND_FIELD, VR::US, PrimitiveValue::from(1u16)),
        DataElement::new(tags::MESSAGE_ID, VR::US, PrimitiveValue::from(7u16)),
        DataElement::new(tags::PRIORITY, VR::US, PrimitiveValue::from(0u16)),
        DataElement::new(
            tags::COMMAND_DATA_SET_TYPE,
            VR::US,
            PrimitiveValue::from(0u16),
        ),
        DataElement::new(
            tags::AFFECTED_SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("1.2.826.0.1.3680043.8.498.1\0"),
        ),
    ];
    let mut bytes = Vec::new();
    InMemDicomObject::command_from_element_iter(elements)
        .write_dataset_with_ts(&mut bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .unwrap();
    bytes
}

fn dicom(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let guard = runtime.block_on(async {
        let mut config = Config::from_toml(
            "[auth.method.password.hashing]\nmemory_kib = 64\niterations = 1\nparallelism = 1",
        )
        .unwrap();
        config.database.url = format!("sqlite://{}/auth.db", dir.path().display());
        config.keys.dir = dir.path().join("keys");
        let settings = Arc::new(config.dicom.check(&config.auth.methods).unwrap());
        let state = AppState::build_with_clock(config, Arc::new(SystemClock))
            .await
            .unwrap();
        let plan = Bootstrap {
            admin_user: "admin".into(),
            admin_password: SecretString::from("bench-password".to_owned()),
            admin_project: "admin".into(),
            public_url: "http://127.0.0.1:5000".into(),
            region: "RegionOne".into(),
        };
        bootstrap::run(&state.services(), &plan).await.unwrap();
        let identity = json!({"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": "bench-password"}}});
        let Outcome::Token(new) = sessions::open_identity(&state, &identity, None, Some("dicom"))
            .await
            .unwrap()
        else {
            panic!("no token");
        };
        Guard {
            state,
            settings,
            principal: Principal::User {
                token: SecretString::from(new.issued.token),
                user_id: new.user.id,
                method: "password".into(),
            },
            calling_ae_title: "BENCH".into(),
            peer: "127.0.0.1:11112".parse().unwrap(),
            association_id: "req-bench".into(),
        }
    });
    let command = store_command();
    let parsed = CommandSet::parse(&command).unwrap();
    runtime.block_on(async {
        assert_eq!(guard.decide(&parsed).await, Decision::Allowed);
    });

    let mut group = c.benchmark_group("dicom");
    group.bench_function("parse_command", |b| {
        b.iter(|| CommandSet::parse(black_box(&command)).unwrap());
    });
    group.bench_function("decide_store", |b| {
        b.to_async(&runtime).iter(|| async {
            let command = CommandSet::parse(black_box(&command)).unwrap();
            assert_eq!(guard.decide(&command).await, Decision::Allowed);
        });
    });
    let mut pdu = Vec::new();
    dicom_ul::write_pdu(
        &mut pdu,
        &Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id: 3,
                value_type: PDataValueType::Data,
                is_last: false,
                data: vec![0x5a; 16 * 1024 - 12],
            }],
        },
    )
    .unwrap();
    let frame = Frame(pdu.clone().into());
    group.bench_function("copy_16k", |b| {
        b.iter(|| black_box(pdu.clone()));
    });
    group.bench_function("decode_pdata_16k", |b| {
        b.iter(|| black_box(frame.decode(16384).unwrap()));
    });
    group.finish();
}

criterion_group!(benches, dicom);
criterion_main!(benches);
