//! Amazon product search for the `amazon_product` stream action (docs/contract.md §7), through the Amazon
//! Creators API. Registered only when `ENABLE_AMAZON_PRODUCT_STREAM_ACTION=true`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use ugc_aws::{ProductItem, ProductQuery, ProductsError};
use ugc_domain::ErrorCode;
use ugc_web::routing::resource;
use ugc_web::{Action, ApiError, AuthUser, RateKey, RateLimiter};
use utoipa::{IntoParams, ToSchema};

use crate::error::user_not_found;
use crate::routes::rate_limit;
use crate::state::AppState;

pub const MAX_KEYWORDS_CHARS: usize = 200;
pub const MAX_PAGE: u32 = 10;
const MAX_QUERY_VALUE_CHARS: usize = 64;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/products/{keywords}").route(web::get().to(search_products)));
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProductSearchQuery {
    /// `Relevance`, `NewestArrivals`, `Price:LowToHigh`, `Price:HighToLow`, `Featured`.
    pub sort: Option<String>,
    /// 1–10.
    pub page: Option<String>,
    /// e.g. `en_US`.
    pub language: Option<String>,
    /// `sort` or `input`: which SPA control asked; `sort` turns failures into `SortProductsException`.
    pub origin: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImageUrl {
    pub url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductImages {
    pub large: ImageUrl,
    pub medium: ImageUrl,
    pub small: ImageUrl,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductPrice {
    #[serde(rename = "displayAmount")]
    pub display_amount: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Product {
    pub images: ProductImages,
    #[serde(rename = "merchantInfo")]
    pub merchant_info: Option<String>,
    pub price: ProductPrice,
    /// The product page, with the caller's `trackingId` as the `tag`.
    #[serde(rename = "productURL")]
    pub product_url: Option<String>,
    pub title: Option<String>,
}

impl From<ProductItem> for Product {
    fn from(item: ProductItem) -> Self {
        let url = |u: ugc_aws::products::ImageUrl| ImageUrl { url: u.url };
        Self {
            images: ProductImages {
                large: url(item.images.large),
                medium: url(item.images.medium),
                small: url(item.images.small),
            },
            merchant_info: item.merchant_info,
            price: ProductPrice {
                display_amount: item.price.display_amount,
            },
            product_url: item.product_url,
            title: item.title,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductSearch {
    pub items: Vec<Product>,
    pub search_count: Option<u64>,
    /// The keywords searched, so the SPA can drop stale answers.
    pub keyword: String,
}

struct Search {
    keywords: String,
    sort: Option<String>,
    page: Option<u32>,
    language: Option<String>,
    from_sort: bool,
}

impl Search {
    fn parse(keywords: String, query: ProductSearchQuery) -> Result<Self, ApiError> {
        let chars = keywords.chars().count();
        if keywords.trim().is_empty() || chars > MAX_KEYWORDS_CHARS {
            return Err(ApiError::bad_request(format!(
                "params/keywords must have 1 to {MAX_KEYWORDS_CHARS} characters"
            )));
        }
        let page = query
            .page
            .filter(|p| !p.is_empty())
            .map(|p| match p.parse::<u32>() {
                Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
                _ => Err(ApiError::bad_request(format!(
                    "querystring/page must be a whole number from 1 to {MAX_PAGE}"
                ))),
            })
            .transpose()?;
        let short = |name: &str, value: Option<String>| {
            let value = value.filter(|v| !v.is_empty());
            if value
                .as_ref()
                .is_some_and(|v| v.chars().count() > MAX_QUERY_VALUE_CHARS)
            {
                return Err(ApiError::bad_request(format!(
                    "querystring/{name} must have at most {MAX_QUERY_VALUE_CHARS} characters"
                )));
            }
            Ok(value)
        };
        Ok(Self {
            keywords,
            sort: short("sort", query.sort)?,
            page,
            language: short("language", query.language)?,
            from_sort: query.origin.as_deref() == Some("sort"),
        })
    }

    /// Upstream's mapping: any failure of a re-sort is `SortProductsException` (the SPA's sort
    /// control shows only that), else the shared policy (Creators API throttling is 429 with its
    /// `Retry-After`).
    fn error(&self, err: &ProductsError) -> ApiError {
        if self.from_sort {
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::SortProductsException,
            )
            .with_detail(err);
        }
        ApiError::from_failure(err, ErrorCode::UnexpectedException)
    }
}

/// Searches Amazon products by keywords; product links carry the caller's `trackingId`.
#[utoipa::path(
    get, path = "/products/{keywords}", tag = "products",
    params(
        ("keywords" = String, Path, description = "Search words, 1–200 characters"),
        ProductSearchQuery,
    ),
    responses(
        (status = 200, body = ProductSearch),
        (status = 400, description = "`BadRequestException`: bad page or query value", body = crate::openapi::ErrorBody),
        crate::openapi::Unauthorized,
        crate::openapi::NoChannelYet,
        (status = 429, description = "`TooManyRequestsException` (our limit or the Creators API's)", body = crate::openapi::ErrorBody),
        (status = 500, description = "`SortProductsException` (origin=sort) or `UnexpectedException`", body = crate::openapi::ErrorBody),
    ),
    security(("accessToken" = []))
)]
pub async fn search_products(
    state: web::Data<AppState>,
    limiter: web::Data<RateLimiter>,
    user: AuthUser,
    keywords: web::Path<String>,
    query: web::Query<ProductSearchQuery>,
) -> Result<HttpResponse, ApiError> {
    let search = Search::parse(keywords.into_inner(), query.into_inner())?;
    rate_limit(
        &limiter,
        Action::ProductSearch,
        &RateKey::User(user.sub.clone()),
    )?;
    let Some(products) = &state.products else {
        return Err(ApiError::not_found());
    };
    let tracking_id = state
        .channels
        .get(&user.sub)
        .await?
        .ok_or_else(user_not_found)?
        .tracking_id;
    let result = products
        .search_items(&ProductQuery {
            keywords: &search.keywords,
            sort: search.sort.as_deref(),
            page: search.page,
            language: search.language.as_deref(),
            tracking_id: tracking_id.as_deref(),
        })
        .await
        .map_err(|e| search.error(&e))?;
    Ok(HttpResponse::Ok().json(ProductSearch {
        items: result.items.into_iter().map(Product::from).collect(),
        search_count: result.total_count,
        keyword: search.keywords,
    }))
}
