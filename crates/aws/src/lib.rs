//! Thin, domain-shaped clients over the AWS SDKs (and the Amazon Creators API) used by the services.
//!
//! Every client is built from one shared [`aws_config::SdkConfig`]; endpoints come from the standard
//! `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` variables that aws-config honours, so production and
//! the local platform run the same code.
//!
//! # Error policy
//!
//! Each module has one error enum whose variants are the cases a caller decides on (not broadcasting,
//! validation, not found, throttled, unavailable); everything else is `Unexpected` with a message for
//! the logs. Messages never contain credentials or secret values. "Unavailable" means the dependency
//! could not be reached or answered with a server fault (the API answers 503); "Throttled" means AWS
//! asked us to slow down (the API answers 429). SDK error dumps never leave this crate except as log text.

pub mod assets;
pub mod chat;
pub mod identity;
pub mod products;
pub mod secrets;
pub mod stream_metrics;
pub mod video;

mod sdk_error;
mod time_util;

pub use assets::{presigned_post, AssetsClient, AssetsError, PostPolicyInput, PresignedPost};
pub use chat::{ChatCapability, ChatClient, ChatError, ChatToken};
pub use identity::{
    IdentityClient, IdentityError, SignUpOutcome, UnconfirmedPage, UnconfirmedUser, UserDeletion,
};
pub use products::{
    CreatorsCredentials, CredentialsSource, Marketplace, ProductItem, ProductQuery, ProductsClient,
    ProductsConfig, ProductsError, SearchResult,
};
pub use secrets::{SecretsClient, SecretsError};
pub use stream_metrics::{MetricQuery, MetricResult, MetricsError, StreamMetricsClient};
pub use video::{
    AudioConfiguration, Backoff, CreatedChannel, IngestConfiguration, StreamKey, VideoClient,
    VideoConfiguration, VideoError,
};
