//! The unverified-user cleanup: paging, partial failures and unprocessed-item retries through fakes
//! of its two capabilities, and one run against DynamoDB Local.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;
use ugc_triggers::cleanup::{
    self, marker_id, Backoff, BatchGot, ChannelTable, CleanupError, Deleted, DynamoChannelTable,
    Row, UnconfirmedUser, UserPool, UsersPage, READ_BATCH, WRITE_BATCH,
};

use crate::helpers::TestDb;

const DAY: Duration = Duration::from_secs(24 * 3600);

fn fast() -> Backoff {
    Backoff {
        base: Duration::ZERO,
        cap: Duration::ZERO,
        max_retries: 4,
    }
}

fn now() -> OffsetDateTime {
    time::macros::datetime!(2024-03-01 12:00 UTC)
}

fn user(name: &str, age_hours: i64) -> UnconfirmedUser {
    UnconfirmedUser {
        username: name.to_owned(),
        sub: Some(format!("sub-{name}")),
        created: Some(now() - time::Duration::hours(age_hours)),
    }
}

#[derive(Default)]
struct FakePool {
    pages: Vec<Vec<UnconfirmedUser>>,
    fail_delete: Vec<String>,
    gone: Vec<String>,
    tokens_seen: Mutex<Vec<Option<String>>>,
    deleted: Mutex<Vec<String>>,
}

impl UserPool for FakePool {
    async fn list_unconfirmed(&self, token: Option<String>) -> Result<UsersPage, CleanupError> {
        self.tokens_seen.lock().unwrap().push(token.clone());
        let index: usize = token.map_or(0, |t| t.strip_prefix("page-").unwrap().parse().unwrap());
        Ok(UsersPage {
            users: self.pages[index].clone(),
            next_token: (index + 1 < self.pages.len()).then(|| format!("page-{}", index + 1)),
        })
    }

    async fn delete_user(&self, username: &str) -> Result<Deleted, CleanupError> {
        if self.fail_delete.iter().any(|u| u == username) {
            return Err(CleanupError::Cognito("TooManyRequestsException".into()));
        }
        if self.gone.iter().any(|u| u == username) {
            return Ok(Deleted::AlreadyGone);
        }
        self.deleted.lock().unwrap().push(username.to_owned());
        Ok(Deleted::Now)
    }
}

/// A table that leaves the last `stingy` ids of a request unprocessed, for the first
/// `stingy_reads` reads and `stingy_writes` writes, as DynamoDB does under throttling.
#[derive(Default)]
struct FakeTable {
    rows: Mutex<BTreeMap<String, Row>>,
    stingy: usize,
    stingy_reads: Mutex<usize>,
    stingy_writes: Mutex<usize>,
    write_sizes: Mutex<Vec<usize>>,
    read_sizes: Mutex<Vec<usize>>,
}

impl FakeTable {
    fn with_rows(rows: impl IntoIterator<Item = Row>) -> Self {
        Self {
            rows: Mutex::new(rows.into_iter().map(|r| (r.id.clone(), r)).collect()),
            ..Self::default()
        }
    }

    fn split<'a>(
        &self,
        ids: &'a [String],
        stingy_calls: &Mutex<usize>,
    ) -> (&'a [String], Vec<String>) {
        let mut calls = stingy_calls.lock().unwrap();
        if *calls == 0 {
            return (ids, Vec::new());
        }
        *calls -= 1;
        let keep = ids.len().saturating_sub(self.stingy);
        (&ids[..keep], ids[keep..].to_vec())
    }

    fn ids(&self) -> Vec<String> {
        self.rows.lock().unwrap().keys().cloned().collect()
    }
}

impl ChannelTable for FakeTable {
    async fn batch_get(&self, ids: &[String]) -> Result<BatchGot, CleanupError> {
        assert!(ids.len() <= READ_BATCH);
        self.read_sizes.lock().unwrap().push(ids.len());
        let (done, unprocessed) = self.split(ids, &self.stingy_reads);
        let rows = self.rows.lock().unwrap();
        Ok(BatchGot {
            rows: done.iter().filter_map(|id| rows.get(id).cloned()).collect(),
            unprocessed,
        })
    }

    async fn batch_delete(&self, ids: &[String]) -> Result<Vec<String>, CleanupError> {
        assert!(ids.len() <= WRITE_BATCH);
        self.write_sizes.lock().unwrap().push(ids.len());
        let (done, unprocessed) = self.split(ids, &self.stingy_writes);
        let mut rows = self.rows.lock().unwrap();
        for id in done {
            rows.remove(id);
        }
        Ok(unprocessed)
    }
}

fn profile(name: &str) -> Row {
    Row {
        id: format!("sub-{name}"),
        username: Some(name.to_owned()),
        user_sub: None,
    }
}

fn marker(name: &str, owner: &str) -> Row {
    Row {
        id: marker_id(name),
        username: None,
        user_sub: Some(format!("sub-{owner}")),
    }
}

#[tokio::test]
async fn every_page_is_read_and_only_expired_users_go() {
    let pool = FakePool {
        pages: vec![
            vec![user("old_one", 25), user("fresh_one", 1)],
            vec![],
            vec![user("Old_Two", 24), user("fresh_two", 23)],
        ],
        ..FakePool::default()
    };
    let table = FakeTable::with_rows([
        profile("old_one"),
        marker("old_one", "old_one"),
        profile("fresh_one"),
        marker("fresh_one", "fresh_one"),
        profile("Old_Two"),
        marker("Old_Two", "Old_Two"),
        profile("fresh_two"),
    ]);
    let report = cleanup::run(&pool, &table, now(), DAY, fast())
        .await
        .unwrap();
    assert_eq!(
        *pool.tokens_seen.lock().unwrap(),
        [None, Some("page-1".to_owned()), Some("page-2".to_owned())]
    );
    let mut deleted = pool.deleted.lock().unwrap().clone();
    deleted.sort();
    assert_eq!(deleted, ["Old_Two", "old_one"]);
    assert_eq!(report.unconfirmed, 4);
    assert_eq!(report.expired, 2);
    assert_eq!(report.users_deleted, 2);
    assert_eq!(report.records_deleted, 4);
    assert!(report.failed_users.is_empty());
    assert_eq!(
        table.ids(),
        ["sub-fresh_one", "sub-fresh_two", "username#fresh_one"]
    );
}

#[tokio::test]
async fn markers_owned_by_someone_else_and_failed_users_stay() {
    let pool = FakePool {
        pages: vec![vec![
            user("alice", 48),
            user("bobby", 48),
            user("carol", 48),
            user("dave_", 48),
        ]],
        fail_delete: vec!["bobby".to_owned()],
        gone: vec!["carol".to_owned()],
        ..FakePool::default()
    };
    let table = FakeTable::with_rows([
        profile("alice"),
        // An old row: the name's marker belongs to another user.
        marker("alice", "someone"),
        profile("bobby"),
        marker("bobby", "bobby"),
        profile("carol"),
        marker("carol", "carol"),
        // dave_ never got a profile (registration failed after Cognito sign-up).
    ]);
    let report = cleanup::run(&pool, &table, now(), DAY, fast())
        .await
        .unwrap();
    assert_eq!(report.users_deleted, 3, "deleted now or already gone");
    assert_eq!(report.failed_users, ["bobby"]);
    assert_eq!(report.records_deleted, 3);
    assert_eq!(
        table.ids(),
        ["sub-bobby", "username#alice", "username#bobby"]
    );
}

#[tokio::test]
async fn unprocessed_items_are_retried_in_batches_of_25() {
    let names: Vec<String> = (0..40).map(|i| format!("user{i:02}")).collect();
    let pool = FakePool {
        pages: vec![names.iter().map(|n| user(n, 30)).collect()],
        ..FakePool::default()
    };
    let mut table = FakeTable::with_rows(
        names
            .iter()
            .flat_map(|n| [profile(n), marker(n, n)])
            .chain([profile("keeper")]),
    );
    table.stingy = 7;
    table.stingy_reads = Mutex::new(3);
    table.stingy_writes = Mutex::new(3);
    let report = cleanup::run(&pool, &table, now(), DAY, fast())
        .await
        .unwrap();
    assert_eq!(report.records_deleted, 80);
    assert_eq!(table.ids(), ["sub-keeper"]);
    let writes = table.write_sizes.lock().unwrap().clone();
    assert!(writes.iter().all(|n| *n <= WRITE_BATCH), "{writes:?}");
    assert!(
        writes.len() > 80 / WRITE_BATCH + 1,
        "retries happened: {writes:?}"
    );
}

#[tokio::test]
async fn items_still_unprocessed_after_the_retries_fail_the_run() {
    let pool = FakePool {
        pages: vec![vec![user("alice", 30), user("bobby", 30)]],
        ..FakePool::default()
    };
    let mut table = FakeTable::with_rows([profile("alice"), profile("bobby")]);
    table.stingy = 1;
    table.stingy_writes = Mutex::new(usize::MAX);
    let err = cleanup::run(&pool, &table, now(), DAY, fast())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CleanupError::Unprocessed {
                remaining: 1,
                attempts: 5
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn dynamodb_batches_delete_profiles_and_owned_markers() {
    let db = TestDb::new().await;
    let put = |item: HashMap<String, AttributeValue>| {
        db.client
            .put_item()
            .table_name(&db.names.channels)
            .set_item(Some(item))
            .send()
    };
    let s = |v: &str| AttributeValue::S(v.to_owned());
    // 30 expired users with profile + marker (more than one write batch), one marker owned by
    // someone else, one user who stays.
    let names: Vec<String> = (0..30).map(|i| format!("User{i:02}")).collect();
    for name in names.iter().chain([&"Keeper".to_owned()]) {
        put(HashMap::from([
            ("id".to_owned(), s(&format!("sub-{name}"))),
            ("username".to_owned(), s(name)),
        ]))
        .await
        .unwrap();
        let owner = if name == "User07" {
            "sub-other".to_owned()
        } else {
            format!("sub-{name}")
        };
        put(HashMap::from([
            ("id".to_owned(), s(&marker_id(name))),
            ("userSub".to_owned(), s(&owner)),
        ]))
        .await
        .unwrap();
    }
    let pool = FakePool {
        pages: vec![names.iter().map(|n| user(n, 30)).collect()],
        ..FakePool::default()
    };
    let table = DynamoChannelTable::new(db.client.clone(), &db.names.channels);
    let report = cleanup::run(&pool, &table, now(), DAY, Backoff::default())
        .await
        .unwrap();
    assert_eq!(report.records_deleted, 59);

    let scan = db
        .client
        .scan()
        .table_name(&db.names.channels)
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let mut left: Vec<String> = scan
        .items()
        .iter()
        .map(|item| item["id"].as_s().unwrap().clone())
        .collect();
    left.sort();
    // The directory's completeness sentinel (written with the tables) is no user's row: kept.
    assert_eq!(
        left,
        [
            "directory#ugc",
            "sub-Keeper",
            "username#keeper",
            "username#user07"
        ]
    );
    db.cleanup().await;
}
