//! State persistence: each service keeps its state in one serde value, saved atomically to
//! `<data_dir>/<name>.json` after every change (write to a temporary file, then rename), so a
//! crash never leaves a half-written file. The emulator's state is small, so a whole-file write
//! per change is cheap and keeps the code simple.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::de::DeserializeOwned;
use serde::Serialize;

pub struct Store<T> {
    path: Option<PathBuf>,
    state: Mutex<T>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot parse {path}: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
}

impl<T: Serialize + DeserializeOwned + Default> Store<T> {
    /// Opens `<dir>/<name>.json`, or starts empty when the file does not exist yet.
    /// `dir = None` keeps the state in memory only.
    pub fn open(dir: Option<&Path>, name: &str) -> Result<Self, StoreError> {
        let path = dir.map(|d| d.join(format!("{name}.json")));
        let state = match &path {
            Some(p) if p.exists() => {
                let text = std::fs::read_to_string(p).map_err(|source| StoreError::Read {
                    path: p.clone(),
                    source,
                })?;
                serde_json::from_str(&text).map_err(|source| StoreError::Parse {
                    path: p.clone(),
                    source,
                })?
            }
            _ => T::default(),
        };
        Ok(Self {
            path,
            state: Mutex::new(state),
        })
    }

    /// Reads the state. Never hold the result across an `.await`.
    pub fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.lock())
    }

    /// Changes the state and persists it. The closure's result is returned whether or not saving
    /// succeeded; a failed save is logged (the in-memory state stays authoritative).
    pub fn write<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let mut guard = self.lock();
        let result = f(&mut guard);
        if let Some(path) = &self.path {
            if let Err(e) = save(path, &*guard) {
                tracing::error!(path = %path.display(), error = %e, "cannot persist emulator state");
            }
        }
        result
    }

    fn lock(&self) -> MutexGuard<'_, T> {
        // A panic while holding the lock leaves consistent-enough JSON state; keep serving.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn save<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(
        &tmp,
        serde_json::to_vec(value).map_err(std::io::Error::other)?,
    )?;
    std::fs::rename(tmp, path)
}
