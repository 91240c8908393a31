//! Untrusted text (from a provider's answer or the config) made safe for the medium it reaches: one line for a terminal, a menu label, a notification's markup.
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
pub fn menu_label(s: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
