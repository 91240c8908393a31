//! Writes the tray glyphs to `icons/` (the app icon and one PNG per status and size), rendered by `view::icon`.

use overwatch::view::icon::{png, IconSpec, Look};

fn main() -> std::io::Result<()> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("icons");
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
    Ok(())
}
