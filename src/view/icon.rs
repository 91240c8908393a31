//! The tray icon as RGBA pixels: a status-coloured disc with a glyph that reads without colour (✓ ! × ? …), drawn at any size.
//!
//! Drawn from vector shapes rather than scaled from one bitmap, so it stays
//! crisp at every size a platform asks for (16–44 px, HiDPI). `icons/` holds
//! PNGs rendered by this same code (`cargo run --example icons`).

use crate::model::Status;

/// What the icon shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Look {
    Healthy,
    Degraded,
    Down,
    Unknown,
    Loading,
    /// The machine is offline: last known state kept; a crossed-out cloud.
    Offline,
    /// Nothing to watch yet (an empty config): neither good nor bad news.
    Neutral,
    /// A dashboard link in the menu (link-only services colour nothing).
    Link,
}

impl Look {
    /// Every look, in the order the icon files and the contact sheet list them.
    pub const ALL: [Look; 8] = [
        Look::Healthy,
        Look::Degraded,
        Look::Down,
        Look::Unknown,
        Look::Loading,
        Look::Offline,
        Look::Neutral,
        Look::Link,
    ];
}

impl Look {
    pub(crate) fn from_status(s: Status) -> Look {
        match s {
            Status::Healthy => Look::Healthy,
            Status::Degraded => Look::Degraded,
            Status::Down => Look::Down,
            Status::Unknown => Look::Unknown,
            Status::Loading => Look::Loading,
        }
    }

    /// The disc colour (sRGB).
    pub(crate) fn rgb(self) -> [u8; 3] {
        match self {
            Look::Healthy => [34, 160, 74],
            Look::Degraded => [232, 150, 0],
            Look::Down => [214, 36, 36],
            Look::Unknown => [118, 118, 128],
            Look::Loading => [70, 110, 210],
            Look::Offline => [150, 150, 150],
            Look::Neutral => [84, 110, 140],
            Look::Link => [120, 130, 150],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Look::Healthy => "healthy",
            Look::Degraded => "degraded",
            Look::Down => "down",
            Look::Unknown => "unknown",
            Look::Loading => "loading",
            Look::Offline => "offline",
            Look::Neutral => "neutral",
            Look::Link => "link",
        }
    }
}

/// Everything that decides the pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IconSpec {
    pub look: Look,
    /// "Colour only when not healthy": a healthy icon is drawn monochrome
    /// (black with alpha, usable as a macOS template image).
    pub monochrome_when_healthy: bool,
    /// A deploy is running: a small badge, never a colour change.
    pub badge: bool,
}

impl IconSpec {
    pub fn new(look: Look) -> IconSpec {
        IconSpec {
            look,
            monochrome_when_healthy: false,
            badge: false,
        }
    }

    fn monochrome(&self) -> bool {
        self.monochrome_when_healthy && self.look == Look::Healthy
    }
}

/// The app's id: the name of its desktop entry, AppStream metainfo and
/// menu icon in the Linux package (`pkg/`).
pub const APP_ID: &str = "rs.overwatch.Overwatch";

/// The sizes of the app icon in the hicolor theme (`pkg/icons/hicolor/NxN/apps/`),
/// beside a scalable SVG.
pub const APP_ICON_SIZES: [u32; 8] = [16, 22, 24, 32, 48, 64, 128, 256];

/// Badge colour: blue, distinct from every status colour.
pub const BADGE_RGB: [u8; 3] = [40, 120, 255];

/// Where tests and the end-to-end check read the disc colour: above the glyph.
pub fn probe_point(size: u32) -> (u32, u32) {
    (size / 2, size * 15 / 100)
}

/// Renders `spec` as `size`×`size` RGBA, row by row.
pub fn render(spec: IconSpec, size: u32) -> Vec<u8> {
    let n = size.max(8) as usize;
    let mut px = vec![0u8; n * n * 4];
    const SS: usize = 4; // supersamples per axis, for smooth edges
    let disc = spec.look.rgb();
    let mono = spec.monochrome();
    for y in 0..n {
        for x in 0..n {
            let (mut a_disc, mut a_glyph, mut a_badge) = (0.0f32, 0.0f32, 0.0f32);
            for sy in 0..SS {
                for sx in 0..SS {
                    // Unit coordinates: the icon spans 0..1 on both axes.
                    let u = (x as f32 + (sx as f32 + 0.5) / SS as f32) / n as f32;
                    let v = (y as f32 + (sy as f32 + 0.5) / SS as f32) / n as f32;
                    let in_badge = spec.badge && dist(u, v, 0.82, 0.18) <= 0.17;
                    let ring_cut = spec.badge && dist(u, v, 0.82, 0.18) <= 0.22;
                    if in_badge {
                        a_badge += 1.0;
                    } else if !ring_cut && in_disc(spec.look, mono, u, v) {
                        if glyph(spec.look, u, v) {
                            a_glyph += 1.0;
                        } else {
                            a_disc += 1.0;
                        }
                    }
                }
            }
            let total = (SS * SS) as f32;
            let (a_disc, a_glyph, a_badge) = (a_disc / total, a_glyph / total, a_badge / total);
            let alpha = a_disc + a_glyph + a_badge;
            if alpha <= 0.0 {
                continue;
            }
            // Colour of the covered part, weighted by coverage.
            let glyph_rgb = if mono { [0, 0, 0] } else { [255, 255, 255] };
            let disc_rgb = if mono { [0, 0, 0] } else { disc };
            let mut rgb = [0f32; 3];
            for (i, c) in rgb.iter_mut().enumerate() {
                *c = (disc_rgb[i] as f32 * a_disc
                    + glyph_rgb[i] as f32 * a_glyph
                    + BADGE_RGB[i] as f32 * a_badge)
                    / alpha;
            }
            // Monochrome: the glyph is cut out of the disc (template images use alpha only).
            let alpha = if mono { a_disc + a_badge } else { alpha };
            let o = (y * n + x) * 4;
            px[o] = rgb[0].round() as u8;
            px[o + 1] = rgb[1].round() as u8;
            px[o + 2] = rgb[2].round() as u8;
            px[o + 3] = (alpha.min(1.0) * 255.0).round() as u8;
        }
    }
    px
}

fn dist(u: f32, v: f32, cx: f32, cy: f32) -> f32 {
    ((u - cx).powi(2) + (v - cy).powi(2)).sqrt()
}

fn in_disc(_look: Look, _mono: bool, u: f32, v: f32) -> bool {
    dist(u, v, 0.5, 0.5) <= DISC_R
}

/// Distance from a point to a line segment.
fn seg(u: f32, v: f32, (ax, ay): (f32, f32), (bx, by): (f32, f32)) -> f32 {
    let (dx, dy) = (bx - ax, by - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((u - ax) * dx + (v - ay) * dy) / len2).clamp(0.0, 1.0)
    };
    dist(u, v, ax + t * dx, ay + t * dy)
}

/// Half the width of the glyph's strokes (they are 0.12 wide).
const W: f32 = 0.06;
/// The disc's radius.
const DISC_R: f32 = 0.46;

/// One piece of a glyph, in unit coordinates (0..1, y down). The pixels and
/// the SVG are both drawn from these, so they cannot drift apart.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// A stroke `2·W` wide with round ends.
    Seg((f32, f32), (f32, f32)),
    /// A filled dot.
    Dot((f32, f32), f32),
    /// A ring of radius `r`, `2·W` wide.
    Ring((f32, f32), f32),
    /// The question mark's hook: a ring of radius `r`, `2·W` wide, without
    /// its lower-left quarter (cut square).
    Hook((f32, f32), f32),
}

impl Shape {
    fn contains(self, u: f32, v: f32) -> bool {
        match self {
            Shape::Seg(a, b) => seg(u, v, a, b) <= W,
            Shape::Dot((cx, cy), r) => dist(u, v, cx, cy) <= r,
            Shape::Ring((cx, cy), r) => (dist(u, v, cx, cy) - r).abs() <= W,
            Shape::Hook((cx, cy), r) => (dist(u, v, cx, cy) - r).abs() <= W && !(v > cy && u < cx),
        }
    }
}

/// The status glyph's shapes (the crossed-out cloud of offline is drawn by
/// [`offline_cloud`]: it has a gap no list of shapes can carve).
fn shapes(look: Look) -> &'static [Shape] {
    use Shape::{Dot, Hook, Ring, Seg};
    match look {
        Look::Healthy => &[
            Seg((0.29, 0.52), (0.44, 0.67)),
            Seg((0.44, 0.67), (0.72, 0.36)),
        ],
        Look::Degraded => &[Seg((0.5, 0.27), (0.5, 0.58)), Dot((0.5, 0.73), 0.075)],
        Look::Down => &[
            Seg((0.33, 0.33), (0.67, 0.67)),
            Seg((0.67, 0.33), (0.33, 0.67)),
        ],
        // A question mark: an arc over the top, a short stem, a dot.
        Look::Unknown => &[
            Hook((0.5, 0.40), 0.13),
            Seg((0.5, 0.53), (0.5, 0.60)),
            Dot((0.5, 0.75), 0.07),
        ],
        Look::Loading => &[
            Dot((0.30, 0.5), 0.07),
            Dot((0.5, 0.5), 0.07),
            Dot((0.70, 0.5), 0.07),
        ],
        Look::Offline => &[],
        // A ring: "watching", with nothing in view yet.
        Look::Neutral => &[Ring((0.5, 0.5), 0.17)],
        // An arrow out to the top right.
        Look::Link => &[
            Seg((0.33, 0.67), (0.66, 0.34)),
            Seg((0.68, 0.32), (0.42, 0.32)),
            Seg((0.68, 0.32), (0.68, 0.58)),
        ],
    }
}

/// A cloud, crossed out: a stroke from top left to bottom right, set off
/// from the cloud by a gap on its upper side only, so the cloud stays one
/// shape at 16 px.
fn offline_cloud(u: f32, v: f32) -> bool {
    let slash = seg(u, v, (0.20, 0.22), (0.80, 0.82));
    if slash <= 0.055 {
        return true;
    }
    if slash <= 0.12 && u > v - 0.02 {
        return false;
    }
    dist(u, v, 0.35, 0.60) <= 0.13
        || dist(u, v, 0.52, 0.47) <= 0.175
        || dist(u, v, 0.68, 0.60) <= 0.12
        || ((0.35..=0.68).contains(&u) && (0.58..=0.72).contains(&v))
}

/// Whether a point lies on the status glyph.
fn glyph(look: Look, u: f32, v: f32) -> bool {
    match look {
        Look::Offline => offline_cloud(u, v),
        _ => shapes(look).iter().any(|s| s.contains(u, v)),
    }
}

/// The icon as SVG (the colour version, without the badge): the same shapes
/// as [`render`] (offline's cloud aside: its SVG is the bare disc), for the
/// scalable app icon of desktop menus.
pub fn svg(look: Look) -> String {
    // A 0..100 view box: unit coordinates × 100.
    let n = |x: f32| {
        let s = format!("{:.2}", x * 100.0);
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    let [r, g, b] = look.rgb();
    let colour = format!("#{r:02x}{g:02x}{b:02x}");
    let mut out = String::from(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"256\" height=\"256\" viewBox=\"0 0 100 100\">\n",
    );
    out.push_str(&format!(
        "  <circle cx=\"50\" cy=\"50\" r=\"{}\" fill=\"{colour}\"/>\n",
        n(DISC_R)
    ));
    let stroke = format!(
        "fill=\"none\" stroke=\"#ffffff\" stroke-width=\"{}\"",
        n(2.0 * W)
    );
    for shape in shapes(look) {
        out.push_str(&match *shape {
            Shape::Seg((ax, ay), (bx, by)) => format!(
                "  <path d=\"M{} {} L{} {}\" {stroke} stroke-linecap=\"round\"/>\n",
                n(ax),
                n(ay),
                n(bx),
                n(by)
            ),
            Shape::Ring((cx, cy), r) => format!(
                "  <circle cx=\"{}\" cy=\"{}\" r=\"{}\" {stroke}/>\n",
                n(cx),
                n(cy),
                n(r)
            ),
            Shape::Dot((cx, cy), r) => format!(
                "  <circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"#ffffff\"/>\n",
                n(cx),
                n(cy),
                n(r)
            ),
            // From the left, clockwise over the top, to the bottom: three quarters.
            Shape::Hook((cx, cy), r) => format!(
                "  <path d=\"M{} {} A{} {} 0 1 1 {} {}\" {stroke} stroke-linecap=\"butt\"/>\n",
                n(cx - r),
                n(cy),
                n(r),
                n(r),
                n(cx),
                n(cy + r)
            ),
        });
    }
    out.push_str("</svg>\n");
    out
}

/// PNG bytes of the icon (for `icons/` and hosts that read files).
pub fn png(spec: IconSpec, size: u32) -> Vec<u8> {
    let size = size.max(8);
    let rgba = render(spec, size);
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, size, size);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    // Writing to a Vec cannot fail, and the data length matches the header.
    let mut w = enc.write_header().expect("in-memory PNG header");
    w.write_image_data(&rgba).expect("in-memory PNG data");
    drop(w);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pixel(px: &[u8], size: u32, x: u32, y: u32) -> [u8; 4] {
        let o = ((y * size + x) * 4) as usize;
        [px[o], px[o + 1], px[o + 2], px[o + 3]]
    }

    const ALL: [Look; 8] = Look::ALL;

    #[test]
    fn the_probe_point_shows_the_status_colour_at_every_size() {
        for size in [16, 22, 32, 44, 64] {
            for look in ALL {
                let px = render(IconSpec::new(look), size);
                assert_eq!(px.len(), (size * size * 4) as usize);
                let (x, y) = probe_point(size);
                let p = pixel(&px, size, x, y);
                let rgb = look.rgb();
                for i in 0..3 {
                    assert!(
                        (p[i] as i32 - rgb[i] as i32).abs() <= 3,
                        "{look:?} at {size}px: {p:?}"
                    );
                }
                assert!(p[3] >= 250, "{look:?} opaque at the probe");
                // Corners are transparent.
                assert_eq!(pixel(&px, size, 0, 0)[3], 0);
                assert_eq!(pixel(&px, size, size - 1, size - 1)[3], 0);
            }
        }
    }

    #[test]
    fn each_status_has_its_own_shape_so_it_reads_without_colour() {
        let mask = |look: Look| -> Vec<bool> {
            render(IconSpec::new(look), 32)
                .chunks(4)
                .map(|p| p[0] > 200 && p[1] > 200 && p[2] > 200 && p[3] > 200)
                .collect()
        };
        let masks: Vec<Vec<bool>> = ALL.iter().map(|&l| mask(l)).collect();
        for (i, a) in masks.iter().enumerate() {
            assert!(
                a.iter().filter(|&&w| w).count() > 20,
                "{:?} has a visible glyph",
                ALL[i]
            );
            for b in masks.iter().skip(i + 1) {
                let differ = a.iter().zip(b).filter(|(x, y)| x != y).count();
                assert!(differ > 30, "glyphs must differ clearly");
            }
        }
    }

    #[test]
    fn monochrome_when_healthy_only_affects_healthy() {
        let spec = IconSpec {
            look: Look::Healthy,
            monochrome_when_healthy: true,
            badge: false,
        };
        let px = render(spec, 32);
        let (x, y) = probe_point(32);
        assert_eq!(&pixel(&px, 32, x, y)[..3], &[0, 0, 0]);
        assert!(
            px.chunks(4).all(|p| p[..3] == [0, 0, 0]),
            "template: black with alpha"
        );
        let down = IconSpec {
            look: Look::Down,
            ..spec
        };
        assert_eq!(pixel(&render(down, 32), 32, x, y)[..3], Look::Down.rgb());
    }

    #[test]
    fn the_badge_adds_a_dot_without_changing_the_colour() {
        let plain = render(IconSpec::new(Look::Healthy), 32);
        let badged = render(
            IconSpec {
                badge: true,
                ..IconSpec::new(Look::Healthy)
            },
            32,
        );
        let (x, y) = probe_point(32);
        assert_eq!(pixel(&plain, 32, x, y), pixel(&badged, 32, x, y));
        let b = pixel(&badged, 32, 26, 6);
        assert_eq!(&b[..3], &BADGE_RGB);
    }

    #[test]
    fn png_files_are_well_formed() {
        let png = png(IconSpec::new(Look::Down), 16);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 16);
        assert!(
            png.ends_with(&[0xae, 0x42, 0x60, 0x82]),
            "IEND with its CRC"
        );
        // It decodes back to the same pixels.
        let dec = png::Decoder::new(std::io::Cursor::new(png.clone()));
        let mut reader = dec.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut buf).unwrap();
        assert_eq!(buf, render(IconSpec::new(Look::Down), 16));
    }

    /// The committed icons (`icons/`, and the package's app icon in
    /// `pkg/icons/hicolor/`) are exactly what this code draws: regenerate
    /// them with `cargo run --example icons` after changing a shape.
    #[test]
    fn the_committed_icons_are_what_the_code_draws() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let read = |p: &str| {
            std::fs::read(root.join(p))
                .unwrap_or_else(|e| panic!("{p}: {e} (cargo run --example icons)"))
        };
        for look in ALL {
            for size in [16, 22, 32, 44, 64] {
                let p = format!("icons/{}-{size}.png", look.name());
                assert!(read(&p) == png(IconSpec::new(look), size), "{p} is stale");
            }
        }
        for size in APP_ICON_SIZES {
            let p = format!("pkg/icons/hicolor/{size}x{size}/apps/{APP_ID}.png");
            assert!(
                read(&p) == png(IconSpec::new(Look::Healthy), size),
                "{p} is stale"
            );
        }
        let p = format!("pkg/icons/hicolor/scalable/apps/{APP_ID}.svg");
        assert_eq!(
            String::from_utf8(read(&p)).unwrap(),
            svg(Look::Healthy),
            "{p} is stale"
        );
    }

    /// The SVG draws the same shapes as the pixels: a disc (or the offline
    /// ring) in the status colour and one white element per glyph shape.
    #[test]
    fn the_svg_has_the_disc_and_each_glyph_shape() {
        for look in ALL {
            let s = svg(look);
            let [r, g, b] = look.rgb();
            assert!(
                s.contains(&format!("#{r:02x}{g:02x}{b:02x}")),
                "{look:?}: {s}"
            );
            let white = s.matches("#ffffff").count();
            let expected = if look == Look::Offline {
                0
            } else {
                shapes(look).len()
            };
            assert_eq!(white, expected, "{look:?}: {s}");
        }
        let check = svg(Look::Healthy);
        assert!(check.contains(r#"<path d="M29 52 L44 67""#), "{check}");
        assert!(check.contains(r#"stroke-width="12""#), "{check}");
        assert!(svg(Look::Unknown).contains(r#"A13 13 0 1 1 50 53"#));
    }
}
