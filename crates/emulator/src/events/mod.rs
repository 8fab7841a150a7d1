//! Placeholder: replaced by the module's implementation.

use std::path::Path;

use actix_web::web;

use crate::core::config::EmulatorConfig;

pub struct Events;

impl Events {
    pub fn load(_dir: Option<&Path>, _config: &EmulatorConfig) -> anyhow::Result<Self> {
        Ok(Self)
    }
}

pub fn configure(_cfg: &mut web::ServiceConfig) {}
