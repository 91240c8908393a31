//! Small helpers for the simulator: stable invented ids, timestamps, canned error pages.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// FNV-1a: a stable, dependency-free hash, so invented ids do not change
/// between runs (std's hasher is randomly seeded).
pub(crate) fn fnv(seed: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A UUID-shaped id derived from `seed`.
pub(crate) fn uuid(seed: &str) -> String {
    let a = fnv(seed);
    let b = fnv(&format!("{seed}#2"));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0x3fff | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

/// A 24-hex-digit id like Netlify's deploy ids.
pub(crate) fn oid(seed: &str) -> String {
    format!("{:016x}{:08x}", fnv(seed), fnv(&format!("{seed}#2")) >> 32)
}

/// The numeric id the sim gives a Sentry project (a string, as Sentry sends it).
pub fn sentry_project_id(org: &str, project: &str) -> String {
    (4_500_000_000_000_000 + fnv(&format!("{org}/{project}")) % 100_000_000_000_000).to_string()
}

/// The numeric id of a Sentry organization.
pub(crate) fn sentry_org_id(org: &str) -> String {
    (4_506_000 + fnv(org) % 100_000).to_string()
}

/// `2026-08-22T11:05:47.318Z` (Railway, Netlify).
pub(crate) fn ts_millis(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .expect("UTC times format")
}

/// `2026-08-22T12:51:09.000000Z` (Sentry).
pub(crate) fn ts_micros(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    ))
    .expect("UTC times format")
}

/// `2026-08-22T13:00:00Z` (Sentry stats intervals).
pub(crate) fn ts_secs(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .expect("UTC times format")
}

/// `2026-08-22T00:00:00+02:00` (Plausible's echoed ranges, in the site's offset).
pub(crate) fn ts_offset(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
    ))
    .expect("times format")
}

/// Parses an RFC 3339 date-time or a bare `YYYY-MM-DD` date (midnight UTC).
pub(crate) fn parse_when(s: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t.to_offset(time::UtcOffset::UTC));
    }
    time::Date::parse(s, format_description!("[year]-[month]-[day]"))
        .ok()
        .map(|d| d.midnight().assume_utc())
}

/// The start of the hour `t` falls in.
pub(crate) fn hour_floor(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_minute(0)
        .and_then(|t| t.replace_second(0))
        .and_then(|t| t.replace_nanosecond(0))
        .expect("zero is a valid minute, second and nanosecond")
}

/// The page Cloudflare shows a client it blocks (as heavy Railway callers have seen).
pub(crate) fn cloudflare_denied(host: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en-US\">\n<head><title>Access denied | {host} used Cloudflare to restrict access</title></head>\n<body>\n<div id=\"cf-wrapper\"><h1>Access denied</h1>\n<p>The owner of this website ({host}) has banned your IP address.</p>\n<p>Cloudflare Ray ID: 8b2f1c3d4e5a6b7c</p></div>\n</body>\n</html>\n"
    )
}

/// A body cut off mid-value, as a dropped connection behind a proxy leaves it.
pub(crate) fn truncate_json(full: &serde_json::Value) -> Vec<u8> {
    let text = serde_json::to_vec(full).expect("JSON values serialize");
    let cut = (text.len() * 2 / 3).max(1);
    text[..cut].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn ids_are_stable_and_shaped() {
        assert_eq!(uuid("a"), uuid("a"));
        assert_ne!(uuid("a"), uuid("b"));
        assert_eq!(uuid("a").len(), 36);
        assert_eq!(oid("a").len(), 24);
        let id = sentry_project_id("acme", "shop");
        assert_eq!(id.len(), 16);
        assert!(id.chars().all(|c| c.is_ascii_digit()));
    }

    #[test]
    fn timestamps_have_each_providers_shape() {
        let t = datetime!(2026-08-22 11:05:47.318 UTC);
        assert_eq!(ts_millis(t), "2026-08-22T11:05:47.318Z");
        assert_eq!(ts_micros(t), "2026-08-22T11:05:47.318000Z");
        assert_eq!(ts_secs(hour_floor(t)), "2026-08-22T11:00:00Z");
        assert_eq!(ts_offset(t), "2026-08-22T11:05:47+00:00");
        let east = t.to_offset(time::UtcOffset::from_hms(2, 0, 0).unwrap());
        assert_eq!(ts_offset(east), "2026-08-22T13:05:47+02:00");
        assert_eq!(
            parse_when("2026-08-22"),
            Some(datetime!(2026-08-22 0:00 UTC))
        );
        assert_eq!(
            parse_when("2026-08-22T13:55:00+02:00"),
            Some(datetime!(2026-08-22 11:55 UTC))
        );
    }
}
