//! Broken config files through the real binary: binary garbage, a 50 MB file, /dev/zero, a FIFO, a directory, a dangling symlink and a directory that cannot be written — every command says what is wrong, exits non-zero, and never modifies the file.
//!
//! Covered elsewhere and not repeated: non-UTF-8 text and a file just over
//! the cap (`config::non_utf8_and_oversized_files_are_refused_without_touching_them`),
//! duplicate keys (`config::duplicate_keys_are_a_syntax_error_at_the_second`),
//! wrong types (`config::wrong_types_say_what_is_expected`), writing through
//! a symlink (`config::saved_files_are_private_and_written_through_symlinks`),
//! an invalid file untouched by every command
//! (`cli::a_broken_file_is_reported_with_its_line_and_never_touched`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_overwatch");

/// The commands that read the config (and those that would write it).
const COMMANDS: &[&[&str]] = &[
    &["config", "check"],
    &["workspace", "list"],
    &["workspace", "add", "New"],
    &["service", "list"],
    &["secret", "list"],
    &["status"],
];

struct Out {
    code: Option<i32>,
    stderr: String,
}

/// Runs `overwatch --config PATH ARGS`, failing the test if it hangs.
fn run(config: &Path, args: &[&str]) -> Out {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .arg("--no-input")
        .arg("--config")
        .arg(config)
        .args(args)
        .env("OVERWATCH_DATA_DIR", dir.path().join("data"))
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/overwatch-bus",
        )
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "`overwatch {}` hung on {}",
                args.join(" "),
                config.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "a panic reached the user: {stderr}"
    );
    Out {
        code: out.status.code(),
        stderr,
    }
}

/// Every command fails with `expect` in its message; the file is unchanged.
fn refused_by_every_command(config: &Path, expect: &str) {
    let before = snapshot(config);
    for args in COMMANDS {
        let o = run(config, args);
        let want = if args[0] == "status" { 3 } else { 1 };
        assert_eq!(o.code, Some(want), "`{}`: {}", args.join(" "), o.stderr);
        assert!(
            o.stderr.contains(expect),
            "`{}`: expected `{expect}` in: {}",
            args.join(" "),
            o.stderr
        );
        assert_eq!(snapshot(config), before, "`{}` modified it", args.join(" "));
    }
}

/// What must not change: the bytes of a small file, or the size and
/// modification time of a large or special one.
fn snapshot(p: &Path) -> (Option<u64>, Option<std::time::SystemTime>, Option<Vec<u8>>) {
    let meta = std::fs::symlink_metadata(p).ok();
    let small = meta
        .as_ref()
        .is_some_and(|m| m.is_file() && m.len() < 4 * 1024 * 1024);
    (
        meta.as_ref().map(|m| m.len()),
        meta.as_ref().and_then(|m| m.modified().ok()),
        small.then(|| std::fs::read(p).unwrap()),
    )
}

fn config_in(dir: &Path) -> PathBuf {
    dir.join("config.toml")
}

#[test]
fn binary_garbage_is_refused_with_its_position_and_never_modified() {
    let dir = tempfile::tempdir().unwrap();
    let p = config_in(dir.path());
    // Valid UTF-8 control bytes and NULs: gets past the UTF-8 check to TOML.
    let garbage: Vec<u8> = (0..2000u32)
        .map(|i| (i * 37 % 32) as u8)
        .collect::<Vec<u8>>();
    std::fs::write(&p, &garbage).unwrap();
    refused_by_every_command(&p, &format!("{}:1:", p.display()));
    // And bytes that are not UTF-8 at all, from the first byte.
    let garbage: Vec<u8> = (0..2000u32).map(|i| (i * 7919 % 256) as u8).collect();
    std::fs::write(&p, &garbage).unwrap();
    refused_by_every_command(&p, "not valid UTF-8");
}

#[test]
fn a_50_mb_file_is_refused_without_reading_it_all() {
    let dir = tempfile::tempdir().unwrap();
    let p = config_in(dir.path());
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(50 * 1024 * 1024).unwrap();
    drop(f);
    refused_by_every_command(
        &p,
        "the file is 52428800 bytes; a config is at most 1048576 bytes",
    );
}

#[test]
fn a_device_a_pipe_or_a_directory_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // /dev/zero never ends; a FIFO without a writer blocks any reader.
    let fifo = dir.path().join("fifo.toml");
    let ok = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo");
    for p in [Path::new("/dev/zero"), fifo.as_path()] {
        refused_by_every_command(p, "not a regular file");
    }
    let d = dir.path().join("a-directory.toml");
    std::fs::create_dir(&d).unwrap();
    refused_by_every_command(&d, "is a directory");
}

#[test]
fn a_dangling_symlink_is_not_replaced_by_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = config_in(dir.path());
    let target = dir.path().join("elsewhere").join("real.toml");
    std::os::unix::fs::symlink(&target, &p).unwrap();
    let o = run(&p, &["workspace", "add", "New"]);
    assert_eq!(o.code, Some(1), "{}", o.stderr);
    assert!(
        o.stderr.contains("is a symlink to") && o.stderr.contains("which does not exist"),
        "{}",
        o.stderr
    );
    let meta = std::fs::symlink_metadata(&p).unwrap();
    assert!(meta.file_type().is_symlink(), "the symlink was replaced");
    assert!(!target.exists());
}

#[test]
fn a_config_whose_directory_cannot_be_written_is_left_as_it_was() {
    // As root (CI) permission bits do not stop writes, so the directory is
    // made read-only the way root cannot ignore: a read-only bind mount in a
    // private mount namespace of the child only.
    let dir = tempfile::tempdir().unwrap();
    let p = config_in(dir.path());
    let text = "[[workspaces]]\nname = \"Acme\"\n";
    std::fs::write(&p, text).unwrap();
    let d = dir.path().display().to_string();
    let script = format!(
        "mount --bind '{d}' '{d}' && mount -o remount,bind,ro '{d}' && exec \"$0\" --no-input --config '{}' workspace add New",
        p.display()
    );
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script, BIN])
        .env_remove("RUST_LOG")
        .output()
        .expect("unshare (util-linux)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot create a temporary file in") && stderr.contains("Read-only"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&p).unwrap(), text);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["config.toml"], "nothing else was left behind");
}
