//! Load client for a DICOM association acceptor: the auth-server's DICOM
//! door, or any SCP (Orthanc) for a reference, built on `dicom-ul`.
//!
//! ```text
//! dicom-load associate --to AET@HOST:PORT [--clients 16] [--seconds 10]
//!                      [--calling LOAD_SCU] [--jwt TOKEN | --user NAME --password SECRET]
//! dicom-load store --to AET@HOST:PORT --file PATH [--times 5] [--warmup 1]
//!                  [--calling LOAD_SCU] [--jwt TOKEN | --user NAME --password SECRET]
//! ```
//!
//! `associate`: `--clients` tasks, for `--seconds`, each in a loop:
//! associate (with the User Identity item of a type 5 JWT, or type 2, or
//! none), C-ECHO, release. Prints associations/s, the mean, p50 and p99
//! of a loop, and the failures (with the first error).
//!
//! `store`: one association; C-STORE of the instance in `--file` (a DICOM
//! file, sent in its own transfer syntax, the data set bytes as they are in
//! the file) `--warmup` untimed then `--times` timed. Prints MB/s (10^6
//! bytes of data set per second) over the timed stores.
//!
//! The last line of each mode is `RESULT key=value ...`, for scripts.
//! Exits non-zero when an association or command fails in `store`, or
//! when every loop failed in `associate`.

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_object::meta::FileMetaTable;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;
use dicom_ul::association::client::AsyncClientAssociation;
use dicom_ul::pdu::{PDataValue, PDataValueType, PresentationContextResultReason};
use dicom_ul::{ClientAssociationOptions, Pdu};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

const USAGE: &str = "usage: dicom-load associate|store --to AET@HOST:PORT [--clients N] [--seconds S] \
[--file PATH] [--times K] [--warmup W] [--calling AE] [--jwt TOKEN | --user NAME --password SECRET] [--threads T]";
const VERIFICATION: &str = "1.2.840.10008.1.1";
const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
/// The timeout of each read and write on the socket.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// Who the associations say they are. `Debug` shows the kind and the
/// user name, never the token or the password.
#[derive(Clone)]
enum Identity {
    None,
    Jwt(String),
    Password(String, String),
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Jwt(_) => f.write_str("Jwt(..)"),
            Self::Password(user, _) => f
                .debug_tuple("Password")
                .field(user)
                .finish_non_exhaustive(),
        }
    }
}

/// The command line.
#[derive(Debug, Clone)]
struct Args {
    mode: String,
    to: String,
    calling: String,
    identity: Identity,
    clients: usize,
    seconds: f64,
    file: Option<String>,
    times: usize,
    warmup: usize,
    threads: usize,
}

fn parse_args() -> Result<Args> {
    let mut raw = std::env::args().skip(1);
    let mode = raw.next().ok_or(USAGE)?;
    if mode != "associate" && mode != "store" {
        return Err(USAGE.into());
    }
    let mut args = Args {
        mode,
        to: String::new(),
        calling: "LOAD_SCU".to_owned(),
        identity: Identity::None,
        clients: 16,
        seconds: 10.0,
        file: None,
        times: 5,
        warmup: 1,
        threads: 2,
    };
    let (mut jwt, mut user, mut password) = (None, None, None);
    while let Some(flag) = raw.next() {
        let value = raw
            .next()
            .ok_or_else(|| format!("{flag} needs a value; {USAGE}"))?;
        match flag.as_str() {
            "--to" => args.to = value,
            "--calling" => args.calling = value,
            "--jwt" => jwt = Some(value),
            "--user" => user = Some(value),
            "--password" => password = Some(value),
            "--clients" => args.clients = value.parse()?,
            "--seconds" => args.seconds = value.parse()?,
            "--file" => args.file = Some(value),
            "--times" => args.times = value.parse()?,
            "--warmup" => args.warmup = value.parse()?,
            "--threads" => args.threads = value.parse()?,
            _ => return Err(format!("unknown option {flag}; {USAGE}").into()),
        }
    }
    if args.to.is_empty() {
        return Err(USAGE.into());
    }
    args.identity = match (jwt, user, password) {
        (None, None, None) => Identity::None,
        (Some(token), None, None) => Identity::Jwt(token),
        (None, Some(user), Some(password)) => Identity::Password(user, password),
        _ => return Err(format!("--jwt, or --user with --password; {USAGE}").into()),
    };
    if args.mode == "store" && args.file.is_none() {
        return Err(format!("store needs --file; {USAGE}").into());
    }
    if args.clients == 0 || args.times == 0 || args.threads == 0 {
        return Err("--clients, --times and --threads must be positive".into());
    }
    Ok(args)
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match args.mode.as_str() {
            "associate" => associate_mode(&args).await,
            _ => store_mode(&args).await,
        }
    })
}

/// Association options with the calling AE title, the identity and the
/// timeouts; the caller adds the presentation contexts.
fn options<'a>(args: &'a Args) -> ClientAssociationOptions<'a> {
    let options = ClientAssociationOptions::new()
        .calling_ae_title(args.calling.as_str())
        .read_timeout(IO_TIMEOUT)
        .write_timeout(IO_TIMEOUT)
        .connection_timeout(Duration::from_secs(10));
    match &args.identity {
        Identity::None => options,
        Identity::Jwt(token) => options.jwt(token.as_str()),
        Identity::Password(user, password) => {
            options.username_password(user.as_str(), password.as_str())
        }
    }
}

/// The id of the accepted presentation context for `abstract_syntax`.
fn accepted_context(
    association: &AsyncClientAssociation<TcpStream>,
    abstract_syntax: &str,
) -> Result<(u8, String)> {
    association
        .presentation_contexts()
        .iter()
        .find(|pc| {
            pc.reason == PresentationContextResultReason::Acceptance
                && trim_uid(&pc.abstract_syntax) == abstract_syntax
        })
        .map(|pc| (pc.id, trim_uid(&pc.transfer_syntax).to_owned()))
        .ok_or_else(|| format!("the acceptor accepted no context for {abstract_syntax}").into())
}

fn trim_uid(uid: &str) -> &str {
    uid.trim_end_matches(['\0', ' '])
}

/// A command set, encoded in Implicit VR Little Endian (PS3.7 6.3.1),
/// with its group length.
fn command(elements: Vec<DataElement<InMemDicomObject>>) -> Result<Vec<u8>> {
    let object = InMemDicomObject::command_from_element_iter(elements);
    let mut bytes = Vec::new();
    object.write_dataset_with_ts(&mut bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased())?;
    Ok(bytes)
}

fn uid_element(tag: dicom_core::Tag, uid: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::UI, PrimitiveValue::from(uid))
}

fn us_element(tag: dicom_core::Tag, value: u16) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::US, PrimitiveValue::from(value))
}

/// Sends a command set as one P-DATA-TF PDU.
async fn send_command(
    association: &mut AsyncClientAssociation<TcpStream>,
    context: u8,
    bytes: Vec<u8>,
) -> Result<()> {
    let pdu = Pdu::PData {
        data: vec![PDataValue {
            presentation_context_id: context,
            value_type: PDataValueType::Command,
            is_last: true,
            data: bytes,
        }],
    };
    association.send(&pdu).await?;
    Ok(())
}

/// Reads P-DATA until a whole command set has arrived; its Status.
async fn receive_status(association: &mut AsyncClientAssociation<TcpStream>) -> Result<u16> {
    let mut bytes = Vec::new();
    loop {
        match association.receive().await? {
            Pdu::PData { data } => {
                for value in data {
                    if value.value_type != PDataValueType::Command {
                        continue;
                    }
                    bytes.extend_from_slice(&value.data);
                    if value.is_last {
                        let response = InMemDicomObject::read_dataset_with_ts(
                            bytes.as_slice(),
                            &IMPLICIT_VR_LITTLE_ENDIAN.erased(),
                        )?;
                        let status = response.element(tags::STATUS)?.to_int::<u16>()?;
                        return Ok(status);
                    }
                }
            }
            other => {
                return Err(
                    format!("expected a response, got {}", other.short_description()).into(),
                );
            }
        }
    }
}

/// Associates with `args.to` proposing `abstract_syntax` in
/// `transfer_syntaxes`, with Nagle's algorithm off (a command PDU goes out
/// at once, whatever is in flight).
async fn establish(
    args: &Args,
    abstract_syntax: &str,
    transfer_syntaxes: Vec<&str>,
) -> Result<AsyncClientAssociation<TcpStream>> {
    let mut association = options(args)
        .with_presentation_context(abstract_syntax, transfer_syntaxes)
        .establish_with_async(&args.to)
        .await?;
    association.inner_stream().set_nodelay(true)?;
    Ok(association)
}

/// One loop of `associate`: associate, C-ECHO, release.
async fn echo_once(args: &Args) -> Result<()> {
    let mut association = establish(args, VERIFICATION, vec![IMPLICIT_LE]).await?;
    let (context, _) = accepted_context(&association, VERIFICATION)?;
    let rq = command(vec![
        uid_element(tags::AFFECTED_SOP_CLASS_UID, VERIFICATION),
        us_element(tags::COMMAND_FIELD, 0x0030),
        us_element(tags::MESSAGE_ID, 1),
        us_element(tags::COMMAND_DATA_SET_TYPE, 0x0101),
    ])?;
    send_command(&mut association, context, rq).await?;
    let status = receive_status(&mut association).await?;
    if status != 0 {
        return Err(format!("C-ECHO status {status:#06x}").into());
    }
    association.release().await?;
    Ok(())
}

/// What one client of `associate` saw.
#[derive(Debug, Default)]
struct Tally {
    latencies: Vec<Duration>,
    failures: usize,
    first_error: Option<String>,
}

async fn associate_mode(args: &Args) -> Result<()> {
    let args = Arc::new(args.clone());
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.seconds);
    let mut tasks = Vec::with_capacity(args.clients);
    for _ in 0..args.clients {
        let args = Arc::clone(&args);
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            while Instant::now() < deadline {
                let began = Instant::now();
                match echo_once(&args).await {
                    Ok(()) => tally.latencies.push(began.elapsed()),
                    Err(e) => {
                        tally.failures += 1;
                        tally.first_error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            tally
        }));
    }
    let mut all = Tally::default();
    for task in tasks {
        let tally = task.await?;
        all.latencies.extend(tally.latencies);
        all.failures += tally.failures;
        if all.first_error.is_none() {
            all.first_error = tally.first_error;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.latencies.sort();
    let ok = all.latencies.len();
    let rate = ok as f64 / elapsed;
    let p50 = percentile_ms(&all.latencies, 50);
    let p99 = percentile_ms(&all.latencies, 99);
    let mean = if ok == 0 {
        0.0
    } else {
        all.latencies.iter().sum::<Duration>().as_secs_f64() * 1000.0 / ok as f64
    };
    println!(
        "{} clients, {:.1} s: {ok} associations ({rate:.1}/s), mean {mean:.2} ms, p50 {p50:.2} ms, p99 {p99:.2} ms, {} failures",
        args.clients, elapsed, all.failures
    );
    if let Some(error) = &all.first_error {
        println!("first failure: {error}");
    }
    println!(
        "RESULT mode=associate clients={} seconds={elapsed:.3} ok={ok} rate={rate:.2} mean_ms={mean:.3} p50_ms={p50:.3} p99_ms={p99:.3} failures={}",
        args.clients, all.failures
    );
    if ok == 0 {
        return Err("every association failed".into());
    }
    Ok(())
}

/// The `p`th percentile of sorted latencies, in milliseconds.
fn percentile_ms(sorted: &[Duration], p: usize) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() * p).div_ceil(100)).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

/// A DICOM file: its SOP class and instance, transfer syntax, and the
/// bytes of its data set (what follows the file meta group).
#[derive(Debug)]
struct Instance {
    sop_class: String,
    sop_instance: String,
    transfer_syntax: String,
    bytes: Vec<u8>,
    data_set_start: usize,
}

fn read_instance(path: &str) -> Result<Instance> {
    let bytes = std::fs::read(path)?;
    let meta_start = 128;
    if bytes.len() < meta_start + 4 {
        return Err(format!("{path} is not a DICOM file").into());
    }
    let meta = FileMetaTable::from_reader(&bytes[meta_start..])?;
    // "DICM", then (0002,0000) UL: tag 4, VR 2, length 2, value 4.
    let data_set_start = meta_start + 4 + 12 + meta.information_group_length as usize;
    if data_set_start > bytes.len() {
        return Err(format!("{path}: the file meta group overruns the file").into());
    }
    Ok(Instance {
        sop_class: meta.media_storage_sop_class_uid().to_owned(),
        sop_instance: meta.media_storage_sop_instance_uid().to_owned(),
        transfer_syntax: meta.transfer_syntax().to_owned(),
        bytes,
        data_set_start,
    })
}

/// One C-STORE of `instance` on the association; its status.
async fn store_once(
    association: &mut AsyncClientAssociation<TcpStream>,
    context: u8,
    instance: &Instance,
    message_id: u16,
) -> Result<u16> {
    let rq = command(vec![
        uid_element(tags::AFFECTED_SOP_CLASS_UID, &instance.sop_class),
        us_element(tags::COMMAND_FIELD, 0x0001),
        us_element(tags::MESSAGE_ID, message_id),
        us_element(tags::PRIORITY, 0x0000),
        us_element(tags::COMMAND_DATA_SET_TYPE, 0x0000),
        uid_element(tags::AFFECTED_SOP_INSTANCE_UID, &instance.sop_instance),
    ])?;
    send_command(association, context, rq).await?;
    let mut writer = association.send_pdata(context);
    writer
        .write_all(&instance.bytes[instance.data_set_start..])
        .await?;
    writer.finish().await?;
    receive_status(association).await
}

async fn store_mode(args: &Args) -> Result<()> {
    let path = args.file.as_deref().ok_or(USAGE)?;
    let instance = read_instance(path)?;
    let size = instance.bytes.len() - instance.data_set_start;
    let mut transfer_syntaxes = vec![instance.transfer_syntax.as_str()];
    if instance.transfer_syntax != EXPLICIT_LE && instance.transfer_syntax != IMPLICIT_LE {
        eprintln!(
            "note: {path} is in {}; the acceptor must accept it",
            instance.transfer_syntax
        );
    }
    transfer_syntaxes.dedup();
    let mut association = establish(args, &instance.sop_class, transfer_syntaxes).await?;
    let (context, accepted_ts) = accepted_context(&association, &instance.sop_class)?;
    if accepted_ts != instance.transfer_syntax {
        return Err(format!(
            "the acceptor chose {accepted_ts}, not the file's {}",
            instance.transfer_syntax
        )
        .into());
    }
    let max_pdu = association.acceptor_max_pdu_length();
    let mut message_id = 1_u16;
    for _ in 0..args.warmup {
        let status = store_once(&mut association, context, &instance, message_id).await?;
        message_id = message_id.wrapping_add(1);
        if status != 0 {
            return Err(format!("warm-up C-STORE status {status:#06x}").into());
        }
    }
    let mut seconds = Vec::with_capacity(args.times);
    for _ in 0..args.times {
        let began = Instant::now();
        let status = store_once(&mut association, context, &instance, message_id).await?;
        seconds.push(began.elapsed().as_secs_f64());
        message_id = message_id.wrapping_add(1);
        if status != 0 {
            return Err(format!("C-STORE status {status:#06x}").into());
        }
    }
    association.release().await?;
    let total: f64 = seconds.iter().sum();
    let mb_s = (size * args.times) as f64 / total / 1e6;
    let each: Vec<String> = seconds.iter().map(|s| format!("{s:.2}")).collect();
    println!(
        "{} x {size} bytes (acceptor max PDU {max_pdu}) in {total:.2} s: {mb_s:.1} MB/s; each: {} s",
        args.times,
        each.join(" ")
    );
    println!(
        "RESULT mode=store bytes={size} times={} seconds={total:.3} mb_s={mb_s:.2} max_pdu={max_pdu}",
        args.times
    );
    Ok(())
}
