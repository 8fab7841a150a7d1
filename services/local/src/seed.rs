//! `ugc-local seed`: demo data made the way users make it, over HTTP against the running
//! platform. Each demo user registers through the API (with an avatar and a colour), confirms
//! the e-mailed code from the emulator's outbox with Cognito, signs in, and creates their
//! channel resources; users follow a few others; the first `offline` users get a finished past
//! session and the rest go live, all through the broadcast simulator, so the IVS events reach
//! event-ingest and the directory, channel pages and health pages show real sessions and metrics.
//!
//! Re-running is safe: existing users are signed in and reused, live channels stay live.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::Context;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use reqwest::Method;
use serde_json::json;

use crate::client::{refusal_code, Client};

/// The built-in avatar names (not `custom`) and the profile colours.
pub const AVATARS: [&str; 14] = [
    "bear",
    "bird",
    "bird2",
    "dog",
    "dog2",
    "dog3",
    "giraffe",
    "hedgehog",
    "hippo",
    "horse",
    "ibex",
    "jellyfish",
    "sheep",
    "tiger",
];
pub const COLORS: [&str; 7] = [
    "blue",
    "green",
    "lavender",
    "purple",
    "salmon",
    "turquoise",
    "yellow",
];
/// Password of every demo user (meets the pool's policy).
pub const PASSWORD: &str = "Passw0rd!";
/// Users set up at the same time.
const CONCURRENCY: usize = 6;
/// How many others each user follows.
const FOLLOWS: usize = 3;

#[derive(Clone, Debug)]
pub struct SeedOptions {
    pub count: usize,
    /// Users whose channel gets a finished past session and stays offline.
    pub offline: usize,
    /// Usernames are `<prefix>NNN`.
    pub prefix: String,
}

impl Default for SeedOptions {
    fn default() -> Self {
        Self {
            count: 50,
            offline: 1,
            prefix: "demo".to_owned(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct SeededUser {
    pub username: String,
    pub email: String,
    pub avatar: &'static str,
    pub color: &'static str,
    pub channel_arn: String,
    pub live: bool,
    access_token: String,
}

pub async fn run(client: &Client, options: &SeedOptions) -> anyhow::Result<Vec<SeededUser>> {
    let users: Vec<SeededUser> = stream::iter(0..options.count)
        .map(|i| account(client, options, i))
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    follow(client, &users).await?;
    let mut seeded = Vec::with_capacity(users.len());
    for (i, mut user) in users.into_iter().enumerate() {
        user.live = broadcast(client, &user, i, i < options.offline).await?;
        seeded.push(user);
    }
    Ok(seeded)
}

/// Registers (or reuses), confirms, signs in and creates the channel of user `i`.
async fn account(client: &Client, options: &SeedOptions, i: usize) -> anyhow::Result<SeededUser> {
    let username = format!("{}{:03}", options.prefix, i + 1);
    let email = format!("{username}@example.com");
    let avatar = AVATARS.get(i % AVATARS.len()).copied().unwrap_or("bear");
    let color = COLORS.get(i % COLORS.len()).copied().unwrap_or("blue");
    let registered = client
        .api(
            Method::POST,
            "/channel/register",
            None,
            Some(json!({
                "username": username, "email": email, "password": PASSWORD,
                "confirmPassword": PASSWORD, "avatar": avatar, "color": color,
            })),
        )
        .await;
    match registered {
        Ok(out) => {
            if !out
                .get("userConfirmed")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false)
            {
                let code = client.outbox_code(&username).await?;
                client
                    .cognito(
                        "ConfirmSignUp",
                        json!({"ClientId": client.platform.client_id, "Username": username,
                               "ConfirmationCode": code}),
                    )
                    .await
                    .with_context(|| format!("confirming {username}"))?;
            }
        }
        Err(err)
            if matches!(
                refusal_code(&err),
                Some("UsernameExistsException" | "AliasExistsException" | "EmailExistsException")
            ) => {}
        Err(err) => return Err(err.context(format!("registering {username}"))),
    }
    let access_token = client.sign_in(&username, PASSWORD).await.with_context(|| {
        format!("signing in {username} (a user of that name with another password?)")
    })?;
    // Idempotent: creates the channel and chat room once, answers 200 when they exist.
    client
        .api(
            Method::POST,
            "/channel/resources/create",
            Some(&access_token),
            Some(json!({"username": username, "email": email})),
        )
        .await
        .with_context(|| format!("creating the channel of {username}"))?;
    let channel_arn = client.channel_arn(&username).await?;
    Ok(SeededUser {
        username,
        email,
        avatar,
        color,
        channel_arn,
        live: false,
        access_token,
    })
}

/// Each user follows the next few users (round the circle).
async fn follow(client: &Client, users: &[SeededUser]) -> anyhow::Result<()> {
    let n = users.len();
    for (i, user) in users.iter().enumerate() {
        let mut followed = HashSet::new();
        for step in 1..=FOLLOWS.min(n.saturating_sub(1)) {
            let Some(other) = users.get((i + step) % n) else {
                continue;
            };
            if !followed.insert(other.username.clone()) {
                continue;
            }
            client
                .api(
                    Method::PUT,
                    "/channel/followingList/add",
                    Some(&user.access_token),
                    Some(json!({"followedUsername": other.username})),
                )
                .await
                .with_context(|| format!("{} following {}", user.username, other.username))?;
        }
    }
    Ok(())
}

/// A past session (offline users) or a live one; every fourth live channel also has a
/// starvation, so health pages show events of both kinds. Returns whether the channel is live.
async fn broadcast(
    client: &Client,
    user: &SeededUser,
    i: usize,
    offline: bool,
) -> anyhow::Result<bool> {
    let arn = user.channel_arn.as_str();
    let start = client.broadcast(arn, "start").await;
    let already_live = match &start {
        Ok(_) => false,
        Err(err) if refusal_code(err) == Some("ConflictException") => true,
        Err(_) => {
            start.with_context(|| format!("starting a broadcast on {}", user.username))?;
            false
        }
    };
    if !already_live && (offline || i % 4 == 1) {
        client.broadcast(arn, "starve").await?;
        tokio::time::sleep(Duration::from_millis(20)).await;
        client.broadcast(arn, "recover").await?;
    }
    if offline {
        client.broadcast(arn, "stop").await?;
        return Ok(false);
    }
    Ok(true)
}
