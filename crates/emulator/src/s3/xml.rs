//! The XML documents of S3's REST protocol (docs/wire-protocols.md §11), as typed structs
//! (de)serialized with quick-xml's serde support: the request bodies S3 parses (DeleteObjects,
//! PutBucketVersioning, CreateBucket) and the responses it sends. Responses carry S3's namespace
//! where S3 puts it; requests are accepted with or without it.

use quick_xml::events::Event;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::wire::S3Error;

pub const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
pub const XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// Parses a request body whose root element must be `root`. Anything else — not UTF-8, not
/// well-formed, another root, a required element missing — is S3's `MalformedXML` (400).
pub fn parse<T: DeserializeOwned>(body: &[u8], root: &str) -> Result<T, S3Error> {
    let text = std::str::from_utf8(body).map_err(|_| S3Error::malformed_xml())?;
    if root_name(text).as_deref() != Some(root) {
        return Err(S3Error::malformed_xml());
    }
    // Text is kept as sent (no trimming): object keys may begin or end with spaces.
    let mut de = quick_xml::de::Deserializer::borrowing(quick_xml::NsReader::from_str(text));
    T::deserialize(&mut de).map_err(|_| S3Error::malformed_xml())
}

/// The local name of the document's root element, if the document has one.
fn root_name(text: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(text);
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) | Event::Empty(e) => {
                return String::from_utf8(e.local_name().as_ref().to_vec()).ok();
            }
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
            Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
            _ => return None,
        }
    }
}

/// A response document: the XML declaration, then `document` (its root element is the struct's
/// serde name).
pub fn render<T: Serialize>(document: &T) -> Result<String, S3Error> {
    let body = quick_xml::se::to_string(document)
        .map_err(|e| S3Error::new(500, "InternalError", e.to_string()))?;
    Ok(format!("{XML_DECL}{body}"))
}

// ---- request bodies -------------------------------------------------------------------------

/// `POST /<bucket>?delete`: `<Delete><Object><Key/><VersionId/></Object>…<Quiet/></Delete>`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Delete {
    #[serde(rename = "Object", default)]
    pub objects: Vec<ObjectIdentifier>,
    #[serde(default)]
    pub quiet: Option<String>,
}

impl Delete {
    pub fn is_quiet(&self) -> bool {
        self.quiet
            .as_deref()
            .is_some_and(|q| q.eq_ignore_ascii_case("true"))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ObjectIdentifier {
    pub key: String,
    #[serde(default)]
    pub version_id: Option<String>,
}

/// `PUT /<bucket>?versioning`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersioningConfiguration {
    #[serde(default)]
    pub status: Option<String>,
}

/// The optional body of CreateBucket. Its `LocationConstraint` is not read: buckets live in the
/// emulator's one region, so only the document's shape is checked.
#[derive(Debug, Deserialize)]
pub struct CreateBucketConfiguration {}

// ---- responses -------------------------------------------------------------------------------

/// `GET /<bucket>?location`: empty for us-east-1.
#[derive(Debug, Serialize)]
pub struct LocationConstraint {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "$text")]
    pub region: String,
}

/// `GET /<bucket>?versioning`.
#[derive(Debug, Serialize)]
#[serde(rename = "VersioningConfiguration", rename_all = "PascalCase")]
pub struct VersioningStatus {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    pub status: &'static str,
}

/// ListObjectsV2 and ListObjects (v1): the v2-only and v1-only elements are `None` in the other.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListBucketResult {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    pub name: String,
    pub prefix: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_count: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    pub max_keys: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding_type: Option<&'static str>,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_continuation_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    pub contents: Vec<ListedObject>,
    pub common_prefixes: Vec<CommonPrefix>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListedObject {
    pub key: String,
    pub last_modified: String,
    #[serde(rename = "ETag")]
    pub etag: String,
    pub size: u64,
    pub storage_class: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CommonPrefix {
    pub prefix: String,
}

/// DeleteObjects' answer: one `<Deleted>` or `<Error>` per requested object, in request order.
#[derive(Debug, Serialize)]
pub struct DeleteResult {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "$value")]
    pub entries: Vec<DeleteEntry>,
}

#[derive(Debug, Serialize)]
pub enum DeleteEntry {
    Deleted(DeletedObject),
    Error(DeleteError),
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeletedObject {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_marker: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_marker_version_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteError {
    pub key: String,
    pub code: &'static str,
    pub message: String,
}

/// The `201` answer of a browser POST upload (docs/wire-protocols.md §7.4).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PostResponse {
    pub location: String,
    pub bucket: String,
    pub key: String,
    #[serde(rename = "ETag")]
    pub etag: String,
}

/// `<Error><Code/><Message/>…extra…<RequestId/><HostId/></Error>` (docs/wire-protocols.md §7.5,
/// §11.4). The extra elements (`Key`, `BucketName`, `ProposedSize`, …) depend on the error, so
/// the struct is written field by field.
#[derive(Debug)]
pub struct ErrorDocument<'a> {
    pub code: &'a str,
    pub message: &'a str,
    pub extra: &'a [(&'static str, String)],
    pub request_id: &'a str,
    pub host_id: &'a str,
}

impl Serialize for ErrorDocument<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut s = serializer.serialize_struct("Error", 4 + self.extra.len())?;
        s.serialize_field("Code", self.code)?;
        s.serialize_field("Message", self.message)?;
        for (name, value) in self.extra {
            s.serialize_field(name, value)?;
        }
        s.serialize_field("RequestId", self.request_id)?;
        s.serialize_field("HostId", self.host_id)?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_requests_parse_with_or_without_namespace_and_keep_key_text() {
        let xml = format!(
            "<?xml version=\"1.0\"?>\n<Delete xmlns=\"{XMLNS}\">\n  <Object><Key> a&amp;b </Key></Object>\n  \
             <Object><Key>c</Key><VersionId>v1</VersionId></Object>\n  <Quiet>True</Quiet>\n</Delete>"
        );
        let delete: Delete = parse(xml.as_bytes(), "Delete").unwrap();
        assert_eq!(delete.objects.len(), 2);
        assert_eq!(delete.objects[0].key, " a&b ");
        assert_eq!(delete.objects[0].version_id, None);
        assert_eq!(delete.objects[1].version_id.as_deref(), Some("v1"));
        assert!(delete.is_quiet());
        let plain: Delete =
            parse(b"<Delete><Object><Key>k</Key></Object></Delete>", "Delete").unwrap();
        assert!(!plain.is_quiet());
    }

    #[test]
    fn bad_request_xml_is_malformed_xml() {
        for body in [
            &b"<Delete><Object><Key>a</Key></Object>"[..],
            b"<Delete><Object><VersionId>v</VersionId></Object></Delete>",
            b"<Other><Object><Key>a</Key></Object></Other>",
            b"not xml at all",
            b"",
            b"<Delete><Object><Key>\xff</Key></Object></Delete>",
        ] {
            let err = parse::<Delete>(body, "Delete").unwrap_err();
            assert_eq!(
                (err.status.as_u16(), err.code),
                (400, "MalformedXML"),
                "{body:?}"
            );
        }
    }

    #[test]
    fn responses_render_s3_documents() {
        let result = DeleteResult {
            xmlns: XMLNS,
            entries: vec![
                DeleteEntry::Deleted(DeletedObject {
                    key: "a<b".into(),
                    version_id: None,
                    delete_marker: Some(true),
                    delete_marker_version_id: Some("m1".into()),
                }),
                DeleteEntry::Error(DeleteError {
                    key: "c".into(),
                    code: "AccessDenied",
                    message: "no".into(),
                }),
            ],
        };
        assert_eq!(
            render(&result).unwrap(),
            format!(
                "{XML_DECL}<DeleteResult xmlns=\"{XMLNS}\"><Deleted><Key>a&lt;b</Key>\
                 <DeleteMarker>true</DeleteMarker><DeleteMarkerVersionId>m1</DeleteMarkerVersionId>\
                 </Deleted><Error><Key>c</Key><Code>AccessDenied</Code><Message>no</Message></Error>\
                 </DeleteResult>"
            )
        );
        let error = ErrorDocument {
            code: "NoSuchKey",
            message: "gone",
            extra: &[("Key", "k&1".to_owned())],
            request_id: "R",
            host_id: "H",
        };
        assert_eq!(
            render(&error).unwrap(),
            format!(
                "{XML_DECL}<Error><Code>NoSuchKey</Code><Message>gone</Message><Key>k&amp;1</Key>\
                 <RequestId>R</RequestId><HostId>H</HostId></Error>"
            )
        );
        let location = LocationConstraint {
            xmlns: XMLNS,
            region: "eu-west-1".into(),
        };
        assert_eq!(
            render(&location).unwrap(),
            format!(
                "{XML_DECL}<LocationConstraint xmlns=\"{XMLNS}\">eu-west-1</LocationConstraint>"
            )
        );
    }
}
