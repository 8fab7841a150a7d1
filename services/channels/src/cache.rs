//! The in-process cache of the public hot paths (docs/architecture.md "Caching and freshness").
//!
//! Every viewer of a channel polls `GET /channels/:u` every 5 s and the directory is the landing
//! page, so their public parts (profile, live status, playback URL, ingest configuration) are
//! served from here: a value is reused for a short TTL (about a second), and concurrent misses for
//! one key share a single load (request coalescing), so the DynamoDB reads for one channel stay
//! flat whatever the request rate. Errors are shared by the requests already waiting for that load
//! but never stored: the next request loads again. Viewer-specific data (ban lists, follows) never
//! goes through this cache.
//!
//! The cache is bounded: when it is full, expired entries go first, then the ones closest to
//! expiry. Loads in flight are never evicted (their number is bounded by the concurrency).

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use futures_util::future::{BoxFuture, FutureExt, Shared};
use tokio::time::Instant;

type SharedLoad<V, E> = Shared<BoxFuture<'static, Result<V, E>>>;

enum Slot<V, E> {
    /// A load in flight; `generation` tells a waiter whether the slot is still the one it waited on.
    Loading {
        generation: u64,
        load: SharedLoad<V, E>,
    },
    Ready {
        value: V,
        expires: Instant,
    },
}

enum Lookup<V, E> {
    Hit(V),
    Wait(u64, SharedLoad<V, E>),
}

/// A TTL cache with single-flight loads. `V` and `E` are cloned to every caller, so keep them cheap
/// to clone (`Arc`s).
pub struct CoalescingCache<K, V, E> {
    ttl: Duration,
    capacity: usize,
    slots: Mutex<HashMap<K, Slot<V, E>>>,
    generation: AtomicU64,
    loads: AtomicU64,
    /// The `cache` attribute of `ugc.cache.lookups`.
    name: &'static str,
}

impl<K, V, E> CoalescingCache<K, V, E>
where
    K: Eq + Hash + Clone,
    V: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    /// `ttl` is how long a loaded value is reused (zero still coalesces concurrent misses);
    /// `capacity` bounds the number of keys kept (at least one).
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity: capacity.max(1),
            slots: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            loads: AtomicU64::new(0),
            name: "cache",
        }
    }

    /// Names the cache in the metrics (`ugc.cache.lookups{cache=...}`).
    pub fn named(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// The value for `key`: a fresh cached one, the result of the load already in flight, or the
    /// result of `load`, which then runs once for every concurrent caller.
    pub async fn get_or_load<F, Fut>(&self, key: &K, load: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
    {
        let (generation, shared) = match self.lookup(key, load) {
            Lookup::Hit(value) => return Ok(value),
            Lookup::Wait(generation, shared) => (generation, shared),
        };
        let result = shared.await;
        self.settle(key, generation, &result);
        result
    }

    /// How many loads this cache has started (what the hot-path tests and the bench count).
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }

    /// Keys currently held (loaded or loading).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Slot<V, E>>> {
        // The map is left consistent between statements, so a panic elsewhere cannot corrupt it.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lookup<F, Fut>(&self, key: &K, load: F) -> Lookup<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
    {
        let now = Instant::now();
        let mut slots = self.lock();
        match slots.get(key) {
            // A hit is a lookup that starts no load (a fresh value, or a load already in flight).
            Some(Slot::Ready { value, expires }) if *expires > now => {
                ugc_web::metrics::cache_lookup(self.name, true);
                return Lookup::Hit(value.clone());
            }
            Some(Slot::Loading { generation, load }) => {
                ugc_web::metrics::cache_lookup(self.name, true);
                return Lookup::Wait(*generation, load.clone());
            }
            Some(Slot::Ready { .. }) => {}
            None => {
                if slots.len() >= self.capacity {
                    self.evict(&mut slots, now);
                }
            }
        }
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        self.loads.fetch_add(1, Ordering::Relaxed);
        ugc_web::metrics::cache_lookup(self.name, false);
        let shared = load().boxed().shared();
        slots.insert(
            key.clone(),
            Slot::Loading {
                generation,
                load: shared.clone(),
            },
        );
        Lookup::Wait(generation, shared)
    }

    /// Replaces the finished load with its value, or forgets it after an error. Every waiter calls
    /// this; only the first one still finds its own load in the slot.
    fn settle(&self, key: &K, generation: u64, result: &Result<V, E>) {
        let mut slots = self.lock();
        let ours = matches!(
            slots.get(key),
            Some(Slot::Loading { generation: g, .. }) if *g == generation
        );
        if !ours {
            return;
        }
        match result {
            Ok(value) => {
                slots.insert(
                    key.clone(),
                    Slot::Ready {
                        value: value.clone(),
                        expires: Instant::now() + self.ttl,
                    },
                );
            }
            Err(_) => {
                slots.remove(key);
            }
        }
    }

    /// Makes room for one more key: drops expired values, then (if still full) the tenth of the
    /// values closest to expiry.
    fn evict(&self, slots: &mut HashMap<K, Slot<V, E>>, now: Instant) {
        slots.retain(|_, slot| match slot {
            Slot::Ready { expires, .. } => *expires > now,
            Slot::Loading { .. } => true,
        });
        if slots.len() < self.capacity {
            return;
        }
        let mut expiries: Vec<Instant> = slots
            .values()
            .filter_map(|slot| match slot {
                Slot::Ready { expires, .. } => Some(*expires),
                Slot::Loading { .. } => None,
            })
            .collect();
        let cut = expiries.len() / 10;
        if let Some((_, nth, _)) = (cut < expiries.len()).then(|| expiries.select_nth_unstable(cut))
        {
            let cutoff = *nth;
            slots.retain(|_, slot| match slot {
                Slot::Ready { expires, .. } => *expires > cutoff,
                Slot::Loading { .. } => true,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    use super::*;

    type Cache = CoalescingCache<String, Arc<String>, String>;

    fn key(s: &str) -> String {
        s.to_owned()
    }

    /// A loader that counts its runs and takes `delay` to answer `value`.
    fn loader(
        runs: &Arc<AtomicUsize>,
        delay: Duration,
        value: Result<&str, &str>,
    ) -> impl FnOnce() -> BoxFuture<'static, Result<Arc<String>, String>> {
        let runs = Arc::clone(runs);
        let value = value.map(str::to_owned).map_err(str::to_owned);
        move || {
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                value.map(Arc::new)
            }
            .boxed()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_misses_share_one_load() {
        let cache = Arc::new(Cache::new(Duration::from_secs(1), 16));
        let runs = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let cache = Arc::clone(&cache);
            let load = loader(&runs, Duration::from_millis(50), Ok("page"));
            tasks.push(tokio::spawn(async move {
                cache.get_or_load(&key("alice"), load).await
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap().as_str(), "page");
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(cache.loads(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn values_expire_after_the_ttl() {
        let cache = Cache::new(Duration::from_secs(1), 16);
        let runs = Arc::new(AtomicUsize::new(0));
        let first = cache
            .get_or_load(&key("a"), loader(&runs, Duration::ZERO, Ok("v1")))
            .await;
        tokio::time::advance(Duration::from_millis(900)).await;
        let cached = cache
            .get_or_load(&key("a"), loader(&runs, Duration::ZERO, Ok("v2")))
            .await;
        assert_eq!(first.unwrap().as_str(), "v1");
        assert_eq!(cached.unwrap().as_str(), "v1", "reused within the TTL");
        assert_eq!(runs.load(Ordering::SeqCst), 1);

        tokio::time::advance(Duration::from_millis(200)).await;
        let reloaded = cache
            .get_or_load(&key("a"), loader(&runs, Duration::ZERO, Ok("v2")))
            .await;
        assert_eq!(reloaded.unwrap().as_str(), "v2", "reloaded after the TTL");
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn errors_reach_the_waiters_but_are_not_cached() {
        let cache = Arc::new(Cache::new(Duration::from_secs(1), 16));
        let runs = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let cache = Arc::clone(&cache);
            let load = loader(&runs, Duration::from_millis(50), Err("down"));
            tasks.push(tokio::spawn(async move {
                cache.get_or_load(&key("a"), load).await
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap_err(), "down");
        }
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "waiters share the failed load"
        );
        assert!(cache.is_empty(), "the error is not kept");

        let recovered = cache
            .get_or_load(&key("a"), loader(&runs, Duration::ZERO, Ok("up")))
            .await;
        assert_eq!(recovered.unwrap().as_str(), "up");
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn keys_load_independently() {
        let cache = Cache::new(Duration::from_secs(1), 16);
        let runs = Arc::new(AtomicUsize::new(0));
        let a = cache
            .get_or_load(&key("a"), loader(&runs, Duration::ZERO, Ok("A")))
            .await;
        let b = cache
            .get_or_load(&key("b"), loader(&runs, Duration::ZERO, Ok("B")))
            .await;
        assert_eq!((a.unwrap().as_str(), b.unwrap().as_str()), ("A", "B"));
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_caller_does_not_lose_the_load() {
        let cache = Arc::new(Cache::new(Duration::from_secs(1), 16));
        let runs = Arc::new(AtomicUsize::new(0));
        let first = {
            let cache = Arc::clone(&cache);
            let load = loader(&runs, Duration::from_millis(100), Ok("page"));
            tokio::spawn(async move { cache.get_or_load(&key("a"), load).await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        first.abort();
        let second = cache
            .get_or_load(&key("a"), loader(&runs, Duration::ZERO, Ok("other")))
            .await;
        assert_eq!(
            second.unwrap().as_str(),
            "page",
            "joined the load in flight"
        );
        assert_eq!(cache.loads(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_size_stays_bounded() {
        let cache = Cache::new(Duration::from_secs(60), 10);
        let runs = Arc::new(AtomicUsize::new(0));
        for i in 0..100 {
            let name = format!("user{i}");
            cache
                .get_or_load(&name, loader(&runs, Duration::ZERO, Ok("v")))
                .await
                .unwrap();
            tokio::time::advance(Duration::from_millis(10)).await;
            assert!(cache.len() <= 10, "{} keys after {i}", cache.len());
        }
        // The newest value survived the evictions; the oldest did not.
        cache
            .get_or_load(&key("user99"), loader(&runs, Duration::ZERO, Ok("v")))
            .await
            .unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 100);
        cache
            .get_or_load(&key("user0"), loader(&runs, Duration::ZERO, Ok("v")))
            .await
            .unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 101);
    }
}
