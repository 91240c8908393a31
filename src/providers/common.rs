//! Small helpers the four adapters share: URL building, card finishing and
//! lenient value access. Private to `providers`.

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use url::Url;

use super::{answer_facts, clip, Context, Exchange, Method, Step};
use crate::model::{BodyKind, Card, Metric, Reason, Status};

/// `base` + path segments (each percent-encoded, so a domain or slug cannot
/// escape its segment) + query pairs. Keeps any path prefix of `base`
/// (a self-hosted install under `/sentry`). `None` for a base that cannot
/// carry a path (`mailto:`-like URLs), which config validation should prevent.
pub(super) fn endpoint(base: &Url, segments: &[&str], query: &[(&str, &str)]) -> Option<Url> {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    {
        let mut path = url.path_segments_mut().ok()?;
        path.pop_if_empty();
        path.extend(segments);
    }
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    Some(url)
}

/// Stamps the fields every card carries and wraps it as the final step.
pub(super) fn finish(ctx: &Context<'_>, mut card: Card) -> Step {
    card.dashboard_url = Some(ctx.service.dashboard_url());
    // A link comes from the provider's answer: only a web page may be opened.
    card.link = card.link.take().filter(|l| web_link(l).is_some());
    card.updated_at = Some(ctx.now);
    Step::Done(card)
}

/// `s` as an `http(s)` URL with a host, or `None` (a `file:`, `javascript:` or
/// relative link from an answer is never opened).
pub(super) fn web_link(s: &str) -> Option<Url> {
    let u = Url::parse(s.trim()).ok()?;
    (matches!(u.scheme(), "https" | "http") && u.host_str().is_some()).then_some(u)
}

/// An `unknown` card with what we know about the failed exchange, if any:
/// its request and answer as metric lines, and the answer's facts added to
/// the reason (the adapter's own facts and wording win).
pub(super) fn unknown(ctx: &Context<'_>, mut reason: Reason, ex: Option<&Exchange>) -> Step {
    if let Some(ex) = ex {
        reason.add_facts(&answer_facts(&ex.response));
    }
    let mut card = Card::unknown(reason);
    if let Some(ex) = ex {
        card.metrics = exchange_metrics(ex);
    }
    finish(ctx, card)
}

/// "request: GET /api/v1/sites/x" and "response: HTTP 401, an HTML page":
/// enough to debug a failure from the tray without opening logs.
fn exchange_metrics(ex: &Exchange) -> Vec<Metric> {
    let method = match ex.request.method {
        Method::Get => "GET",
        Method::Post => "POST",
    };
    let mut answer = format!("HTTP {}", ex.response.status);
    let body = BodyKind::of(&ex.response.body);
    if body != BodyKind::Json {
        answer.push_str(", ");
        answer.push_str(body.describe());
    }
    vec![
        Metric::new("request", format!("{method} {}", ex.request.url.path())),
        Metric::new("response", answer),
    ]
}

/// A card with a colour (not `unknown`): status, summary, metrics.
pub(super) fn card(status: Status, summary: impl Into<String>, metrics: Vec<Metric>) -> Card {
    Card {
        status,
        reason: None,
        in_progress: false,
        activity: None,
        summary: summary.into(),
        metrics,
        details: Vec::new(),
        dashboard_url: None,
        link: None,
        gauge: None,
        updated_at: None,
    }
}

/// The most recent exchange for `tag`.
pub(super) fn find<'a>(done: &'a [Exchange], tag: &str) -> Option<&'a Exchange> {
    done.iter().rev().find(|e| e.request.tag == tag)
}

pub(super) fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// A short message from a body that is not JSON: the first line of plain
/// text. HTML pages and empty bodies say nothing useful.
pub(super) fn text_detail(body: &[u8]) -> Option<String> {
    if BodyKind::of(body) != BodyKind::PlainText {
        return None;
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(2048)]);
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(clip(line, 120))
}

/// RFC 3339 timestamps as the APIs send them; `None` for anything else.
pub(super) fn parse_time(s: Option<&str>) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s?.trim(), &Rfc3339).ok()
}

/// A number that may arrive as a JSON number or a numeric string.
pub(super) fn number(v: &Value) -> Option<f64> {
    let n = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }?;
    n.is_finite().then_some(n)
}

/// The largest count a provider can honestly send (visitors, events): far
/// above any real one, far below where `f64` loses whole numbers. Beyond it,
/// or below zero, the answer was not understood — never a card that shows
/// 18,446,744,073,709,551,615 visitors, or "?" on a healthy card.
pub(super) const MAX_COUNT: f64 = 1e15;

/// Whether `n` can be a count: finite, not negative, at most [`MAX_COUNT`].
pub(super) fn is_count(n: f64) -> bool {
    n.is_finite() && (0.0..=MAX_COUNT).contains(&n)
}

/// A number as the answer had it, short even when absurd (1e308, not 309 digits).
pub(super) fn show_number(n: f64) -> String {
    if n.abs() < 1e15 {
        format!("{n}")
    } else {
        format!("{n:e}")
    }
}

/// A count from a lenient number; fractions are truncated. Negative,
/// non-finite and absurdly large values are `None` (unreadable).
pub(super) fn count(v: &Value) -> Option<u64> {
    let n = number(v)?;
    is_count(n).then_some(n as u64)
}

/// A string field that is a JSON string; anything else reads as absent.
pub(super) fn string<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_keep_base_prefix_and_encode_segments() {
        let base = Url::parse("https://host.example/sentry/").unwrap();
        let u = endpoint(
            &base,
            &["api", "0", "projects", "a/b", ""],
            &[("q", "is:x")],
        )
        .unwrap();
        assert_eq!(
            u.as_str(),
            "https://host.example/sentry/api/0/projects/a%2Fb/?q=is%3Ax"
        );
        let bare = Url::parse("https://api.netlify.com").unwrap();
        let u = endpoint(&bare, &["api", "v1", "sites", "www.acme.example"], &[]).unwrap();
        assert_eq!(
            u.as_str(),
            "https://api.netlify.com/api/v1/sites/www.acme.example"
        );
        let odd = Url::parse("mailto:x@example.com").unwrap();
        assert!(endpoint(&odd, &["api"], &[]).is_none());
    }

    #[test]
    fn lenient_numbers() {
        assert_eq!(number(&serde_json::json!("150")), Some(150.0));
        assert_eq!(number(&serde_json::json!(2.5)), Some(2.5));
        assert_eq!(number(&serde_json::json!("many")), None);
        assert_eq!(number(&Value::Null), None);
        assert_eq!(count(&serde_json::json!(-3)), None);
        // Absurd sizes are unreadable, not saturated to u64::MAX.
        assert_eq!(count(&serde_json::json!(1e300)), None);
        assert_eq!(count(&serde_json::json!("1e308")), None);
        assert_eq!(count(&serde_json::json!(1e15)), Some(1_000_000_000_000_000));
        assert_eq!(count(&serde_json::json!(1e15 + 2.0)), None);
        assert_eq!(count(&serde_json::json!("7.9")), Some(7));
        assert!(!is_count(f64::NAN) && !is_count(-0.5) && !is_count(f64::INFINITY));
        assert!(is_count(0.0));
    }

    #[test]
    fn text_details_skip_html_and_empty() {
        assert_eq!(text_detail(b"\n Not Found \n"), Some("Not Found".into()));
        assert_eq!(text_detail(b"<html>x</html>"), None);
        assert_eq!(text_detail(b""), None);
    }
}
