//! `ugc-admin migrate` against upstream-shaped tables in DynamoDB Local, with the emulator's IVS and
//! Cognito, and the combined api serving the migrated data.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing)]

mod compat;
mod degrade;
mod migrate;
mod upstream;

use std::collections::HashSet;
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::Value;
use time::OffsetDateTime;
use ugc_api::{Api, ApiConfig};
use ugc_dynamo::migrate::{MigrateError, MigrateOptions, Migration, MigrationReport, Silent};
use ugc_dynamo::TableNames;
use ugc_emulator::ivs::BroadcastAction;
use ugc_testkit::{TestEnv, TestUser, PASSWORD};
use ugc_web::env::Vars;
use ugc_web::Application;
use upstream::{Profile, Resources, Session};

/// Upstream-shaped tables under a fresh prefix.
pub async fn upstream_tables(env: &TestEnv) -> TableNames {
    let prefix = format!("up{}-", uuid::Uuid::new_v4().simple());
    let tables = TableNames::with_prefix(&prefix);
    upstream::create_upstream_tables(&env.dynamo, &tables).await;
    tables
}

/// The combined api (`SERVICE_NAME=all`) on 127.0.0.1:0 against `tables`.
pub async fn serve(env: &TestEnv, tables: &TableNames) -> String {
    let vars = Vars::from_pairs([
        ("SERVICE_NAME", "all".to_owned()),
        ("CHANNELS_TABLE_NAME", tables.channels.clone()),
        ("STREAM_TABLE_NAME", tables.streams.clone()),
        ("USER_POOL_ID", env.user_pool_id.clone()),
        ("USER_POOL_CLIENT_ID", env.client_id.clone()),
        ("COGNITO_ISSUER", env.auth.issuer.clone()),
        ("COGNITO_JWKS_URL", env.auth.jwks_url.clone()),
        ("REGION", env.region.clone()),
        ("ACCOUNT_ID", env.account_id.clone()),
        ("CHANNEL_ASSETS_BUCKET_NAME", "assets".to_owned()),
        ("IVS_CHANNEL_TYPE", "BASIC".to_owned()),
        ("PUBLIC_CACHE_TTL", "1ms".to_owned()),
        (
            "PAGINATION_TOKEN_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned(),
        ),
    ]);
    let mut common = env.common_config();
    common.service_name = Some("all".to_owned());
    let config = ApiConfig::from_parts(&common, &vars).unwrap();
    let api = Api::new(config, &env.sdk, env.dynamo.clone())
        .await
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let app = Application::build(listener, api.configure(), &common).unwrap();
    let url = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    url
}

pub fn test_options() -> MigrateOptions {
    MigrateOptions {
        max_capacity: 0.0,
        index_poll: std::time::Duration::from_millis(100),
        index_timeout: std::time::Duration::from_secs(30),
        ..MigrateOptions::default()
    }
}

/// Runs the migration the way `ugc-admin migrate` does (live set from the emulator's IVS).
pub async fn run_migration(
    env: &TestEnv,
    tables: &TableNames,
    options: MigrateOptions,
) -> Result<MigrationReport, MigrateError> {
    let live = ugc_admin::live_channels(&ugc_aws::VideoClient::new(&env.sdk))
        .await
        .unwrap();
    run_with_live(env, tables, options, live).await
}

pub async fn run_with_live(
    env: &TestEnv,
    tables: &TableNames,
    options: MigrateOptions,
    live: HashSet<String>,
) -> Result<MigrationReport, MigrateError> {
    Migration::new(
        env.dynamo.clone(),
        tables.clone(),
        options,
        live,
        Arc::new(Silent),
    )
    .run()
    .await
}

pub async fn get(url: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(token) = token {
        req = req.header("Authorization", token);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub async fn send(
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Value,
) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .request(method, url)
        .header("Authorization", token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The demo deployment: four Cognito users; alice and bob broadcasting on IVS, carol's session
/// live by its events only (its Session Ended was lost), dave without a channel, two profiles whose
/// names collide case-insensitively, and a seeder row.
pub struct Demo {
    pub tables: TableNames,
    pub alice: TestUser,
    pub bob: TestUser,
    pub carol: TestUser,
    pub dave: TestUser,
    pub alice_res: Resources,
    pub bob_res: Resources,
    pub carol_res: Resources,
    pub alice_live: String,
    pub bob_live: String,
    pub bob_lost: String,
    pub carol_drift: String,
}

async fn ivs_channel(env: &TestEnv, name: &str) -> Resources {
    let ivs = aws_sdk_ivs::Client::new(&env.sdk);
    let out = ivs.create_channel().name(name).send().await.unwrap();
    let channel = out.channel().unwrap();
    let key = out.stream_key().unwrap();
    Resources {
        channel_arn: channel.arn().unwrap().to_owned(),
        playback_url: channel.playback_url().unwrap().to_owned(),
        ingest_endpoint: channel.ingest_endpoint().unwrap().to_owned(),
        stream_key_arn: key.arn().unwrap().to_owned(),
        stream_key_value: key.value().unwrap().to_owned(),
        chat_room_arn: format!(
            "arn:aws:ivschat:{}:{}:room/{name}",
            env.region, env.account_id
        ),
        channel_asset_id: uuid::Uuid::new_v4().to_string(),
    }
}

fn start_broadcast(env: &TestEnv, arn: &str) -> String {
    ugc_emulator::events::broadcast(&env.emulator, arn, BroadcastAction::Start)
        .unwrap()
        .change
        .stream_id
        .unwrap()
}

pub async fn demo(env: &TestEnv) -> Demo {
    let tables = upstream_tables(env).await;
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..6];
    let alice = env
        .sign_up_user(
            &format!("alice{tag}"),
            PASSWORD,
            &format!("alice{tag}@example.com"),
        )
        .await;
    let bob = env
        .sign_up_user(
            &format!("bob{tag}"),
            PASSWORD,
            &format!("bob{tag}@example.com"),
        )
        .await;
    let carol = env
        .sign_up_user(
            &format!("carol{tag}"),
            PASSWORD,
            &format!("carol{tag}@example.com"),
        )
        .await;
    let dave = env
        .sign_up_user(
            &format!("dave{tag}"),
            PASSWORD,
            &format!("dave{tag}@example.com"),
        )
        .await;
    let alice_res = ivs_channel(env, &alice.username).await;
    let bob_res = ivs_channel(env, &bob.username).await;
    let carol_res = ivs_channel(env, &carol.username).await;
    let alice_live = start_broadcast(env, &alice_res.channel_arn);
    let bob_live = start_broadcast(env, &bob_res.channel_arn);

    let mut a = Profile::new(&alice.sub, &alice.username);
    a.resources = Some(alice_res.clone());
    a.avatar_url = Some(format!(
        "https://cdn.example/{}/avatar?versionId=v1",
        alice_res.channel_asset_id
    ));
    a.following = vec![
        bob_res.resource_id().to_owned(),
        carol_res.resource_id().to_owned(),
    ];
    a.banned = vec![dave.sub.clone()];
    let mut b = Profile::new(&bob.sub, &bob.username);
    b.resources = Some(bob_res.clone());
    b.color = "green".into();
    let mut c = Profile::new(&carol.sub, &carol.username);
    c.resources = Some(carol_res.clone());
    c.following = vec![alice_res.resource_id().to_owned()];
    let d = Profile::new(&dave.sub, &dave.username);
    let frank_upper = Profile::new(&format!("frank-1-{tag}"), &format!("Frank{tag}"));
    let frank_lower = Profile::new(&format!("frank-2-{tag}"), &format!("frank{tag}"));
    let mut profiles: Vec<_> = [a, b, c, d, frank_upper, frank_lower]
        .iter()
        .map(Profile::item)
        .collect();
    profiles.push(upstream::seeded_row(
        &format!("seed-{tag}-0001"),
        &format!("seeded{tag}"),
        &env.account_id,
    ));
    upstream::put_all(&env.dynamo, &tables.channels, profiles).await;

    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let min = |m: i64| now - time::Duration::minutes(m);
    let day = time::Duration::days(1);
    let bob_lost = format!("st-boblost{tag}");
    let carol_drift = format!("st-caroldrift{tag}");
    let mut lost = Session::new(&bob_res.channel_arn, &bob_lost, &bob.sub).live(min(60) - day);
    lost.closed_by_newer = true;
    let sessions = [
        Session::new(
            &alice_res.channel_arn,
            &format!("st-aliceold{tag}"),
            &alice.sub,
        )
        .ended(min(120) - day, min(60) - day)
        .event(min(100) - day, upstream::HEALTH, "Starvation Start")
        .event(min(99) - day, upstream::HEALTH, "Starvation End"),
        Session::new(&alice_res.channel_arn, &alice_live, &alice.sub).live(min(20)),
        lost,
        Session::new(&bob_res.channel_arn, &bob_live, &bob.sub).live(min(10)),
        Session::new(
            &carol_res.channel_arn,
            &format!("st-carolold{tag}"),
            &carol.sub,
        )
        .ended(min(300), min(200))
        .event(min(250), upstream::LIMIT, "Ingest Bitrate"),
        Session::new(&carol_res.channel_arn, &carol_drift, &carol.sub).live(min(30)),
    ];
    upstream::put_all(
        &env.dynamo,
        &tables.streams,
        sessions.iter().map(Session::item).collect(),
    )
    .await;
    Demo {
        tables,
        alice,
        bob,
        carol,
        dave,
        alice_res,
        bob_res,
        carol_res,
        alice_live,
        bob_live,
        bob_lost,
        carol_drift,
    }
}

#[test]
fn usage_is_parsed_strictly() {
    let parse = |args: &[&str]| ugc_admin::parse_args(args.iter().map(|a| (*a).to_owned()));
    match parse(&[
        "migrate",
        "--dry-run",
        "--max-capacity",
        "25",
        "--concurrency",
        "4",
    ])
    .unwrap()
    {
        ugc_admin::Command::Migrate { options, json } => {
            assert!(options.dry_run && !json);
            assert_eq!(options.max_capacity, 25.0);
            assert_eq!(options.concurrency, 4);
        }
        other => panic!("{other:?}"),
    }
    assert!(parse(&["migrate", "--max-capacity", "-1"]).is_err());
    assert!(parse(&["migrate", "--concurrency"]).is_err());
    assert!(parse(&["migrate", "--bogus"]).is_err());
    assert!(parse(&["frobnicate"]).is_err());
    assert!(matches!(parse(&[]).unwrap(), ugc_admin::Command::Help));
}
