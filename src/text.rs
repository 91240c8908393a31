//! Text: untrusted text (from a provider's answer or the config) made safe for the medium it reaches — one line for a terminal, a menu label, a notification's markup, HTML — and the one place ages, durations and counts are worded.
//!
//! A Sentry issue title can be set by anyone who holds a project's public
//! DSN; a Netlify error message or a Railway service name is whatever
//! somebody typed. Printed raw, an ESC sequence sets the terminal's title or
//! clears the screen, a CR or LF forges a line ("✓ all healthy"), a bidi
//! override reverses what follows. So every such string passes [`clean`]
//! before it is printed, put in a menu label or sent in a notification, and
//! the medium's own escaping on top ([`menu_label`], [`markup`]). `--json`
//! keeps the raw value: JSON escapes controls itself.

use std::borrow::Cow;
use std::time::Duration;

use time::OffsetDateTime;

/// What a neutralised character becomes: visible, and harmless everywhere.
pub const REPLACEMENT: char = '\u{FFFD}';

/// Characters that reorder text: the embeddings, overrides and isolates,
/// and the Arabic letter mark.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}')
}

/// Whether `c` must not reach a terminal, a label or a notification as is.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// One line of harmless text: tabs, CR and LF become spaces, every other
/// C0/C1 control (ESC, BEL, DEL, CSI…) and every bidi control becomes
/// U+FFFD. Borrows when there is nothing to change.
pub fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| match c {
                '\t' | '\n' | '\r' => ' ',
                c if is_unsafe(c) => REPLACEMENT,
                c => c,
            })
            .collect(),
    )
}

/// A menu label: [`clean`], then `&` doubled, since muda (like GTK and
/// Windows) reads `&x` as a mnemonic and drops the `&` ("R&D" showed as "RD").
pub(crate) fn menu_label(s: &str) -> String {
    clean(s).replace('&', "&&")
}

/// A desktop notification's body, which freedesktop daemons render as
/// markup: [`clean`], then `&`, `<` and `>` escaped (an `&` made dunst drop
/// "<Team>" from "R&D <Team>", and a remote `<b>` rendered). The summary is
/// plain text by the spec (dunst escapes it itself): it only gets [`clean`].
pub fn markup(s: &str) -> String {
    let c = clean(s);
    let mut out = String::with_capacity(c.len());
    for ch in c.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Text for an HTML document (an element's content or a quoted attribute):
/// [`clean`], then `&`, `<`, `>`, `"` and `'` as entities. The dashboard's
/// page puts provider and config text in as DOM text; this is for the few
/// pages the server writes itself.
pub fn html(s: &str) -> String {
    let c = clean(s);
    let mut out = String::with_capacity(c.len());
    for ch in c.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

// ---- ages, durations, counts ---------------------------------------------------

/// Shortens text for a one-line message, on a character boundary.
pub fn clip(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

/// "2 min ago", "3 h ago", "just now" — relative ages for metric lines.
pub fn ago(then: OffsetDateTime, now: OffsetDateTime) -> String {
    let secs = (now - then).whole_seconds();
    if secs < 45 {
        return "just now".into();
    }
    let mins = (secs + 30) / 60;
    if mins < 60 {
        return format!("{mins} min ago");
    }
    let hours = (secs + 1800) / 3600;
    if hours < 48 {
        return format!("{hours} h ago");
    }
    format!("{} d ago", (secs + 43200) / 86400)
}

/// How long until the "updated … ago" label of a card updated at `then`
/// changes (the rounding of [`ago`]: just now < 45 s, minutes, hours, days).
pub fn next_age_change(then: OffsetDateTime, now: OffsetDateTime) -> Duration {
    let secs = (now - then).whole_seconds().max(0);
    let next = if secs < 45 {
        45
    } else if secs < 3570 {
        // minutes = (secs + 30) / 60 steps at 60k + 30
        ((secs + 30) / 60 + 1) * 60 - 30
    } else if secs < 48 * 3600 - 1800 {
        ((secs + 1800) / 3600 + 1) * 3600 - 1800
    } else {
        ((secs + 43200) / 86400 + 1) * 86400 - 43200
    };
    Duration::from_secs((next - secs).max(1) as u64)
}

/// Reasons read as a sentence; the adapters' messages already say what to do,
/// so this only makes sure the kind is visible when the message does not say it.
/// "45 s", "14 min", "2 h 5 min", "3 d".
pub fn span(d: Duration) -> String {
    let s = (d.as_millis() as u64).div_ceil(1000).max(1);
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min", (s + 30) / 60)
    } else if s < 48 * 3600 {
        let m = (s + 30) / 60;
        match m % 60 {
            0 => format!("{} h", m / 60),
            r => format!("{} h {r} min", m / 60),
        }
    } else {
        format!("{} d", (s + 43200) / 86400)
    }
}

/// "15 s", "300 ms".
pub(crate) fn short_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// 1234567 → "1,234,567".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Parses a human duration: "60s", "5m", "1h", "90" (seconds), "1m30s".
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(n) = t.parse::<u64>() {
        return Ok(Duration::from_secs(n));
    }
    let mut total = 0u64;
    let mut num = String::new();
    let mut saw_unit = false;
    let bad = || format!("`{s}` is not a duration: write it like \"30s\", \"5m\" or \"1h\"");
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        if c.is_whitespace() {
            continue;
        }
        let mut unit = c.to_string();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_alphabetic() {
                unit.push(n);
                chars.next();
            } else {
                break;
            }
        }
        let n: u64 = num.parse().map_err(|_| bad())?;
        num.clear();
        let mult = match unit.to_ascii_lowercase().as_str() {
            "s" | "sec" | "secs" | "second" | "seconds" => 1,
            "m" | "min" | "mins" | "minute" | "minutes" => 60,
            "h" | "hr" | "hour" | "hours" => 3600,
            _ => return Err(bad()),
        };
        total = n
            .checked_mul(mult)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        saw_unit = true;
    }
    if !num.is_empty() || !saw_unit {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// Formats a duration the way [`parse_duration`] reads it ("60s", "5m", "1h").
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s >= 60 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    #[test]
    fn ages_read_naturally() {
        let now = datetime!(2026-08-22 12:00 UTC);
        assert_eq!(ago(datetime!(2026-08-22 11:59:40 UTC), now), "just now");
        assert_eq!(ago(datetime!(2026-08-22 11:58 UTC), now), "2 min ago");
        assert_eq!(ago(datetime!(2026-08-22 10:00 UTC), now), "2 h ago");
        assert_eq!(ago(datetime!(2026-08-19 12:00 UTC), now), "3 d ago");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn durations_parse_and_format() {
        assert_eq!(parse_duration("60s").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("45").unwrap(), Duration::from_secs(45));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("m").is_err());
        assert_eq!(format_duration(Duration::from_secs(60)), "1m");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::from_secs(7200)), "2h");
    }

    #[test]
    fn escapes_and_line_breaks_are_neutralised() {
        assert_eq!(clean("plain"), Cow::Borrowed("plain"));
        assert_eq!(clean("a\nb\r\tc"), "a b  c");
        assert_eq!(
            clean("\u{1b}]0;pwned\u{7}title"),
            "\u{FFFD}]0;pwned\u{FFFD}title"
        );
        assert_eq!(clean("\u{1b}[2Jclear"), "\u{FFFD}[2Jclear");
        assert_eq!(clean("C1\u{9b}31m"), "C1\u{FFFD}31m");
        assert_eq!(clean("abc\u{202E}gnp.exe"), "abc\u{FFFD}gnp.exe");
        assert_eq!(clean("del\u{7f}"), "del\u{FFFD}");
        assert_eq!(clean("Ünïcødé ✓ 日本"), "Ünïcødé ✓ 日本");
    }

    #[test]
    fn each_medium_gets_its_escaping() {
        assert_eq!(menu_label("R&D"), "R&&D");
        assert_eq!(menu_label("A&&B\n"), "A&&&&B ");
        assert_eq!(markup("R&D <Team>"), "R&amp;D &lt;Team&gt;");
        assert_eq!(markup("<b>big</b>\u{1b}"), "&lt;b&gt;big&lt;/b&gt;\u{FFFD}");
    }

    proptest! {
        /// Nothing [`clean`], [`menu_label`] or [`markup`] returns holds a
        /// control or bidi character, whatever went in; text without any is
        /// returned unchanged by [`clean`].
        #[test]
        fn no_output_holds_a_control_or_bidi_character(s in any::<String>()) {
            for out in [clean(&s).into_owned(), menu_label(&s), markup(&s)] {
                prop_assert!(!out.chars().any(is_unsafe), "{out:?}");
            }
            if !s.chars().any(is_unsafe) {
                prop_assert_eq!(clean(&s), Cow::Borrowed(s.as_str()));
            }
            // One character in, one out: nothing is dropped or merged.
            prop_assert_eq!(clean(&s).chars().count(), s.chars().count());
        }

        /// `--json` keeps the raw value: JSON escaping round-trips it exactly.
        #[test]
        fn json_round_trips_the_raw_value(s in any::<String>()) {
            let j = serde_json::to_string(&s).unwrap();
            prop_assert!(!j.chars().any(|c| c.is_control()));
            prop_assert_eq!(serde_json::from_str::<String>(&j).unwrap(), s);
        }

        /// Markup escaping leaves no raw `<`, `>` or unescaped `&`.
        #[test]
        fn markup_has_no_tags(s in any::<String>()) {
            let m = markup(&s);
            prop_assert!(!m.contains('<') && !m.contains('>'));
            prop_assert_eq!(m.matches('&').count(), m.matches("&amp;").count() + m.matches("&lt;").count() + m.matches("&gt;").count());
        }
    }
}
