//! What the local platform is started with. Every field has a default suited to `make run`;
//! [`LocalConfig::from_env`] reads the overrides declared in [`var`] (listed in
//! `docs/configuration.md`), and tests fill the struct directly (ports 0, data in memory, a
//! unique table prefix).
//!
//! The services' own settings that are not wiring (`RATE_LIMIT_*`, `PUBLIC_CACHE_TTL`,
//! `RECONCILE_INTERVAL`, `LOG_FORMAT`, ...: every variable the services declare and
//! [`WIRED_VARIABLES`] does not name) pass through from the environment unchanged.

use std::path::PathBuf;

use ugc_web::env::{env_vars, ConfigError, EnvVar, Vars};

env_vars! {
    pub mod var;
    UGC_API_PORT: "`8080`" => "Port of channels + metrics (the combined `api` layout).";
    UGC_INGEST_PORT: "`8090`" => "Port of event-ingest.";
    UGC_EMULATOR_PORT: "`4566`" => "Port of the AWS emulator (Cognito, IVS, chat WebSocket, S3, \
        ...).";
    UGC_RTMP_PORT: "`1935`" => "RTMP ingest of the emulator (OBS/ffmpeg publish \
        `rtmp://127.0.0.1:<port>/app/<streamKey>`).";
    UGC_DYNAMODB_ENDPOINT: "`http://127.0.0.1:8000`" => "DynamoDB Local (started by \
        `scripts/run.sh`).";
    UGC_DATA_DIR: "`.local`" => "Where the emulator keeps its state (`<dir>/emulator`) and \
        `platform.json` / `spa.env` are written.";
    UGC_TABLE_PREFIX: "`ugc-local-`" => "Table names are `<prefix>Channels`, `<prefix>Streams`.";
    UGC_USER_POOL_NAME: "`ugc-local`" => "The Cognito pool, found by name on restart.";
    UGC_ASSETS_BUCKET: "`ugc-local-channel-assets`" => "The channel-assets bucket.";
    UGC_REGION: "`us-east-1`" => "The region the emulator plays.";
    UGC_ACCOUNT_ID: "`123456789012`" => "The account the emulator plays.";
    IVS_CHANNEL_TYPE: "`BASIC`" => "Channel type of new channels (as the dev stage).";
    ENABLE_USER_AUTO_VERIFY: "`false`" => "`true`: sign-ups are confirmed without the e-mailed \
        code.";
    ENABLE_AMAZON_PRODUCT_STREAM_ACTION: "`true`" => "Product search against the emulator's \
        Creators API.";
    SIGN_UP_ALLOWED_DOMAINS: "`[]` (any)" => "JSON array of the e-mail domains allowed to \
        register.";
    ALLOWED_ORIGINS: "`[\"*\"]`" => "CORS origins of the API (JSON array).";
    CLIENT_BASE_URL: "`http://localhost:3000`" => "The SPA's origin, for the links in the \
        e-mails.";
}

pub const DEFAULT_API_PORT: u16 = 8080;
pub const DEFAULT_INGEST_PORT: u16 = 8090;
pub const DEFAULT_EMULATOR_PORT: u16 = 4566;
pub const DEFAULT_RTMP_PORT: u16 = 1935;
pub const DEFAULT_DYNAMODB_ENDPOINT: &str = "http://127.0.0.1:8000";

/// Variables the platform computes itself; a value in the environment is ignored for these.
pub const WIRED_VARIABLES: &[&str] = &[
    "PORT",
    "SERVICE_NAME",
    "USER_POOL_ID",
    "USER_POOL_CLIENT_ID",
    "REGION",
    "ACCOUNT_ID",
    "COGNITO_ISSUER",
    "COGNITO_JWKS_URL",
    "CHANNELS_TABLE_NAME",
    "STREAM_TABLE_NAME",
    "CHANNEL_ASSETS_BUCKET_NAME",
    "IVS_CHANNEL_TYPE",
    "IVS_INGEST_SERVER_URL_FORMAT",
    "PAGINATION_TOKEN_KEY",
    "PAGINATION_TOKEN_KEY_ARN",
    "INGEST_SECRET",
    "INGEST_SECRET_ARN",
    "INGEST_SECRET_HEADER",
    "ENABLE_AMAZON_PRODUCT_STREAM_ACTION",
    "PRODUCT_API_SECRET_NAME",
    "CREATORS_API_BASE_URL",
    "CREATORS_API_TOKEN_URL",
    "ALLOWED_ORIGINS",
    "SIGN_UP_ALLOWED_DOMAINS",
    "TRUSTED_PROXY_HOPS",
];

#[derive(Clone, Debug)]
pub struct LocalConfig {
    /// `0` picks a free port (tests).
    pub api_port: u16,
    pub ingest_port: u16,
    pub emulator_port: u16,
    /// The emulator's RTMP ingest; channels' `ingestEndpoint` and `playbackUrl` point at the
    /// emulator's own RTMP listener and HLS origin.
    pub rtmp_port: u16,
    pub dynamodb_endpoint: String,
    /// The emulator's state directory; `None` keeps it in memory (tests).
    pub emulator_data_dir: Option<PathBuf>,
    pub table_prefix: String,
    pub user_pool_name: String,
    pub assets_bucket: String,
    pub region: String,
    pub account_id: String,
    /// Credentials the emulator checks SigV4 signatures against, and the services sign with.
    pub access_key_id: String,
    pub secret_access_key: String,
    pub channel_type: String,
    pub auto_verify: bool,
    pub products: bool,
    pub sign_up_allowed_domains: Vec<String>,
    /// JSON array, as `ALLOWED_ORIGINS`.
    pub allowed_origins: String,
    pub client_base_url: String,
    /// `REACT_APP_STAGE` of the printed SPA settings.
    pub stage: String,
    /// Extra service variables (`RATE_LIMIT_*`, `RECONCILE_INTERVAL`, ...); the wired ones win.
    pub passthrough: Vec<(String, String)>,
}

impl Default for LocalConfig {
    fn default() -> Self {
        Self {
            api_port: DEFAULT_API_PORT,
            ingest_port: DEFAULT_INGEST_PORT,
            emulator_port: DEFAULT_EMULATOR_PORT,
            rtmp_port: DEFAULT_RTMP_PORT,
            dynamodb_endpoint: DEFAULT_DYNAMODB_ENDPOINT.to_owned(),
            emulator_data_dir: Some(PathBuf::from(".local/emulator")),
            table_prefix: "ugc-local-".to_owned(),
            user_pool_name: "ugc-local".to_owned(),
            assets_bucket: "ugc-local-channel-assets".to_owned(),
            region: "us-east-1".to_owned(),
            account_id: "123456789012".to_owned(),
            access_key_id: "test".to_owned(),
            secret_access_key: "test".to_owned(),
            channel_type: "BASIC".to_owned(),
            auto_verify: false,
            products: true,
            sign_up_allowed_domains: Vec::new(),
            allowed_origins: r#"["*"]"#.to_owned(),
            client_base_url: "http://localhost:3000".to_owned(),
            stage: "dev".to_owned(),
            passthrough: Vec::new(),
        }
    }
}

impl LocalConfig {
    /// Defaults for an in-process test: ports 0, state in memory, a unique table prefix and pool
    /// name, so tests sharing one DynamoDB Local never see each other's data.
    pub fn for_tests(dynamodb_endpoint: impl Into<String>) -> Self {
        let unique = uuid::Uuid::new_v4().simple().to_string();
        Self {
            api_port: 0,
            ingest_port: 0,
            emulator_port: 0,
            rtmp_port: 0,
            dynamodb_endpoint: dynamodb_endpoint.into(),
            emulator_data_dir: None,
            table_prefix: format!("t{unique}-"),
            user_pool_name: format!("ugc-test-{unique}"),
            passthrough: vec![("LOG_FORMAT".to_owned(), "text".to_owned())],
            ..Self::default()
        }
    }

    /// The process environment over the defaults (see the module table).
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut passthrough: Vec<(String, String)> = std::env::vars()
            .filter(|(name, _)| is_passthrough(name))
            .collect();
        passthrough.sort();
        let mut config = Self::from_vars(&Vars::process())?;
        config.passthrough = passthrough;
        Ok(config)
    }

    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let d = Self::default();
        let data_dir: PathBuf = vars.or_default(&var::UGC_DATA_DIR, PathBuf::from(".local"))?;
        let dynamodb_endpoint = vars
            .raw(&var::UGC_DYNAMODB_ENDPOINT)
            .unwrap_or(d.dynamodb_endpoint);
        if !dynamodb_endpoint.starts_with("http://") && !dynamodb_endpoint.starts_with("https://") {
            return Err(ConfigError::invalid(
                var::UGC_DYNAMODB_ENDPOINT.name,
                format!("expected an http(s) URL ({dynamodb_endpoint:?})"),
            ));
        }
        let channel_type = vars.raw(&var::IVS_CHANNEL_TYPE).unwrap_or(d.channel_type);
        let allowed_origins = match vars.raw(&var::ALLOWED_ORIGINS) {
            Some(raw) => {
                vars.json_string_array(&var::ALLOWED_ORIGINS)?;
                raw
            }
            None => d.allowed_origins,
        };
        Ok(Self {
            api_port: vars.or_default(&var::UGC_API_PORT, d.api_port)?,
            ingest_port: vars.or_default(&var::UGC_INGEST_PORT, d.ingest_port)?,
            emulator_port: vars.or_default(&var::UGC_EMULATOR_PORT, d.emulator_port)?,
            rtmp_port: vars.or_default(&var::UGC_RTMP_PORT, d.rtmp_port)?,
            dynamodb_endpoint,
            emulator_data_dir: Some(data_dir.join("emulator")),
            table_prefix: vars.raw(&var::UGC_TABLE_PREFIX).unwrap_or(d.table_prefix),
            user_pool_name: vars
                .raw(&var::UGC_USER_POOL_NAME)
                .unwrap_or(d.user_pool_name),
            assets_bucket: vars.raw(&var::UGC_ASSETS_BUCKET).unwrap_or(d.assets_bucket),
            region: vars.raw(&var::UGC_REGION).unwrap_or(d.region),
            account_id: vars.raw(&var::UGC_ACCOUNT_ID).unwrap_or(d.account_id),
            access_key_id: d.access_key_id,
            secret_access_key: d.secret_access_key,
            channel_type,
            auto_verify: vars.bool(&var::ENABLE_USER_AUTO_VERIFY, d.auto_verify)?,
            products: vars.bool(&var::ENABLE_AMAZON_PRODUCT_STREAM_ACTION, d.products)?,
            sign_up_allowed_domains: vars.json_string_array(&var::SIGN_UP_ALLOWED_DOMAINS)?,
            allowed_origins,
            client_base_url: vars
                .raw(&var::CLIENT_BASE_URL)
                .map(|u| u.trim_end_matches('/').to_owned())
                .unwrap_or(d.client_base_url),
            stage: d.stage,
            passthrough: Vec::new(),
        })
    }
}

/// The variables the services declare: [`ugc_web::config::var`], [`ugc_web::rate_limit::var`],
/// and those of channels, metrics and event-ingest.
pub fn service_variables() -> impl Iterator<Item = &'static EnvVar> {
    [
        ugc_web::config::var::ALL,
        ugc_web::rate_limit::var::ALL,
        ugc_channels::config::var::ALL,
        ugc_metrics::config::var::ALL,
        ugc_event_ingest::config::var::ALL,
    ]
    .into_iter()
    .flatten()
}

/// Service settings that are not wiring and may come from the environment.
fn is_passthrough(name: &str) -> bool {
    !WIRED_VARIABLES.contains(&name) && service_variables().any(|var| var.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let config = LocalConfig::from_vars(&Vars::from_pairs::<&str, &str>([])).unwrap();
        assert_eq!(config.api_port, 8080);
        assert_eq!(config.ingest_port, 8090);
        assert_eq!(config.emulator_port, 4566);
        assert_eq!(
            config.emulator_data_dir,
            Some(PathBuf::from(".local/emulator"))
        );
        assert!(config.products && !config.auto_verify);

        let config = LocalConfig::from_vars(&Vars::from_pairs([
            ("UGC_API_PORT", "9000"),
            ("UGC_DATA_DIR", "/tmp/x"),
            ("CLIENT_BASE_URL", "http://localhost:5173/"),
            ("ENABLE_AMAZON_PRODUCT_STREAM_ACTION", "false"),
        ]))
        .unwrap();
        assert_eq!(config.api_port, 9000);
        assert_eq!(
            config.emulator_data_dir,
            Some(PathBuf::from("/tmp/x/emulator"))
        );
        assert_eq!(config.client_base_url, "http://localhost:5173");
        assert!(!config.products);
    }

    #[test]
    fn errors_name_the_variable() {
        for (name, value) in [
            ("UGC_API_PORT", "http"),
            ("UGC_DYNAMODB_ENDPOINT", "127.0.0.1:8000"),
            ("ALLOWED_ORIGINS", "*"),
            ("ENABLE_USER_AUTO_VERIFY", "yes please"),
        ] {
            let err = LocalConfig::from_vars(&Vars::from_pairs([(name, value)])).unwrap_err();
            assert_eq!(err.variable(), name, "{err}");
        }
    }

    #[test]
    fn wiring_never_passes_through() {
        assert!(is_passthrough("RATE_LIMIT_CHAT_TOKEN"));
        assert!(is_passthrough("RECONCILE_INTERVAL"));
        assert!(!is_passthrough("USER_POOL_ID"));
        assert!(!is_passthrough("PORT"));
        assert!(!is_passthrough("HOME"));
    }
}
