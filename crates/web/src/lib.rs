//! ugc-web
