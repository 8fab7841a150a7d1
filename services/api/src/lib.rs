//! The combined `api` container (docs/contract.md §2.1): one process serving the channels
//! and/or the metrics routes, chosen by `SERVICE_NAME`, with one shared token [`Verifier`].
//!
//! | `SERVICE_NAME` | Routes (besides `/status`) |
//! |---|---|
//! | `all` | channels (`/channel*`, `/channels*`, `/products/*` when enabled) and metrics (`/metrics/*`) |
//! | `channels` | channels only |
//! | `metrics` | metrics only |
//! | anything else, or unset | none: only `/status` answers, everything else is 404 |
//!
//! The same code mounts the routes in the container (`api` binary) and on the local platform
//! (`ugc-local`), which differ only in the configuration they pass in.

use actix_web::web;
use ugc_web::env::{ConfigError, Vars};
use ugc_web::{AuthConfig, CommonConfig, Verifier};

/// Which route groups `SERVICE_NAME` selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteGroups {
    All,
    Channels,
    Metrics,
    /// Any other value, or none: only `/status`.
    StatusOnly,
}

impl RouteGroups {
    /// Upstream's rule: exactly `all`, `channels` or `metrics`; anything else mounts nothing.
    pub fn from_service_name(name: Option<&str>) -> Self {
        match name {
            Some("all") => Self::All,
            Some("channels") => Self::Channels,
            Some("metrics") => Self::Metrics,
            _ => Self::StatusOnly,
        }
    }

    pub fn channels(self) -> bool {
        matches!(self, Self::All | Self::Channels)
    }

    pub fn metrics(self) -> bool {
        matches!(self, Self::All | Self::Metrics)
    }
}

/// Everything the combined container reads besides [`CommonConfig`]: only the settings of the
/// mounted groups are required.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    pub groups: RouteGroups,
    pub channels: Option<ugc_channels::Config>,
    pub metrics: Option<ugc_metrics::Config>,
    /// Present when any authenticated group is mounted.
    pub auth: Option<AuthConfig>,
}

impl ApiConfig {
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let common = CommonConfig::from_vars(vars)?;
        Self::from_parts(&common, vars)
    }

    /// Reads the group settings from `vars`, with `SERVICE_NAME` and the auth settings taken from
    /// the already-parsed `common`.
    pub fn from_parts(common: &CommonConfig, vars: &Vars) -> Result<Self, ConfigError> {
        let groups = RouteGroups::from_service_name(common.service_name.as_deref());
        let channels = if groups.channels() {
            Some(ugc_channels::Config::from_vars(vars)?)
        } else {
            None
        };
        let metrics = if groups.metrics() {
            Some(ugc_metrics::Config::from_vars(vars)?)
        } else {
            None
        };
        let auth = if groups == RouteGroups::StatusOnly {
            None
        } else {
            Some(common.require_auth()?.clone())
        };
        Ok(Self {
            groups,
            channels,
            metrics,
            auth,
        })
    }
}

/// The built state of the mounted groups. Cheap to clone.
#[derive(Clone)]
pub struct Api {
    pub groups: RouteGroups,
    channels: Option<web::Data<ugc_channels::AppState>>,
    metrics: Option<web::Data<ugc_metrics::AppState>>,
    verifier: Option<web::Data<Verifier>>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("groups", &self.groups)
            .finish_non_exhaustive()
    }
}

impl Api {
    /// Builds the clients of the mounted groups from `sdk` and `dynamo`, and the verifier (which
    /// fetches the JWKS, so the issuer must answer).
    pub async fn new(
        config: ApiConfig,
        sdk: &aws_config::SdkConfig,
        dynamo: aws_sdk_dynamodb::Client,
    ) -> anyhow::Result<Self> {
        let verifier = match &config.auth {
            Some(auth) => Some(web::Data::new(Verifier::new(auth).await?)),
            None => None,
        };
        let channels = match config.channels {
            Some(c) => Some(web::Data::new(
                ugc_channels::AppState::new(c, sdk, dynamo.clone()).await?,
            )),
            None => None,
        };
        let metrics = match config.metrics {
            Some(c) => Some(web::Data::new(
                ugc_metrics::AppState::new(c, sdk, dynamo).await?,
            )),
            None => None,
        };
        tracing::info!(groups = ?config.groups, "api route groups");
        Ok(Self {
            groups: config.groups,
            channels,
            metrics,
            verifier,
        })
    }

    /// The OpenAPI document of the mounted groups (served at `/openapi.json`); none when only
    /// `/status` is mounted.
    pub fn openapi(&self) -> Option<utoipa::openapi::OpenApi> {
        openapi(self.groups)
    }

    /// Registers the verifier once and the routes of every mounted group.
    pub fn configure(&self) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
        let verifier = self.verifier.clone();
        let channels = self.channels.clone().map(ugc_channels::configure);
        let metrics = self.metrics.clone().map(ugc_metrics::configure);
        let docs = self
            .openapi()
            .map(|doc| ugc_web::ApiDocs::new(&doc).configure());
        move |cfg: &mut web::ServiceConfig| {
            if let Some(verifier) = &verifier {
                cfg.app_data(verifier.clone());
            }
            if let Some(channels) = &channels {
                channels(cfg);
            }
            if let Some(metrics) = &metrics {
                metrics(cfg);
            }
            // Last: actix tries routes in order and a dynamic one costs a regex match, so the
            // documentation's `/docs/{file}` must not be tried before every API request.
            if let Some(docs) = &docs {
                docs(cfg);
            }
        }
    }
}

/// The OpenAPI document of `groups`: the channels and/or metrics documents, merged.
pub fn openapi(groups: RouteGroups) -> Option<utoipa::openapi::OpenApi> {
    let mut doc = match groups {
        RouteGroups::All => {
            let mut doc = ugc_channels::openapi::openapi();
            doc.merge(ugc_metrics::openapi());
            doc.info.title = "UGC API (channels + metrics)".to_owned();
            doc
        }
        RouteGroups::Channels => ugc_channels::openapi::openapi(),
        RouteGroups::Metrics => ugc_metrics::openapi(),
        RouteGroups::StatusOnly => return None,
    };
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    Some(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_name_selects_groups_exactly() {
        assert_eq!(
            RouteGroups::from_service_name(Some("all")),
            RouteGroups::All
        );
        assert_eq!(
            RouteGroups::from_service_name(Some("channels")),
            RouteGroups::Channels
        );
        assert_eq!(
            RouteGroups::from_service_name(Some("metrics")),
            RouteGroups::Metrics
        );
        for other in [None, Some("ALL"), Some("api"), Some("")] {
            assert_eq!(
                RouteGroups::from_service_name(other),
                RouteGroups::StatusOnly
            );
        }
        assert!(RouteGroups::All.channels() && RouteGroups::All.metrics());
        assert!(!RouteGroups::Channels.metrics() && !RouteGroups::Metrics.channels());
    }

    #[test]
    fn only_mounted_groups_need_their_settings() {
        let config = ApiConfig::from_vars(&Vars::from_pairs([("SERVICE_NAME", "other")])).unwrap();
        assert_eq!(config.groups, RouteGroups::StatusOnly);
        assert!(config.auth.is_none() && config.channels.is_none() && config.metrics.is_none());

        let auth = [
            ("USER_POOL_ID", "us-east-1_abc"),
            ("USER_POOL_CLIENT_ID", "client"),
            ("REGION", "us-east-1"),
        ];
        let mut metrics_only = auth.to_vec();
        metrics_only.extend([
            ("SERVICE_NAME", "metrics"),
            ("STREAM_TABLE_NAME", "streams"),
            ("ACCOUNT_ID", "123456789012"),
            ("IVS_CHANNEL_TYPE", "BASIC"),
            (
                "PAGINATION_TOKEN_KEY",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            ),
        ]);
        let config = ApiConfig::from_vars(&Vars::from_pairs(metrics_only.clone())).unwrap();
        assert!(config.metrics.is_some() && config.channels.is_none() && config.auth.is_some());

        // `all` also needs the channels settings; the error names the first missing one.
        metrics_only.retain(|(k, _)| *k != "SERVICE_NAME");
        metrics_only.push(("SERVICE_NAME", "all"));
        let err = ApiConfig::from_vars(&Vars::from_pairs(metrics_only)).unwrap_err();
        assert_eq!(err.variable(), "CHANNELS_TABLE_NAME");

        let err =
            ApiConfig::from_vars(&Vars::from_pairs([("SERVICE_NAME", "channels")])).unwrap_err();
        assert_eq!(err.variable(), "CHANNELS_TABLE_NAME");
    }
}
