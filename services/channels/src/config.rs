//! The channels service's own settings (the shared ones are [`ugc_web::CommonConfig`]), declared
//! in [`var`] and listed in `docs/configuration.md`.

use std::time::Duration;

use ugc_domain::{INGEST_ENDPOINT_PLACEHOLDER, INGEST_SERVER_URL_FORMAT};
use ugc_web::env::{env_vars, ConfigError, EnvVar, Vars};
use uuid::Uuid;

env_vars! {
    pub mod var;
    CHANNELS_TABLE_NAME: required => "DynamoDB table of channels, usernames and follows.";
    STREAM_TABLE_NAME: required => "DynamoDB table of stream sessions.";
    USER_POOL_ID: required => "Cognito user pool (sign-up, admin calls).";
    USER_POOL_CLIENT_ID: required => "Cognito app client.";
    REGION: required => "AWS region, to rebuild channel ARNs from resource ids.";
    ACCOUNT_ID: required => "AWS account id, to rebuild channel ARNs.";
    CHANNEL_ASSETS_BUCKET_NAME: required => "S3 bucket of avatars and banners (presigned POST).";
    IVS_CHANNEL_TYPE: "`STANDARD`" => "Type of new IVS channels: `BASIC`, `STANDARD`, \
        `ADVANCED_SD` or `ADVANCED_HD`.";
    IVS_ADVANCED_CHANNEL_TRANSCODE_PRESET: "unset" => "`HIGHER_BANDWIDTH_DELIVERY` or \
        `CONSTRAINED_BANDWIDTH_DELIVERY` (advanced channel types only).";
    IVS_INGEST_SERVER_URL_FORMAT: "`rtmps://{ingestEndpoint}:443/app/`" => "`ingestServerUrl` \
        given to the broadcaster: this format with `{ingestEndpoint}` replaced by the channel's \
        ingest endpoint (the local platform's plain RTMP ingest sets `rtmp://{ingestEndpoint}/app/`).";
    PROJECT_TAG: "`ugc`" => "Value of the `project` tag on IVS channels and chat rooms.";
    SIGN_UP_ALLOWED_DOMAINS: "`[]` (any)" => "JSON array of the e-mail domains allowed to \
        register (exact match).";
    NAMESPACE_UUID: "the OID namespace" => "UUIDv5 namespace of `channelAssetId`.";
    PRODUCT_LINK_REGION_CODE: "unset" => "Suffix of the product `trackingId` (`<id>-<code>`).";
    ENABLE_AMAZON_PRODUCT_STREAM_ACTION: "`false`" => "`true` mounts `/products/:keywords` \
        (Amazon Creators API search).";
    PRODUCT_API_SECRET_NAME: "required when products are on" => "Secrets Manager id of the \
        Creators API credential (JSON `credentialId`, `credentialSecret`, `version`, `partnerTag`).";
    PRODUCT_API_LOCALE: "`United States`" => "Marketplace by upstream locale name (`United States`, \
        `Japan`, ...); an unknown name logs a warning and uses United States.";
    CREATORS_API_BASE_URL: "`https://creatorsapi.amazon`" => "Creators API base URL (the local \
        platform and tests point it at the emulator).";
    CREATORS_API_TOKEN_URL: "derived from the credential's `version`" => "OAuth token endpoint \
        of the Creators API.";
    PUBLIC_CACHE_TTL: "`1s`" => "Freshness of the cached public channel page and directory \
        (`500ms`, `1s`, ...).";
}

pub const CHANNEL_TYPES: [&str; 4] = ["BASIC", "STANDARD", "ADVANCED_SD", "ADVANCED_HD"];
pub const TRANSCODE_PRESETS: [&str; 2] = [
    "HIGHER_BANDWIDTH_DELIVERY",
    "CONSTRAINED_BANDWIDTH_DELIVERY",
];
pub const DEFAULT_PUBLIC_CACHE_TTL: Duration = Duration::from_secs(1);

#[derive(Clone, Debug)]
pub struct Config {
    pub channels_table: String,
    pub streams_table: String,
    pub user_pool_id: String,
    pub user_pool_client_id: String,
    pub region: String,
    pub account_id: String,
    pub assets_bucket: String,
    pub ivs_channel_type: String,
    pub ivs_transcode_preset: Option<String>,
    /// `IVS_INGEST_SERVER_URL_FORMAT`, containing `{ingestEndpoint}`.
    pub ingest_server_url_format: String,
    pub project_tag: String,
    pub sign_up_allowed_domains: Vec<String>,
    pub asset_namespace: Option<Uuid>,
    pub product_link_region_code: Option<String>,
    /// Present when `ENABLE_AMAZON_PRODUCT_STREAM_ACTION=true`.
    pub products: Option<ProductsSettings>,
    pub public_cache_ttl: Duration,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductsSettings {
    pub secret_name: String,
    pub locale: String,
    pub api_base_url: Option<String>,
    pub token_url: Option<String>,
}

impl Config {
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let ivs_channel_type = vars
            .raw(&var::IVS_CHANNEL_TYPE)
            .unwrap_or_else(|| "STANDARD".to_owned());
        one_of(&var::IVS_CHANNEL_TYPE, &ivs_channel_type, &CHANNEL_TYPES)?;
        let ivs_transcode_preset = vars.raw(&var::IVS_ADVANCED_CHANNEL_TRANSCODE_PRESET);
        if let Some(preset) = &ivs_transcode_preset {
            one_of(
                &var::IVS_ADVANCED_CHANNEL_TRANSCODE_PRESET,
                preset,
                &TRANSCODE_PRESETS,
            )?;
        }
        let ingest_server_url_format = vars
            .raw(&var::IVS_INGEST_SERVER_URL_FORMAT)
            .unwrap_or_else(|| INGEST_SERVER_URL_FORMAT.to_owned());
        if !ingest_server_url_format.contains(INGEST_ENDPOINT_PLACEHOLDER) {
            return Err(ConfigError::invalid(
                var::IVS_INGEST_SERVER_URL_FORMAT.name,
                format!("expected a format containing {INGEST_ENDPOINT_PLACEHOLDER} ({ingest_server_url_format:?})"),
            ));
        }
        let products = if vars.bool(&var::ENABLE_AMAZON_PRODUCT_STREAM_ACTION, false)? {
            Some(ProductsSettings {
                secret_name: vars.required(&var::PRODUCT_API_SECRET_NAME)?,
                locale: vars.raw(&var::PRODUCT_API_LOCALE).unwrap_or_default(),
                api_base_url: url(vars, &var::CREATORS_API_BASE_URL)?,
                token_url: url(vars, &var::CREATORS_API_TOKEN_URL)?,
            })
        } else {
            None
        };
        let public_cache_ttl = vars.duration(&var::PUBLIC_CACHE_TTL, DEFAULT_PUBLIC_CACHE_TTL)?;
        Ok(Self {
            channels_table: vars.required(&var::CHANNELS_TABLE_NAME)?,
            streams_table: vars.required(&var::STREAM_TABLE_NAME)?,
            user_pool_id: vars.required(&var::USER_POOL_ID)?,
            user_pool_client_id: vars.required(&var::USER_POOL_CLIENT_ID)?,
            region: vars.required(&var::REGION)?,
            account_id: vars.required(&var::ACCOUNT_ID)?,
            assets_bucket: vars.required(&var::CHANNEL_ASSETS_BUCKET_NAME)?,
            ivs_channel_type,
            ivs_transcode_preset,
            ingest_server_url_format,
            project_tag: vars
                .raw(&var::PROJECT_TAG)
                .unwrap_or_else(|| "ugc".to_owned()),
            sign_up_allowed_domains: vars.json_string_array(&var::SIGN_UP_ALLOWED_DOMAINS)?,
            asset_namespace: vars.optional(&var::NAMESPACE_UUID)?,
            product_link_region_code: vars.raw(&var::PRODUCT_LINK_REGION_CODE),
            products,
            public_cache_ttl,
        })
    }

    /// True when the e-mail domain may register (an empty list allows every domain).
    pub fn sign_up_domain_allowed(&self, domain: &str) -> bool {
        self.sign_up_allowed_domains.is_empty()
            || self.sign_up_allowed_domains.iter().any(|d| d == domain)
    }
}

fn one_of(var: &EnvVar, value: &str, allowed: &[&str]) -> Result<(), ConfigError> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            var.name,
            format!("expected one of {} ({value:?})", allowed.join(", ")),
        ))
    }
}

fn url(vars: &Vars, var: &EnvVar) -> Result<Option<String>, ConfigError> {
    match vars.raw(var) {
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => Ok(Some(url)),
        Some(url) => Err(ConfigError::invalid(
            var.name,
            format!("expected an http(s) URL ({url:?})"),
        )),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("CHANNELS_TABLE_NAME", "channels"),
            ("STREAM_TABLE_NAME", "streams"),
            ("USER_POOL_ID", "us-west-2_abc"),
            ("USER_POOL_CLIENT_ID", "client"),
            ("REGION", "us-west-2"),
            ("ACCOUNT_ID", "123456789012"),
            ("CHANNEL_ASSETS_BUCKET_NAME", "assets"),
        ]
    }

    fn with(extra: &[(&'static str, &'static str)]) -> Result<Config, ConfigError> {
        let mut pairs = base();
        pairs.extend_from_slice(extra);
        Config::from_vars(&Vars::from_pairs(pairs))
    }

    #[test]
    fn defaults() {
        let config = with(&[]).unwrap();
        assert_eq!(config.ivs_channel_type, "STANDARD");
        assert_eq!(config.project_tag, "ugc");
        assert!(config.products.is_none());
        assert!(config.sign_up_domain_allowed("any.where"));
        assert_eq!(config.public_cache_ttl, DEFAULT_PUBLIC_CACHE_TTL);
        assert_eq!(
            config.ingest_server_url_format,
            "rtmps://{ingestEndpoint}:443/app/"
        );
        let local = with(&[(
            "IVS_INGEST_SERVER_URL_FORMAT",
            "rtmp://{ingestEndpoint}/app/",
        )]);
        assert_eq!(
            local.unwrap().ingest_server_url_format,
            "rtmp://{ingestEndpoint}/app/"
        );
    }

    #[test]
    fn errors_name_the_variable() {
        for (name, value) in [
            ("IVS_CHANNEL_TYPE", "HUGE"),
            ("IVS_ADVANCED_CHANNEL_TRANSCODE_PRESET", "FAST"),
            ("SIGN_UP_ALLOWED_DOMAINS", "a.com"),
            ("NAMESPACE_UUID", "not-a-uuid"),
            ("ENABLE_AMAZON_PRODUCT_STREAM_ACTION", "maybe"),
            ("PUBLIC_CACHE_TTL", "soon"),
            ("IVS_INGEST_SERVER_URL_FORMAT", "rtmp://127.0.0.1/app/"),
        ] {
            assert_eq!(with(&[(name, value)]).unwrap_err().variable(), name);
        }
        let err = with(&[("ENABLE_AMAZON_PRODUCT_STREAM_ACTION", "true")]).unwrap_err();
        assert_eq!(err.variable(), "PRODUCT_API_SECRET_NAME");
        let err = Config::from_vars(&Vars::from_pairs([("STREAM_TABLE_NAME", "s")])).unwrap_err();
        assert_eq!(err.variable(), "CHANNELS_TABLE_NAME");
    }

    #[test]
    fn allowed_domains_match_exactly() {
        let config = with(&[("SIGN_UP_ALLOWED_DOMAINS", r#"["doe.com","bar.foo"]"#)]).unwrap();
        assert!(config.sign_up_domain_allowed("doe.com"));
        assert!(!config.sign_up_domain_allowed("notdoe.com"));
        assert!(!config.sign_up_domain_allowed("DOE.COM"));
    }
}
