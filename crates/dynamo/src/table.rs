//! One table and its client: the requests every repository starts from.

use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::operation::get_item::builders::GetItemFluentBuilder;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, WriteRequest};
use aws_sdk_dynamodb::Client;

use crate::codec::Item;
use crate::error::DbError;

#[derive(Clone, Debug)]
pub(crate) struct Table {
    pub(crate) client: Client,
    pub(crate) name: String,
}

impl Table {
    pub(crate) fn new(client: Client, name: impl Into<String>) -> Self {
        Self {
            client,
            name: name.into(),
        }
    }

    /// An UpdateItem of the item with `key`.
    pub(crate) fn update(&self, key: Item) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(key))
    }

    /// A strongly consistent GetItem of the item with `key`.
    pub(crate) fn get(&self, key: Item) -> GetItemFluentBuilder {
        self.client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key))
            .consistent_read(true)
    }

    /// One BatchGetItem of this table: the items found and the keys DynamoDB left unread (none
    /// when it read them all).
    pub(crate) async fn batch_get(
        &self,
        keys: KeysAndAttributes,
    ) -> Result<(Vec<Item>, Option<KeysAndAttributes>), DbError> {
        let BatchGetItemOutput {
            responses,
            unprocessed_keys,
            ..
        } = self
            .client
            .batch_get_item()
            .request_items(&self.name, keys)
            .send()
            .await?;
        let found = responses
            .and_then(|mut by_table| by_table.remove(&self.name))
            .unwrap_or_default();
        let unread = unprocessed_keys
            .and_then(|mut by_table| by_table.remove(&self.name))
            .filter(|k| !k.keys().is_empty());
        Ok((found, unread))
    }

    /// One BatchWriteItem of this table; returns the requests DynamoDB left unprocessed.
    pub(crate) async fn batch_write(
        &self,
        requests: Vec<WriteRequest>,
    ) -> Result<Vec<WriteRequest>, DbError> {
        let out = self
            .client
            .batch_write_item()
            .request_items(&self.name, requests)
            .send()
            .await?;
        Ok(out
            .unprocessed_items
            .and_then(|mut by_table| by_table.remove(&self.name))
            .unwrap_or_default())
    }

    /// A Query of the table (of one of its indexes with `index_name`).
    pub(crate) fn query(&self) -> QueryFluentBuilder {
        self.client.query().table_name(&self.name)
    }

    /// A Query of the partition `attribute = value` of the index `index`.
    pub(crate) fn partition(
        &self,
        index: &str,
        attribute: &str,
        value: &str,
    ) -> QueryFluentBuilder {
        self.query()
            .index_name(index)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", attribute)
            .expression_attribute_values(":pk", AttributeValue::S(value.to_owned()))
    }

    /// [`Self::partition`], newest (greatest sort key) first: the live entries of the sparse
    /// `liveIndex` and `directoryIndex`.
    pub(crate) fn newest_in_partition(
        &self,
        index: &str,
        attribute: &str,
        value: &str,
    ) -> QueryFluentBuilder {
        self.partition(index, attribute, value)
            .scan_index_forward(false)
    }
}

/// `query` asking for `attributes` only (a `ProjectionExpression` over the names `#p0`, `#p1`, …,
/// so reserved words need no care).
pub(crate) fn project_query(
    mut query: QueryFluentBuilder,
    attributes: &[&str],
) -> QueryFluentBuilder {
    let (expression, names) = projection(attributes);
    query = query.projection_expression(expression);
    for (placeholder, name) in names {
        query = query.expression_attribute_names(placeholder, name);
    }
    query
}

/// `get` asking for `attributes` only, as [`project_query`] does for a Query.
pub(crate) fn project_get(
    mut get: GetItemFluentBuilder,
    attributes: &[&str],
) -> GetItemFluentBuilder {
    let (expression, names) = projection(attributes);
    get = get.projection_expression(expression);
    for (placeholder, name) in names {
        get = get.expression_attribute_names(placeholder, name);
    }
    get
}

/// The `KeysAndAttributes` of one table in a `BatchGetItem`: `keys`, read strongly consistent or
/// not, asking for `attributes` only when given (as [`project_query`]).
pub(crate) fn batch_keys(
    keys: Vec<Item>,
    consistent: bool,
    attributes: Option<&[&str]>,
) -> Result<KeysAndAttributes, DbError> {
    let (expression, names) = attributes.map(projection).unzip();
    Ok(KeysAndAttributes::builder()
        .set_keys(Some(keys))
        .consistent_read(consistent)
        .set_projection_expression(expression)
        .set_expression_attribute_names(names.map(|names| names.into_iter().collect()))
        .build()?)
}

/// The `ProjectionExpression` of `attributes` and its attribute names.
pub(crate) fn projection(attributes: &[&str]) -> (String, Vec<(String, String)>) {
    let names: Vec<(String, String)> = attributes
        .iter()
        .enumerate()
        .map(|(i, name)| (format!("#p{i}"), (*name).to_owned()))
        .collect();
    let expression = names
        .iter()
        .map(|(placeholder, _)| placeholder.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    (expression, names)
}

/// The first item `query` finds (it asks for one).
pub(crate) async fn first_item(query: QueryFluentBuilder) -> Result<Option<Item>, DbError> {
    let out = query.limit(1).send().await?;
    Ok(out.items.and_then(|items| items.into_iter().next()))
}
