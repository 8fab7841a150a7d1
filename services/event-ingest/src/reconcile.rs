//! The drift reconciler (docs/architecture.md "Session model", Drift): IVS can lose a `Session Ended` for
//! good, which would leave a session live in the directory forever. Every `RECONCILE_INTERVAL` the
//! reconciler lists the sessions the store holds as live (`liveIndex`, one Query), then asks IVS
//! which channels really broadcast (`ListStreams`, all pages: one page per 100 live channels, far
//! inside its 5 TPS quota). A stored-live session whose channel IVS does not list is remembered
//! with the time it was first seen so; once that lasts `RECONCILE_GRACE`, the session is ended
//! (a synthetic Session Ended at that first-seen time, idempotent per session). A brief gap in
//! IVS's list, or a session whose events are still on their way, clears the mark.
//!
//! Each round also repairs the directory's mirror of live heads on the profiles
//! (`ugc_dynamo::directory`) against the same list of stored-live sessions, and so backfills it on
//! tables that predate it; the directory reads the mirror once a round has completed it.
//!
//! Marks live in memory: a restart only delays a correction by one grace period. When either
//! source fails the round is skipped; nothing is concluded from a missing answer.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Instant;

use time::OffsetDateTime;
use ugc_aws::video::VideoError;
use ugc_domain::{ChannelArn, StreamId};
use ugc_dynamo::{ApplyOutcome, DbError};

use crate::error::error_chain;
use crate::{lock, AppState};

/// The store's live sessions are all read; the directory never holds more than one per channel.
const ALL: usize = usize::MAX;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("reading the live sessions failed: {0}")]
    Store(#[source] DbError),
    #[error("listing IVS live streams failed: {0}")]
    Ivs(#[source] VideoError),
}

/// What one round found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Sessions the store holds as live.
    pub stored_live: usize,
    /// Channels IVS lists as broadcasting.
    pub ivs_live: usize,
    /// Stored-live sessions IVS does not list, still inside their grace period.
    pub suspect: Vec<(ChannelArn, StreamId)>,
    /// Sessions ended this round.
    pub ended: Vec<(ChannelArn, StreamId)>,
    /// Directory mirror entries copied again from their sessions (missing or stale ones).
    pub mirror_repairs: usize,
}

struct NotLiveSince {
    instant: Instant,
    wall: OffsetDateTime,
}

/// First time each stored-live session was seen with its channel offline on IVS.
#[derive(Default)]
pub(crate) struct Tracker {
    not_live: Mutex<HashMap<(ChannelArn, StreamId), NotLiveSince>>,
}

impl AppState {
    /// One reconciliation round (see the module docs).
    pub async fn reconcile_once(&self) -> Result<ReconcileReport, ReconcileError> {
        // Store first: a session read as live and then not listed by IVS was offline at the
        // later moment of the IVS answer.
        let stored = self
            .streams
            .live_directory(ALL)
            .await
            .map_err(ReconcileError::Store)?;
        // The directory mirror needs only the store; a failure here does not hold up the round.
        let mirror_repairs = match self.directory.repair(&self.streams, &stored).await {
            Ok(repair) => {
                ugc_web::metrics::reconciler_correction("directory_mirror", repair.written as u64);
                repair.written
            }
            Err(err) => {
                tracing::warn!(error = %error_chain(&err), "could not repair the directory mirror; next round retries");
                0
            }
        };
        let ivs_live: HashSet<ChannelArn> = self
            .video
            .list_live_channels()
            .await
            .map_err(ReconcileError::Ivs)?
            .into_iter()
            .collect();
        let grace = self.config.reconcile_grace;
        let mut report = ReconcileReport {
            stored_live: stored.len(),
            ivs_live: ivs_live.len(),
            mirror_repairs,
            ..ReconcileReport::default()
        };

        let mut due = Vec::new();
        {
            let mut marks = lock(&self.reconciler.not_live);
            let current: HashSet<(ChannelArn, StreamId)> = stored
                .iter()
                .map(|s| (s.channel_arn.clone(), s.stream_id.clone()))
                .collect();
            // Sessions no longer stored as live (ended, superseded) or back on IVS lose their mark.
            marks.retain(|key, _| current.contains(key) && !ivs_live.contains(&key.0));
            for key in current {
                if ivs_live.contains(&key.0) {
                    continue;
                }
                let since = marks.entry(key.clone()).or_insert_with(|| NotLiveSince {
                    instant: Instant::now(),
                    wall: OffsetDateTime::now_utc(),
                });
                if since.instant.elapsed() >= grace {
                    due.push((key, since.wall));
                } else {
                    report.suspect.push(key);
                }
            }
        }

        for ((channel_arn, stream_id), since) in due {
            match self
                .streams
                .end_session(&channel_arn, &stream_id, since)
                .await
            {
                Ok(outcome) => {
                    lock(&self.reconciler.not_live)
                        .remove(&(channel_arn.clone(), stream_id.clone()));
                    if outcome == ApplyOutcome::Applied {
                        tracing::warn!(
                            channel_arn = %channel_arn,
                            stream_id = %stream_id,
                            end_time = %since,
                            grace_s = grace.as_secs_f64(),
                            "session live in the store but not broadcasting on IVS; ended"
                        );
                        ugc_web::metrics::reconciler_correction("session_ended", 1);
                    }
                    report.ended.push((channel_arn, stream_id));
                }
                Err(DbError::NotFound) => {
                    lock(&self.reconciler.not_live).remove(&(channel_arn, stream_id));
                }
                Err(err) => {
                    tracing::warn!(
                        channel_arn = %channel_arn,
                        stream_id = %stream_id,
                        error = %error_chain(&err),
                        "could not end a session IVS no longer broadcasts; will retry"
                    );
                }
            }
        }
        report.suspect.sort();
        report.ended.sort();
        Ok(report)
    }
}
