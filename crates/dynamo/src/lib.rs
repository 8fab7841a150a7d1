//! DynamoDB access for the UGC platform: table and index definitions ([`tables`]), client
//! construction ([`client`]), item ⇄ domain codecs ([`codec`]) and the repositories the services use
//! ([`ChannelsRepo`], [`StreamsRepo`]). Races are settled by DynamoDB itself, with condition
//! expressions, single-operation updates and transactions; see each operation.

pub mod batch;
pub mod channels;
pub mod client;
pub mod codec;
pub mod directory;
pub mod error;
pub mod migrate;
pub mod page;
pub mod streams;
mod table;
pub mod tables;

pub use batch::ProfileReads;
pub use channels::{
    username_marker_id, AssetVersionOutcome, AssetWrite, ChannelResources, ChannelsRepo,
    FollowOutcome, ItemOwnership, NewProfile, OwnershipBatch, PreferenceNames, ProvisioningClaim,
};
pub use client::{client_from_config, client_from_env};
pub use codec::{ChannelAsset, ChannelRecord, PublicProfile, SessionLiveness, StoredSession};
pub use directory::DirectoryMirror;
pub use error::DbError;
pub use page::{ChannelPageData, PageReads};
pub use streams::{
    ApplyOutcome, Attachment, InvalidPageKey, LiveSession, PageKey, SessionCursor, SessionsPage,
    StreamsRepo,
};
pub use tables::{create_tables, delete_tables, TableNames};
