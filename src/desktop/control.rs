//! How `overwatch dashboard` reaches the running tray: a Unix socket beside the single-instance lock (owner-only, peers checked to be the same user), one line asked, one line answered.
//!
//! Asking "open" makes the tray start its dashboard server if it is not
//! running and open the page in the browser, as the menu's "Open
//! Overwatch…" does; "url" answers with a one-time sign-in URL instead (for
//! a browser on another display, and for the tests). No TCP port is opened
//! until one of these is asked.

use std::path::{Path, PathBuf};

/// The socket's file name, in the directory of the instance lock.
pub const SOCKET: &str = "overwatch.sock";

/// What a client asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// Open the page in the browser.
    Open,
    /// Answer with a one-time sign-in URL.
    Url,
}

/// Where the tray's lock and socket live: beside the engine state.
pub(crate) fn runtime_dir() -> PathBuf {
    crate::engine::state::default_path()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(std::env::temp_dir)
}

/// The reply to one ask: `Ok(text)` or `Err(why)`.
pub type Reply = Result<String, String>;

/// A request from a client, with where to send the reply.
pub type Request = (Ask, tokio::sync::oneshot::Sender<Reply>);

/// Listens on `dir/overwatch.sock` until the process ends, passing each ask
/// to `tx`. Any socket file left there by an earlier run is replaced (the
/// caller holds the instance lock, so no other tray uses it).
#[cfg(unix)]
pub(crate) fn listen(
    rt: &tokio::runtime::Handle,
    dir: &Path,
    tx: tokio::sync::mpsc::UnboundedSender<Request>,
) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

    let path = dir.join(SOCKET);
    let _ = std::fs::remove_file(&path);
    let listener = {
        let _guard = rt.enter();
        tokio::net::UnixListener::bind(&path)?
    };
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    // The socket file is ours: its owner is this process's user.
    let me = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&path)?);
    rt.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            // Only this user's processes may ask (the file mode says so too).
            if stream.peer_cred().ok().map(|c| c.uid()) != Some(me) {
                continue;
            }
            let tx = tx.clone();
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut line = String::new();
                let mut reader = BufReader::new(r.take(64));
                if reader.read_line(&mut line).await.is_err() {
                    return;
                }
                let ask = match line.trim() {
                    "open" => Ask::Open,
                    "url" => Ask::Url,
                    other => {
                        let _ = w
                            .write_all(format!("error unknown request `{other}`\n").as_bytes())
                            .await;
                        return;
                    }
                };
                let (reply_tx, reply_rx) = tokio::sync::oneshot::channel();
                if tx.send((ask, reply_tx)).is_err() {
                    return;
                }
                let text = match reply_rx.await {
                    Ok(Ok(t)) => format!("ok {t}\n"),
                    Ok(Err(e)) => format!("error {e}\n"),
                    Err(_) => "error the tray is shutting down\n".to_string(),
                };
                let _ = w.write_all(text.as_bytes()).await;
            });
        }
    });
    Ok(())
}

/// Asks the running tray (from `overwatch dashboard`). `Err` says why not,
/// in words for the terminal.
#[cfg(unix)]
pub fn ask(dir: &Path, ask: Ask) -> Result<String, AskError> {
    use std::io::{BufRead, BufReader, Write};
    let path = dir.join(SOCKET);
    let mut s = match std::os::unix::net::UnixStream::connect(&path) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(AskError::NotRunning);
        }
        Err(e) => return Err(AskError::Failed(format!("{}: {e}", path.display()))),
    };
    let timeout = Some(std::time::Duration::from_secs(20));
    let _ = s.set_read_timeout(timeout);
    let _ = s.set_write_timeout(timeout);
    let word = match ask {
        Ask::Open => "open\n",
        Ask::Url => "url\n",
    };
    s.write_all(word.as_bytes())
        .map_err(|e| AskError::Failed(e.to_string()))?;
    let mut line = String::new();
    BufReader::new(s)
        .read_line(&mut line)
        .map_err(|e| AskError::Failed(format!("the tray did not answer: {e}")))?;
    let line = line.trim_end();
    match line.split_once(' ') {
        Some(("ok", text)) => Ok(text.to_string()),
        Some(("error", why)) => Err(AskError::Failed(why.to_string())),
        _ => Err(AskError::Failed(format!(
            "the tray answered something unexpected: {}",
            crate::text::clip(&crate::text::clean(line), 100)
        ))),
    }
}

#[cfg(not(unix))]
pub fn ask(_dir: &Path, _ask: Ask) -> Result<String, AskError> {
    Err(AskError::Failed(
        "`overwatch dashboard` is not available on this platform yet: use the tray menu's Open Overwatch…".into(),
    ))
}

/// Why the tray could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    #[error("Overwatch is not running")]
    NotRunning,
    #[error("{0}")]
    Failed(String),
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_the_trays_answer() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            ask(dir.path(), Ask::Open),
            Err(AskError::NotRunning)
        ));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Request>();
        listen(rt.handle(), dir.path(), tx).unwrap();
        rt.spawn(async move {
            while let Some((ask, reply)) = rx.recv().await {
                let _ = reply.send(match ask {
                    Ask::Url => Ok("http://127.0.0.1:1/?token=t".into()),
                    Ask::Open => Err("no browser".into()),
                });
            }
        });
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(SOCKET))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            ask(dir.path(), Ask::Url).unwrap(),
            "http://127.0.0.1:1/?token=t"
        );
        match ask(dir.path(), Ask::Open) {
            Err(AskError::Failed(why)) => assert_eq!(why, "no browser"),
            other => panic!("{other:?}"),
        }
    }
}
