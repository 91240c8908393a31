//! The page's files, embedded in the binary at build time (it works offline, nothing comes from a CDN): the HTML shell, its script and style, the status marks drawn by the tray icon's own code, and a monogram per provider.

use std::sync::OnceLock;

use axum::response::Response;

use super::bytes_response;
use crate::model::Provider;
use crate::view::icon::{self, IconSpec, Look};

const INDEX: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// Assets may be kept by the browser for this run; the page itself never.
const CACHE: &str = "no-cache";

/// The page's HTML shell (the grid is drawn by app.js from `/api/state`).
pub(super) fn index() -> Response {
    bytes_response("text/html; charset=utf-8", "no-store", INDEX)
}

const LOOKS: [Look; 6] = [
    Look::Healthy,
    Look::Degraded,
    Look::Down,
    Look::Unknown,
    Look::Loading,
    Look::Offline,
];

/// The status mark as a PNG: the tray icon's disc and glyph, drawn by the same code.
fn status_png(name: &str) -> Option<&'static [u8]> {
    static PNGS: OnceLock<Vec<(&'static str, Vec<u8>)>> = OnceLock::new();
    let all = PNGS.get_or_init(|| {
        LOOKS
            .iter()
            .map(|l| (l.name(), icon::png(IconSpec::new(*l), 64)))
            .collect()
    });
    all.iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| b.as_slice())
}

/// A provider's mark: its initial on a colour of its own. Made from the
/// provider's id and name, so a provider added to the registry gets one too.
pub(super) fn provider_svg(id: &str) -> Option<String> {
    let p: Provider = id.parse().ok()?;
    let colour = match p.as_str() {
        "railway" => "#6b3fd4".to_string(),
        "plausible" => "#4f46e5".to_string(),
        "netlify" => "#0e8a7e".to_string(),
        "sentry" => "#4a3a75".to_string(),
        other => {
            let h = other
                .bytes()
                .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
            format!("hsl({}, 55%, 38%)", h % 360)
        }
    };
    let initial = p.title().chars().next().unwrap_or('?');
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 32 32\" width=\"32\" height=\"32\">\
         <rect width=\"32\" height=\"32\" rx=\"7\" fill=\"{colour}\"/>\
         <text x=\"16\" y=\"22.5\" text-anchor=\"middle\" font-family=\"system-ui, sans-serif\" \
         font-size=\"18\" font-weight=\"700\" fill=\"#fff\">{}</text></svg>",
        crate::text::html(&initial.to_string())
    ))
}

/// An asset by path (`/assets/...`); `None` when there is none.
pub(super) fn serve(path: &str) -> Option<Response> {
    let name = path.strip_prefix("/assets/")?;
    match name {
        "app.js" => Some(bytes_response(
            "text/javascript; charset=utf-8",
            CACHE,
            APP_JS,
        )),
        "app.css" => Some(bytes_response("text/css; charset=utf-8", CACHE, APP_CSS)),
        _ => {
            if let Some(look) = name
                .strip_prefix("status/")
                .and_then(|n| n.strip_suffix(".png"))
            {
                return status_png(look).map(|b| bytes_response("image/png", CACHE, b));
            }
            let id = name
                .strip_prefix("provider/")
                .and_then(|n| n.strip_suffix(".svg"))?;
            provider_svg(id).map(|svg| bytes_response("image/svg+xml", CACHE, svg))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_and_provider_has_a_mark() {
        for l in LOOKS {
            let png = status_png(l.name()).unwrap();
            assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        }
        assert!(status_png("nope").is_none());
        for p in Provider::ALL {
            let svg = provider_svg(p.as_str()).unwrap();
            assert!(svg.starts_with("<svg") && svg.contains(&p.title()[..1]));
        }
        assert!(provider_svg("heroku").is_none());
        assert!(serve("/assets/../Cargo.toml").is_none());
    }

    #[test]
    fn the_page_has_no_inline_script_or_style_and_nothing_from_elsewhere() {
        // The CSP forbids inline code; the page must not need it.
        assert!(!INDEX.contains("<script>"), "inline script");
        assert!(!INDEX.contains("style="), "inline style");
        assert!(!INDEX.contains("<style"), "inline style element");
        let handler = INDEX.split(" on").skip(1).any(|rest| {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect();
            !name.is_empty() && rest[name.len()..].starts_with('=')
        });
        assert!(!handler, "an inline event handler");
        for text in [INDEX, APP_CSS] {
            assert!(!text.contains("://"), "nothing from elsewhere");
        }
        // The only address in the script is the SVG namespace.
        assert_eq!(
            APP_JS.matches("://").count(),
            APP_JS.matches("http://www.w3.org/2000/svg").count()
        );
        assert!(!APP_JS.contains("innerHTML"), "text goes in as text");
        assert!(!APP_JS.contains("eval("));
    }
}
