//! A fixture generator for upstream-shaped data: the tables as the upstream CDK app creates them
//! (no `liveIndex`, no `isLive` attribute definition) and items exactly as the upstream Node code
//! writes them (register + resources/create + preferences + follow + ban on the channels table; the
//! stream-events service's UpdateItem on the streams table), per the contract's data model.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, LocalSecondaryIndex, Projection, ProjectionType, PutRequest, ScalarAttributeType,
    WriteRequest,
};
use aws_sdk_dynamodb::Client;
use time::OffsetDateTime;
use ugc_domain::format_iso_seconds;
use ugc_dynamo::TableNames;

pub type Item = HashMap<String, AttributeValue>;

pub const STATE: &str = "IVS Stream State Change";
pub const LIMIT: &str = "IVS Limit Breach";
pub const HEALTH: &str = "IVS Stream Health Change";

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .unwrap()
}

fn attr(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .unwrap()
}

fn gsi(name: &str, keys: &[(&str, KeyType)], projection: Projection) -> GlobalSecondaryIndex {
    let mut b = GlobalSecondaryIndex::builder()
        .index_name(name)
        .projection(projection);
    for (k, t) in keys {
        b = b.key_schema(key(k, t.clone()));
    }
    b.build().unwrap()
}

fn all() -> Projection {
    Projection::builder()
        .projection_type(ProjectionType::All)
        .build()
}

fn include(attrs: &[&str]) -> Projection {
    let mut b = Projection::builder().projection_type(ProjectionType::Include);
    for a in attrs {
        b = b.non_key_attributes(*a);
    }
    b.build()
}

/// The upstream CDK tables (docs/contract.md §3.1, §3.2): on-demand, upstream's indexes only.
pub async fn create_upstream_tables(client: &Client, names: &TableNames) {
    client
        .create_table()
        .table_name(&names.channels)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("id"))
        .attribute_definitions(attr("email"))
        .attribute_definitions(attr("username"))
        .attribute_definitions(attr("channelArn"))
        .attribute_definitions(attr("channelAssetId"))
        .key_schema(key("id", KeyType::Hash))
        .global_secondary_indexes(gsi("emailIndex", &[("email", KeyType::Hash)], all()))
        .global_secondary_indexes(gsi("usernameIndex", &[("username", KeyType::Hash)], all()))
        .global_secondary_indexes(gsi(
            "channelArnIndex",
            &[("channelArn", KeyType::Hash)],
            all(),
        ))
        .global_secondary_indexes(gsi(
            "channelAssetIdIndex",
            &[("channelAssetId", KeyType::Hash)],
            include(&["channelAssets"]),
        ))
        .send()
        .await
        .expect("upstream channels table");
    client
        .create_table()
        .table_name(&names.streams)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("channelArn"))
        .attribute_definitions(attr("id"))
        .attribute_definitions(attr("startTime"))
        .attribute_definitions(attr("isOpen"))
        .key_schema(key("channelArn", KeyType::Hash))
        .key_schema(key("id", KeyType::Range))
        .local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name("startTimeIndex")
                .key_schema(key("channelArn", KeyType::Hash))
                .key_schema(key("startTime", KeyType::Range))
                .projection(all())
                .build()
                .unwrap(),
        )
        .global_secondary_indexes(gsi(
            "isOpenIndex",
            &[("channelArn", KeyType::Hash), ("isOpen", KeyType::Range)],
            include(&["endTime", "truncatedEvents", "channelArn", "startTime"]),
        ))
        .send()
        .await
        .expect("upstream streams table");
}

/// A user's IVS and chat resources as `POST /channel/resources/create` stores them.
#[derive(Clone, Debug)]
pub struct Resources {
    pub channel_arn: String,
    pub playback_url: String,
    pub ingest_endpoint: String,
    pub stream_key_arn: String,
    pub stream_key_value: String,
    pub chat_room_arn: String,
    pub channel_asset_id: String,
}

impl Resources {
    pub fn resource_id(&self) -> &str {
        self.channel_arn.rsplit('/').next().unwrap()
    }

    /// Fake resources (no IVS behind them) for bulk data.
    pub fn fake(account: &str, id: &str) -> Self {
        Self {
            channel_arn: format!("arn:aws:ivs:us-east-1:{account}:channel/{id}"),
            playback_url: format!("https://play.example/{id}.m3u8"),
            ingest_endpoint: format!("{id}.global-contribute.live-video.net"),
            stream_key_arn: format!("arn:aws:ivs:us-east-1:{account}:stream-key/{id}"),
            stream_key_value: format!("sk_us-east-1_{id}"),
            chat_room_arn: format!("arn:aws:ivschat:us-east-1:{account}:room/{id}"),
            channel_asset_id: uuid::Uuid::new_v4().to_string(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Profile {
    pub sub: String,
    pub username: String,
    pub email: String,
    pub avatar: String,
    pub color: String,
    pub resources: Option<Resources>,
    /// `channelAssets.avatar.url` after an upload processed by updateVersionId.
    pub avatar_url: Option<String>,
    /// Followed channel resource ids, most recent first.
    pub following: Vec<String>,
    pub banned: Vec<String>,
}

impl Profile {
    pub fn new(sub: &str, username: &str) -> Self {
        Self {
            sub: sub.to_owned(),
            username: username.to_owned(),
            email: format!("{}@example.com", username.to_ascii_lowercase()),
            avatar: "bear".to_owned(),
            color: "blue".to_owned(),
            resources: None,
            avatar_url: None,
            following: Vec::new(),
            banned: Vec::new(),
        }
    }

    /// The channels-table item after upstream's register, resources/create, preference, follow
    /// and ban writes.
    pub fn item(&self) -> Item {
        let mut item = Item::from([
            ("id".into(), s(&self.sub)),
            ("username".into(), s(&self.username)),
            ("email".into(), s(&self.email)),
            ("avatar".into(), s(&self.avatar)),
            ("color".into(), s(&self.color)),
        ]);
        if let Some(r) = &self.resources {
            let resource_id = r.resource_id().to_ascii_lowercase();
            for (k, v) in [
                ("channelArn", r.channel_arn.as_str()),
                ("chatRoomArn", r.chat_room_arn.as_str()),
                ("ingestEndpoint", r.ingest_endpoint.as_str()),
                ("playbackUrl", r.playback_url.as_str()),
                ("streamKeyArn", r.stream_key_arn.as_str()),
                ("streamKeyValue", r.stream_key_value.as_str()),
                ("trackingId", resource_id.as_str()),
                ("channelAssetId", r.channel_asset_id.as_str()),
            ] {
                item.insert(k.into(), s(v));
            }
            let mut assets = Item::new();
            if let Some(url) = &self.avatar_url {
                assets.insert(
                    "avatar".into(),
                    AttributeValue::M(Item::from([
                        ("url".into(), s(url)),
                        ("sequencer".into(), s("0062E99A88DC407460")),
                        (
                            "lastModified".into(),
                            AttributeValue::N("1686767561000".into()),
                        ),
                    ])),
                );
                assets.insert("banner".into(), AttributeValue::M(Item::new()));
            }
            item.insert("channelAssets".into(), AttributeValue::M(assets));
        }
        if !self.following.is_empty() {
            item.insert(
                "followingList".into(),
                AttributeValue::L(self.following.iter().map(s).collect()),
            );
        }
        if !self.banned.is_empty() {
            item.insert(
                "bannedUserSubs".into(),
                AttributeValue::Ss(self.banned.clone()),
            );
        }
        item
    }
}

/// The seeder's mock row: empty strings for the chat room, ingest endpoint and stream key.
pub fn seeded_row(sub: &str, username: &str, account: &str) -> Item {
    let mut item = Profile::new(sub, username).item();
    let id = format!("seed{}", &sub.replace('-', "")[..8]);
    item.insert(
        "channelArn".into(),
        s(format!("arn:aws:ivs:us-east-1:{account}:channel/{id}")),
    );
    item.insert(
        "playbackUrl".into(),
        s(format!("https://play.example/{id}.m3u8")),
    );
    for k in [
        "chatRoomArn",
        "ingestEndpoint",
        "streamKeyArn",
        "streamKeyValue",
    ] {
        item.insert(k.into(), s(""));
    }
    item
}

/// One stream session as upstream's stream-events service leaves it after the given events
/// (docs/contract.md §9.2): events sorted by time, `isOpen` while open, `endTime` once ended.
#[derive(Clone, Debug)]
pub struct Session {
    pub channel_arn: String,
    pub id: String,
    pub user_sub: String,
    /// (time, detail-type, name)
    pub events: Vec<(OffsetDateTime, &'static str, &'static str)>,
    /// Upstream removed `isOpen` (a newer session was created) although no Session Ended came.
    pub closed_by_newer: bool,
}

impl Session {
    pub fn new(channel_arn: &str, id: &str, user_sub: &str) -> Self {
        Self {
            channel_arn: channel_arn.to_owned(),
            id: id.to_owned(),
            user_sub: user_sub.to_owned(),
            events: Vec::new(),
            closed_by_newer: false,
        }
    }

    pub fn event(mut self, at: OffsetDateTime, kind: &'static str, name: &'static str) -> Self {
        self.events.push((at, kind, name));
        self
    }

    /// Session Created and Stream Start at `start`.
    pub fn live(self, start: OffsetDateTime) -> Self {
        self.event(start, STATE, "Session Created")
            .event(start, STATE, "Stream Start")
    }

    /// A whole broadcast from `start` to `end`.
    pub fn ended(self, start: OffsetDateTime, end: OffsetDateTime) -> Self {
        self.live(start)
            .event(end, STATE, "Stream End")
            .event(end, STATE, "Session Ended")
    }

    pub fn item(&self) -> Item {
        let mut events = self.events.clone();
        events.sort_by_key(|e| format_iso_seconds(e.0));
        let mut item = Item::from([
            ("channelArn".into(), s(&self.channel_arn)),
            ("id".into(), s(&self.id)),
            ("userSub".into(), s(&self.user_sub)),
            (
                "truncatedEvents".into(),
                AttributeValue::L(
                    events
                        .iter()
                        .map(|(t, kind, name)| {
                            AttributeValue::M(Item::from([
                                ("eventTime".into(), s(format_iso_seconds(*t))),
                                ("name".into(), s(*name)),
                                ("type".into(), s(*kind)),
                            ]))
                        })
                        .collect(),
                ),
            ),
        ]);
        let health = events.iter().rev().find(|e| e.1 == HEALTH);
        item.insert(
            "isHealthy".into(),
            AttributeValue::Bool(health.is_none_or(|e| e.2 != "Starvation Start")),
        );
        let created = events.iter().find(|e| e.2 == "Session Created");
        let ended = events.iter().find(|e| e.2 == "Session Ended");
        if let Some(c) = created {
            item.insert("startTime".into(), s(format_iso_seconds(c.0)));
            item.insert("hasErrorEvent".into(), AttributeValue::Bool(false));
        }
        if events.iter().any(|e| e.1 == LIMIT) {
            item.insert("hasErrorEvent".into(), AttributeValue::Bool(true));
        }
        match ended {
            Some(e) => {
                item.insert("endTime".into(), s(format_iso_seconds(e.0)));
            }
            None if created.is_some() && !self.closed_by_newer => {
                item.insert("isOpen".into(), s("true"));
            }
            None => {}
        }
        item
    }
}

/// Writes items with BatchWriteItem (25 at a time, unprocessed items retried).
pub async fn put_all(client: &Client, table: &str, items: Vec<Item>) {
    for chunk in items.chunks(25) {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|item| {
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(item.clone()))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .collect();
        while !requests.is_empty() {
            let out = client
                .batch_write_item()
                .request_items(table, requests)
                .send()
                .await
                .expect("batch write");
            requests = out
                .unprocessed_items()
                .and_then(|u| u.get(table))
                .cloned()
                .unwrap_or_default();
        }
    }
}

/// A canonical rendering: map keys sorted, sets sorted.
pub fn render(value: &AttributeValue) -> String {
    match value {
        AttributeValue::M(map) => {
            let sorted: BTreeMap<_, _> = map.iter().map(|(k, v)| (k.clone(), render(v))).collect();
            let parts: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{{{}}}", parts.join(","))
        }
        AttributeValue::L(list) => {
            format!(
                "[{}]",
                list.iter().map(render).collect::<Vec<_>>().join(",")
            )
        }
        AttributeValue::Ss(set) => {
            let mut set = set.clone();
            set.sort();
            format!("SS{set:?}")
        }
        other => format!("{other:?}"),
    }
}

/// Every item of a table, keyed by its key, with a stable rendering (for "nothing changed").
pub async fn snapshot(client: &Client, table: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in page.items() {
            let id = match item.get("id") {
                Some(AttributeValue::S(id)) => id.clone(),
                _ => String::new(),
            };
            if id == ugc_dynamo::migrate::checkpoint::CHECKPOINT_ID {
                continue;
            }
            let channel = match item.get("channelArn") {
                Some(AttributeValue::S(c))
                    if item.contains_key("startTime")
                        || id.starts_with("st-")
                        || id == "#channel" =>
                {
                    c.clone()
                }
                _ => String::new(),
            };
            out.insert(
                format!("{channel}|{id}"),
                render(&AttributeValue::M(item.clone())),
            );
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return out;
        }
    }
}

/// Bulk upstream data: `profiles` users with a channel each and `sessions_per_channel` sessions
/// (all ended but the newest; the newest of every `live_every`-th channel is live and listed by
/// IVS). Returns the items and the channel ARNs IVS lists as live.
pub struct Bulk {
    pub profiles: Vec<Item>,
    pub sessions: Vec<Item>,
    pub live: HashSet<String>,
}

pub fn bulk(profiles: usize, sessions_per_channel: usize, live_every: usize) -> Bulk {
    let base = OffsetDateTime::now_utc() - time::Duration::days(30);
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mut out = Bulk {
        profiles: Vec::with_capacity(profiles),
        sessions: Vec::with_capacity(profiles * sessions_per_channel),
        live: HashSet::new(),
    };
    for p in 0..profiles {
        let sub = format!("{}-{p:06}", &run[..12]);
        let resource_id = format!("b{}{p:06}", &run[..8]);
        let mut profile = Profile::new(&sub, &format!("user{p:06}"));
        profile.resources = Some(Resources::fake("123456789012", &resource_id));
        if p > 0 {
            profile.following = vec![format!("b{}{:06}", &run[..8], p - 1)];
        }
        let arn = profile.resources.as_ref().unwrap().channel_arn.clone();
        out.profiles.push(profile.item());
        for k in 0..sessions_per_channel {
            let start =
                base + time::Duration::hours((k * 24) as i64) + time::Duration::seconds(p as i64);
            let id = format!("st-{resource_id}{k:04}");
            let newest = k + 1 == sessions_per_channel;
            let session = Session::new(&arn, &id, &sub);
            let session = if newest && live_every > 0 && p % live_every == 0 {
                out.live.insert(arn.clone());
                session.live(start)
            } else {
                session.ended(start, start + time::Duration::hours(1))
            };
            out.sessions.push(session.item());
        }
    }
    out
}
