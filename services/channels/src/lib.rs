//! The channels service: account and profile routes under `/channel`, the public channel directory
//! and pages under `/channels`, and Amazon product search under `/products` (docs/contract.md §4–§7, with
//! the deviations of docs/architecture.md).
//!
//! [`configure`] registers the routes and the [`AppState`]; the caller registers the
//! [`ugc_web::Verifier`] and builds the server with [`ugc_web::Application`], so the combined `api`
//! binary and the local platform mount this service next to others.

pub mod cache;
pub mod config;
pub mod error;
pub mod openapi;
pub mod routes;
pub mod state;

use actix_web::web;

pub use config::Config;
pub use state::AppState;

/// Registers every route of the service and the shared state (not the `Verifier`).
pub fn configure(
    state: web::Data<AppState>,
) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    move |cfg: &mut web::ServiceConfig| {
        let products = state.products.is_some();
        cfg.app_data(state.clone());
        routes::configure(cfg, products);
    }
}
