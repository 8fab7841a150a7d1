//! Timestamp formats on the wire and in storage.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// ISO-8601 in UTC with milliseconds, the form every API response uses: `2022-01-01T00:00:00.000Z`.
pub fn format_iso_millis(t: OffsetDateTime) -> String {
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.to_offset(UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// ISO-8601 in UTC with whole seconds, the form EventBridge uses and the stream table stores
/// (`startTime`, `endTime`, `eventTime`): `2023-06-14T18:32:41Z`.
pub fn format_iso_seconds(t: OffsetDateTime) -> String {
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.to_offset(UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Parses an RFC 3339 timestamp (with or without fractional seconds, any offset) into UTC.
pub fn parse_iso(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(|t| t.to_offset(UtcOffset::UTC))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn formats_with_and_without_millis() {
        let t = datetime!(2022-01-01 00:00:00 UTC);
        assert_eq!(format_iso_millis(t), "2022-01-01T00:00:00.000Z");
        assert_eq!(format_iso_seconds(t), "2022-01-01T00:00:00Z");
        let t = datetime!(2022-06-10 21:12:05.123456 +02:00);
        assert_eq!(format_iso_millis(t), "2022-06-10T19:12:05.123Z");
    }

    #[test]
    fn parses_stored_forms() {
        let a = parse_iso("2023-06-14T18:32:41Z").unwrap();
        let b = parse_iso("2023-06-14T18:32:41.000Z").unwrap();
        assert_eq!(a, b);
        assert_eq!(parse_iso("1686170708"), None);
        assert_eq!(format_iso_millis(a), "2023-06-14T18:32:41.000Z");
    }
}
