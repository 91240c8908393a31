//! Config edits that keep comments and layout: the `Editor` the CLI and the tray use (read, change, validate the whole file, write atomically).

#![allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------
// Editing

/// The fields of a service as given on the command line; `None` = leave as is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceFields {
    /// An explicit id (state and mutes follow it); `None` derives one.
    pub id: Option<String>,
    pub name: Option<String>,
    pub provider: Option<Provider>,
    pub mode: Option<Mode>,
    pub key: Option<String>,
    /// The provider's target fields by config key (`project`, `site`, …: see
    /// the provider's `Spec::fields`); an empty value removes the key.
    pub target: std::collections::BTreeMap<String, String>,
    pub base_url: Option<String>,
    pub dashboard: Option<String>,
    pub enabled: Option<bool>,
    pub refresh: Option<String>,
    pub allow_insecure: Option<bool>,
}

impl ServiceFields {
    /// (key, value) pairs to write, in the order they read best.
    fn pairs(&self) -> Vec<(&'static str, toml_edit::Value)> {
        let mut v: Vec<(&'static str, toml_edit::Value)> = Vec::new();
        let s = |x: &Option<String>| x.as_ref().map(|s| toml_edit::Value::from(s.as_str()));
        if let Some(x) = s(&self.id) {
            v.push(("id", x));
        }
        if let Some(x) = s(&self.name) {
            v.push(("name", x));
        }
        if let Some(p) = self.provider {
            v.push(("provider", p.as_str().into()));
        }
        if let Some(m) = self.mode {
            v.push(("mode", m.as_str().into()));
        }
        // Target fields in the provider's order (any order when it is unknown).
        let order: Vec<&str> = match self.provider {
            Some(p) => p.spec().fields.iter().map(|f| f.key).collect(),
            None => Vec::new(),
        };
        let mut target: Vec<(&String, &String)> = self.target.iter().collect();
        target.sort_by_key(|(k, _)| order.iter().position(|o| o == k).unwrap_or(usize::MAX));
        for (k, val) in target.into_iter().filter(|(_, v)| !v.trim().is_empty()) {
            if let Some(key) = all_service_keys().into_iter().find(|x| x == k) {
                v.push((key, val.as_str().into()));
            }
        }
        for (k, val) in [
            ("key", &self.key),
            ("base_url", &self.base_url),
            ("dashboard", &self.dashboard),
            ("refresh", &self.refresh),
        ] {
            if let Some(x) = s(val) {
                v.push((k, x));
            }
        }
        if let Some(a) = self.allow_insecure {
            v.push(("allow_insecure", a.into()));
        }
        if let Some(e) = self.enabled {
            v.push(("enabled", e.into()));
        }
        v
    }
}

/// An open config file being edited. Every change is validated as a whole
/// before [`Editor::save`] writes it, atomically and with mode 0600.
///
/// Edits from several processes at once (parallel CLI commands, the tray's
/// own writes) never lose one another: every change is recorded as it is
/// made, and [`Editor::save`] takes an advisory lock beside the file, reads
/// it again, and — when another edit got there first — replays the recorded
/// changes onto the new text (or fails saying why, writing nothing).
pub struct Editor {
    path: PathBuf,
    doc: DocumentMut,
    existed: bool,
    /// The file's bytes the document was read from (`None`: there was no file).
    base: Option<Vec<u8>>,
    /// The changes made since `base`, to replay onto a newer file.
    ops: Vec<EditOp>,
    /// The file's line endings were CRLF (a file from Windows or an editor set
    /// so): written back the same way, not silently turned into LF.
    crlf: bool,
    /// The file started with a UTF-8 byte-order mark, which is kept.
    bom: bool,
}

/// One recorded change, replayable onto a freshly read document.
type EditOp = Box<dyn Fn(&mut Editor) -> Result<(), ConfigError> + Send>;

impl Editor {
    /// Opens `path` for editing. A missing file starts empty; a file that does not
    /// validate is refused, so a broken file is never rewritten.
    pub fn open(path: &Path) -> Result<Editor, ConfigError> {
        let text = match read(path) {
            Ok(t) => Some(t),
            Err(ConfigError::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        Editor::from_text(path, text)
    }

    fn from_text(path: &Path, text: Option<String>) -> Result<Editor, ConfigError> {
        let existed = text.is_some();
        let text = text.unwrap_or_default();
        parse(&text, path)?;
        let bom = text.starts_with('\u{feff}');
        // The first line ending decides; toml_edit writes LF for everything.
        let crlf = text.find('\n').is_some_and(|i| text[..i].ends_with('\r'));
        let doc = text
            .trim_start_matches('\u{feff}')
            .parse::<DocumentMut>()
            .map_err(|e| ConfigError::Edit(format!("cannot edit {}: {e}", path.display())))?;
        Ok(Editor {
            path: path.to_path_buf(),
            doc,
            existed,
            base: existed.then(|| text.into_bytes()),
            ops: Vec::new(),
            crlf,
            bom,
        })
    }

    /// Applies a change and records it for a replay in [`Editor::save`].
    fn record<T>(
        &mut self,
        op: impl Fn(&mut Editor) -> Result<T, ConfigError> + Send + 'static,
    ) -> Result<T, ConfigError> {
        self.pin_irregular_ids();
        let out = op(self)?;
        self.pin_irregular_ids();
        self.ops.push(Box::new(move |e| op(e).map(|_| ())));
        Ok(out)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current text, validated.
    pub fn config(&self) -> Result<Config, ConfigError> {
        parse(&self.text(), &self.path)
    }

    /// The document as it will be written, in the file's own line endings and
    /// with its byte-order mark, if it had one. Tables are rendered in the order of
    /// their document positions, so they are renumbered to follow the array
    /// order first (otherwise a moved or added service would be written where
    /// it used to be, or at the end of the file under the wrong workspace).
    fn text(&self) -> String {
        let mut doc = self.doc.clone();
        let mut pos: isize = 0;
        let mut next = || {
            pos += 1;
            Some(pos)
        };
        if let Some(wss) = doc
            .get_mut("workspaces")
            .and_then(|i| i.as_array_of_tables_mut())
        {
            for ws in wss.iter_mut() {
                ws.set_position(next());
                if let Some(svcs) = ws
                    .get_mut("services")
                    .and_then(|i| i.as_array_of_tables_mut())
                {
                    for svc in svcs.iter_mut() {
                        svc.set_position(next());
                    }
                }
            }
        }
        let text = doc.to_string();
        let text = if self.crlf {
            text.replace("\r\n", "\n").replace('\n', "\r\n")
        } else {
            text
        };
        if self.bom {
            format!("\u{feff}{}", text.trim_start_matches('\u{feff}'))
        } else {
            text
        }
    }

    fn workspaces_mut(&mut self) -> Result<&mut toml_edit::ArrayOfTables, ConfigError> {
        let root = self.doc.as_table_mut();
        if !root.contains_key("workspaces") {
            root.insert("workspaces", Item::ArrayOfTables(Default::default()));
        }
        root.get_mut("workspaces")
            .and_then(|i| i.as_array_of_tables_mut())
            .ok_or_else(|| {
                ConfigError::Edit(
                    "`workspaces` is written as an inline array; edit it by hand or rewrite it as [[workspaces]] tables".into(),
                )
            })
    }

    fn workspace_index(&mut self, name: &str) -> Result<usize, ConfigError> {
        let wss = self.workspaces_mut()?;
        wss.iter()
            .position(|t| {
                t.get("name")
                    .and_then(|n| n.as_str())
                    .is_some_and(|n| same_name(n, name))
            })
            .ok_or_else(|| {
                ConfigError::Edit(format!(
                    "no workspace named `{name}`: see `overwatch workspace list`"
                ))
            })
    }

    fn services_mut(&mut self, ws: usize) -> Result<&mut toml_edit::ArrayOfTables, ConfigError> {
        let t = self
            .workspaces_mut()?
            .get_mut(ws)
            .expect("index from workspace_index");
        if !t.contains_key("services") {
            t.insert("services", Item::ArrayOfTables(Default::default()));
        }
        t.get_mut("services")
            .and_then(|i| i.as_array_of_tables_mut())
            .ok_or_else(|| {
                ConfigError::Edit(
                    "this workspace's `services` is an inline array; edit it by hand or rewrite it as [[workspaces.services]] tables".into(),
                )
            })
    }

    fn service_index(&mut self, ws: usize, name: &str) -> Result<usize, ConfigError> {
        let ws_name = self.workspace_name(ws);
        self.services_mut(ws)?
            .iter()
            .position(|t| {
                t.get("name")
                    .and_then(|n| n.as_str())
                    .is_some_and(|n| same_name(n, name))
            })
            .ok_or_else(|| {
                ConfigError::Edit(format!(
                    "workspace `{ws_name}` has no service named `{name}`: see `overwatch service list --workspace \"{ws_name}\"`"
                ))
            })
    }

    fn workspace_name(&mut self, ws: usize) -> String {
        self.workspaces_mut()
            .ok()
            .and_then(|w| w.get(ws))
            .and_then(|t| t.get("name"))
            .and_then(|n| n.as_str())
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    /// Pins the derived id of every service of a workspace that has none, so a
    /// rename does not change which state and mutes belong to it.
    fn pin_ids(&mut self, ws: usize) -> Result<(), ConfigError> {
        let ids = self.effective_ids();
        for (j, t) in self.services_mut(ws)?.iter_mut().enumerate() {
            if let (false, Some(id)) = (t.contains_key("id"), ids.get(&(ws, j))) {
                insert_first(t, "id", id.as_str().into());
            }
        }
        Ok(())
    }

    /// The id each service has now, by (workspace, service) index: the same
    /// assignment as validation (written ids reserved first, then derived
    /// ones in file order), read off the document without parsing it again.
    fn effective_ids(&self) -> HashMap<(usize, usize), String> {
        self.id_plan()
            .into_iter()
            .map(|(k, (id, _))| (k, id))
            .collect()
    }

    /// [`Editor::effective_ids`], each with whether it is a derived id that
    /// is not its plain [`derived_id`] (so it depends on its neighbours).
    fn id_plan(&self) -> HashMap<(usize, usize), (String, bool)> {
        let Some(wss) = self
            .doc
            .get("workspaces")
            .and_then(|i| i.as_array_of_tables())
        else {
            return HashMap::new();
        };
        let reserved = explicit_ids(self.doc.as_table());
        let mut taken: HashSet<String> = HashSet::new();
        let mut out = HashMap::new();
        for (i, w) in wss.iter().enumerate() {
            let ws_name = w.get("name").and_then(|n| n.as_str()).unwrap_or_default();
            let Some(svcs) = w.get("services").and_then(|s| s.as_array_of_tables()) else {
                continue;
            };
            for (j, t) in svcs.iter().enumerate() {
                let (id, irregular) = match t.get("id").and_then(|v| v.as_str()) {
                    Some(id) => (id.trim().to_string(), false),
                    None => {
                        let name = t.get("name").and_then(|n| n.as_str()).unwrap_or_default();
                        let (ws, name) = (ws_name.trim(), name.trim());
                        let base = derived_id(ws, name).0;
                        if !taken.contains(&base) && !reserved.contains(&base) {
                            (base, false)
                        } else {
                            let id =
                                unique_id(ws, name, |c| taken.contains(c) || reserved.contains(c));
                            (id.0, true)
                        }
                    }
                };
                taken.insert(id.clone());
                out.insert((i, j), (id, irregular));
            }
        }
        out
    }

    /// Writes out every id that is not its plain [`derived_id`] (a name that
    /// slugs like another's got a hash): such an id depends on the services
    /// around it, so adding, removing or moving one must not change it.
    fn pin_irregular_ids(&mut self) {
        let plan = self.id_plan();
        if !plan.values().any(|(_, irregular)| *irregular) {
            return;
        }
        let Ok(wss) = self.workspaces_mut() else {
            return;
        };
        for (i, w) in wss.iter_mut().enumerate() {
            let Some(svcs) = w
                .get_mut("services")
                .and_then(|s| s.as_array_of_tables_mut())
            else {
                continue;
            };
            for (j, t) in svcs.iter_mut().enumerate() {
                if let Some((id, true)) = plan.get(&(i, j)) {
                    insert_first(t, "id", id.as_str().into());
                }
            }
        }
    }

    fn add_workspace_now(&mut self, name: &str) -> Result<(), ConfigError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(ConfigError::Edit("a workspace name cannot be empty".into()));
        }
        if self.workspace_index(name).is_ok() {
            return Err(ConfigError::Edit(format!(
                "a workspace named `{name}` already exists"
            )));
        }
        let mut t = toml_edit::Table::new();
        t.insert("name", toml_edit::value(name));
        self.workspaces_mut()?.push(t);
        Ok(())
    }

    fn rename_workspace_now(&mut self, from: &str, to: &str) -> Result<(), ConfigError> {
        let i = self.workspace_index(from)?;
        let to = to.trim();
        if to.is_empty() {
            return Err(ConfigError::Edit("a workspace name cannot be empty".into()));
        }
        if let Ok(j) = self.workspace_index(to) {
            if j != i {
                return Err(ConfigError::Edit(format!(
                    "a workspace named `{to}` already exists"
                )));
            }
        }
        self.pin_ids(i)?;
        let t = self.workspaces_mut()?.get_mut(i).expect("index");
        set_keep_decor(t, "name", to.into());
        Ok(())
    }

    /// Removes a workspace; one that still has services needs `force`.
    fn remove_workspace_now(&mut self, name: &str, force: bool) -> Result<usize, ConfigError> {
        let i = self.workspace_index(name)?;
        let n = self.services_mut(i)?.len();
        if n > 0 && !force {
            return Err(ConfigError::Edit(format!(
                "workspace `{name}` still has {n} service{}: remove them first, or pass --force to remove it with them",
                if n == 1 { "" } else { "s" }
            )));
        }
        self.workspaces_mut()?.remove(i);
        Ok(n)
    }

    /// Adds a service at the end of a workspace (created if `create_workspace`).
    fn add_service_now(
        &mut self,
        workspace: &str,
        fields: &ServiceFields,
    ) -> Result<(), ConfigError> {
        let ws = self.workspace_index(workspace)?;
        let name = fields
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ConfigError::Edit("a service needs a name (--name)".into()))?;
        if self.service_index(ws, name).is_ok() {
            return Err(ConfigError::Edit(format!(
                "workspace `{}` already has a service named `{name}`: names must be unique within a workspace",
                self.workspace_name(ws)
            )));
        }
        let mut t = toml_edit::Table::new();
        for (k, v) in fields.pairs() {
            t.insert(k, Item::Value(v));
        }
        self.services_mut(ws)?.push(t);
        Ok(())
    }

    /// Changes the given fields of a service; the rest stays as written.
    fn edit_service_now(
        &mut self,
        workspace: &str,
        name: &str,
        fields: &ServiceFields,
    ) -> Result<(), ConfigError> {
        let ws = self.workspace_index(workspace)?;
        let i = self.service_index(ws, name)?;
        if let Some(new) = fields.name.as_deref().map(str::trim) {
            if !same_name(new, name) && self.service_index(ws, new).is_ok() {
                return Err(ConfigError::Edit(format!(
                    "workspace `{}` already has a service named `{new}`",
                    self.workspace_name(ws)
                )));
            }
            // Keep the id stable across the rename.
            let id = self.effective_ids().remove(&(ws, i));
            let t = self.services_mut(ws)?.get_mut(i).expect("index");
            if let (false, Some(id)) = (t.contains_key("id"), id) {
                insert_first(t, "id", id.as_str().into());
            }
        }
        let t = self.services_mut(ws)?.get_mut(i).expect("index");
        if let Some(p) = fields.provider {
            let old = t
                .get("provider")
                .and_then(|v| v.as_str())
                .and_then(|s| s.parse::<Provider>().ok());
            if old != Some(p) {
                // Target keys of the old provider would not validate under the new one.
                let keep = provider_keys(p);
                for other in Provider::ALL {
                    for k in other.spec().keys() {
                        if !keep.contains(&k) {
                            t.remove(k);
                        }
                    }
                }
            }
        }
        for (k, v) in &fields.target {
            if v.trim().is_empty() {
                t.remove(k);
            }
        }
        for (k, v) in fields.pairs() {
            set_keep_decor(t, k, v);
        }
        Ok(())
    }

    fn remove_service_now(&mut self, workspace: &str, name: &str) -> Result<(), ConfigError> {
        let ws = self.workspace_index(workspace)?;
        let i = self.service_index(ws, name)?;
        self.services_mut(ws)?.remove(i);
        Ok(())
    }

    /// Moves a service to a 1-based position, and/or into another workspace.
    fn move_service_now(
        &mut self,
        workspace: &str,
        name: &str,
        to_workspace: Option<&str>,
        position: Option<usize>,
    ) -> Result<(), ConfigError> {
        let from = self.workspace_index(workspace)?;
        let i = self.service_index(from, name)?;
        let to = match to_workspace {
            Some(w) => self.workspace_index(w)?,
            None => from,
        };
        if to != from && self.service_index(to, name).is_ok() {
            return Err(ConfigError::Edit(format!(
                "workspace `{}` already has a service named `{name}`",
                self.workspace_name(to)
            )));
        }
        if to != from {
            // The derived id contains the workspace: pin it before moving.
            let id = self.effective_ids().remove(&(from, i));
            let t = self.services_mut(from)?.get_mut(i).expect("index");
            if let (false, Some(id)) = (t.contains_key("id"), id) {
                insert_first(t, "id", id.as_str().into());
            }
        }
        let table = self.services_mut(from)?.get(i).expect("index").clone();
        self.services_mut(from)?.remove(i);
        let dest = self.services_mut(to)?;
        let len = dest.len();
        let at = match position {
            Some(0) => return Err(ConfigError::Edit("positions start at 1".into())),
            Some(p) => (p - 1).min(len),
            None => len,
        };
        // ArrayOfTables has no insert: rebuild it in the new order.
        let mut all: Vec<toml_edit::Table> = dest.iter().cloned().collect();
        all.insert(at, table);
        dest.clear();
        for t in all {
            dest.push(t);
        }
        Ok(())
    }

    /// Removes a key from a service's table (an optional field cleared in
    /// the dashboard's dialog); nothing happens when it is not there.
    pub fn clear_service_key(
        &mut self,
        workspace: &str,
        name: &str,
        key: &str,
    ) -> Result<(), ConfigError> {
        let (ws, n, k) = (workspace.to_string(), name.to_string(), key.to_string());
        self.record(move |e| {
            let w = e.workspace_index(&ws)?;
            let i = e.service_index(w, &n)?;
            e.services_mut(w)?.get_mut(i).expect("index").remove(&k);
            Ok(())
        })
    }

    /// The text [`Editor::save`] would write now (for placing a validation
    /// problem's line on the field it is about).
    pub(crate) fn preview_text(&self) -> String {
        self.text()
    }

    /// Sets a top-level value (e.g. `refresh`).
    pub(crate) fn set_top(&mut self, key: &str, value: toml_edit::Value) {
        let key = key.to_string();
        let _ = self.record(move |e| {
            set_keep_decor(e.doc.as_table_mut(), &key, value.clone());
            Ok(())
        });
    }

    /// Adds the workspace unless one of that name exists (also when the edit
    /// is replayed onto a file where another edit created it meanwhile).
    /// Says whether it was created.
    pub(crate) fn ensure_workspace(&mut self, name: &str) -> Result<bool, ConfigError> {
        let name = name.to_string();
        self.record(move |e| {
            if e.workspace_index(&name).is_ok() {
                return Ok(false);
            }
            e.add_workspace_now(&name).map(|()| true)
        })
    }

    pub fn add_workspace(&mut self, name: &str) -> Result<(), ConfigError> {
        let name = name.to_string();
        self.record(move |e| e.add_workspace_now(&name))
    }

    pub fn rename_workspace(&mut self, from: &str, to: &str) -> Result<(), ConfigError> {
        let (from, to) = (from.to_string(), to.to_string());
        self.record(move |e| e.rename_workspace_now(&from, &to))
    }

    pub fn remove_workspace(&mut self, name: &str, force: bool) -> Result<usize, ConfigError> {
        let name = name.to_string();
        self.record(move |e| e.remove_workspace_now(&name, force))
    }

    pub fn add_service(
        &mut self,
        workspace: &str,
        fields: &ServiceFields,
    ) -> Result<(), ConfigError> {
        let (ws, f) = (workspace.to_string(), fields.clone());
        self.record(move |e| e.add_service_now(&ws, &f))
    }

    pub fn edit_service(
        &mut self,
        workspace: &str,
        name: &str,
        fields: &ServiceFields,
    ) -> Result<(), ConfigError> {
        let (ws, n, f) = (workspace.to_string(), name.to_string(), fields.clone());
        self.record(move |e| e.edit_service_now(&ws, &n, &f))
    }

    pub(crate) fn remove_service(
        &mut self,
        workspace: &str,
        name: &str,
    ) -> Result<(), ConfigError> {
        let (ws, n) = (workspace.to_string(), name.to_string());
        self.record(move |e| e.remove_service_now(&ws, &n))
    }

    pub fn move_service(
        &mut self,
        workspace: &str,
        name: &str,
        to_workspace: Option<&str>,
        position: Option<usize>,
    ) -> Result<(), ConfigError> {
        let (ws, n, to) = (
            workspace.to_string(),
            name.to_string(),
            to_workspace.map(str::to_string),
        );
        self.record(move |e| e.move_service_now(&ws, &n, to.as_deref(), position))
    }

    /// Validates the whole edited document and writes it atomically (0600),
    /// under the edit lock. When the file changed since it was read (another
    /// edit saved first), the recorded changes are replayed onto the new text;
    /// if they no longer apply, nothing is written and the error says why.
    pub fn save(&mut self) -> Result<Config, ConfigError> {
        let werr = |detail: String| ConfigError::Write {
            path: self.path.clone(),
            detail,
        };
        let _lock =
            crate::fsutil::lock_for_edit(&self.path, crate::fsutil::LOCK_WAIT).map_err(werr)?;
        let now = current_bytes(&self.path)?;
        if now != self.base {
            let text = now.map(|b| String::from_utf8(b).expect("read() checked UTF-8"));
            let mut fresh = Editor::from_text(&self.path, text).map_err(|e| {
                ConfigError::Edit(format!(
                    "{} was changed by something else while this edit was being made, and the new file cannot be edited: {e}; nothing was written",
                    self.path.display()
                ))
            })?;
            for op in &self.ops {
                op(&mut fresh).map_err(|e| {
                    ConfigError::Edit(format!(
                        "{} was changed by another edit while this one was being made, and this change no longer applies: {e}; nothing was written — check the file and try again",
                        self.path.display()
                    ))
                })?;
            }
            self.doc = fresh.doc;
            self.base = fresh.base;
            self.existed = fresh.existed;
            self.crlf = fresh.crlf;
            self.bom = fresh.bom;
        }
        let text = self.text();
        let config = parse(&text, &self.path)?;
        // A file over the read cap would be refused by every command after
        // this one, even the `remove` that could shrink it again.
        if text.len() > MAX_CONFIG_BYTES {
            return Err(ConfigError::Edit(format!(
                "the change was not saved: {} would grow to {} bytes, and a config is at most {MAX_CONFIG_BYTES} bytes; the file was left as it was",
                self.path.display(),
                text.len()
            )));
        }
        let base = self.base.clone();
        let path = self.path.clone();
        crate::fsutil::write_atomic_checked(&self.path, text.as_bytes(), move || {
            // The lock keeps other Overwatch edits out; a text editor saving
            // right now is not, and its change must not be overwritten.
            match current_bytes(&path) {
                Ok(b) if b == base => Ok(()),
                _ => Err(
                    "the file changed while this edit was being written; run the command again"
                        .into(),
                ),
            }
        })
        .map_err(|detail| ConfigError::Write {
            path: self.path.clone(),
            detail,
        })?;
        self.base = Some(text.into_bytes());
        self.ops.clear();
        self.existed = true;
        Ok(config)
    }

    /// Whether the file existed when it was opened.
    pub fn existed(&self) -> bool {
        self.existed
    }
}

/// The file's bytes now (`None`: no file), as [`read`] reads them.
pub(super) fn current_bytes(path: &Path) -> Result<Option<Vec<u8>>, ConfigError> {
    match read(path) {
        Ok(t) => Ok(Some(t.into_bytes())),
        Err(ConfigError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Sets `key` keeping the comments and spacing around an existing value.
pub(super) fn set_keep_decor(t: &mut dyn TableLike, key: &str, mut value: toml_edit::Value) {
    if let Some(old) = t.get(key).and_then(|i| i.as_value()) {
        *value.decor_mut() = old.decor().clone();
    }
    t.insert(key, Item::Value(value));
}

/// Inserts `key` as the first entry of a table (ids read best at the top).
pub(super) fn insert_first(t: &mut toml_edit::Table, key: &str, value: toml_edit::Value) {
    t.insert(key, Item::Value(value));
    t.sort_values_by(|a, _, b, _| (b.get() == key).cmp(&(a.get() == key)));
}
