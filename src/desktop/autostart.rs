//! "Launch at login": an XDG autostart entry on Linux, a LaunchAgent on macOS, a Run key on Windows.

use std::path::{Path, PathBuf};

/// Where the login item lives on this platform (Linux and macOS: a file).
pub(crate) fn entry_path() -> Option<PathBuf> {
    #[cfg(target_os = "linux")]
    {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(base.join("autostart").join("overwatch.desktop"))
    }
    #[cfg(target_os = "macos")]
    {
        let home = std::env::var_os("HOME")?;
        Some(PathBuf::from(home).join("Library/LaunchAgents/rs.overwatch.plist"))
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    {
        None
    }
}

/// Whether Overwatch starts at login.
pub(crate) fn is_enabled() -> bool {
    #[cfg(windows)]
    {
        std::process::Command::new("reg")
            .args(["query", RUN_KEY, "/v", "Overwatch"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }
    #[cfg(not(windows))]
    {
        entry_path().is_some_and(|p| p.exists())
    }
}

#[cfg(windows)]
const RUN_KEY: &str = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run";

/// Turns launching at login on (for the program at `exe`) or off.
pub fn set(enabled: bool, exe: &Path) -> Result<(), String> {
    #[cfg(windows)]
    {
        let quoted = format!("\"{}\"", exe.display());
        let args: Vec<&str> = if enabled {
            vec![
                "add",
                RUN_KEY,
                "/v",
                "Overwatch",
                "/t",
                "REG_SZ",
                "/d",
                &quoted,
                "/f",
            ]
        } else {
            vec!["delete", RUN_KEY, "/v", "Overwatch", "/f"]
        };
        let ok = std::process::Command::new("reg")
            .args(&args)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        return if ok || !enabled {
            Ok(())
        } else {
            Err("could not write the Run key".into())
        };
    }
    #[cfg(not(windows))]
    {
        let path = entry_path().ok_or("no home directory to put the login item in")?;
        if !enabled {
            return match std::fs::remove_file(&path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(format!("cannot remove {}: {e}", path.display())),
            };
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        std::fs::write(&path, entry_text(exe))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}

/// The login item's text for this platform.
pub(crate) fn entry_text(exe: &Path) -> String {
    let exe = exe.display().to_string();
    if cfg!(target_os = "macos") {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">\n<dict>\n  <key>Label</key><string>rs.overwatch</string>\n  <key>ProgramArguments</key><array><string>{}</string></array>\n  <key>RunAtLoad</key><true/>\n</dict>\n</plist>\n",
            xml_escape(&exe)
        )
    } else {
        // Exec quoting per the Desktop Entry spec: double quotes, with \ " ` $ escaped.
        let quoted: String = exe
            .chars()
            .flat_map(|c| match c {
                '"' | '`' | '$' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        format!(
            "[Desktop Entry]\nType=Application\nName=Overwatch\nComment=Watch your production services from the tray\nExec=\"{quoted}\"\nTerminal=false\nX-GNOME-Autostart-enabled=true\n"
        )
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_desktop_entry_quotes_the_path() {
        let t = entry_text(Path::new("/opt/my apps/over\"watch"));
        assert!(t.contains("Exec=\"/opt/my apps/over\\\"watch\"\n"), "{t}");
        assert!(t.starts_with("[Desktop Entry]\n"));
    }
}
