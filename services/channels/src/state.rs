//! Everything the handlers share: the configuration, the repositories and the AWS clients, built once
//! per process (SDK clients keep their connection pools).

use anyhow::Context;
use ugc_aws::{
    AssetsClient, ChatClient, CredentialsSource, IdentityClient, Marketplace, ProductsClient,
    ProductsConfig, SecretsClient, VideoClient,
};
use ugc_dynamo::{ChannelsRepo, DirectoryMirror, PageReads, ProfileReads, StreamsRepo};

use crate::config::Config;
use crate::routes::public::PublicCache;

pub struct AppState {
    pub config: Config,
    pub channels: ChannelsRepo,
    /// Strongly consistent profile reads shared by concurrent requests (ban lists, follows).
    pub profiles: ProfileReads,
    pub streams: StreamsRepo,
    /// The public channel page's reads (one `BatchGetItem` for a channel read before).
    pub pages: PageReads,
    /// The directory's reads (the channels table's mirror of live heads).
    pub directory: DirectoryMirror,
    pub identity: IdentityClient,
    pub video: VideoClient,
    pub chat: ChatClient,
    pub assets: AssetsClient,
    pub secrets: SecretsClient,
    /// Present when product search is enabled.
    pub products: Option<ProductsClient>,
    /// The public channel pages and the directory, cached with request coalescing.
    pub public_cache: PublicCache,
}

impl AppState {
    pub async fn new(
        config: Config,
        sdk: &aws_config::SdkConfig,
        dynamo: aws_sdk_dynamodb::Client,
    ) -> anyhow::Result<Self> {
        let secrets = SecretsClient::new(sdk);
        let products = match &config.products {
            Some(settings) => {
                let mut products_config =
                    ProductsConfig::new(Marketplace::from_locale_or_default(&settings.locale));
                if let Some(base) = &settings.api_base_url {
                    products_config.api_base_url.clone_from(base);
                }
                products_config.token_url.clone_from(&settings.token_url);
                let source = CredentialsSource::Secret {
                    secrets: secrets.clone(),
                    secret_id: settings.secret_name.clone(),
                };
                Some(
                    ProductsClient::new(products_config, source)
                        .context("building the Creators API client")?,
                )
            }
            None => None,
        };
        let assets = AssetsClient::new(sdk, config.assets_bucket.clone())
            .context("building the channel-assets S3 client")?;
        // Upstream's tables before `ugc-admin migrate`: one warning line; the directory degrades.
        ugc_dynamo::migrate::check_migrated(&dynamo, &config.streams_table).await;
        let channels = ChannelsRepo::new(dynamo.clone(), config.channels_table.clone());
        let directory = DirectoryMirror::new(dynamo.clone(), config.channels_table.clone());
        let streams = StreamsRepo::new(dynamo, config.streams_table.clone());
        Ok(Self {
            profiles: ProfileReads::new(channels.clone()),
            pages: PageReads::new(channels.clone(), streams.clone()),
            channels,
            streams,
            directory,
            identity: IdentityClient::new(
                sdk,
                config.user_pool_id.clone(),
                config.user_pool_client_id.clone(),
            ),
            video: VideoClient::new(sdk),
            chat: ChatClient::new(sdk),
            assets,
            secrets,
            products,
            public_cache: PublicCache::new(config.public_cache_ttl),
            config,
        })
    }
}
