//! ugc-aws
