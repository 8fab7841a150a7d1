//! `/channels`: the live directory and the public channel page (docs/contract.md §6, with the deliberate
//! deviations: 404 for unknown users, up to 50 live channels from an index query, the session
//! model's definition of live).
//!
//! Both answer from [`PublicCache`] for their viewer-independent part (docs/architecture.md "Caching and
//! freshness"); whatever depends on the viewer (the owner's ban list, the viewer's follows and bans)
//! is read fresh on every request, so a ban takes effect on the next one. Responses carry an
//! allow-list of public fields only: never e-mail, stream key, chat room or ban and following lists.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use actix_web::{web, HttpResponse};
use futures_util::future::try_join_all;
use serde::{Deserialize, Serialize};
use ugc_aws::IngestConfiguration;
use ugc_aws::VideoClient;
use ugc_domain::{ChannelArn, ChatRoomArn};
use ugc_dynamo::{
    ChannelPageData, ChannelRecord, ChannelsRepo, DbError, DirectoryMirror, LiveSession, PageReads,
    PublicProfile, SessionLiveness, StreamsRepo,
};
use ugc_web::routing::{check_param, resource, JSON_CONTENT_TYPE};
use ugc_web::{ApiError, MaybeAuthUser};
use utoipa::ToSchema;

use crate::cache::CoalescingCache;
use crate::error::user_not_found;
use crate::state::AppState;

/// Upstream's page size of the directory and the following list.
pub const MAX_RESULTS: usize = 50;
/// Channel pages kept in memory at most (a few hundred bytes each).
const PAGE_CACHE_CAPACITY: usize = 10_000;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/channels").route(web::get().to(list_channels)))
        .service(resource("/channels/").route(web::get().to(list_channels)))
        .service(resource("/channels/{channelOwnerUsername}").route(web::get().to(channel_page)));
}

/// The cached public reads: channel pages by exact username, and the live directory.
pub struct PublicCache {
    pub pages: CoalescingCache<String, Option<Arc<PublicChannel>>, ApiError>,
    /// The directory's response body, serialised once per load.
    pub directory: CoalescingCache<(), web::Bytes, ApiError>,
}

impl PublicCache {
    /// `ttl`: how stale a public read may be (`PUBLIC_CACHE_TTL`, about a second).
    pub fn new(ttl: std::time::Duration) -> Self {
        Self {
            pages: CoalescingCache::new(ttl, PAGE_CACHE_CAPACITY).named("channel_page"),
            directory: CoalescingCache::new(ttl, 1).named("directory"),
        }
    }
}

/// What the cached loads read, cloned into each load: a load outlives the request that started it
/// when that request is cancelled, and must not keep the whole state alive.
#[derive(Clone)]
struct Sources {
    channels: ChannelsRepo,
    streams: StreamsRepo,
    pages: PageReads,
    directory: DirectoryMirror,
    video: VideoClient,
}

impl Sources {
    fn of(state: &AppState) -> Self {
        Self {
            channels: state.channels.clone(),
            streams: state.streams.clone(),
            pages: state.pages.clone(),
            directory: state.directory.clone(),
            video: state.video.clone(),
        }
    }
}

/// The viewer-independent part of a channel page.
#[derive(Clone, Debug)]
pub struct PublicChannel {
    owner_sub: String,
    username: String,
    avatar: Option<String>,
    color: Option<String>,
    channel_asset_urls: BTreeMap<String, String>,
    channel_arn: ChannelArn,
    /// Never in a response; a chat token for an anonymous viewer needs nothing else (a room ARN
    /// never changes for a channel).
    chat_room_arn: Option<ChatRoomArn>,
    playback_url: Option<String>,
    is_live: bool,
    video: Option<VideoSize>,
}

impl PublicChannel {
    /// The sub of the profile that held the username when this was loaded.
    pub fn owner_sub(&self) -> &str {
        &self.owner_sub
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    pub fn chat_room_arn(&self) -> Option<&ChatRoomArn> {
        self.chat_room_arn.as_ref()
    }
}

/// One channel of the directory (docs/contract.md §6.1: exactly these four fields).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryChannel {
    #[serde(skip_serializing_if = "Option::is_none")]
    avatar: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    color: Option<String>,
    username: String,
    /// Asset type (`avatar`, `banner`) → CDN URL.
    channel_asset_urls: BTreeMap<String, String>,
}

/// `{"channels": [...], "maxResults": 50}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelList<T> {
    channels: Vec<T>,
    max_results: usize,
}

impl<T> ChannelList<T> {
    pub fn new(channels: Vec<T>) -> Self {
        Self {
            channels,
            max_results: MAX_RESULTS,
        }
    }
}

/// The encoder's resolution while live; the SPA sizes the player with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VideoSize {
    video_width: i64,
    video_height: i64,
}

#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
pub struct PageIngestConfiguration {
    video: VideoSize,
}

/// `GET /channels/:channelOwnerUsername`, in upstream's key order.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelPage {
    #[serde(skip_serializing_if = "Option::is_none")]
    avatar: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    color: Option<String>,
    username: String,
    /// The channel owner has banned the viewer: no playback for them.
    is_viewer_banned: bool,
    /// The viewer has banned the channel owner from the viewer's own chat.
    is_channel_banned: bool,
    is_viewer_following: bool,
    channel_asset_urls: BTreeMap<String, String>,
    channel_arn: String,
    /// Only while live and once IVS knows the encoder's settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    ingest_configuration: Option<PageIngestConfiguration>,
    /// Absent when the viewer is banned.
    #[serde(skip_serializing_if = "Option::is_none")]
    is_live: Option<bool>,
    /// Absent when the viewer is banned.
    #[serde(skip_serializing_if = "Option::is_none")]
    playback_url: Option<String>,
}

/// What the viewer's and the owner's fresh records say about this viewer.
#[derive(Clone, Copy, Debug, Default)]
struct ViewerRelation {
    is_viewer_banned: bool,
    is_channel_banned: bool,
    is_viewer_following: bool,
}

impl ChannelPage {
    fn new(public: &PublicChannel, relation: ViewerRelation) -> Self {
        let visible = !relation.is_viewer_banned;
        Self {
            avatar: public.avatar.clone(),
            color: public.color.clone(),
            username: public.username.clone(),
            is_viewer_banned: relation.is_viewer_banned,
            is_channel_banned: relation.is_channel_banned,
            is_viewer_following: relation.is_viewer_following,
            channel_asset_urls: public.channel_asset_urls.clone(),
            channel_arn: public.channel_arn.to_string(),
            ingest_configuration: public
                .video
                .filter(|_| visible && public.is_live)
                .map(|video| PageIngestConfiguration { video }),
            is_live: visible.then_some(public.is_live),
            playback_url: public.playback_url.clone().filter(|_| visible),
        }
    }
}

impl DirectoryChannel {
    pub fn from_profile(record: &PublicProfile) -> Self {
        Self {
            avatar: record.avatar.clone(),
            color: record.color.clone(),
            username: record.username.clone(),
            channel_asset_urls: record.channel_asset_urls(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(rename = "isLive")]
    is_live: Option<String>,
}

/// `GET /channels?isLive=true` (also `/channels/`): up to 50 live channels, newest session first.
#[utoipa::path(
    get,
    path = "/channels",
    tag = "channels",
    params(("isLive" = String, Query, description = "`true` lists live channels; any other value an empty list")),
    responses(
        (status = 200, description = "Live channels", body = ChannelList<DirectoryChannel>),
        (status = 400, description = "No `isLive` filter (`BadRequestException`)", body = crate::openapi::ErrorBody),
        crate::openapi::DynamoUnavailable,
    )
)]
pub async fn list_channels(
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let Some(is_live) = query.into_inner().is_live else {
        return Err(ApiError::bad_request(
            "Missing required filter, one of: isLive",
        ));
    };
    if is_live != "true" {
        return Ok(HttpResponse::Ok().json(ChannelList::<DirectoryChannel>::new(Vec::new())));
    }
    let sources = Sources::of(&state);
    let body = state
        .public_cache
        .directory
        .get_or_load(&(), move || async move {
            let channels = load_directory(&sources).await?;
            serde_json::to_vec(&ChannelList::new(channels))
                .map(web::Bytes::from)
                .map_err(|err| ApiError::unexpected().with_detail(err))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type(JSON_CONTENT_TYPE)
        .body(body))
}

/// `GET /channels/:channelOwnerUsername`: the public page, plus what the signed-in viewer may see.
#[utoipa::path(
    get,
    path = "/channels/{channelOwnerUsername}",
    tag = "channels",
    params(("channelOwnerUsername" = String, Path, description = "Exact (case-sensitive) username, 1–100 characters")),
    security((), ("accessToken" = [])),
    responses(
        (status = 200, description = "The channel page", body = ChannelPage),
        (status = 400, description = "Parameter too long (`BadRequestException`)", body = crate::openapi::ErrorBody),
        crate::openapi::InvalidToken,
        (status = 404, description = "No such user, or no channel yet (`UserNotFoundException`)", body = crate::openapi::ErrorBody),
        crate::openapi::DynamoUnavailable,
    )
)]
pub async fn channel_page(
    state: web::Data<AppState>,
    viewer: MaybeAuthUser,
    path: web::Path<String>,
) -> Result<web::Json<ChannelPage>, ApiError> {
    let username = path.into_inner();
    check_param("channelOwnerUsername", &username)?;
    let public = cached_channel(&state, &username)
        .await?
        .ok_or_else(user_not_found)?;
    let relation = match viewer.user() {
        Some(viewer) => viewer_relation(&state, &public, &viewer.sub).await?,
        None => ViewerRelation::default(),
    };
    Ok(web::Json(ChannelPage::new(&public, relation)))
}

/// The public part of a channel page from [`PublicCache`] (at most `PUBLIC_CACHE_TTL` old);
/// `None` for an unknown user or one without a channel yet.
pub async fn cached_channel(
    state: &AppState,
    username: &str,
) -> Result<Option<Arc<PublicChannel>>, ApiError> {
    let sources = Sources::of(state);
    let name = username.to_owned();
    state
        .public_cache
        .pages
        .get_or_load(&name.clone(), move || async move {
            load_public_channel(&sources, &name).await
        })
        .await
}

/// The two answers of a two-sub [`ugc_dynamo::ProfileReads::get`].
pub fn two(records: Vec<Option<ChannelRecord>>) -> [Option<ChannelRecord>; 2] {
    let mut records = records.into_iter();
    [records.next().flatten(), records.next().flatten()]
}

/// The fresh, viewer-specific part: the owner's ban list (strongly consistent, so a ban shows on
/// the next request; [`ugc_dynamo::ProfileReads`]) and the viewer's own follows and bans.
async fn viewer_relation(
    state: &AppState,
    public: &PublicChannel,
    viewer_sub: &str,
) -> Result<ViewerRelation, ApiError> {
    let [owner, viewer] = two(state
        .profiles
        .get(&[public.owner_sub.as_str(), viewer_sub])
        .await?);
    let owner = owner.ok_or_else(user_not_found)?;
    Ok(ViewerRelation {
        is_viewer_banned: owner.has_banned(viewer_sub),
        is_channel_banned: viewer
            .as_ref()
            .is_some_and(|v| v.has_banned(&public.owner_sub)),
        is_viewer_following: viewer
            .as_ref()
            .is_some_and(|v| v.is_following(public.channel_arn.resource_id().as_str())),
    })
}

/// The cache's load of one channel page: the owner's profile and the channel's newest session.
/// `None` for an unknown user or one without a channel yet.
async fn load_public_channel(
    state: &Sources,
    username: &str,
) -> Result<Option<Arc<PublicChannel>>, ApiError> {
    let Some(ChannelPageData { owner, live }) = state.pages.load(username).await? else {
        return Ok(None);
    };
    let Some(channel_arn) = owner.channel_arn.clone() else {
        return Ok(None);
    };
    let is_live = live.is_some();
    let video = match &live {
        Some(session) => live_video_size(state, session).await,
        None => None,
    };
    Ok(Some(Arc::new(PublicChannel {
        owner_sub: owner.id.clone(),
        username: owner.username.clone(),
        avatar: owner.avatar.clone(),
        color: owner.color.clone(),
        channel_asset_urls: owner.channel_asset_urls(),
        channel_arn,
        chat_room_arn: crate::routes::chat::stored_room(owner.chat_room_arn.as_deref()),
        playback_url: owner.playback_url.clone(),
        is_live,
        video,
    })))
}

/// The live session's video size: stored, or fetched once from IVS `GetStreamSession` and stored
/// when IVS knows the encoder's settings. Failures only cost the optional field (logged).
async fn live_video_size(state: &Sources, session: &SessionLiveness) -> Option<VideoSize> {
    if let Some(stored) = &session.ingest_configuration {
        return video_size(stored);
    }
    let fetched = state
        .video
        .get_stream_session(&session.channel_arn, &session.stream_id)
        .await;
    let configuration = match fetched {
        Ok(Some(configuration)) if configuration.is_known() => configuration,
        Ok(_) => return None,
        Err(err) => {
            tracing::warn!(channel = %session.channel_arn, stream = %session.stream_id, error = %err,
                "GetStreamSession failed; the page goes without the ingest configuration");
            return None;
        }
    };
    store_ingest_configuration(state, session, &configuration).await;
    Some(VideoSize {
        video_width: configuration.video.video_width,
        video_height: configuration.video.video_height,
    })
}

async fn store_ingest_configuration(
    state: &Sources,
    session: &SessionLiveness,
    configuration: &IngestConfiguration,
) {
    let value = match serde_json::to_value(configuration) {
        Ok(value) => value,
        Err(err) => {
            tracing::error!(error = %err, "ingest configuration does not serialise");
            return;
        }
    };
    if let Err(err) = state
        .streams
        .store_ingest_configuration(&session.channel_arn, &session.stream_id, &value)
        .await
    {
        tracing::warn!(channel = %session.channel_arn, stream = %session.stream_id, error = %err,
            "could not store the ingest configuration; it is fetched again later");
    }
}

fn video_size(stored: &serde_json::Value) -> Option<VideoSize> {
    let video = stored.get("video")?;
    Some(VideoSize {
        video_width: video.get("videoWidth")?.as_i64()?,
        video_height: video.get("videoHeight")?.as_i64()?,
    })
}

/// The cache's load of the directory: one Query of the channels table's directory index, where
/// each profile mirrors its channel's live head (`ugc_dynamo::directory`). While that mirror is not
/// known to be complete (tables that predate it, before event-ingest's reconciler has backfilled
/// it), the sessions' live index (newest first, one session per channel), then the owners' profiles
/// in one `BatchGetItem` by the subs the sessions recorded; a session without a sub, or whose sub's
/// profile moved on, goes through the channel ARN index ([`live_channel_owner`]'s fallback).
/// Channels whose profile is gone are skipped.
async fn load_directory(state: &Sources) -> Result<Vec<DirectoryChannel>, ApiError> {
    if let Some(profiles) = state.directory.live_profiles(MAX_RESULTS).await? {
        return Ok(profiles
            .iter()
            .map(DirectoryChannel::from_profile)
            .collect());
    }
    let live = state.streams.live_directory(MAX_RESULTS).await?;
    let subs: Vec<String> = live.iter().filter_map(|s| s.user_sub.clone()).collect();
    let profiles = state.channels.get_many_public(&subs).await?;
    let by_sub: HashMap<&str, &PublicProfile> =
        profiles.iter().map(|r| (r.id.as_str(), r)).collect();
    let records = try_join_all(live.iter().map(|session| {
        let found = session
            .user_sub
            .as_deref()
            .and_then(|sub| by_sub.get(sub))
            .filter(|record| record.channel_arn.as_ref() == Some(&session.channel_arn))
            .map(|record| DirectoryChannel::from_profile(record));
        async move {
            match found {
                Some(channel) => Ok(Some(channel)),
                None => Ok::<_, DbError>(
                    state
                        .channels
                        .get_by_channel_arn(&session.channel_arn)
                        .await?
                        .as_ref()
                        .map(|record| DirectoryChannel::from_profile(&record.public())),
                ),
            }
        }
    }))
    .await?;
    Ok(records.into_iter().flatten().collect())
}

/// The profile that owns a live session: by the owner's sub the session recorded (a GetItem), or
/// through the channel ARN index when the session predates it or the sub's profile moved on.
pub async fn live_channel_owner(
    channels: &ChannelsRepo,
    session: &LiveSession,
) -> Result<Option<ChannelRecord>, DbError> {
    if let Some(sub) = &session.user_sub {
        if let Some(record) = channels.get(sub).await? {
            if record.channel_arn.as_ref() == Some(&session.channel_arn) {
                return Ok(Some(record));
            }
        }
    }
    channels.get_by_channel_arn(&session.channel_arn).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(is_live: bool) -> PublicChannel {
        PublicChannel {
            owner_sub: "owner".into(),
            username: "Owner".into(),
            avatar: Some("bear".into()),
            color: None,
            channel_asset_urls: BTreeMap::new(),
            channel_arn: ChannelArn::parse("arn:aws:ivs:us-west-2:123456789012:channel/abc")
                .unwrap(),
            chat_room_arn: None,
            playback_url: Some("https://play/abc.m3u8".into()),
            is_live,
            video: Some(VideoSize {
                video_width: 1280,
                video_height: 720,
            }),
        }
    }

    #[test]
    fn page_keys_follow_upstream_order_and_omit_absent_members() {
        let page = ChannelPage::new(&public(true), ViewerRelation::default());
        let json = serde_json::to_string(&page).unwrap();
        assert_eq!(
            json,
            r#"{"avatar":"bear","username":"Owner","isViewerBanned":false,"isChannelBanned":false,"isViewerFollowing":false,"channelAssetUrls":{},"channelArn":"arn:aws:ivs:us-west-2:123456789012:channel/abc","ingestConfiguration":{"video":{"videoWidth":1280,"videoHeight":720}},"isLive":true,"playbackUrl":"https://play/abc.m3u8"}"#
        );
    }

    #[test]
    fn a_banned_viewer_gets_no_playback() {
        let relation = ViewerRelation {
            is_viewer_banned: true,
            ..ViewerRelation::default()
        };
        let json = serde_json::to_value(ChannelPage::new(&public(true), relation)).unwrap();
        assert_eq!(json["isViewerBanned"], true);
        for hidden in ["isLive", "playbackUrl", "ingestConfiguration"] {
            assert!(
                json.get(hidden).is_none(),
                "{hidden} shown to a banned viewer"
            );
        }
    }

    #[test]
    fn offline_pages_have_no_ingest_configuration() {
        let json =
            serde_json::to_value(ChannelPage::new(&public(false), ViewerRelation::default()))
                .unwrap();
        assert_eq!(json["isLive"], false);
        assert!(json.get("ingestConfiguration").is_none());
    }

    #[test]
    fn video_size_reads_the_stored_shape() {
        let stored = serde_json::json!({"audio": {"channels": 2}, "video": {"videoWidth": 1920, "videoHeight": 1080, "codec": "avc1"}});
        assert_eq!(
            video_size(&stored),
            Some(VideoSize {
                video_width: 1920,
                video_height: 1080
            })
        );
        assert_eq!(video_size(&serde_json::json!({"audio": {}})), None);
    }
}
