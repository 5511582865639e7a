//! PDUs on a TCP stream: framing and writing.
//!
//! A PDU is a 6-byte header (type, reserved, big-endian length) and its
//! body. [`PduReader`] reads whole PDUs, refusing one longer than the cap
//! before reading its body, and hands each over as bytes: relayed as they
//! are, or decoded with `dicom-ul`'s reader ([`Frame::decode`]). Reading
//! the frame first means a PDU that is complete but malformed inside is an
//! error at once, never a wait for more bytes; and P-DATA is relayed byte
//! for byte, as it came.

use std::io;

use bytes::{Bytes, BytesMut};
use dicom_ul::Pdu;
use dicom_ul::pdu::{AbortRQServiceProviderReason, AbortRQSource};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The PDU header's size.
pub const HEADER: usize = 6;

/// The PDU type of P-DATA-TF.
pub const P_DATA: u8 = 0x04;

/// The PDU type of A-RELEASE-RQ.
pub const RELEASE_RQ: u8 = 0x05;

/// The PDU type of A-RELEASE-RP.
pub const RELEASE_RP: u8 = 0x06;

/// The PDU type of A-ABORT.
pub const ABORT: u8 = 0x07;

/// Why a peer's PDUs stopped. Never sent anywhere: the listener answers
/// with an A-ABORT where the protocol wants one, or closes.
#[derive(Debug)]
pub enum Broken {
    /// The peer closed the connection at a PDU boundary.
    Closed,
    /// The connection failed, or closed in the middle of a PDU.
    Io(io::Error),
    /// A PDU longer than the cap (its declared length).
    TooLarge(u64),
    /// A PDU `dicom-ul` cannot decode, or one the state does not allow.
    Malformed(String),
}

impl From<io::Error> for Broken {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// One whole PDU, header included.
#[derive(Debug, Clone)]
pub struct Frame(pub Bytes);

impl Frame {
    /// The PDU type.
    pub fn pdu_type(&self) -> u8 {
        self.0[0]
    }

    /// Decodes it with `dicom-ul` (strict: no PDU longer than `max`).
    pub fn decode(&self, max: u32) -> Result<Pdu, Broken> {
        let max = max.max(dicom_ul::pdu::MINIMUM_PDU_SIZE);
        match dicom_ul::read_pdu(&self.0[..], max, true) {
            Ok(Some(pdu)) => Ok(pdu),
            Ok(None) => Err(Broken::Malformed("a PDU shorter than its items".into())),
            Err(e) => Err(Broken::Malformed(e.to_string())),
        }
    }

    /// The body (after the header).
    pub fn body(&self) -> &[u8] {
        &self.0[HEADER..]
    }
}

/// Reads whole PDUs from a stream. [`next`](Self::next) is cancel-safe:
/// what was read stays in the buffer, so it can race other futures in a
/// `select!`.
#[derive(Debug)]
pub struct PduReader<R> {
    stream: R,
    buffer: BytesMut,
}

impl<R: AsyncRead + Unpin> PduReader<R> {
    /// A reader over `stream`.
    pub fn new(stream: R) -> Self {
        Self {
            stream,
            buffer: BytesMut::with_capacity(16 * 1024),
        }
    }

    /// The next whole PDU, whose body is at most `max` bytes.
    pub async fn next(&mut self, max: u32) -> Result<Frame, Broken> {
        loop {
            if self.buffer.len() >= HEADER {
                let length = u64::from(u32::from_be_bytes([
                    self.buffer[2],
                    self.buffer[3],
                    self.buffer[4],
                    self.buffer[5],
                ]));
                if length > u64::from(max) {
                    return Err(Broken::TooLarge(length));
                }
                // At most 4 GiB by the check above, on 64-bit targets a usize.
                let total = HEADER + usize::try_from(length).unwrap_or(usize::MAX - HEADER);
                if self.buffer.len() >= total {
                    return Ok(Frame(self.buffer.split_to(total).freeze()));
                }
                self.buffer.reserve(total - self.buffer.len());
            }
            if self.stream.read_buf(&mut self.buffer).await? == 0 {
                return Err(if self.buffer.is_empty() {
                    Broken::Closed
                } else {
                    Broken::Io(io::ErrorKind::UnexpectedEof.into())
                });
            }
        }
    }
}

impl<R: AsyncRead + Unpin> PduReader<R> {
    /// After the listener sent an A-ASSOCIATE-RJ, A-RELEASE-RP or A-ABORT:
    /// waits, at most `artim`, for the peer to close the connection, as
    /// PS3.8 has the acceptor do (state Sta13), reading and dropping
    /// anything it still sends. Closing first could cut the answer short
    /// for a peer still reading it.
    pub async fn linger(&mut self, artim: std::time::Duration) {
        let drain = async {
            let mut sink = [0u8; 1024];
            while matches!(self.stream.read(&mut sink).await, Ok(n) if n > 0) {}
        };
        let _ = tokio::time::timeout(artim, drain).await;
    }
}

/// Encodes `pdu` with `dicom-ul` and writes it.
pub async fn write<W: AsyncWrite + Unpin>(stream: &mut W, pdu: &Pdu) -> Result<(), Broken> {
    let mut bytes = Vec::with_capacity(256);
    dicom_ul::write_pdu(&mut bytes, pdu).map_err(|e| Broken::Malformed(e.to_string()))?;
    stream.write_all(&bytes).await?;
    Ok(())
}

/// The A-ABORT the listener sends as the service provider.
pub fn abort() -> Pdu {
    Pdu::AbortRQ {
        source: AbortRQSource::ServiceProvider(AbortRQServiceProviderReason::ReasonNotSpecified),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn whole_pdus_come_out_however_the_bytes_arrive() {
        let release = [0x05u8, 0, 0, 0, 0, 4, 0, 0, 0, 0];
        let (client, server) = tokio::io::duplex(64);
        let mut reader = PduReader::new(server);
        let writer = tokio::spawn(async move {
            let mut client = client;
            for chunk in release.chunks(3).chain(release.chunks(7)) {
                client.write_all(chunk).await.unwrap();
                tokio::task::yield_now().await;
            }
        });
        for _ in 0..2 {
            let frame = reader.next(1024).await.unwrap();
            assert_eq!(&frame.0[..], &release);
            assert_eq!(frame.decode(16384).unwrap(), Pdu::ReleaseRQ);
        }
        writer.await.unwrap();
        assert!(matches!(reader.next(1024).await, Err(Broken::Closed)));
    }

    #[tokio::test]
    async fn a_pdu_over_the_cap_is_refused_before_its_body() {
        let (mut client, server) = tokio::io::duplex(64);
        client.write_all(&[0x04, 0, 0, 1, 0, 0]).await.unwrap();
        let mut reader = PduReader::new(server);
        assert!(matches!(
            reader.next(1024).await,
            Err(Broken::TooLarge(65536))
        ));
    }

    #[tokio::test]
    async fn a_pdu_cut_short_or_malformed_is_an_error() {
        let (mut client, server) = tokio::io::duplex(64);
        client.write_all(&[0x05, 0, 0, 0, 0, 4, 0]).await.unwrap();
        drop(client);
        let mut reader = PduReader::new(server);
        assert!(matches!(reader.next(1024).await, Err(Broken::Io(_))));
        // An A-ASSOCIATE-RQ whose body is too short for its fixed fields.
        let frame = Frame(Bytes::from_static(&[0x01, 0, 0, 0, 0, 2, 0, 1]));
        assert!(matches!(frame.decode(16384), Err(Broken::Malformed(_))));
    }
}
