//! The catalog operations `searchItems` and `getItems`: admission, the shared request fields,
//! search and ranking, and the item JSON.

use super::catalogue::*;
use super::*;

/// The catalog operations, served at `POST /catalog/v1/<operation>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) enum CatalogOp {
    SearchItems,
    GetItems,
}

/// The request fields every catalog operation shares.
pub(super) struct Common {
    marketplace: &'static Marketplace,
    partner_tag: String,
    language: &'static str,
    resources: Vec<String>,
}

pub(super) fn common(req: &HttpRequest, body: &Value) -> Result<Common, ApiError> {
    let marketplace = marketplace(req, body)?;
    let partner_tag = partner_tag(body, marketplace)?;
    Ok(Common {
        marketplace,
        partner_tag: partner_tag.to_owned(),
        language: language(body, marketplace)?,
        resources: resources(body)?,
    })
}

/// The `x-marketplace` header or the body's `marketplace` (they must agree when both are sent).
fn marketplace(req: &HttpRequest, body: &Value) -> Result<&'static Marketplace, ApiError> {
    let header = req
        .headers()
        .get("x-marketplace")
        .and_then(|v| v.to_str().ok());
    let in_body = body.get("marketplace").and_then(Value::as_str);
    let domain = match (header, in_body) {
        (Some(h), Some(b)) if !h.eq_ignore_ascii_case(b) => {
            return Err(ApiError::field(
                "marketplace",
                "The marketplace in the body does not match the x-marketplace header.",
            ))
        }
        (Some(m), _) | (None, Some(m)) => m,
        (None, None) => {
            return Err(ApiError::field(
                "x-marketplace",
                "The x-marketplace header is required.",
            ))
        }
    };
    MARKETPLACES
        .iter()
        .find(|m| m.domain.eq_ignore_ascii_case(domain))
        .ok_or_else(|| {
            ApiError::field(
                "marketplace",
                format!("The marketplace {domain} is not supported."),
            )
        })
}

/// `partnerTag`: `<name>-<two digits>`.
fn partner_tag<'b>(body: &'b Value, marketplace: &Marketplace) -> Result<&'b str, ApiError> {
    let partner_tag = body
        .get("partnerTag")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::field("partnerTag", "The partnerTag field is required."))?;
    let valid_tag = partner_tag.rsplit_once('-').is_some_and(|(name, n)| {
        !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && n.len() == 2
            && n.chars().all(|c| c.is_ascii_digit())
    });
    if !valid_tag {
        return Err(ApiError::validation(
            "InvalidPartnerTag",
            format!(
                "The partner tag {partner_tag} is invalid or not mapped to the marketplace {}.",
                marketplace.domain
            ),
        ));
    }
    Ok(partner_tag)
}

/// `languagesOfPreference`: one language of the marketplace (by default its first).
fn language(body: &Value, marketplace: &Marketplace) -> Result<&'static str, ApiError> {
    match body.get("languagesOfPreference") {
        None | Some(Value::Null) => Ok(marketplace.languages.first().copied().unwrap_or("en_US")),
        Some(Value::Array(list)) => match list.as_slice() {
            [Value::String(l)] => marketplace
                .languages
                .iter()
                .copied()
                .find(|known| known == l)
                .ok_or_else(|| {
                    ApiError::field(
                        "languagesOfPreference",
                        format!("The language {l} is not valid for {}.", marketplace.domain),
                    )
                }),
            _ => Err(ApiError::field(
                "languagesOfPreference",
                "languagesOfPreference must hold exactly one language.",
            )),
        },
        Some(_) => Err(ApiError::field(
            "languagesOfPreference",
            "languagesOfPreference must be a list.",
        )),
    }
}

/// `resources`: known resource names (by default only the title).
fn resources(body: &Value) -> Result<Vec<String>, ApiError> {
    match body.get("resources") {
        None | Some(Value::Null) => Ok(vec!["itemInfo.title".to_owned()]),
        Some(Value::Array(list)) => list
            .iter()
            .map(|r| {
                r.as_str()
                    .filter(|r| RESOURCES.contains(r))
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        ApiError::field("resources", format!("The resource {r} is not valid."))
                    })
            })
            .collect(),
        Some(_) => Err(ApiError::field("resources", "resources must be a list.")),
    }
}

pub(super) fn int_field(body: &Value, name: &str, default: u64) -> Result<u64, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v.as_u64().filter(|n| (1..=10).contains(n)).ok_or_else(|| {
            ApiError::field(name, format!("{name} must be an integer from 1 to 10."))
        }),
    }
}

pub(super) fn item_json(p: &Product, c: &Common) -> Value {
    let has = |r: &str| c.resources.iter().any(|x| x == r);
    let domain = c.marketplace.domain;
    let mut item = json!({
        "asin": p.asin,
        "detailPageURL": format!("https://{domain}/dp/{}?tag={}&linkCode=osi&th=1&psc=1", p.asin, c.partner_tag),
    });
    let Some(map) = item.as_object_mut() else {
        return item;
    };
    if has("itemInfo.title") {
        map.insert(
            "itemInfo".to_owned(),
            json!({"title": {"displayValue": p.title, "label": "Title", "locale": c.language}}),
        );
    }
    let mut primary = serde_json::Map::new();
    for (resource, name, size) in [
        ("images.primary.small", "small", 75),
        ("images.primary.medium", "medium", 160),
        ("images.primary.large", "large", 500),
        ("images.primary.hiRes", "hiRes", 1500),
    ] {
        if has(resource) {
            primary.insert(
                name.to_owned(),
                json!({"url": format!("https://m.media-amazon.com/images/I/{}._SL{size}_.jpg", p.image), "height": size, "width": size}),
            );
        }
    }
    if !primary.is_empty() {
        map.insert("images".to_owned(), json!({"primary": primary}));
    }
    let listing_resources = [
        "price",
        "merchantInfo",
        "availability",
        "condition",
        "isBuyBoxWinner",
    ];
    if let Some(usd) = p.price.filter(|_| {
        listing_resources
            .iter()
            .any(|r| has(&format!("offersV2.listings.{r}")))
    }) {
        let amount = (usd * c.marketplace.rate * 100.0).round() / 100.0;
        let mut listing = serde_json::Map::new();
        listing.insert("violatesMAP".to_owned(), json!(false));
        if has("offersV2.listings.isBuyBoxWinner") || has("offersV2.listings.price") {
            listing.insert("isBuyBoxWinner".to_owned(), json!(true));
        }
        if has("offersV2.listings.price") {
            listing.insert(
                "price".to_owned(),
                json!({"money": {"amount": amount, "currency": c.marketplace.currency, "displayAmount": display_amount(amount, c.marketplace.currency)}}),
            );
        }
        if has("offersV2.listings.merchantInfo") {
            listing.insert(
                "merchantInfo".to_owned(),
                json!({"id": p.merchant.0, "name": p.merchant.1}),
            );
        }
        if has("offersV2.listings.availability") {
            listing.insert("availability".to_owned(), json!({"type": "IN_STOCK", "message": "In Stock", "minOrderQuantity": 1, "maxOrderQuantity": 10}));
        }
        if has("offersV2.listings.condition") {
            listing.insert("condition".to_owned(), json!({"value": "New"}));
        }
        map.insert("offersV2".to_owned(), json!({"listings": [listing]}));
    }
    item
}

pub(super) fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// How many of the query words a product's title matches (a title word starting with the query
/// word counts, so `keyboard` finds `keyboards`).
pub(super) fn relevance(p: &Product, query: &[String]) -> usize {
    let title = words(p.title);
    let merchant = words(p.merchant.1);
    query
        .iter()
        .filter(|q| {
            title
                .iter()
                .chain(merchant.iter())
                .any(|w| w.starts_with(q.as_str()))
        })
        .count()
}

pub(super) async fn catalog(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<crate::server::Shared>,
) -> HttpResponse {
    match catalog_call(&req, &body, &shared.creators) {
        Ok(v) => HttpResponse::Ok().json(v),
        Err(e) => e.response(),
    }
}

/// Admission (token and rate limit), the body, the fields every operation shares, then the
/// operation.
pub(super) fn catalog_call(
    req: &HttpRequest,
    body: &[u8],
    creators: &Creators,
) -> Result<Value, ApiError> {
    let op = path_operation::<CatalogOp>(req.path())
        .ok_or_else(|| ApiError::validation("UnknownOperation", "Unknown operation"))?;
    creators.admit(
        req.headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
    )?;
    let body = Value::Object(json::parse_object(body)?);
    let c = common(req, &body)?;
    match op {
        CatalogOp::SearchItems => search(&body, &c),
        CatalogOp::GetItems => get_items(&body, &c),
    }
}

/// The catalog API calls a body it cannot read `CannotParse`; a member of the wrong type fails
/// validation of that field.
impl From<BodyError> for ApiError {
    fn from(e: BodyError) -> Self {
        match &e {
            BodyError::Member { path, .. } => Self::field(path, e.to_string()),
            BodyError::Syntax(_) | BodyError::NotObject => {
                Self::validation("CannotParse", e.to_string())
            }
        }
    }
}

pub(super) fn search(body: &Value, c: &Common) -> Result<Value, ApiError> {
    let text: String = ["keywords", "title", "brand", "actor", "artist", "author"]
        .iter()
        .filter_map(|f| body.get(*f).and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    let query = words(&text);
    if query.is_empty() {
        return Err(ApiError::field(
            "keywords",
            "One of keywords, actor, artist, author, brand, title or browseNodeId is required.",
        ));
    }
    let count = int_field(body, "itemCount", 10)? as usize;
    let page = int_field(body, "itemPage", 1)? as usize;
    let sort = match body.get("sortBy") {
        None | Some(Value::Null) => "Relevance",
        Some(Value::String(s)) if SORTS.contains(&s.as_str()) => s.as_str(),
        Some(_) => {
            return Err(ApiError::field(
                "sortBy",
                format!("sortBy must be one of {}.", SORTS.join(", ")),
            ))
        }
    };
    let hits = ranked_hits(&query, sort);
    let keywords = body
        .get("keywords")
        .and_then(Value::as_str)
        .unwrap_or(&text);
    if hits.is_empty() {
        return Err(ApiError {
            status: StatusCode::NOT_FOUND,
            body: json!({"type": "ResourceNotFoundException", "message": "No results found for your search request",
                "reason": "Other", "resourceType": "SearchResult", "resourceId": keywords}),
        });
    }
    let total = hits.len();
    let items: Vec<Value> = hits
        .iter()
        .skip((page - 1) * count)
        .take(count)
        .map(|(_, _, p)| item_json(p, c))
        .collect();
    let page_is_empty = items.is_empty();
    let field_keywords: String = query.join("+");
    let mut result = json!({
        "searchResult": {
            "totalResultCount": total,
            "searchURL": format!("https://{}/s/?field-keywords={field_keywords}&search-alias=aps&tag={}&linkCode=osi", c.marketplace.domain, c.partner_tag),
            "items": items,
        }
    });
    if page_is_empty {
        if let Some(map) = result.as_object_mut() {
            map.insert(
                "errors".to_owned(),
                json!([{"code": "InvalidParameterValue",
                    "message": format!("The value provided in the request for itemPage is beyond the last page ({}).", total.div_ceil(count))}]),
            );
        }
    }
    Ok(result)
}

/// The catalogue's products that match `query`, in `sort` order (ties in catalogue order).
fn ranked_hits(query: &[String], sort: &str) -> Vec<(usize, usize, &'static Product)> {
    let mut hits: Vec<(usize, usize, &Product)> = CATALOGUE
        .iter()
        .enumerate()
        .map(|(rank, p)| (rank, relevance(p, query), p))
        .filter(|(_, score, _)| *score > 0)
        .collect();
    let price = |p: &Product| p.price.unwrap_or(f64::NAN);
    match sort {
        "Price:LowToHigh" => {
            hits.sort_by(|a, b| price(a.2).total_cmp(&price(b.2)).then(a.0.cmp(&b.0)))
        }
        "Price:HighToLow" => hits.sort_by(|a, b| {
            // Items without a price go last either way.
            let (x, y) = (a.2.price.unwrap_or(-1.0), b.2.price.unwrap_or(-1.0));
            y.total_cmp(&x).then(a.0.cmp(&b.0))
        }),
        "NewestArrivals" => hits.sort_by(|a, b| b.2.released.cmp(a.2.released).then(a.0.cmp(&b.0))),
        "AvgCustomerReviews" => {
            hits.sort_by(|a, b| b.2.rating.total_cmp(&a.2.rating).then(a.0.cmp(&b.0)))
        }
        "Featured" => hits.sort_by_key(|h| h.0),
        _ => hits.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0))),
    }
    hits
}

pub(super) fn get_items(body: &Value, c: &Common) -> Result<Value, ApiError> {
    let ids = body
        .get("itemIds")
        .and_then(Value::as_array)
        .filter(|ids| (1..=10).contains(&ids.len()))
        .ok_or_else(|| ApiError::field("itemIds", "itemIds must hold 1 to 10 ASINs."))?;
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for id in ids {
        let id = id.as_str().unwrap_or_default();
        match CATALOGUE.iter().find(|p| p.asin == id) {
            Some(p) => items.push(item_json(p, c)),
            None => errors.push(json!({"code": "InvalidParameterValue",
                "message": format!("The ItemId {id} provided in the request is invalid.")})),
        }
    }
    let mut out = json!({"itemsResult": {"items": items}});
    if let (false, Some(map)) = (errors.is_empty(), out.as_object_mut()) {
        map.insert("errors".to_owned(), Value::Array(errors));
    }
    Ok(out)
}
