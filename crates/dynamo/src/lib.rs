//! ugc-dynamo
