use std::collections::HashSet;
use std::time::Duration;

use ugc_domain::{
    AssetType, Avatar, ChannelArn, ChannelResourceId, ChatRoomArn, Color, Email, Username,
};
use ugc_dynamo::{
    AssetVersionOutcome, AssetWrite, ChannelResources, ChannelsRepo, DbError, FollowOutcome,
    NewProfile, PreferenceNames, ProvisioningClaim,
};

use crate::helpers::TestDb;

pub(crate) fn profile(sub: &str, username: &str) -> NewProfile {
    NewProfile {
        sub: sub.to_owned(),
        username: Username::parse(username).unwrap(),
        email: Email::parse(&format!("{}@example.com", username.to_lowercase())).unwrap(),
        avatar: Avatar::Bear,
        color: Color::Blue,
    }
}

pub(crate) fn resources(resource_id: &str) -> ChannelResources {
    ChannelResources {
        channel_arn: ChannelArn::parse(&format!(
            "arn:aws:ivs:us-east-1:123456789012:channel/{resource_id}"
        ))
        .unwrap(),
        chat_room_arn: ChatRoomArn::parse("arn:aws:ivschat:us-east-1:123456789012:room/Room1")
            .unwrap(),
        ingest_endpoint: "abc.global-contribute.live-video.net".to_owned(),
        playback_url: "https://abc.m3u8".to_owned(),
        stream_key_arn: "arn:aws:ivs:us-east-1:123456789012:stream-key/k1".to_owned(),
        stream_key_value: "sk_us-east-1_secret".to_owned(),
        tracking_id: resource_id.to_lowercase(),
        channel_asset_id: format!("asset-{resource_id}"),
    }
}

pub(crate) async fn provisioned(repo: &ChannelsRepo, sub: &str, username: &str, resource_id: &str) {
    repo.create_profile(&profile(sub, username)).await.unwrap();
    assert_eq!(
        repo.claim_provisioning(sub, "tok", Duration::from_secs(60))
            .await
            .unwrap(),
        ProvisioningClaim::Claimed
    );
    repo.complete_provisioning(sub, "tok", &resources(resource_id))
        .await
        .unwrap();
}

#[tokio::test]
async fn register_and_look_up_by_every_index() {
    let db = TestDb::new().await;
    let repo = db.channels();
    provisioned(&repo, "sub-1", "Alice", "AliceChan1").await;

    let by_id = repo.get("sub-1").await.unwrap().unwrap();
    assert_eq!(by_id.username, "Alice");
    assert_eq!(by_id.email.as_deref(), Some("alice@example.com"));
    assert_eq!(by_id.avatar.as_deref(), Some("bear"));
    assert_eq!(
        by_id.stream_key_value.as_deref(),
        Some("sk_us-east-1_secret")
    );
    assert!(by_id.channel_assets.is_empty());

    let arn = by_id.channel_arn.clone().unwrap();
    assert_eq!(
        repo.get_by_username("Alice").await.unwrap().unwrap().id,
        "sub-1"
    );
    assert!(
        repo.get_by_username("alice").await.unwrap().is_none(),
        "exact lookup"
    );
    assert_eq!(
        repo.get_by_email("alice@example.com")
            .await
            .unwrap()
            .unwrap()
            .id,
        "sub-1"
    );
    assert_eq!(
        repo.get_by_channel_arn(&arn).await.unwrap().unwrap().id,
        "sub-1"
    );
    assert_eq!(
        repo.username_owner(&Username::parse("ALICE").unwrap())
            .await
            .unwrap()
            .as_deref(),
        Some("sub-1")
    );
    assert!(repo.get("nobody").await.unwrap().is_none());

    // The same name in another case, and the same sub again, are refused.
    assert!(matches!(
        repo.create_profile(&profile("sub-2", "aLiCe")).await,
        Err(DbError::ConditionFailed)
    ));
    assert!(matches!(
        repo.create_profile(&profile("sub-1", "Other1")).await,
        Err(DbError::ConditionFailed)
    ));
    assert!(repo.get("sub-2").await.unwrap().is_none());
    db.cleanup().await;
}

/// The public reads (projected to `PublicProfile`) answer the public part of what the full reads
/// answer, and nothing else can be in them.
#[tokio::test]
async fn public_reads_answer_the_public_part() {
    let db = TestDb::new().await;
    let repo = db.channels();
    provisioned(&repo, "sub-1", "Alice", "AliceChan1").await;
    provisioned(&repo, "sub-2", "Bobby", "BobChan1").await;
    repo.create_profile(&profile("sub-3", "Carola"))
        .await
        .unwrap();

    let full = repo.get_by_username("Alice").await.unwrap().unwrap();
    let public = repo.public_by_username("Alice").await.unwrap().unwrap();
    assert_eq!(public, full.public());
    assert!(public.channel_arn.is_some() && public.chat_room_arn.is_some());
    assert!(repo.public_by_username("alice").await.unwrap().is_none());
    assert!(repo.public_by_username("Nobody").await.unwrap().is_none());

    let subs = ["sub-1", "sub-2", "sub-3", "sub-404", "sub-1"].map(str::to_owned);
    let mut many = repo.get_many_public(&subs).await.unwrap();
    many.sort_by(|a, b| a.id.cmp(&b.id));
    let mut expected = Vec::new();
    for sub in ["sub-1", "sub-2", "sub-3"] {
        expected.push(repo.get(sub).await.unwrap().unwrap().public());
    }
    assert_eq!(many, expected);
    assert!(
        many[2].channel_arn.is_none(),
        "no channel before provisioning"
    );
    db.cleanup().await;
}

/// `get_two` (one BatchGetItem) answers what two `get`s answer, in argument order.
#[tokio::test]
async fn two_profiles_in_one_read() {
    let db = TestDb::new().await;
    let repo = db.channels();
    repo.create_profile(&profile("sub-a", "Anna"))
        .await
        .unwrap();
    repo.create_profile(&profile("sub-b", "Bert"))
        .await
        .unwrap();
    let (a, b) = repo.get_two("sub-a", "sub-b").await.unwrap();
    assert_eq!(a, repo.get("sub-a").await.unwrap());
    assert_eq!(b, repo.get("sub-b").await.unwrap());
    let (b, a) = repo.get_two("sub-b", "sub-a").await.unwrap();
    assert_eq!(a.unwrap().id, "sub-a");
    assert_eq!(b.unwrap().id, "sub-b");
    let (a, none) = repo.get_two("sub-a", "sub-404").await.unwrap();
    assert_eq!(a.unwrap().id, "sub-a");
    assert!(none.is_none());
    let (x, y) = repo.get_two("sub-b", "sub-b").await.unwrap();
    assert_eq!(x, y);
    assert_eq!(x.unwrap().id, "sub-b");
    db.cleanup().await;
}

/// `ProfileReads` answers what `get` answers, in argument order, for many concurrent callers, and
/// a write acknowledged before a call is always seen by it (a ban shows on the next request).
#[tokio::test]
async fn shared_profile_reads_answer_each_caller_freshly() {
    let db = TestDb::new().await;
    let repo = db.channels();
    repo.create_profile(&profile("sub-a", "Anna"))
        .await
        .unwrap();
    repo.create_profile(&profile("sub-b", "Bert"))
        .await
        .unwrap();
    let reads = ugc_dynamo::ProfileReads::new(repo.clone());
    let calls = (0..40).map(|i| {
        let reads = reads.clone();
        async move {
            let subs: [&str; 3] = if i % 2 == 0 {
                ["sub-a", "sub-b", "sub-404"]
            } else {
                ["sub-b", "sub-a", "sub-a"]
            };
            (i, reads.get(&subs).await.unwrap())
        }
    });
    for (i, records) in futures_util::future::join_all(calls).await {
        let ids: Vec<Option<&str>> = records
            .iter()
            .map(|r| r.as_ref().map(|r| r.id.as_str()))
            .collect();
        if i % 2 == 0 {
            assert_eq!(ids, [Some("sub-a"), Some("sub-b"), None]);
        } else {
            assert_eq!(ids, [Some("sub-b"), Some("sub-a"), Some("sub-a")]);
        }
    }
    for round in 0..5 {
        let banned = format!("banned-{round}");
        repo.ban("sub-a", &banned).await.unwrap();
        let (fresh, _) = tokio::join!(reads.get(&["sub-a"]), reads.get(&["sub-b"]));
        let owner = fresh.unwrap().pop().flatten().unwrap();
        assert!(owner.has_banned(&banned), "round {round}: ban not seen");
    }
    db.cleanup().await;
}

#[tokio::test]
async fn rename_moves_the_case_insensitive_claim() {
    let db = TestDb::new().await;
    let repo = db.channels();
    repo.create_profile(&profile("sub-1", "Alice"))
        .await
        .unwrap();
    repo.create_profile(&profile("sub-2", "Bobby"))
        .await
        .unwrap();

    let taken = Username::parse("BOBBY").unwrap();
    assert!(matches!(
        repo.rename("sub-1", &taken).await,
        Err(DbError::ConditionFailed)
    ));

    repo.rename("sub-1", &Username::parse("Carol").unwrap())
        .await
        .unwrap();
    assert_eq!(repo.get("sub-1").await.unwrap().unwrap().username, "Carol");
    // The old name is free again, in any case.
    repo.create_profile(&profile("sub-3", "ALICE"))
        .await
        .unwrap();
    // A change of case keeps the claim.
    repo.rename("sub-1", &Username::parse("CAROL").unwrap())
        .await
        .unwrap();
    assert_eq!(repo.get("sub-1").await.unwrap().unwrap().username, "CAROL");
    assert!(matches!(
        repo.create_profile(&profile("sub-4", "carol")).await,
        Err(DbError::ConditionFailed)
    ));
    assert!(matches!(
        repo.rename("missing", &Username::parse("Dave1").unwrap())
            .await,
        Err(DbError::NotFound)
    ));
    db.cleanup().await;
}

#[tokio::test]
async fn concurrent_renames_to_one_name_have_one_winner() {
    let db = TestDb::new().await;
    let repo = db.channels();
    let casings = [
        "winner", "WINNER", "Winner", "wInNeR", "WiNnEr", "winneR", "WINner", "winNER",
    ];
    for i in 0..casings.len() {
        repo.create_profile(&profile(&format!("sub-{i}"), &format!("user{i}")))
            .await
            .unwrap();
    }
    let tasks = casings.iter().enumerate().map(|(i, name)| {
        let repo = repo.clone();
        let name = Username::parse(name).unwrap();
        tokio::spawn(async move { repo.rename(&format!("sub-{i}"), &name).await })
    });
    let results: Vec<_> = futures_util::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "{results:?}");
    assert!(results
        .iter()
        .all(|r| matches!(r, Ok(()) | Err(DbError::ConditionFailed))));
    let owner = repo
        .username_owner(&Username::parse("winner").unwrap())
        .await
        .unwrap()
        .unwrap();
    let record = repo.get(&owner).await.unwrap().unwrap();
    assert!(record.username.eq_ignore_ascii_case("winner"));
    db.cleanup().await;
}

#[tokio::test]
async fn provisioning_claim_admits_one_creator() {
    let db = TestDb::new().await;
    let repo = db.channels();
    repo.create_profile(&profile("sub-1", "Alice"))
        .await
        .unwrap();

    let tasks = (0..10).map(|i| {
        let repo = repo.clone();
        tokio::spawn(async move {
            let token = format!("token-{i}");
            let claim = repo
                .claim_provisioning("sub-1", &token, Duration::from_secs(60))
                .await
                .unwrap();
            (token, claim)
        })
    });
    let results: Vec<_> = futures_util::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let winners: Vec<_> = results
        .iter()
        .filter(|(_, c)| *c == ProvisioningClaim::Claimed)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(results.iter().all(|(_, c)| matches!(
        c,
        ProvisioningClaim::Claimed | ProvisioningClaim::InProgress
    )));
    let winner = &winners[0].0;

    // A loser cannot complete; the winner can, once.
    let loser = results.iter().find(|(t, _)| t != winner).unwrap();
    assert!(matches!(
        repo.complete_provisioning("sub-1", &loser.0, &resources("Chan1"))
            .await,
        Err(DbError::ConditionFailed)
    ));
    repo.complete_provisioning("sub-1", winner, &resources("Chan1"))
        .await
        .unwrap();
    assert_eq!(
        repo.claim_provisioning("sub-1", "later", Duration::from_secs(60))
            .await
            .unwrap(),
        ProvisioningClaim::AlreadyProvisioned
    );
    assert!(matches!(
        repo.claim_provisioning("missing", "t", Duration::from_secs(60))
            .await,
        Err(DbError::NotFound)
    ));
    db.cleanup().await;
}

#[tokio::test]
async fn provisioning_claim_is_released_or_expires() {
    let db = TestDb::new().await;
    let repo = db.channels();
    repo.create_profile(&profile("sub-1", "Alice"))
        .await
        .unwrap();
    let lease = Duration::from_secs(60);
    assert_eq!(
        repo.claim_provisioning("sub-1", "a", lease).await.unwrap(),
        ProvisioningClaim::Claimed
    );
    // Releasing with another token does nothing.
    repo.release_provisioning("sub-1", "b").await.unwrap();
    assert_eq!(
        repo.claim_provisioning("sub-1", "b", lease).await.unwrap(),
        ProvisioningClaim::InProgress
    );
    repo.release_provisioning("sub-1", "a").await.unwrap();
    assert_eq!(
        repo.claim_provisioning("sub-1", "b", lease).await.unwrap(),
        ProvisioningClaim::Claimed
    );

    // An expired lease can be taken over, and the old holder can no longer complete.
    repo.create_profile(&profile("sub-2", "Bobby"))
        .await
        .unwrap();
    assert_eq!(
        repo.claim_provisioning("sub-2", "old", Duration::from_millis(1))
            .await
            .unwrap(),
        ProvisioningClaim::Claimed
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        repo.claim_provisioning("sub-2", "new", lease)
            .await
            .unwrap(),
        ProvisioningClaim::Claimed
    );
    assert!(matches!(
        repo.complete_provisioning("sub-2", "old", &resources("Chan2"))
            .await,
        Err(DbError::ConditionFailed)
    ));
    db.cleanup().await;
}

#[tokio::test]
async fn concurrent_follows_lose_none() {
    let db = TestDb::new().await;
    let repo = db.channels();
    repo.create_profile(&profile("sub-1", "Alice"))
        .await
        .unwrap();
    let ids: Vec<ChannelResourceId> = (0..20)
        .map(|i| ChannelResourceId::parse(&format!("Chan{i}")).unwrap())
        .collect();
    let tasks = ids.iter().cloned().map(|id| {
        let repo = repo.clone();
        tokio::spawn(async move { repo.follow("sub-1", &id).await })
    });
    for result in futures_util::future::join_all(tasks).await {
        assert_eq!(result.unwrap().unwrap(), FollowOutcome::Followed);
    }
    let list = repo.get("sub-1").await.unwrap().unwrap().following_list;
    assert_eq!(list.len(), 20);
    let stored: HashSet<_> = list.iter().map(String::as_str).collect();
    assert!(ids.iter().all(|id| stored.contains(id.as_str())));

    // Most recent first; a repeat is reported and not stored twice.
    let newest = ChannelResourceId::parse("Newest").unwrap();
    assert_eq!(
        repo.follow("sub-1", &newest).await.unwrap(),
        FollowOutcome::Followed
    );
    assert_eq!(
        repo.follow("sub-1", &newest).await.unwrap(),
        FollowOutcome::AlreadyFollowing
    );
    let list = repo.get("sub-1").await.unwrap().unwrap().following_list;
    assert_eq!(list[0], "Newest");
    assert_eq!(list.len(), 21);

    // Concurrent unfollows of different channels also lose none.
    let tasks = ids.iter().take(10).cloned().map(|id| {
        let repo = repo.clone();
        tokio::spawn(async move { repo.unfollow("sub-1", &id).await })
    });
    for result in futures_util::future::join_all(tasks).await {
        assert!(result.unwrap().unwrap());
    }
    let record = repo.get("sub-1").await.unwrap().unwrap();
    assert_eq!(record.following_list.len(), 11);
    assert!(!record.is_following("Chan3"));
    assert!(record.is_following("Chan13"));
    assert!(!repo.unfollow("sub-1", &ids[0]).await.unwrap());
    assert!(matches!(
        repo.follow("missing", &newest).await,
        Err(DbError::NotFound)
    ));
    db.cleanup().await;
}

#[tokio::test]
async fn ban_unban_preferences_and_stream_key() {
    let db = TestDb::new().await;
    let repo = db.channels();
    provisioned(&repo, "sub-1", "Alice", "Chan1").await;

    repo.ban("sub-1", "sub-9").await.unwrap();
    repo.ban("sub-1", "sub-8").await.unwrap();
    repo.ban("sub-1", "sub-9").await.unwrap();
    let record = repo.get("sub-1").await.unwrap().unwrap();
    assert!(record.has_banned("sub-9") && record.has_banned("sub-8"));
    repo.unban("sub-1", "sub-9").await.unwrap();
    repo.unban("sub-1", "sub-8").await.unwrap();
    assert!(repo
        .get("sub-1")
        .await
        .unwrap()
        .unwrap()
        .banned_user_subs
        .is_empty());
    assert!(matches!(
        repo.ban("missing", "x").await,
        Err(DbError::NotFound)
    ));

    repo.update_preferences(
        "sub-1",
        &PreferenceNames {
            color: Some(Color::Salmon),
            avatar: Some(Avatar::Tiger),
            banner: None,
        },
    )
    .await
    .unwrap();
    let record = repo.get("sub-1").await.unwrap().unwrap();
    assert_eq!(record.color.as_deref(), Some("salmon"));
    assert_eq!(record.avatar.as_deref(), Some("tiger"));
    assert_eq!(record.username, "Alice");
    assert!(matches!(
        repo.update_preferences(
            "missing",
            &PreferenceNames {
                color: Some(Color::Blue),
                ..Default::default()
            }
        )
        .await,
        Err(DbError::NotFound)
    ));

    repo.update_stream_key("sub-1", "arn:new", "sk_new")
        .await
        .unwrap();
    let record = repo.get("sub-1").await.unwrap().unwrap();
    assert_eq!(record.stream_key_arn.as_deref(), Some("arn:new"));
    assert_eq!(record.stream_key_value.as_deref(), Some("sk_new"));
    db.cleanup().await;
}

#[tokio::test]
async fn asset_urls_are_ordered_by_upload_time_and_sequencer() {
    let db = TestDb::new().await;
    let repo = db.channels();
    // A profile without a channelAssets map (as upstream rows before resources/create).
    repo.create_profile(&profile("sub-1", "Alice"))
        .await
        .unwrap();
    let applied = repo
        .set_asset_url(
            "sub-1",
            AssetType::Avatar,
            "https://s3/a1",
            2_000,
            Some("custom"),
        )
        .await
        .unwrap();
    assert_eq!(applied, AssetWrite::Applied);
    let stale = repo
        .set_asset_url(
            "sub-1",
            AssetType::Avatar,
            "https://s3/a0",
            1_000,
            Some("custom"),
        )
        .await
        .unwrap();
    assert_eq!(stale, AssetWrite::Stale);
    let record = repo.get("sub-1").await.unwrap().unwrap();
    assert_eq!(record.avatar.as_deref(), Some("custom"));
    assert_eq!(record.channel_asset_urls()["avatar"], "https://s3/a1");

    // The S3 trigger finds the user by channelAssetId (set at provisioning).
    repo.claim_provisioning("sub-1", "t", Duration::from_secs(60))
        .await
        .unwrap();
    repo.complete_provisioning("sub-1", "t", &resources("Chan1"))
        .await
        .unwrap();
    let asset_id = "asset-Chan1";
    let record = |url: &str, seq: &str| {
        let repo = repo.clone();
        let (url, seq) = (url.to_owned(), seq.to_owned());
        async move {
            repo.record_asset_version(asset_id, AssetType::Avatar, &url, &seq)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        record("https://cdn/v-ff", "ff").await,
        AssetVersionOutcome::Applied
    );
    // Hex "100" > "ff" as numbers (a string compare would call it older).
    assert_eq!(
        record("https://cdn/v-100", "100").await,
        AssetVersionOutcome::Applied
    );
    assert_eq!(
        record("https://cdn/v-ff", "ff").await,
        AssetVersionOutcome::Stale
    );
    assert_eq!(
        record("https://cdn/v-100", "0100").await,
        AssetVersionOutcome::Stale
    );
    let stored = repo.get("sub-1").await.unwrap().unwrap();
    assert_eq!(stored.channel_asset_urls()["avatar"], "https://cdn/v-100");
    assert_eq!(
        stored.channel_assets["avatar"].sequencer.as_deref(),
        Some("100")
    );
    assert_eq!(
        repo.record_asset_version("unknown", AssetType::Banner, "u", "1")
            .await
            .unwrap(),
        AssetVersionOutcome::UnknownAsset
    );

    // Banner entry created on demand; clearing resets it to {}.
    repo.set_asset_url("sub-1", AssetType::Banner, "https://s3/b1", 5_000, None)
        .await
        .unwrap();
    repo.clear_asset("sub-1", AssetType::Banner).await.unwrap();
    let stored = repo.get("sub-1").await.unwrap().unwrap();
    assert!(stored.channel_assets.contains_key("banner"));
    assert!(!stored.channel_asset_urls().contains_key("banner"));
    // After a clear, any upload time is newer.
    assert_eq!(
        repo.set_asset_url("sub-1", AssetType::Banner, "https://s3/b0", 1, None)
            .await
            .unwrap(),
        AssetWrite::Applied
    );
    assert!(matches!(
        repo.clear_asset("missing", AssetType::Avatar).await,
        Err(DbError::NotFound)
    ));
    db.cleanup().await;
}

#[tokio::test]
async fn concurrent_asset_versions_keep_the_newest() {
    let db = TestDb::new().await;
    let repo = db.channels();
    provisioned(&repo, "sub-1", "Alice", "Chan1").await;
    let tasks = (1..=12u32).map(|i| {
        let repo = repo.clone();
        tokio::spawn(async move {
            let seq = format!("{i:x}");
            repo.record_asset_version("asset-Chan1", AssetType::Banner, &format!("v{i}"), &seq)
                .await
                .unwrap()
        })
    });
    futures_util::future::join_all(tasks).await;
    let stored = repo.get("sub-1").await.unwrap().unwrap();
    assert_eq!(stored.channel_asset_urls()["banner"], "v12");
    db.cleanup().await;
}

#[tokio::test]
async fn delete_user_frees_the_username() {
    let db = TestDb::new().await;
    let repo = db.channels();
    repo.create_profile(&profile("sub-1", "Alice"))
        .await
        .unwrap();
    repo.delete_user("sub-1").await.unwrap();
    assert!(repo.get("sub-1").await.unwrap().is_none());
    assert!(repo
        .username_owner(&Username::parse("alice").unwrap())
        .await
        .unwrap()
        .is_none());
    repo.delete_user("sub-1").await.unwrap();
    repo.create_profile(&profile("sub-2", "ALICE"))
        .await
        .unwrap();
    db.cleanup().await;
}
