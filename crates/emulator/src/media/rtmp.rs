//! The RTMP listener (`rml_rtmp` does the handshake, chunking and the server session): one task
//! per connection; a connection that sends garbage, stalls in the handshake, names an unknown
//! stream key or an unsupported codec is logged and closed without touching any other stream.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ServerSession, ServerSessionConfig, ServerSessionEvent, ServerSessionResult,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::publisher::{Announced, PublishError, Publisher};
use crate::server::Shared;

/// A handshake (or the connect/publish that follows) must complete within this.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a publisher checks for starvation and for a stream stopped through the API.
const TICK: Duration = Duration::from_millis(250);
/// The application name in `rtmp://host/app/<streamKey>`, as IVS ingest uses.
const APP: &str = "app";

#[derive(Debug, thiserror::Error)]
enum ConnectionError {
    #[error("connection lost: {0}")]
    Io(#[from] std::io::Error),
    #[error("the peer closed the connection during the handshake")]
    TruncatedHandshake,
    #[error("no RTMP handshake within {0:?}")]
    SetupTimeout(Duration),
    #[error("not an RTMP handshake: {0}")]
    Handshake(String),
    #[error("RTMP protocol error: {0}")]
    Protocol(String),
    #[error("unknown application {0:?} (publish to rtmp://<host>/app/<streamKey>)")]
    UnknownApp(String),
    #[error("publish refused: the stream key belongs to no channel")]
    UnknownKey,
    #[error("publish refused on channel {channel}: {reason}")]
    Refused { channel: String, reason: String },
    #[error("stream rejected on channel {channel}: {source}")]
    Media {
        channel: String,
        source: PublishError,
    },
}

pub(super) async fn serve(shared: Arc<Shared>, listener: TcpListener) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the RTMP listener");
            return;
        }
    };
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let _ = stream.set_nodelay(true);
                    let mut connection = Connection {
                        shared,
                        peer,
                        stream,
                        session: None,
                        publisher: None,
                        finished_cleanly: false,
                    };
                    let result = connection.run().await;
                    let clean = connection.finished_cleanly;
                    if let Some(publisher) = connection.publisher.take() {
                        publisher.finish(clean);
                    }
                    match result {
                        Ok(()) => tracing::info!(%peer, "RTMP connection closed"),
                        Err(e) => tracing::warn!(%peer, "RTMP connection closed: {e}"),
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "RTMP accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

struct Connection {
    shared: Arc<Shared>,
    peer: SocketAddr,
    stream: TcpStream,
    session: Option<ServerSession>,
    publisher: Option<Publisher>,
    finished_cleanly: bool,
}

enum Flow {
    Continue,
    Close,
}

impl Connection {
    async fn run(&mut self) -> Result<(), ConnectionError> {
        let remaining = tokio::time::timeout(SETUP_TIMEOUT, self.handshake())
            .await
            .map_err(|_| ConnectionError::SetupTimeout(SETUP_TIMEOUT))??;
        let (session, results) = ServerSession::new(ServerSessionConfig::new())
            .map_err(|e| ConnectionError::Protocol(e.to_string()))?;
        self.session = Some(session);
        if let Flow::Close = self.handle(results).await? {
            return Ok(());
        }
        if let Flow::Close = self.input(&remaining).await? {
            return Ok(());
        }
        let mut buf = vec![0u8; 64 * 1024];
        let mut tick = tokio::time::interval(TICK);
        let setup_deadline = tokio::time::Instant::now() + SETUP_TIMEOUT;
        loop {
            tokio::select! {
                read = self.stream.read(&mut buf) => {
                    let n = read?;
                    if n == 0 {
                        return Ok(());
                    }
                    let data = buf.get(..n).unwrap_or_default().to_vec();
                    if let Flow::Close = self.input(&data).await? {
                        return Ok(());
                    }
                }
                _ = tick.tick() => {
                    if self.publisher.as_mut().is_some_and(|p| !p.tick()) {
                        return Ok(());
                    }
                    if self.publisher.is_none() && tokio::time::Instant::now() >= setup_deadline {
                        return Err(ConnectionError::SetupTimeout(SETUP_TIMEOUT));
                    }
                }
            }
        }
    }

    /// Runs the server side of the handshake; returns the bytes that followed it.
    async fn handshake(&mut self) -> Result<Vec<u8>, ConnectionError> {
        let mut handshake = Handshake::new(PeerType::Server);
        let mut buf = [0u8; 4096];
        loop {
            let n = self.stream.read(&mut buf).await?;
            if n == 0 {
                return Err(ConnectionError::TruncatedHandshake);
            }
            let result = handshake
                .process_bytes(buf.get(..n).unwrap_or_default())
                .map_err(|e| ConnectionError::Handshake(e.to_string()))?;
            match result {
                HandshakeProcessResult::InProgress { response_bytes } => {
                    self.stream.write_all(&response_bytes).await?;
                }
                HandshakeProcessResult::Completed {
                    response_bytes,
                    remaining_bytes,
                } => {
                    self.stream.write_all(&response_bytes).await?;
                    return Ok(remaining_bytes);
                }
            }
        }
    }

    async fn input(&mut self, data: &[u8]) -> Result<Flow, ConnectionError> {
        if data.is_empty() {
            return Ok(Flow::Continue);
        }
        let Some(session) = self.session.as_mut() else {
            return Ok(Flow::Close);
        };
        let results = session
            .handle_input(data)
            .map_err(|e| ConnectionError::Protocol(e.to_string()))?;
        self.handle(results).await
    }

    async fn handle(&mut self, results: Vec<ServerSessionResult>) -> Result<Flow, ConnectionError> {
        for result in results {
            match result {
                ServerSessionResult::OutboundResponse(packet) => {
                    self.stream.write_all(&packet.bytes).await?;
                }
                ServerSessionResult::RaisedEvent(event) => {
                    if let Flow::Close = self.event(event).await? {
                        return Ok(Flow::Close);
                    }
                }
                ServerSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }
        Ok(Flow::Continue)
    }

    async fn event(&mut self, event: ServerSessionEvent) -> Result<Flow, ConnectionError> {
        match event {
            ServerSessionEvent::ConnectionRequested {
                request_id,
                app_name,
            } => {
                if app_name != APP {
                    self.reject(
                        request_id,
                        "NetConnection.Connect.Rejected",
                        "unknown application",
                    )
                    .await?;
                    return Err(ConnectionError::UnknownApp(app_name));
                }
                self.accept(request_id).await?;
            }
            ServerSessionEvent::PublishStreamRequested {
                request_id,
                stream_key,
                ..
            } => self.start_publishing(request_id, &stream_key).await?,
            ServerSessionEvent::StreamMetadataChanged { metadata, .. } => {
                if let Some(publisher) = self.publisher.as_mut() {
                    publisher.announce(Announced {
                        width: metadata.video_width,
                        height: metadata.video_height,
                        frame_rate: metadata.video_frame_rate,
                        video_bitrate_kbps: metadata.video_bitrate_kbps,
                        encoder: metadata.encoder,
                    });
                }
            }
            ServerSessionEvent::VideoDataReceived {
                data, timestamp, ..
            } => self.feed(|publisher| publisher.video(&data, timestamp.value))?,
            ServerSessionEvent::AudioDataReceived {
                data, timestamp, ..
            } => self.feed(|publisher| publisher.audio(&data, timestamp.value))?,
            ServerSessionEvent::PublishStreamFinished { .. } => {
                self.finished_cleanly = true;
                return Ok(Flow::Close);
            }
            _ => {}
        }
        Ok(Flow::Continue)
    }

    /// A publish request: the stream key must name a channel that is not live yet.
    async fn start_publishing(
        &mut self,
        request_id: u32,
        stream_key: &str,
    ) -> Result<(), ConnectionError> {
        if self.publisher.is_some() {
            return Err(ConnectionError::Protocol(
                "a second publish on one connection".to_owned(),
            ));
        }
        let Some(channel) = self.shared.ivs.channel_for_stream_key(stream_key) else {
            self.reject(
                request_id,
                "NetStream.Publish.BadName",
                "invalid stream key",
            )
            .await?;
            return Err(ConnectionError::UnknownKey);
        };
        match Publisher::start(self.shared.clone(), &channel) {
            Ok(publisher) => {
                tracing::info!(peer = %self.peer, %channel, stream = %publisher.stream_id, "RTMP publish started");
                self.publisher = Some(publisher);
                self.accept(request_id).await
            }
            Err(e) => {
                self.reject(request_id, "NetStream.Publish.BadName", &e.message)
                    .await?;
                Err(ConnectionError::Refused {
                    channel,
                    reason: e.message,
                })
            }
        }
    }

    /// Hands received media to the publisher (media before a publish is ignored).
    fn feed(
        &mut self,
        feed: impl FnOnce(&mut Publisher) -> Result<(), PublishError>,
    ) -> Result<(), ConnectionError> {
        if let Some(publisher) = self.publisher.as_mut() {
            feed(publisher).map_err(|source| ConnectionError::Media {
                channel: publisher.channel_id.clone(),
                source,
            })?;
        }
        Ok(())
    }

    async fn accept(&mut self, request_id: u32) -> Result<(), ConnectionError> {
        let Some(session) = self.session.as_mut() else {
            return Ok(());
        };
        let results = session
            .accept_request(request_id)
            .map_err(|e| ConnectionError::Protocol(e.to_string()))?;
        for result in results {
            if let ServerSessionResult::OutboundResponse(packet) = result {
                self.stream.write_all(&packet.bytes).await?;
            }
        }
        Ok(())
    }

    async fn reject(
        &mut self,
        request_id: u32,
        code: &str,
        description: &str,
    ) -> Result<(), ConnectionError> {
        let Some(session) = self.session.as_mut() else {
            return Ok(());
        };
        let results = session
            .reject_request(request_id, code, description)
            .map_err(|e| ConnectionError::Protocol(e.to_string()))?;
        for result in results {
            if let ServerSessionResult::OutboundResponse(packet) = result {
                self.stream.write_all(&packet.bytes).await?;
            }
        }
        let _ = self.stream.flush().await;
        Ok(())
    }
}
