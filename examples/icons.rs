//! Writes the icons rendered by `view::icon`: the tray glyphs in `icons/` (one PNG per status and size, and the app icon), a contact sheet of them at the sizes panels use (`docs/icons-contact-sheet.png`), and the app icon of the Linux package in `pkg/icons/hicolor/` (PNGs at the theme's sizes and a scalable SVG).

use overwatch::view::icon::{png, render, svg, IconSpec, Look, APP_ICON_SIZES, APP_ID};

const LOOKS: [Look; 8] = Look::ALL;

fn main() -> std::io::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("icons");
    std::fs::create_dir_all(&dir)?;
    for look in LOOKS {
        for size in [16, 22, 32, 44, 64] {
            let path = dir.join(format!("{}-{size}.png", look.name()));
            std::fs::write(&path, png(IconSpec::new(look), size))?;
        }
    }
    std::fs::write(
        dir.join("overwatch.png"),
        png(IconSpec::new(Look::Healthy), 256),
    )?;
    let sheet = root.join("docs").join("icons-contact-sheet.png");
    std::fs::write(&sheet, contact_sheet())?;
    println!("wrote icons to {} and {}", dir.display(), sheet.display());

    let hicolor = root.join("pkg/icons/hicolor");
    for size in APP_ICON_SIZES {
        let d = hicolor.join(format!("{size}x{size}/apps"));
        std::fs::create_dir_all(&d)?;
        std::fs::write(
            d.join(format!("{APP_ID}.png")),
            png(IconSpec::new(Look::Healthy), size),
        )?;
    }
    let d = hicolor.join("scalable/apps");
    std::fs::create_dir_all(&d)?;
    std::fs::write(d.join(format!("{APP_ID}.svg")), svg(Look::Healthy))?;
    println!("wrote the app icon to {}", hicolor.display());
    Ok(())
}

/// An RGBA canvas.
struct Canvas {
    w: u32,
    h: u32,
    px: Vec<u8>,
}

impl Canvas {
    fn new(w: u32, h: u32) -> Canvas {
        Canvas {
            w,
            h,
            px: vec![0; (w * h * 4) as usize],
        }
    }

    fn fill(&mut self, x0: u32, y0: u32, w: u32, h: u32, rgb: [u8; 3]) {
        for y in y0..(y0 + h).min(self.h) {
            for x in x0..(x0 + w).min(self.w) {
                let o = ((y * self.w + x) * 4) as usize;
                self.px[o..o + 4].copy_from_slice(&[rgb[0], rgb[1], rgb[2], 255]);
            }
        }
    }

    /// Draws `rgba` (`size`×`size`) at (x0, y0), each pixel `zoom`×`zoom`,
    /// blended over what is there.
    fn draw(&mut self, rgba: &[u8], size: u32, x0: u32, y0: u32, zoom: u32) {
        for y in 0..size * zoom {
            for x in 0..size * zoom {
                let s = (((y / zoom) * size + x / zoom) * 4) as usize;
                let a = rgba[s + 3] as u32;
                let o = (((y0 + y) * self.w + x0 + x) * 4) as usize;
                for c in 0..3 {
                    let under = self.px[o + c] as u32;
                    self.px[o + c] = ((rgba[s + c] as u32 * a + under * (255 - a)) / 255) as u8;
                }
                self.px[o + 3] = 255;
            }
        }
    }

    fn png(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, self.w, self.h);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().expect("in-memory PNG header");
        w.write_image_data(&self.px).expect("in-memory PNG data");
        drop(w);
        out
    }
}

/// One row per look: at 16, 22 and 32 px on a dark and a light panel, as a
/// panel shows them, then 16 and 22 px magnified 4× to judge the shapes;
/// the last row repeats healthy with the deploy badge.
fn contact_sheet() -> Vec<u8> {
    const DARK: [u8; 3] = [48, 48, 48];
    const LIGHT: [u8; 3] = [236, 236, 236];
    let row_h = 22 * 4 + 8;
    let specs: Vec<IconSpec> = LOOKS
        .iter()
        .map(|&l| IconSpec::new(l))
        .chain([IconSpec {
            badge: true,
            ..IconSpec::new(Look::Healthy)
        }])
        .collect();
    let width = 2 * (16 + 22 + 32 + 4 * 6) + 16 * 4 + 22 * 4 + 3 * 8;
    let mut c = Canvas::new(width, row_h * specs.len() as u32);
    c.fill(0, 0, width, c.h, [255, 255, 255]);
    for (i, spec) in specs.iter().enumerate() {
        let y = i as u32 * row_h;
        let mut x = 0;
        for bg in [DARK, LIGHT] {
            let panel_w = 16 + 22 + 32 + 4 * 6;
            c.fill(x, y, panel_w, row_h, bg);
            let mut ix = x + 6;
            for size in [16, 22, 32] {
                let iy = y + (row_h - size) / 2;
                c.draw(&render(*spec, size), size, ix, iy, 1);
                ix += size + 6;
            }
            x += panel_w;
        }
        for size in [16u32, 22] {
            x += 8;
            c.fill(x, y + 4, size * 4, size * 4, DARK);
            c.draw(&render(*spec, size), size, x, y + 4, 4);
            x += size * 4;
        }
    }
    c.png()
}
