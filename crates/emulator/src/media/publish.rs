//! An RTMP publisher (`rml_rtmp`'s client session) that streams FLV tags: what `ugc-local stream`
//! uses to put the committed test pattern on a channel, and what the tests publish with. It goes
//! through the same listener and remux as OBS or ffmpeg.

use std::io::Cursor;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult,
    PublishRequestType, StreamMetadata,
};
use rml_rtmp::time::RtmpTimestamp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::flv::Tag;

const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("cannot reach the RTMP server: {0}")]
    Io(#[from] std::io::Error),
    #[error("RTMP error: {0}")]
    Protocol(String),
    #[error("the server refused: {0}")]
    Refused(String),
    #[error("no answer from the RTMP server within {0:?}")]
    Timeout(Duration),
}

fn protocol(e: impl std::fmt::Display) -> PublishError {
    PublishError::Protocol(e.to_string())
}

/// A publishing RTMP connection.
pub struct RtmpPublisher {
    stream: TcpStream,
    session: ClientSession,
}

impl RtmpPublisher {
    /// Connects to `rtmp://<addr>/<app>` and starts publishing on `stream_key`.
    pub async fn connect(
        addr: SocketAddr,
        app: &str,
        stream_key: &str,
    ) -> Result<Self, PublishError> {
        let mut stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let remaining = tokio::time::timeout(REPLY_TIMEOUT, handshake(&mut stream))
            .await
            .map_err(|_| PublishError::Timeout(REPLY_TIMEOUT))??;
        let (session, results) =
            ClientSession::new(ClientSessionConfig::new()).map_err(protocol)?;
        let mut this = Self { stream, session };
        this.send_all(results).await?;
        let results = this.session.handle_input(&remaining).map_err(protocol)?;
        this.send_all(results).await?;
        let request = this
            .session
            .request_connection(app.to_owned())
            .map_err(protocol)?;
        this.send_all(vec![request]).await?;
        this.wait_for(|e| matches!(e, ClientSessionEvent::ConnectionRequestAccepted))
            .await?;
        let request = this
            .session
            .request_publishing(stream_key.to_owned(), PublishRequestType::Live)
            .map_err(protocol)?;
        this.send_all(vec![request]).await?;
        this.wait_for(|e| matches!(e, ClientSessionEvent::PublishRequestAccepted))
            .await?;
        Ok(this)
    }

    /// Sends one FLV tag at `timestamp` (milliseconds): audio, video, or `onMetaData`.
    pub async fn send(&mut self, tag: &Tag, timestamp: u32) -> Result<(), PublishError> {
        self.drain()?;
        let time = RtmpTimestamp::new(timestamp);
        let data = Bytes::from(tag.body.clone());
        let result = match tag.kind {
            8 => self.session.publish_audio_data(data, time, false),
            9 => self.session.publish_video_data(data, time, false),
            18 => match on_metadata(&tag.body) {
                Some(metadata) => self.session.publish_metadata(&metadata),
                None => return Ok(()),
            },
            _ => return Ok(()),
        }
        .map_err(protocol)?;
        self.send_all(vec![result]).await
    }

    /// Ends the publish (`FCUnpublish`/`deleteStream`) and closes the connection.
    pub async fn finish(mut self) -> Result<(), PublishError> {
        let results = self.session.stop_publishing().map_err(protocol)?;
        self.send_all(results).await?;
        self.stream.flush().await?;
        let _ = self.stream.shutdown().await;
        // Let the server read the goodbye before the socket goes away.
        let mut buf = [0u8; 1024];
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while matches!(self.stream.read(&mut buf).await, Ok(n) if n > 0) {}
        })
        .await;
        Ok(())
    }

    /// Drops the connection without saying goodbye, as a crashing encoder would.
    pub fn abort(self) {
        drop(self.stream);
    }

    /// Reads whatever the server sent (acknowledgements, pings) without waiting.
    fn drain(&mut self) -> Result<(), PublishError> {
        let mut buf = [0u8; 4096];
        loop {
            match self.stream.try_read(&mut buf) {
                Ok(0) => {
                    return Err(PublishError::Refused(
                        "the server closed the connection".into(),
                    ))
                }
                Ok(n) => {
                    // Responses to server pings are best effort; ignoring them is harmless here.
                    let _ = self.session.handle_input(buf.get(..n).unwrap_or_default());
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn send_all(&mut self, results: Vec<ClientSessionResult>) -> Result<(), PublishError> {
        for result in results {
            if let ClientSessionResult::OutboundResponse(packet) = result {
                self.stream.write_all(&packet.bytes).await?;
            }
        }
        Ok(())
    }

    async fn wait_for(
        &mut self,
        wanted: impl Fn(&ClientSessionEvent) -> bool,
    ) -> Result<(), PublishError> {
        let mut buf = vec![0u8; 16 * 1024];
        let deadline = tokio::time::Instant::now() + REPLY_TIMEOUT;
        loop {
            let n = tokio::time::timeout_at(deadline, self.stream.read(&mut buf))
                .await
                .map_err(|_| PublishError::Timeout(REPLY_TIMEOUT))??;
            if n == 0 {
                return Err(PublishError::Refused(
                    "the server closed the connection".to_owned(),
                ));
            }
            let results = self
                .session
                .handle_input(buf.get(..n).unwrap_or_default())
                .map_err(protocol)?;
            let mut found = false;
            for result in results {
                match result {
                    ClientSessionResult::OutboundResponse(packet) => {
                        self.stream.write_all(&packet.bytes).await?;
                    }
                    ClientSessionResult::RaisedEvent(event) => match event {
                        ClientSessionEvent::ConnectionRequestRejected { description } => {
                            return Err(PublishError::Refused(description))
                        }
                        ClientSessionEvent::UnhandleableOnStatusCode { code } => {
                            return Err(PublishError::Refused(code))
                        }
                        event => found |= wanted(&event),
                    },
                    ClientSessionResult::UnhandleableMessageReceived(_) => {}
                }
            }
            if found {
                return Ok(());
            }
        }
    }
}

async fn handshake(stream: &mut TcpStream) -> Result<Vec<u8>, PublishError> {
    let mut handshake = Handshake::new(PeerType::Client);
    let p0p1 = handshake.generate_outbound_p0_and_p1().map_err(protocol)?;
    stream.write_all(&p0p1).await?;
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(PublishError::Refused(
                "the server closed the connection during the handshake".to_owned(),
            ));
        }
        match handshake
            .process_bytes(buf.get(..n).unwrap_or_default())
            .map_err(protocol)?
        {
            HandshakeProcessResult::InProgress { response_bytes } => {
                stream.write_all(&response_bytes).await?;
            }
            HandshakeProcessResult::Completed {
                response_bytes,
                remaining_bytes,
            } => {
                stream.write_all(&response_bytes).await?;
                return Ok(remaining_bytes);
            }
        }
    }
}

/// The `onMetaData` properties of an FLV script tag.
fn on_metadata(body: &[u8]) -> Option<StreamMetadata> {
    let values = rml_amf0::deserialize(&mut Cursor::new(body)).ok()?;
    let mut values = values.into_iter();
    let name = values.next()?;
    if !matches!(&name, rml_amf0::Amf0Value::Utf8String(s) if s == "onMetaData") {
        return None;
    }
    let properties = values.next()?.get_object_properties()?;
    let mut metadata = StreamMetadata::new();
    metadata.apply_metadata_values(properties);
    Some(metadata)
}

/// Publishes `tags` in a loop until `stop` resolves (or `loops` times), paced in real time or as
/// fast as the connection takes them. Timestamps continue across loops. Returns the media time
/// sent, in milliseconds.
pub async fn publish_tags(
    publisher: &mut RtmpPublisher,
    tags: &[Tag],
    realtime: bool,
    loops: Option<u32>,
    stop: impl std::future::Future<Output = ()>,
) -> Result<u32, PublishError> {
    let span = tags.iter().map(|t| t.timestamp).max().unwrap_or(0);
    // One frame past the last tag, so the next loop does not repeat a timestamp.
    let period = span + 40;
    let start = tokio::time::Instant::now();
    tokio::pin!(stop);
    let mut round = 0u32;
    let mut sent = 0;
    while loops.is_none_or(|n| round < n) {
        let base = round.saturating_mul(period);
        for tag in tags {
            // Metadata once, at the start.
            if tag.kind == 18 && round > 0 {
                continue;
            }
            let ts = base + tag.timestamp;
            if realtime {
                let at = start + Duration::from_millis(u64::from(ts));
                tokio::select! {
                    _ = tokio::time::sleep_until(at) => {}
                    _ = &mut stop => return Ok(sent),
                }
            }
            publisher.send(tag, ts).await?;
            sent = ts;
        }
        round += 1;
    }
    Ok(sent)
}
