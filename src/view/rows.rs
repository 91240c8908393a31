//! The menu's words for a card: a short title, at most two rows that add something the title does not say, reasons written for a user, a time line that never contradicts itself, and labels cut or wrapped at about 60 characters.
//!
//! `overwatch status` prints every line of a card ([`super::card::lines`]);
//! the menu has less room and more readers who are not debugging: a title row
//! ("Shop · Railway — api crashed"), a row or two of what matters, and the
//! rest one level down. Nothing here is provider-specific: the rules read the
//! card's words (a metric whose every word is already in the summary adds
//! nothing), so a new provider gets the same treatment.

use time::OffsetDateTime;

use crate::model::{Card, ReasonKind, Status};
use crate::text::ago;

/// About how many characters a menu label may take before it is cut (a row)
/// or wrapped (one level down): wider menus were 1,155 px.
pub const WIDTH: usize = 60;

/// `s` cut at [`WIDTH`] characters, at a word boundary when there is one in
/// the last third, with "…"; the flag says whether anything was cut.
pub(crate) fn cut(s: &str) -> (String, bool) {
    cut_at(s, WIDTH)
}

fn cut_at(s: &str, width: usize) -> (String, bool) {
    let s = s.trim();
    if s.chars().count() <= width {
        return (s.to_string(), false);
    }
    let head: String = s.chars().take(width.saturating_sub(1)).collect();
    let at = head
        .rfind(' ')
        .filter(|&i| head[..i].chars().count() >= width * 2 / 3)
        .unwrap_or(head.len());
    let mut out = head[..at]
        .trim_end()
        .trim_end_matches([',', ';', ':', '—'])
        .to_string();
    out = out.trim_end().to_string();
    out.push('…');
    (out, true)
}

/// `s` as lines of at most [`WIDTH`] characters, broken between words (a
/// word longer than a line is split); lines after the first are indented.
pub(crate) fn wrap(s: &str) -> Vec<String> {
    const INDENT: &str = "   ";
    // Most lines fit as they are (what the loop below would make of them).
    let plain = !s.is_empty()
        && s.trim() == s
        && !s.contains("  ")
        && !s.chars().any(|c| c.is_whitespace() && c != ' ');
    if plain && s.chars().count() <= WIDTH {
        return vec![s.to_string()];
    }
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in s.split_whitespace() {
        let mut word = word.to_string();
        loop {
            let limit = if lines.is_empty() {
                WIDTH
            } else {
                WIDTH - INDENT.len()
            };
            let len = line.chars().count();
            let wlen = word.chars().count();
            let sep = usize::from(len > 0);
            if len + sep + wlen <= limit {
                if sep == 1 {
                    line.push(' ');
                }
                line.push_str(&word);
                break;
            }
            if len > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A word longer than a whole line: split it.
            let head: String = word.chars().take(limit).collect();
            word = word.chars().skip(limit).collect();
            lines.push(head);
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| if i == 0 { l } else { format!("{INDENT}{l}") })
        .collect()
}

/// Words of a line for comparing meaning: lower case, split at anything not
/// a letter or digit, and the ways of saying zero made one.
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let w = w.to_lowercase();
            match w.as_str() {
                "no" | "none" | "nothing" | "never" | "zero" | "0" => "0".to_string(),
                _ => w,
            }
        })
        .collect()
}

/// Whether a metric's value says nothing the summary does not already say
/// ("visitors now: 23" under "1,934 visitors today, 23 now").
#[cfg(test)]
pub(crate) fn repeats(summary: &str, value: &str) -> bool {
    says_nothing_new(&words(summary), value)
}

/// [`repeats`] with the summary's words worked out once.
fn says_nothing_new(known: &[String], value: &str) -> bool {
    let said = words(value);
    !said.is_empty() && said.iter().all(|w| known.contains(w))
}

/// A short phrase for the title of a card that could not be checked.
pub(crate) fn short_reason(kind: ReasonKind) -> &'static str {
    match kind {
        ReasonKind::Offline => "offline",
        ReasonKind::Unreachable => "can't reach the API",
        ReasonKind::Timeout => "no answer in time",
        ReasonKind::Auth => "API key rejected",
        ReasonKind::RateLimited => "rate limited",
        ReasonKind::Config => "check the settings",
        ReasonKind::BadResponse => "unexpected answer",
    }
}

/// Whether a parenthetical is detail for a developer: a raw HTTP status
/// line ("HTTP 401: Invalid token"), a parser's position, a body's format.
fn is_raw_detail(inner: &str) -> bool {
    let has_http_status = inner.match_indices("HTTP ").any(|(i, _)| {
        inner[i + 5..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    });
    has_http_status
        || inner.contains("JSON")
        || (inner.contains("line ") && inner.contains("column "))
}

/// Removes the parentheticals that are raw detail ([`is_raw_detail`]).
fn drop_raw_parentheticals(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('(') {
        // The matching close, allowing nesting.
        let mut depth = 0usize;
        let mut close = None;
        for (i, c) in rest[open..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(open + i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(close) = close else { break };
        let inner = &rest[open + 1..close];
        if is_raw_detail(inner) {
            out.push_str(rest[..open].trim_end());
        } else {
            out.push_str(&rest[..=close]);
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Backticks are for terminals: "run `overwatch secret set x`" reads
/// "Run: overwatch secret set x", and any other quoted name keeps its text.
fn drop_backticks(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('`') {
        let before = &rest[..i];
        let lower = before.to_lowercase();
        if lower.ends_with("run ") {
            out.push_str(&before[..before.len() - 4]);
            out.push_str(
                if before.len() == 4 || before[..before.len() - 4].trim_end().is_empty() {
                    "Run: "
                } else {
                    "run: "
                },
            );
        } else {
            out.push_str(before);
        }
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
    out
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A reason's message as sentences for a user: no raw HTTP lines or parser
/// positions, no backticks, one sentence per "—" or ";" part, key names kept.
pub(crate) fn user_reason(message: &str) -> Vec<String> {
    let text = drop_backticks(&drop_raw_parentheticals(message));
    text.split(" — ")
        .flat_map(|part| part.split("; "))
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .map(|p| p.trim_end_matches(['.', ',', ';']).to_string())
        .filter(|p| !p.is_empty())
        .map(|p| capitalise(&p))
        .collect()
}

/// The card's time line. A card never checked says so; an offline card says
/// when it was last checked and why it is not newer; a stale card whose
/// latest check failed says both when it was checked and when an answer
/// last came. Never "updated just now — stale".
pub(crate) fn time_line(
    updated_at: Option<OffsetDateTime>,
    last_success: Option<OffsetDateTime>,
    now: OffsetDateTime,
    stale: bool,
    offline: bool,
) -> String {
    let Some(t) = updated_at.or(last_success) else {
        return "not checked yet".into();
    };
    if offline {
        return format!("last checked {} (offline)", ago(t, now));
    }
    if stale {
        return match last_success {
            Some(good) if ago(good, now) != ago(t, now) => {
                format!("checked {} · last answer {}", ago(t, now), ago(good, now))
            }
            _ => format!("last checked {} — overdue", ago(t, now)),
        };
    }
    format!("updated {}", ago(t, now))
}

/// A card as the menu shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MenuCard {
    /// "Shop · Railway — api crashed", cut to [`WIDTH`].
    pub title: String,
    /// What the title says after the name ("api crashed", "API key rejected").
    pub summary: String,
    /// The full summary or reason, one sentence per line, wrapped: shown one
    /// level down when the title had to cut it, or when it is a reason.
    pub full: Vec<String>,
    /// Rows worth showing under the title, best first (cut to [`WIDTH`]).
    pub rows: Vec<String>,
    /// Every metric line that adds something, wrapped, for one level down.
    pub details: Vec<String>,
}

/// The menu's view of a card (`None`: no answer yet) under a title that
/// starts with `name` ("Shop · Railway").
pub(crate) fn menu_card(name: &str, card: Option<&Card>) -> MenuCard {
    let clean = |s: &str| crate::text::clean(s).into_owned();
    let Some(c) = card else {
        let summary = "checking…".to_string();
        return MenuCard {
            title: cut(&format!("{name} — {summary}")).0,
            summary,
            full: Vec::new(),
            rows: Vec::new(),
            details: Vec::new(),
        };
    };
    let reason = c.reason.as_ref().filter(|_| c.status == Status::Unknown);
    let (summary, sentences) = match reason {
        Some(r) => (
            short_reason(r.kind).to_string(),
            user_reason(&clean(&r.message)),
        ),
        None => (clean(&c.summary), Vec::new()),
    };
    let (title, title_cut) = cut(&format!("{name} — {summary}"));
    let known = words(&summary);
    let mut rows = Vec::new();
    let mut full = Vec::new();
    if reason.is_some() {
        // The reason's sentences are the rows: the fix is what people need.
        for s in &sentences {
            rows.push(cut(s).0);
            full.extend(wrap(s));
        }
    } else if title_cut {
        full.extend(wrap(&summary));
    }
    let mut metrics: Vec<(String, String)> = c
        .metrics
        .iter()
        // The exchange behind a failed check ("request: GET /api/…",
        // "response: HTTP 401") is for `status --json`, not the menu.
        .filter(|m| !(reason.is_some() && matches!(m.label.as_str(), "request" | "response")))
        .map(|m| (clean(&m.label), clean(&m.value)))
        .filter(|(_, v)| !says_nothing_new(&known, v))
        .collect();
    let mut activity_row = None;
    if c.in_progress {
        let what = c
            .activity
            .as_deref()
            .map(clean)
            .unwrap_or_else(|| "deploy in progress".into());
        // A metric that says the same thing with more ("building (started
        // 2 min ago)") becomes the activity row instead of a second line.
        let fuller = metrics
            .iter()
            .position(|(_, v)| v.to_lowercase().contains(&what.to_lowercase()));
        let text = match fuller {
            Some(i) => metrics.remove(i).1,
            None => what,
        };
        activity_row = Some(format!("⟳ {text}"));
    }
    let lines: Vec<String> = metrics.iter().map(|(l, v)| format!("{l}: {v}")).collect();
    let mut details = Vec::new();
    if let Some(a) = &activity_row {
        details.extend(wrap(a));
        rows.insert(0, cut(a).0);
    }
    for l in &lines {
        details.extend(wrap(l));
        if reason.is_none() {
            rows.push(cut(l).0);
        }
    }
    MenuCard {
        title,
        summary,
        full,
        rows,
        details,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Metric, Reason};
    use time::macros::datetime;

    #[test]
    fn labels_cut_at_a_word_near_60_characters() {
        let (s, was) = cut("short");
        assert_eq!((s.as_str(), was), ("short", false));
        let long = "Railway answered with a server error and then some more words to go past sixty";
        let (s, was) = cut(long);
        assert!(was);
        assert!(s.chars().count() <= WIDTH, "{s}");
        assert!(s.ends_with('…'));
        assert!(long.starts_with(s.trim_end_matches('…')), "{s}");
        assert!(!s.trim_end_matches('…').ends_with(' '));
        // No space to break at: cut inside the word.
        let (s, _) = cut(&"x".repeat(100));
        assert_eq!(s.chars().count(), WIDTH);
    }

    #[test]
    fn long_text_wraps_into_lines_of_at_most_60() {
        let text = "Set PLAUSIBLE_TOKEN to a valid key in the environment Overwatch runs in (Plausible also answers 401 when site id blog.example.com is wrong or the key cannot see it)";
        let lines = wrap(text);
        assert!(lines.len() >= 3, "{lines:?}");
        for l in &lines {
            assert!(l.chars().count() <= WIDTH, "{l}");
        }
        assert!(lines[1].starts_with("   "), "continuations are indented");
        let back: Vec<&str> = lines.iter().flat_map(|l| l.split_whitespace()).collect();
        assert_eq!(back.join(" "), text, "nothing lost");
        let long_word = wrap(&"y".repeat(130));
        assert_eq!(long_word.len(), 3);
        assert!(long_word.iter().all(|l| l.chars().count() <= WIDTH));
    }

    #[test]
    fn reasons_read_for_a_user_with_key_names_kept() {
        assert_eq!(
            user_reason("API key `acme-railway` was rejected (HTTP 401) — run `overwatch secret set acme-railway`"),
            ["API key acme-railway was rejected", "Run: overwatch secret set acme-railway"]
        );
        assert_eq!(
            user_reason("Railway rejected API key `env:RW` (Not Authorized, HTTP 200) — it must be an account or workspace token that can see project p (a project token needs token_kind = \"project\"); set RW to a valid key"),
            [
                "Railway rejected API key env:RW",
                "It must be an account or workspace token that can see project p (a project token needs token_kind = \"project\")",
                "Set RW to a valid key"
            ]
        );
        assert_eq!(
            user_reason("Plausible sent a aggregate stats that could not be read (malformed JSON: EOF while parsing a string at line 1 column 44)"),
            ["Plausible sent a aggregate stats that could not be read"]
        );
        assert_eq!(
            user_reason("Railway answered with a server error (HTTP 502: error code: 502)"),
            ["Railway answered with a server error"]
        );
        // A parenthetical that helps stays.
        let kept = user_reason(
            "site id `x` is wrong (Plausible also answers 401 when the key cannot see it)",
        );
        assert_eq!(
            kept,
            ["Site id x is wrong (Plausible also answers 401 when the key cannot see it)"]
        );
        for s in user_reason("a `b` (HTTP 404) — run `c` — d (line 3 column 4)") {
            assert!(
                !s.contains('`') && !s.contains("HTTP") && !s.contains("column"),
                "{s}"
            );
        }
    }

    #[test]
    fn a_metric_that_only_repeats_the_summary_adds_nothing() {
        let s = "1,934 visitors today, 23 now";
        assert!(repeats(s, "23"));
        assert!(repeats(s, "1,934"));
        assert!(!repeats(s, "1,934 (+4 % vs yesterday)"));
        assert!(repeats("all 2 services running", "2/2 running"));
        assert!(!repeats("api crashed", "1/2 running, 1 crashed"));
        assert!(repeats("no unresolved errors in the last hour", "0"));
        assert!(repeats("no unresolved errors in the last hour", "none"));
        assert!(repeats(
            "production deploy failed and nothing is published",
            "never"
        ));
        assert!(!repeats("anything", ""), "an empty value is not a repeat");
    }

    #[test]
    fn time_lines_never_contradict_themselves() {
        let now = datetime!(2026-11-25 18:00 UTC);
        let t = datetime!(2026-11-25 17:48 UTC);
        assert_eq!(time_line(None, None, now, false, false), "not checked yet");
        assert_eq!(time_line(None, None, now, true, true), "not checked yet");
        assert_eq!(
            time_line(Some(t), Some(t), now, false, false),
            "updated 12 min ago"
        );
        assert_eq!(
            time_line(Some(t), Some(t), now, true, true),
            "last checked 12 min ago (offline)"
        );
        // Offline a moment ago: not "updated just now — stale".
        let l = time_line(Some(now), Some(now), now, true, true);
        assert_eq!(l, "last checked just now (offline)");
        // Checks fail: checked now, the last answer is old.
        assert_eq!(
            time_line(Some(now), Some(t), now, true, false),
            "checked just now · last answer 12 min ago"
        );
        assert_eq!(
            time_line(Some(t), Some(t), now, true, false),
            "last checked 12 min ago — overdue"
        );
        for (u, s, st, off) in [
            (Some(now), Some(now), true, false),
            (Some(now), None, true, false),
            (Some(now), Some(now), true, true),
        ] {
            let l = time_line(u, s, now, st, off);
            assert!(!(l.contains("just now") && l.contains("stale")), "{l}");
        }
    }

    fn card(summary: &str, metrics: &[(&str, &str)]) -> Card {
        Card {
            status: Status::Healthy,
            summary: summary.into(),
            metrics: metrics.iter().map(|(l, v)| Metric::new(*l, *v)).collect(),
            ..Card::loading()
        }
    }

    #[test]
    fn rows_add_something_the_title_does_not_say() {
        let c = card(
            "1,934 visitors today, 23 now",
            &[
                ("visitors now", "23"),
                ("visitors today", "1,934 (+4 % vs yesterday)"),
                ("pageviews today", "5,822 (+6 % vs yesterday)"),
            ],
        );
        let m = menu_card("Site · Plausible", Some(&c));
        assert_eq!(m.summary, "1,934 visitors today, 23 now");
        assert_eq!(m.title, "Site · Plausible — 1,934 visitors today, 23 now");
        assert_eq!(
            m.rows,
            [
                "visitors today: 1,934 (+4 % vs yesterday)",
                "pageviews today: 5,822 (+6 % vs yesterday)"
            ]
        );
        assert_eq!(m.details, m.rows, "the same lines one level down");
        assert!(m.full.is_empty(), "the title holds the whole summary");
    }

    #[test]
    fn a_running_deploy_is_one_row_with_the_most_said() {
        let mut c = card(
            "acme-docs live, published 3 h ago",
            &[
                ("published", "3 h ago"),
                ("last deploy", "ready 3 h ago"),
                ("in progress", "building (started 2 min ago)"),
            ],
        );
        c.in_progress = true;
        c.activity = Some("building".into());
        let m = menu_card("Site · Plausible", Some(&c));
        assert_eq!(
            m.rows,
            [
                "⟳ building (started 2 min ago)",
                "last deploy: ready 3 h ago"
            ]
        );
    }

    #[test]
    fn an_unknown_card_says_why_in_words_for_a_user() {
        let mut c = Card::unknown(Reason::new(
            ReasonKind::Auth,
            "API key `acme-railway` was rejected (HTTP 401) — run `overwatch secret set acme-railway`",
        ));
        c.metrics = vec![
            Metric::new("request", "POST /graphql/v2"),
            Metric::new("response", "HTTP 401"),
        ];
        let m = menu_card("Site · Plausible", Some(&c));
        assert_eq!(m.summary, "API key rejected");
        assert_eq!(
            m.rows,
            [
                "API key acme-railway was rejected",
                "Run: overwatch secret set acme-railway"
            ]
        );
        assert_eq!(m.full, m.rows);
        assert!(m.details.is_empty(), "no request or response lines: {m:?}");
    }

    #[test]
    fn a_long_summary_is_cut_in_the_title_and_whole_one_level_down() {
        let long = "api: deploy failed, previous deploy serving, and a great many words after that";
        let m = menu_card("Shop · Railway", Some(&card(long, &[])));
        assert!(m.title.starts_with("Shop · Railway — api: deploy failed"));
        assert!(m.title.ends_with('…') && m.title.chars().count() <= WIDTH);
        assert!(m.full.len() >= 2);
        assert_eq!(
            m.full
                .iter()
                .flat_map(|l| l.split_whitespace())
                .collect::<Vec<_>>()
                .join(" "),
            long
        );
    }
}
