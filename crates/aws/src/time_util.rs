//! Conversions between the SDK's timestamps and the ISO strings the API sends.

use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

/// `2024-01-19T16:22:35.000Z`: what the upstream API sends (JavaScript's `toISOString`).
const ISO_MILLIS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

pub(crate) fn iso_millis(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    // The description has no component that can fail for a valid UTC date between year 0 and 9999.
    utc.format(ISO_MILLIS)
        .unwrap_or_else(|_| utc.unix_timestamp().to_string())
}

pub(crate) fn from_smithy(at: &aws_smithy_types::DateTime) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(at.as_nanos()).ok()
}

pub(crate) fn to_smithy(at: OffsetDateTime) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_nanos(at.unix_timestamp_nanos())
        .unwrap_or_else(|_| aws_smithy_types::DateTime::from_secs(at.unix_timestamp()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn formats_with_milliseconds() {
        assert_eq!(
            iso_millis(datetime!(2024-01-19 16:22:35 UTC)),
            "2024-01-19T16:22:35.000Z"
        );
        assert_eq!(
            iso_millis(datetime!(2024-01-19 16:22:35.123456 UTC)),
            "2024-01-19T16:22:35.123Z"
        );
    }

    #[test]
    fn smithy_round_trip() {
        let at = datetime!(2022-06-10 19:07:00.5 UTC);
        assert_eq!(from_smithy(&to_smithy(at)), Some(at));
    }
}
