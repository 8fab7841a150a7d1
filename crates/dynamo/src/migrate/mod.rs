//! Brings an upstream deployment's tables to what this code reads (architecture "Existing
//! deployments"): the migration behind `ugc-admin migrate`.
//!
//! What upstream's data lacks, and what the migration adds:
//!
//! | Ours reads | Upstream has | Migration |
//! |---|---|---|
//! | `liveIndex` on the streams table (directory, reconciler) | no such index | UpdateTable, then waits until it is ACTIVE and backfilled |
//! | `directoryIndex` on the channels table and the mirror of each live head on its owner's profile ([`crate::directory`]) | neither | UpdateTable, waits until ACTIVE, then copies every live session's state to its owner's profile and writes the completeness sentinel (event-ingest's reconciler repeats this every round), paced like the rest |
//! | `isLive = "true"` on the live head session (directory, following list) | `isOpen` only | set on each channel's newest session when its events say live **and** IVS `ListStreams` lists the channel |
//! | the `#channel` head item (one open/live session per channel) | none | the newest session by (startTime, id), claimed like event-ingest claims it |
//! | `superseded` on older sessions whose Session Ended was lost | nothing (upstream only removed `isOpen`) | set, so they are never live again |
//! | `username#<lower>` markers (case-insensitive uniqueness) | none | one per profile; names that collide case-insensitively are **reported and left alone** |
//!
//! Everything else ours reads is upstream's own shape (codec reads legacy events without ids, the
//! seeder's empty strings, missing `channelAssets`).
//!
//! **Safe beside live traffic.** Every write is conditional on what was read: a marker only where none
//! exists, a head only if no newer one was claimed, `isLive` only while the session is still open,
//! unended, unsuperseded, at the same `version` and with the same number of events (upstream rewrites
//! the whole list on every event), so an event processed meanwhile by either ingest wins. Requests are
//! paced by consumed capacity ([`Pacer`]).
//!
//! **Idempotent and resumable.** A second run finds everything in place and writes nothing but its
//! checkpoint. The checkpoint (see [`checkpoint`]) records the profile scan's position after each page;
//! a run that stopped part-way resumes there (the names pre-pass is read-only and always repeated).
//! Run one at a time: two concurrent runs stay correct (every write is conditional) but share one
//! checkpoint item and repeat each other's work.

pub mod checkpoint;
pub mod pacer;
pub mod schema;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure,
};
use aws_sdk_dynamodb::Client;
use futures_util::{StreamExt, TryStreamExt};
use time::OffsetDateTime;
use ugc_domain::format_iso_seconds;

use crate::channels::username_marker_id;
use crate::codec::{get_bool, get_n, get_s, n, s, session_attr as a, summary_from_item, Item};
use crate::directory::{DirectoryMirror, DIRECTORY_INDEX};
use crate::error::DbError;
use crate::streams::{StreamsRepo, CHANNEL_ITEM_ID, HEAD_ID, HEAD_START, LIVE_VALUE};
use crate::tables::{TableNames, LIVE_INDEX};

pub use checkpoint::Checkpoint;
use pacer::units;
pub use pacer::Pacer;
pub use schema::{
    check_migrated, live_index_status, LiveIndexStatus, MIGRATE_COMMAND, NOT_MIGRATED_HINT,
};

const MARKER_PREFIX: &str = "username#";

#[derive(Clone, Debug)]
pub struct MigrateOptions {
    /// Read everything, write nothing, report what would change.
    pub dry_run: bool,
    /// Profiles per scan page (and per checkpoint).
    pub page_size: i32,
    /// Profiles migrated concurrently within a page.
    pub concurrency: usize,
    /// Capacity units per second (reads and writes together); 0 = unpaced.
    pub max_capacity: f64,
    /// Test hook: fail with [`MigrateError::Aborted`] once this many profiles are done (a crash).
    pub abort_after: Option<u64>,
    /// How often and how long to wait for `liveIndex` to become ACTIVE.
    pub index_poll: Duration,
    pub index_timeout: Duration,
}

impl Default for MigrateOptions {
    fn default() -> Self {
        Self {
            dry_run: false,
            page_size: 100,
            concurrency: 8,
            max_capacity: 100.0,
            abort_after: None,
            index_poll: Duration::from_secs(10),
            index_timeout: Duration::from_secs(4 * 3600),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("aborted after {0} profiles (test hook)")]
    Aborted(u64),
}

/// Where the migration reports progress: a progress bar on a terminal, plain lines otherwise.
pub trait Progress: Send + Sync {
    /// A phase starts; `total` items when known.
    fn phase(&self, name: &str, total: Option<u64>);
    fn advance(&self, items: u64);
    fn note(&self, line: &str);
}

/// Progress that goes nowhere (tests, library use).
#[derive(Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn phase(&self, _: &str, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
    fn note(&self, _: &str) {}
}

/// Profiles whose usernames fold to the same lower-case name: no marker is written for any of them
/// (the operator decides who keeps the name, e.g. by renaming the others, then runs again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collision {
    pub folded: String,
    /// (sub, username), sorted.
    pub members: Vec<(String, String)>,
}

/// A profile whose name's marker belongs to another sub (whose profile no longer has that name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkerConflict {
    pub sub: String,
    pub username: String,
    pub holder: String,
}

/// What a run found and did (or, with `dry_run`, would do).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MigrationReport {
    pub dry_run: bool,
    /// `active`, `created`, `building` or `would create`.
    pub live_index: String,
    /// The channels table's `directoryIndex`: the same values.
    pub directory_index: String,
    /// Live sessions copied to their owners' profiles (the directory mirror).
    pub directory_entries: u64,
    /// The profile id the run resumed after.
    pub resumed_after: Option<String>,
    pub profiles: u64,
    pub markers_written: u64,
    pub markers_present: u64,
    pub collisions: Vec<Collision>,
    pub marker_conflicts: Vec<MarkerConflict>,
    pub channels: u64,
    pub sessions: u64,
    pub heads_claimed: u64,
    pub sessions_superseded: u64,
    pub sessions_marked_live: u64,
    pub sessions_live_present: u64,
    /// Live by their events but not broadcasting on IVS: not marked (the channel page still shows
    /// them live, as upstream does, until a Session Ended or the reconciler ends them).
    pub drifted: Vec<(String, String)>,
    /// Writes skipped because the item changed under the migration (a re-run picks them up).
    pub raced: u64,
    pub read_units: f64,
    pub write_units: f64,
    pub elapsed: Duration,
}

impl MigrationReport {
    /// Data writes made (or that a dry run would make); the checkpoint item is not counted.
    pub fn changes(&self) -> u64 {
        let created = |index: &str| u64::from(index == "created" || index == "would create");
        created(&self.live_index)
            + created(&self.directory_index)
            + self.directory_entries
            + self.markers_written
            + self.heads_claimed
            + self.sessions_superseded
            + self.sessions_marked_live
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "dryRun": self.dry_run,
            "liveIndex": self.live_index,
            "directoryIndex": self.directory_index,
            "directoryEntries": self.directory_entries,
            "resumedAfter": self.resumed_after,
            "profiles": self.profiles,
            "markersWritten": self.markers_written,
            "markersPresent": self.markers_present,
            "collisions": self.collisions.iter().map(|c| serde_json::json!({
                "name": c.folded,
                "profiles": c.members.iter().map(|(sub, name)| serde_json::json!({"sub": sub, "username": name})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "markerConflicts": self.marker_conflicts.iter().map(|c| serde_json::json!({
                "sub": c.sub, "username": c.username, "markerHeldBy": c.holder,
            })).collect::<Vec<_>>(),
            "channels": self.channels,
            "sessions": self.sessions,
            "headsClaimed": self.heads_claimed,
            "sessionsSuperseded": self.sessions_superseded,
            "sessionsMarkedLive": self.sessions_marked_live,
            "sessionsLivePresent": self.sessions_live_present,
            "drifted": self.drifted.iter().map(|(arn, id)| serde_json::json!({"channelArn": arn, "streamId": id})).collect::<Vec<_>>(),
            "raced": self.raced,
            "changes": self.changes(),
            "consumedReadUnits": self.read_units,
            "consumedWriteUnits": self.write_units,
            "elapsedSeconds": self.elapsed.as_secs_f64(),
        })
    }
}

impl std::fmt::Display for MigrationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verb = if self.dry_run { "would write" } else { "wrote" };
        writeln!(f, "liveIndex: {}", self.live_index)?;
        writeln!(
            f,
            "directoryIndex: {} ({verb} {} directory entries)",
            self.directory_index, self.directory_entries
        )?;
        if let Some(after) = &self.resumed_after {
            writeln!(f, "resumed after profile {after}")?;
        }
        writeln!(
            f,
            "profiles: {} ({verb} {} username markers, {} already present)",
            self.profiles, self.markers_written, self.markers_present
        )?;
        writeln!(
            f,
            "channels: {}, sessions: {} ({verb}: {} channel heads, {} superseded, {} isLive; {} already live)",
            self.channels,
            self.sessions,
            self.heads_claimed,
            self.sessions_superseded,
            self.sessions_marked_live,
            self.sessions_live_present
        )?;
        for c in &self.collisions {
            let members: Vec<String> = c
                .members
                .iter()
                .map(|(sub, name)| format!("{name} ({sub})"))
                .collect();
            writeln!(
                f,
                "COLLISION: {} share the name \"{}\" case-insensitively; no marker written, rename all but one and run again",
                members.join(", "),
                c.folded
            )?;
        }
        for c in &self.marker_conflicts {
            writeln!(
                f,
                "MARKER CONFLICT: {} ({}) — the marker of this name belongs to {}",
                c.username, c.sub, c.holder
            )?;
        }
        for (arn, id) in &self.drifted {
            writeln!(
                f,
                "DRIFT: {arn} session {id} is live by its events but IVS does not list the channel; not marked live"
            )?;
        }
        if self.raced > 0 {
            writeln!(
                f,
                "{} writes skipped because the item changed meanwhile; run again to finish them",
                self.raced
            )?;
        }
        write!(
            f,
            "consumed capacity: {:.1} read units, {:.1} write units; {:.1} s; {} changes",
            self.read_units,
            self.write_units,
            self.elapsed.as_secs_f64(),
            self.changes()
        )
    }
}

/// Names seen by the pre-pass.
#[derive(Default)]
struct Names {
    /// Folded name → profiles holding it.
    profiles: HashMap<String, Vec<(String, String)>>,
    /// Folded name → the sub its marker names.
    markers: HashMap<String, String>,
}

pub struct Migration {
    client: Client,
    tables: TableNames,
    /// The streams table's writes that event-ingest makes too (head claim, supersede).
    streams: StreamsRepo,
    options: MigrateOptions,
    /// Channel ARNs IVS lists as broadcasting (`ListStreams`), read just before the run.
    live_channels: HashSet<String>,
    progress: Arc<dyn Progress>,
    pacer: Arc<Pacer>,
    report: Mutex<MigrationReport>,
    done: AtomicU64,
}

fn now_iso() -> String {
    format_iso_seconds(OffsetDateTime::now_utc())
}

/// (startTime, id) of a session item, the order heads are compared in.
fn head_key(item: &Item) -> Option<(String, String)> {
    Some((
        get_s(item, a::START_TIME)?.to_owned(),
        get_s(item, a::ID)?.to_owned(),
    ))
}

/// Attempts per DynamoDB call of a migration (the SDK's default is 3).
const MIGRATION_MAX_ATTEMPTS: u32 = 10;

impl Migration {
    pub fn new(
        client: Client,
        tables: TableNames,
        options: MigrateOptions,
        live_channels: HashSet<String>,
        progress: Arc<dyn Progress>,
    ) -> Self {
        let pacer = Arc::new(Pacer::new(options.max_capacity));
        // A migration is a batch job beside live traffic: it waits out a dependency's transient
        // faults (throttling, 5xx such as `InternalFailure`) with patient retries instead of
        // failing the run; a run that still fails resumes from its checkpoint.
        let client = Client::from_conf(
            client
                .config()
                .to_builder()
                .retry_config(
                    RetryConfig::standard()
                        .with_max_attempts(MIGRATION_MAX_ATTEMPTS)
                        .with_initial_backoff(Duration::from_millis(100))
                        .with_max_backoff(Duration::from_secs(5)),
                )
                .build(),
        );
        Self {
            streams: StreamsRepo::new(client.clone(), tables.streams.clone()),
            client,
            tables,
            options,
            live_channels,
            progress,
            pacer,
            report: Mutex::new(MigrationReport::default()),
            done: AtomicU64::new(0),
        }
    }

    fn report(&self) -> std::sync::MutexGuard<'_, MigrationReport> {
        match self.report.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    pub async fn run(&self) -> Result<MigrationReport, MigrateError> {
        let started = Instant::now();
        let dry = self.options.dry_run;
        self.report().dry_run = dry;

        // 1. The indexes first, so DynamoDB backfills them while the data is migrated.
        let index = self
            .ensure_index(&self.tables.streams, LIVE_INDEX, schema::create_live_index)
            .await?;
        self.report().live_index = index.to_owned();
        let directory_index = self
            .ensure_index(
                &self.tables.channels,
                DIRECTORY_INDEX,
                schema::create_directory_index,
            )
            .await?;
        self.report().directory_index = directory_index.to_owned();

        // 2. Names (read-only, always whole).
        let names = self.scan_names().await?;
        let mut collisions: Vec<Collision> = names
            .profiles
            .iter()
            .filter(|(_, members)| {
                members
                    .iter()
                    .map(|(sub, _)| sub)
                    .collect::<HashSet<_>>()
                    .len()
                    > 1
            })
            .map(|(folded, members)| {
                let mut members = members.clone();
                members.sort();
                Collision {
                    folded: folded.clone(),
                    members,
                }
            })
            .collect();
        collisions.sort_by(|x, y| x.folded.cmp(&y.folded));
        let colliding: HashSet<String> = collisions.iter().map(|c| c.folded.clone()).collect();
        let total_profiles: u64 = names.profiles.values().map(|m| m.len() as u64).sum();
        self.report().collisions = collisions;

        // 3. Profiles, page by page, from the checkpoint.
        let previous = if dry {
            None
        } else {
            checkpoint::load(&self.client, &self.tables.channels).await?
        };
        let mut cursor = previous
            .filter(|c| c.phase != checkpoint::PHASE_COMPLETE)
            .and_then(|c| c.last_id);
        self.report().resumed_after = cursor.clone();
        if let Some(after) = &cursor {
            self.progress
                .note(&format!("resuming after profile {after} (checkpoint)"));
        }
        let run_id = format!(
            "{}-{}",
            OffsetDateTime::now_utc().unix_timestamp(),
            std::process::id()
        );
        self.progress.phase("profiles", Some(total_profiles));
        let mut pages = self
            .client
            .scan()
            .table_name(&self.tables.channels)
            .filter_expression("attribute_exists(#u)")
            .expression_attribute_names("#u", "username")
            .limit(self.options.page_size.max(1))
            .set_exclusive_start_key(
                cursor
                    .as_ref()
                    .map(|id| Item::from([("id".to_owned(), s(id))])),
            )
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let out = page.map_err(DbError::from)?;
            self.pace_read(out.consumed_capacity()).await;
            let items = out.items().to_vec();
            futures_util::stream::iter(items)
                .map(|item| self.migrate_profile(item, &names, &colliding))
                .buffer_unordered(self.options.concurrency.max(1))
                .try_collect::<Vec<()>>()
                .await?;
            cursor = out
                .last_evaluated_key()
                .and_then(|key| get_s(key, "id"))
                .map(str::to_owned);
            let Some(last) = &cursor else { break };
            if !dry {
                let point = Checkpoint {
                    run_id: run_id.clone(),
                    phase: checkpoint::PHASE_PROFILES.to_owned(),
                    last_id: Some(last.clone()),
                    completed_at: None,
                };
                checkpoint::save(
                    &self.client,
                    &self.tables.channels,
                    &point,
                    &now_iso(),
                    None,
                )
                .await?;
            }
        }

        // 4. The indexes must be usable before the run counts as done.
        if !dry {
            for (table, name, state) in [
                (&self.tables.streams, LIVE_INDEX, index),
                (&self.tables.channels, DIRECTORY_INDEX, directory_index),
            ] {
                if state != "active" {
                    self.progress
                        .note(&format!("waiting for {name} to become ACTIVE"));
                    schema::wait_index(
                        &self.client,
                        table,
                        name,
                        self.options.index_poll,
                        self.options.index_timeout,
                    )
                    .await?;
                }
            }
            // 5. The directory mirror of every live head (what the reconciler repeats), then its
            // completeness sentinel.
            self.progress.phase("directory", None);
            let live = self.streams.live_directory(usize::MAX).await?;
            let repair = DirectoryMirror::new(self.client.clone(), self.tables.channels.clone())
                .with_pacer(self.pacer.clone())
                .repair(&self.streams, &live)
                .await?;
            self.report().directory_entries = repair.written as u64;
        }
        let (read_units, write_units) = self.pacer.consumed();
        let report = {
            let mut report = self.report();
            report.read_units = read_units;
            report.write_units = write_units;
            report.elapsed = started.elapsed();
            report.marker_conflicts.sort_by(|x, y| x.sub.cmp(&y.sub));
            report.drifted.sort();
            report.clone()
        };
        if !dry {
            let done = Checkpoint {
                run_id,
                phase: checkpoint::PHASE_COMPLETE.to_owned(),
                last_id: None,
                completed_at: Some(now_iso()),
            };
            checkpoint::save(
                &self.client,
                &self.tables.channels,
                &done,
                &now_iso(),
                Some(report.to_json().to_string()),
            )
            .await?;
        }
        Ok(report)
    }

    /// Creates the GSI `name` of `table` unless it exists: `active`, `building`, `created` or (dry
    /// run) `would create`.
    async fn ensure_index<'a, F, Fut>(
        &'a self,
        table: &'a str,
        name: &str,
        create: F,
    ) -> Result<&'static str, DbError>
    where
        F: FnOnce(&'a Client, &'a str) -> Fut,
        Fut: std::future::Future<Output = Result<bool, DbError>>,
    {
        let state = match schema::index_status(&self.client, table, name).await? {
            LiveIndexStatus::Active => "active",
            LiveIndexStatus::Building => "building",
            LiveIndexStatus::Missing if self.options.dry_run => "would create",
            LiveIndexStatus::Missing => {
                if create(&self.client, table).await? {
                    "created"
                } else {
                    "building"
                }
            }
        };
        self.progress.note(&format!("{name}: {state}"));
        Ok(state)
    }

    async fn scan_names(&self) -> Result<Names, DbError> {
        let mut names = Names::default();
        self.progress.phase("names", None);
        let mut pages = self
            .client
            .scan()
            .table_name(&self.tables.channels)
            .projection_expression("#id, #u, #s")
            .expression_attribute_names("#id", "id")
            .expression_attribute_names("#u", "username")
            .expression_attribute_names("#s", "userSub")
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let out = page?;
            self.pace_read(out.consumed_capacity()).await;
            for item in out.items() {
                let Some(id) = get_s(item, "id") else {
                    continue;
                };
                if let Some(username) = get_s(item, "username") {
                    names
                        .profiles
                        .entry(username.to_ascii_lowercase())
                        .or_default()
                        .push((id.to_owned(), username.to_owned()));
                } else if let (Some(folded), Some(owner)) =
                    (id.strip_prefix(MARKER_PREFIX), get_s(item, "userSub"))
                {
                    names.markers.insert(folded.to_owned(), owner.to_owned());
                }
            }
            self.progress.advance(out.items().len() as u64);
        }
        Ok(names)
    }

    async fn migrate_profile(
        &self,
        item: Item,
        names: &Names,
        colliding: &HashSet<String>,
    ) -> Result<(), MigrateError> {
        if let (Some(sub), Some(username)) = (get_s(&item, "id"), get_s(&item, "username")) {
            self.report().profiles += 1;
            let folded = username.to_ascii_lowercase();
            if !colliding.contains(&folded) {
                self.ensure_marker(sub, username, &folded, names).await?;
            }
            let arn = get_s(&item, "channelArn").filter(|arn| !arn.is_empty());
            if let Some(arn) = arn {
                self.migrate_channel(arn).await?;
            }
        }
        self.progress.advance(1);
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        match self.options.abort_after {
            Some(limit) if done >= limit => Err(MigrateError::Aborted(done)),
            _ => Ok(()),
        }
    }

    async fn ensure_marker(
        &self,
        sub: &str,
        username: &str,
        folded: &str,
        names: &Names,
    ) -> Result<(), DbError> {
        let conflict = |holder: &str| MarkerConflict {
            sub: sub.to_owned(),
            username: username.to_owned(),
            holder: holder.to_owned(),
        };
        match names.markers.get(folded) {
            Some(owner) if owner == sub => {
                self.report().markers_present += 1;
                return Ok(());
            }
            Some(owner) => {
                self.report().marker_conflicts.push(conflict(owner));
                return Ok(());
            }
            None if self.options.dry_run => {
                self.report().markers_written += 1;
                return Ok(());
            }
            None => {}
        }
        let result = self
            .client
            .put_item()
            .table_name(&self.tables.channels)
            .item("id", s(username_marker_id(folded)))
            .item("userSub", s(sub))
            .condition_expression("attribute_not_exists(id)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match result {
            Ok(out) => {
                self.pacer
                    .consume(0.0, units(out.consumed_capacity()))
                    .await;
                self.report().markers_written += 1;
            }
            Err(err) => {
                self.pacer.consume(0.0, 1.0).await;
                let holder = match &err {
                    aws_sdk_dynamodb::error::SdkError::ServiceError(ctx) => match ctx.err() {
                        aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(e) => {
                            Some(e.item().and_then(|old| get_s(old, "userSub")).unwrap_or_default().to_owned())
                        }
                        _ => None,
                    },
                    _ => None,
                };
                // Registered (or renamed) by our service meanwhile: the marker is in place.
                match holder {
                    Some(holder) if holder == sub => self.report().markers_present += 1,
                    Some(holder) => self.report().marker_conflicts.push(conflict(&holder)),
                    None => return Err(err.into()),
                }
            }
        }
        Ok(())
    }

    /// Head, superseded and live state of one channel's sessions.
    async fn migrate_channel(&self, arn: &str) -> Result<(), DbError> {
        let mut items = Vec::new();
        let mut channel_item = None;
        let mut pages = self
            .client
            .query()
            .table_name(&self.tables.streams)
            .key_condition_expression("#c = :c")
            .projection_expression(
                "#c, #id, #st, #et, #open, #live, #sup, #ver, #ev, #lss, #lh, #err, #hs, #hid",
            )
            .expression_attribute_names("#c", a::CHANNEL_ARN)
            .expression_attribute_names("#id", a::ID)
            .expression_attribute_names("#st", a::START_TIME)
            .expression_attribute_names("#et", a::END_TIME)
            .expression_attribute_names("#open", a::IS_OPEN)
            .expression_attribute_names("#live", a::IS_LIVE)
            .expression_attribute_names("#sup", a::SUPERSEDED)
            .expression_attribute_names("#ver", a::VERSION)
            .expression_attribute_names("#ev", a::TRUNCATED_EVENTS)
            .expression_attribute_names("#lss", a::LATEST_STREAM_STATE)
            .expression_attribute_names("#lh", a::LATEST_HEALTH)
            .expression_attribute_names("#err", a::HAS_ERROR_EVENT)
            .expression_attribute_names("#hs", HEAD_START)
            .expression_attribute_names("#hid", HEAD_ID)
            .expression_attribute_values(":c", s(arn))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let out = page?;
            self.pace_read(out.consumed_capacity()).await;
            for item in out.items() {
                if get_s(item, a::ID) == Some(CHANNEL_ITEM_ID) {
                    channel_item = Some(item.clone());
                } else {
                    items.push(item.clone());
                }
            }
        }
        {
            let mut report = self.report();
            report.channels += 1;
            report.sessions += items.len() as u64;
        }
        let newest = items
            .iter()
            .filter_map(|item| head_key(item).map(|key| (key, item)))
            .max_by(|x, y| x.0.cmp(&y.0));
        let Some((newest_key, newest_item)) = newest else {
            return Ok(());
        };
        let stored_head = channel_item.as_ref().and_then(|item| {
            Some((
                get_s(item, HEAD_START)?.to_owned(),
                get_s(item, HEAD_ID)?.to_owned(),
            ))
        });
        // The newest session is the head unless event-ingest already recorded a newer one.
        let mut is_head = match &stored_head {
            Some(head) if *head > newest_key => false,
            Some(head) if *head == newest_key => true,
            _ => self.claim_head(arn, &newest_key).await?,
        };
        for item in &items {
            let Some(key) = head_key(item) else { continue };
            if is_head && key == newest_key {
                continue;
            }
            if get_s(item, a::END_TIME).is_none() && get_bool(item, a::SUPERSEDED) != Some(true) {
                self.supersede(arn, &key.1).await?;
            }
        }
        if is_head {
            is_head = get_bool(newest_item, a::SUPERSEDED) != Some(true);
        }
        if !is_head || !summary_from_item(newest_item).is_live() {
            return Ok(());
        }
        if get_s(newest_item, a::IS_LIVE) == Some(LIVE_VALUE) {
            self.report().sessions_live_present += 1;
            return Ok(());
        }
        if !self.live_channels.contains(arn) {
            self.report()
                .drifted
                .push((arn.to_owned(), newest_key.1.clone()));
            return Ok(());
        }
        self.mark_live(arn, newest_item).await
    }

    /// Records `key` as the channel's head unless a newer one is recorded; `false` when one is.
    async fn claim_head(&self, arn: &str, key: &(String, String)) -> Result<bool, DbError> {
        if self.options.dry_run {
            self.report().heads_claimed += 1;
            return Ok(true);
        }
        let result = self
            .streams
            .head_claim(arn, &key.0, &key.1)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        let claimed = self.paced_update(result).await?;
        if claimed {
            self.report().heads_claimed += 1;
        }
        Ok(claimed)
    }

    /// Marks an older, unended session as superseded (never open or live again), as event-ingest
    /// does when a newer session of the channel appears.
    async fn supersede(&self, arn: &str, id: &str) -> Result<(), DbError> {
        if self.options.dry_run {
            self.report().sessions_superseded += 1;
            return Ok(());
        }
        let result = self
            .streams
            .supersede_update(
                arn,
                id,
                "attribute_exists(#id) AND attribute_not_exists(#sup)",
            )
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        if self.paced_update(result).await? {
            self.report().sessions_superseded += 1;
        }
        Ok(())
    }

    /// `isLive = "true"` on the head session, only if nothing about it changed since it was read.
    async fn mark_live(&self, arn: &str, item: &Item) -> Result<(), DbError> {
        if self.options.dry_run {
            self.report().sessions_marked_live += 1;
            return Ok(());
        }
        let Some(id) = get_s(item, a::ID) else {
            return Ok(());
        };
        let events = match item.get(a::TRUNCATED_EVENTS) {
            Some(AttributeValue::L(list)) => list.len(),
            _ => 0,
        };
        let mut request = self
            .streams
            .update(arn, id)
            .update_expression("SET #live = :true")
            .expression_attribute_names("#live", a::IS_LIVE)
            .expression_attribute_names("#open", a::IS_OPEN)
            .expression_attribute_names("#et", a::END_TIME)
            .expression_attribute_names("#sup", a::SUPERSEDED)
            .expression_attribute_names("#ev", a::TRUNCATED_EVENTS)
            .expression_attribute_names("#ver", a::VERSION)
            .expression_attribute_values(":true", s(LIVE_VALUE))
            .expression_attribute_values(":events", n(i64::try_from(events).unwrap_or(i64::MAX)))
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        let base = "#open = :true AND attribute_not_exists(#et) AND attribute_not_exists(#sup) \
                    AND attribute_not_exists(#live) AND size(#ev) = :events";
        request = match get_n(item, a::VERSION) {
            Some(version) => request
                .condition_expression(format!("{base} AND #ver = :ver"))
                .expression_attribute_values(":ver", n(version)),
            None => request.condition_expression(format!("{base} AND attribute_not_exists(#ver)")),
        };
        if self.paced_update(request.send().await).await? {
            self.report().sessions_marked_live += 1;
        } else {
            self.report().raced += 1;
        }
        Ok(())
    }

    /// Paces a read by the capacity it consumed.
    async fn pace_read(&self, capacity: Option<&ConsumedCapacity>) {
        self.pacer.consume(units(capacity), 0.0).await;
    }

    /// Paces a conditional update by the capacity it consumed (a refused condition costs one write
    /// unit) and says whether it was applied.
    async fn paced_update(
        &self,
        result: Result<UpdateItemOutput, SdkError<UpdateItemError, HttpResponse>>,
    ) -> Result<bool, DbError> {
        pacer::paced_update(Some(&self.pacer), result).await
    }
}
