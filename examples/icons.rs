//! Writes the icons rendered by `view::icon`: the tray glyphs in `icons/` (one PNG per status and size, and the app icon) and the app icon of the Linux package in `pkg/icons/hicolor/` (PNGs at the theme's sizes and a scalable SVG).

use overwatch::view::icon::{png, svg, IconSpec, Look, APP_ICON_SIZES, APP_ID};

fn main() -> std::io::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("icons");
    std::fs::create_dir_all(&dir)?;
    let looks = [
        Look::Healthy,
        Look::Degraded,
        Look::Down,
        Look::Unknown,
        Look::Loading,
        Look::Offline,
    ];
    for look in looks {
        for size in [16, 22, 32, 44, 64] {
            let path = dir.join(format!("{}-{size}.png", look.name()));
            std::fs::write(&path, png(IconSpec::new(look), size))?;
        }
    }
    std::fs::write(
        dir.join("overwatch.png"),
        png(IconSpec::new(Look::Healthy), 256),
    )?;
    println!("wrote icons to {}", dir.display());

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
