// Overwatch's dashboard page: draws the grid from the server's JSON, keeps it
// live over Server-Sent Events, and drives the add/edit dialog.
//
// Every text from a provider or the config goes into the page as text
// (textContent, attribute values), never parsed as markup. Changes are sent as
// JSON with the session's CSRF token.
"use strict";

const state = {
  csrf: "",
  providers: [],
  page: null,
  keys: [],
  // Service id → the signature and element of its card, to redraw only what changed.
  cards: new Map(),
  statuses: new Map(),
  opener: null,
  editing: null,
};

// ---- small helpers -----------------------------------------------------------

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("data-") || k.startsWith("aria-") || k === "role") e.setAttribute(k, v);
    else if (v === true) e.setAttribute(k, "");
    else e.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return e;
}

function svgEl(tag, attrs) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
}

const $ = (id) => document.getElementById(id);

// Only web pages are ever linked.
function safeUrl(u) {
  try {
    const url = new URL(u);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch (_) {
    return null;
  }
}

let uid = 0;
const nextId = (p) => `${p}-${++uid}`;

function toast(message, isError) {
  const t = $("toast");
  t.textContent = message;
  t.classList.toggle("error", !!isError);
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, isError ? 12000 : 6000);
}

function announce(message) {
  $("announce").textContent = message;
}

async function api(path, body) {
  const opts = body === undefined
    ? { credentials: "same-origin" }
    : {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": state.csrf },
        body: JSON.stringify(body),
      };
  let resp;
  try {
    resp = await fetch(path, opts);
  } catch (e) {
    return { ok: false, status: 0, data: { error: "Overwatch did not answer: is it still running?" } };
  }
  let data = {};
  try { data = await resp.json(); } catch (_) { data = { error: `HTTP ${resp.status}` }; }
  return { ok: resp.ok, status: resp.status, data };
}

// ---- the grid ------------------------------------------------------------------

function statusMark(look, label) {
  return el("img", { src: `/assets/status/${look}.png`, alt: label || "", width: 20, height: 20, class: "mark" });
}

function lookOf(card) {
  return card.status || "none";
}

function metricList(metrics, cls) {
  const dl = el("dl", { class: cls });
  for (const m of metrics) dl.append(el("div", {}, el("dt", { text: m.label }), el("dd", { text: m.value })));
  return dl;
}

function historyStrip(card) {
  const h = card.history;
  const vals = h.values || [];
  const deployed = (i) => h.deploys[i] === "1";
  const box = el("div", { class: "history" });
  const strip = el("div", { class: "strip", role: "img", "aria-label": h.summary, title: h.summary });
  const start = Date.parse(h.start);
  for (let i = 0; i < h.cells.length; i++) {
    const c = h.cells[i];
    const cls = c === "." ? "none" : c;
    const cell = el("span", { class: `cell s-${cls}${deployed(i) ? " deploy" : ""}` });
    if (!Number.isNaN(start)) {
      const t = new Date(start + i * h.bucket_minutes * 60000);
      const hh = String(t.getHours()).padStart(2, "0");
      const mm = String(t.getMinutes()).padStart(2, "0");
      const words = { h: "healthy", d: "degraded", x: "down", u: "unknown", l: "checking", ".": "not checked" };
      let tip = `${hh}:${mm} ${words[c] || ""}`;
      if (vals[i] !== null && vals[i] !== undefined && h.label) tip += ` · ${h.label} ${vals[i]}`;
      if (deployed(i)) tip += " · deploy";
      cell.title = tip;
    }
    strip.append(cell);
  }
  box.append(strip);
  const values = vals.filter((v) => v !== null && v !== undefined);
  if (h.label && values.length > 0) {
    const max = Math.max(1, ...values);
    const svg = svgEl("svg", { class: "spark", viewBox: "0 0 96 24", preserveAspectRatio: "none", "aria-hidden": "true", focusable: "false" });
    let run = [];
    const flush = () => {
      if (run.length === 1) run.push([run[0][0] + 0.8, run[0][1]]);
      if (run.length > 1) svg.append(svgEl("polyline", { points: run.map((p) => p.join(",")).join(" ") }));
      run = [];
    };
    vals.forEach((v, i) => {
      if (v === null || v === undefined) flush();
      else run.push([i + 0.5, (22 - (v / max) * 20).toFixed(2)]);
    });
    flush();
    const last = values[values.length - 1];
    box.append(svg);
    box.append(el("p", { class: "spark-label", text: `${h.label}: now ${last}, highest ${Math.max(...values)} in 24 h` }));
  } else if (h.deploys.includes("1")) {
    const n = [...h.deploys].filter((d) => d === "1").length;
    box.append(el("p", { class: "spark-label", text: `Deploys ran in ${n} quarter hour${n === 1 ? "" : "s"} of the last 24 h (marked ▴)` }));
  }
  return box;
}

function renderCard(card, test) {
  const nameId = nextId("c");
  const cls = ["card", `st-${lookOf(card)}`];
  if (card.polling) cls.push("polling");
  if (card.stale) cls.push("stale");
  if (!card.enabled) cls.push("disabled");
  const art = el("article", { class: cls.join(" "), "data-id": card.id, "aria-labelledby": nameId });
  const pill = el("span", { class: "pill" },
    card.status ? statusMark(card.status, "") : el("span", { class: "glyph", "aria-hidden": "true", text: card.glyph }),
    el("span", { class: "word", text: card.word }));
  art.append(el("header", { class: "card-head" },
    el("img", { class: "picon", src: `/assets/provider/${card.provider}.svg`, alt: "", width: 28, height: 28 }),
    el("div", { class: "title" },
      el("h3", { id: nameId, text: card.name }),
      el("span", { class: "provider", text: card.provider_title })),
    pill));
  if (card.polling) art.append(el("p", { class: "checking", text: "Checking now…" }));
  if (card.activity) art.append(el("p", { class: "activity", text: `⟳ ${card.activity}` }));
  const summary = el("p", { class: "summary", text: card.summary });
  if (card.reason) {
    const box = el("div", { class: "reason" }, summary);
    if (!test && card.fix === "set-key") {
      box.append(el("button", { type: "button", class: "fix", "data-act": "set-key", "aria-label": `Set the key for ${card.name}`, text: "Set key…" }));
    } else if (!test && card.fix === "env") {
      box.append(el("p", { class: "hint", text: `Set ${card.key ? card.key.replace(/^env:/, "") : "the variable"} in the environment Overwatch runs in, or edit the service to keep its key in the keychain.` }));
      box.append(el("button", { type: "button", class: "fix", "data-act": "edit", "aria-label": `Edit ${card.name}`, text: "Edit…" }));
    } else if (!test && card.fix === "edit") {
      box.append(el("button", { type: "button", class: "fix", "data-act": "edit", "aria-label": `Edit ${card.name}`, text: "Edit settings…" }));
    }
    art.append(box);
  } else {
    art.append(summary);
  }
  if (card.metrics.length) art.append(metricList(card.metrics, "metrics"));
  if (card.details.length) {
    art.append(el("details", { class: "facts" }, el("summary", { text: "Details" }), metricList(card.details, "metrics")));
  }
  if (card.history) art.append(historyStrip(card));
  const notes = [];
  if (card.updated) notes.push(card.updated);
  if (card.since) notes.push(card.since);
  if (card.muted) notes.push(card.muted);
  if (card.flapping) notes.push("flapping");
  const updated = el("p", { class: "updated" });
  notes.forEach((n, i) => updated.append(el("span", { text: i ? ` · ${n}` : n })));
  const foot = el("footer", { class: "card-foot" }, updated);
  if (!test) {
    const actions = el("div", { class: "card-actions" });
    if (card.mode === "api" && card.enabled) {
      actions.append(el("button", { type: "button", "data-act": "refresh", "aria-label": `Refresh ${card.name}`, text: "Refresh" }));
    }
    const href = card.open_url && safeUrl(card.open_url);
    if (href) {
      actions.append(el("a", { class: "button open", href, target: "_blank", rel: "noopener noreferrer", "data-act": "open", "aria-label": `Open ${card.name} on ${card.provider_title} (new tab)`, text: "Open ↗" }));
    }
    const menu = el("details", { class: "menu", "data-act": "menu" },
      el("summary", { "aria-label": `More actions for ${card.name}`, title: "More actions", text: "⋯" }));
    const items = el("div", { class: "menu-items" });
    items.append(el("button", { type: "button", "data-act": "edit", text: "Edit…" }));
    items.append(el("button", { type: "button", "data-act": card.enabled ? "disable" : "enable", text: card.enabled ? "Disable" : "Enable" }));
    if (card.position > 0) items.append(el("button", { type: "button", "data-act": "up", text: "Move up" }));
    if (card.position < card.siblings - 1) items.append(el("button", { type: "button", "data-act": "down", text: "Move down" }));
    items.append(el("button", { type: "button", class: "danger", "data-act": "remove", text: "Remove…" }));
    menu.append(items);
    actions.append(menu);
    foot.append(actions);
  }
  art.append(foot);
  return art;
}

function banner(kind, title, text, ...extra) {
  return el("div", { class: `banner ${kind}`, role: kind === "error" ? "alert" : null },
    el("strong", { text: title }), " ", el("span", { text }), ...extra);
}

function renderBanners(page) {
  const b = $("banners");
  const out = [];
  if (state.disconnected) {
    out.push(banner("error", "Connection lost.", "Overwatch's page is not getting updates: is Overwatch still running? Trying again…"));
  }
  if (page.config_error) {
    out.push(banner("error", "The config file has a problem.",
      "Overwatch keeps running the last good settings, and this page will not change the file until it is fixed in a text editor:",
      el("pre", { text: page.config_error })));
  }
  if (page.engine_fault) out.push(banner("error", "Internal error.", page.engine_fault));
  if (page.demo && !page.config_error) {
    out.push(banner("demo", "Demo data.",
      "These services are simulated by Overwatch's built-in simulator. Add your first service to start watching your own — the demo ends when you do.",
      el("button", { type: "button", class: "primary", "data-act": "add-first", text: "Add your first service" })));
  }
  if (page.offline) out.push(banner("warn", "Offline.", "No check could connect: showing the last known status of each service, marked stale."));
  if (page.paused) out.push(banner("info", "Auto-refresh is off.", "Use Refresh to check now; the tray menu turns it back on."));
  b.replaceChildren(...out);
}

function wsSection(ws, index) {
  const headId = `ws-${index}`;
  const sec = el("section", { class: "workspace", "data-ws": ws.name, "aria-labelledby": headId });
  const h2 = el("h2", { id: headId },
    ws.worst ? statusMark(ws.worst, "") : null,
    el("span", { text: ws.name }));
  const head = el("div", { class: "ws-head" },
    h2,
    el("span", { class: "ws-headline", text: ws.headline + (ws.muted ? ` · ${ws.muted}` : "") }),
    el("span", { class: "spacer" }),
    el("button", { type: "button", "data-act": "ws-add", "aria-label": `Add a service to ${ws.name}`, text: "Add service" }),
    el("button", { type: "button", "data-act": "ws-rename", "aria-label": `Rename ${ws.name}`, text: "Rename" }),
    el("button", { type: "button", class: "danger-text", "data-act": "ws-remove", "aria-label": `Remove ${ws.name}`, text: "Remove" }));
  sec.append(head);
  const grid = el("div", { class: "cards" });
  if (ws.services.length === 0) {
    grid.append(el("p", { class: "ws-empty", text: "No services in this workspace yet." }));
  }
  sec.append(grid);
  return sec;
}

// Where focus was, so a redraw can put it back on the same control.
function focusKey() {
  const a = document.activeElement;
  if (!a || a === document.body) return null;
  const card = a.closest("[data-id]");
  const ws = a.closest("[data-ws]");
  const act = a.getAttribute("data-act") || (a.parentElement && a.parentElement.getAttribute("data-act"));
  if (!act) return null;
  return { id: card && card.getAttribute("data-id"), ws: ws && ws.getAttribute("data-ws"), act, summary: a.tagName === "SUMMARY" };
}

function restoreFocus(key) {
  if (!key || document.activeElement !== document.body) return;
  let scope = document;
  if (key.id) scope = document.querySelector(`[data-id="${CSS.escape(key.id)}"]`);
  else if (key.ws) scope = document.querySelector(`[data-ws="${CSS.escape(key.ws)}"]`);
  if (!scope) return;
  const target = key.summary
    ? scope.querySelector(`[data-act="${key.act}"] > summary`)
    : scope.querySelector(`[data-act="${key.act}"]`);
  if (target) target.focus();
}

function render(page) {
  state.page = page;
  document.title = `Overwatch — ${page.headline}`;
  $("headline").textContent = page.headline;
  $("favicon").href = `/assets/status/${page.look}.png`;
  $("overall-icon").src = `/assets/status/${page.look}.png`;
  $("overall-icon").alt = page.look;
  renderBanners(page);
  const grid = $("grid");
  const focus = focusKey();
  grid.setAttribute("aria-busy", "false");
  if (page.empty && !page.demo) {
    state.cards.clear();
    const cta = el("section", { class: "empty" },
      el("h2", { text: "Add your first service" }),
      el("p", { text: "Overwatch watches your Railway projects, Plausible sites, Netlify sites and Sentry projects, and tells you when one needs you. Add one to begin: you will need its id and an API key." }),
      el("button", { type: "button", class: "primary big", "data-act": "add-first", text: "Add your first service" }));
    grid.replaceChildren(cta);
    restoreFocus(focus);
    return;
  }
  const seen = new Set();
  const sections = page.workspaces.map((ws, i) => {
    const sec = wsSection(ws, i);
    const cards = sec.querySelector(".cards");
    for (const card of ws.services) {
      seen.add(card.id);
      const sig = JSON.stringify(card);
      const old = state.cards.get(card.id);
      let node;
      if (old && old.sig === sig) {
        node = old.node;
      } else {
        node = renderCard(card, false);
        // A menu left open stays open.
        if (old && old.node.querySelector("details.menu[open]")) node.querySelector("details.menu").open = true;
        if (old && old.node.querySelector("details.facts[open]")) {
          const f = node.querySelector("details.facts");
          if (f) f.open = true;
        }
        state.cards.set(card.id, { sig, node });
      }
      cards.append(node);
      const prev = state.statuses.get(card.id);
      if (prev !== undefined && prev !== card.word && prev !== "Checking…" && card.word !== "Checking…") {
        announce(`${card.name} in ${ws.name} is now ${card.word}`);
      }
      state.statuses.set(card.id, card.word);
    }
    return sec;
  });
  for (const id of [...state.cards.keys()]) if (!seen.has(id)) state.cards.delete(id);
  grid.replaceChildren(...sections);
  restoreFocus(focus);
}

// ---- live updates ----------------------------------------------------------------

// A patch: the page without its cards, and only the cards that changed.
function applyPatch(p) {
  const page = p.top;
  page.workspaces.forEach((w, i) => { w.services = state.page.workspaces[i].services.slice(); });
  for (const c of p.cards) {
    for (const w of page.workspaces) {
      const j = w.services.findIndex((x) => x.id === c.id);
      if (j >= 0) w.services[j] = c;
    }
  }
  return page;
}

function connect() {
  const es = new EventSource("/api/events");
  const on = (kind, make) => es.addEventListener(kind, (ev) => {
    state.disconnected = false;
    try {
      render(make(JSON.parse(ev.data)));
    } catch (e) {
      toast(`Could not draw the page: ${e}`, true);
    }
  });
  on("state", (page) => page);
  on("patch", (p) => applyPatch(p));
  es.onerror = () => {
    state.disconnected = true;
    if (state.page) renderBanners(state.page);
    if (es.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
  };
}

// ---- the card's actions -------------------------------------------------------

function findCard(id) {
  if (!state.page) return null;
  for (const ws of state.page.workspaces) for (const c of ws.services) if (c.id === id) return c;
  return null;
}

async function act(path, body, okMessage) {
  const r = await api(path, body);
  if (r.ok) toast(r.data.message || okMessage || "Done");
  else toast(r.data.error || `Failed (HTTP ${r.status})`, true);
  return r;
}

document.addEventListener("click", async (ev) => {
  const t = ev.target.closest("[data-act], [data-close]");
  if (!t) return;
  const close = t.getAttribute("data-close");
  if (close) { closeDialog(close); return; }
  const a = t.getAttribute("data-act");
  const cardEl = t.closest("[data-id]");
  const wsEl = t.closest("[data-ws]");
  const card = cardEl && findCard(cardEl.getAttribute("data-id"));
  const wsName = wsEl && wsEl.getAttribute("data-ws");
  const menu = t.closest("details.menu");
  if (menu && a !== "menu") menu.open = false;
  switch (a) {
    case "refresh":
      await act("/api/refresh", { service: card.id }, `Checking ${card.name}…`);
      break;
    case "edit": openServiceDialog(card, null, t); break;
    case "set-key": openKeyDialog(card, t); break;
    case "enable":
    case "disable":
      await act("/api/service/enable", { id: card.id, enabled: a === "enable" });
      break;
    case "up":
    case "down":
      await act("/api/service/move", { id: card.id, position: card.position + (a === "up" ? 0 : 2) });
      break;
    case "remove":
      confirmThen(`Remove ${card.name}?`, `“${card.name}” will be removed from “${card.workspace}” and the config file. Its key stays in the keychain.`, "Remove",
        () => api("/api/service/remove", { id: card.id }), t);
      break;
    case "ws-add": openServiceDialog(null, wsName, t); break;
    case "ws-rename": openWorkspaceDialog(wsName, t); break;
    case "ws-remove": {
      const ws = state.page.workspaces.find((w) => w.name === wsName);
      const n = ws ? ws.services.length : 0;
      confirmThen(`Remove ${wsName}?`,
        n === 0 ? `The empty workspace “${wsName}” will be removed.` : `“${wsName}” and its ${n} service${n === 1 ? "" : "s"} will be removed from the config file.`,
        "Remove", () => api("/api/workspace/remove", { name: wsName, force: n > 0 }), t);
      break;
    }
    case "add-first": openServiceDialog(null, null, t); break;
    default: break;
  }
});

$("add-service").addEventListener("click", (ev) => openServiceDialog(null, null, ev.currentTarget));
$("add-workspace").addEventListener("click", (ev) => openWorkspaceDialog(null, ev.currentTarget));
$("refresh-all").addEventListener("click", () => act("/api/refresh", {}, "Checking every service…"));

// Escape closes an open card menu and gives focus back to its button.
document.addEventListener("keydown", (ev) => {
  if (ev.key !== "Escape") return;
  const open = document.activeElement && document.activeElement.closest("details.menu[open]");
  if (open) {
    open.open = false;
    open.querySelector("summary").focus();
  }
});

// ---- dialogs -----------------------------------------------------------------------

function openDialog(id, opener) {
  state.opener = opener || document.activeElement;
  const d = $(id);
  d.showModal();
}

function closeDialog(id) {
  const d = $(id);
  if (d.open) d.close();
}

for (const d of document.querySelectorAll("dialog")) {
  d.addEventListener("close", () => {
    const o = state.opener;
    state.opener = null;
    if (o && document.contains(o)) o.focus();
    else $("grid").focus();
  });
}

function clearErrors(form) {
  for (const e of form.querySelectorAll(".err, .form-error")) e.textContent = "";
  for (const e of form.querySelectorAll("[aria-invalid]")) e.removeAttribute("aria-invalid");
}

// Puts each problem under its field (and marks the field invalid); what has
// no visible field goes to the form's own error line, which is announced.
function showErrors(prefix, data, fallbackField) {
  const fields = data.fields || {};
  let first = null;
  const general = [];
  for (const [k, msg] of Object.entries(fields)) {
    const target = k ? document.getElementById(`${prefix}${k}`) : null;
    const input = target && document.querySelector(`[aria-describedby~="${prefix}${k}"]`);
    if (target && input && !input.closest("[hidden]")) {
      target.textContent = msg;
      input.setAttribute("aria-invalid", "true");
      if (!first) first = input;
    } else {
      general.push(msg);
    }
  }
  if (data.error && (general.length === 0 || first)) general.unshift(data.error);
  $(prefix).textContent = general.join(" ");
  if (first) {
    const more = first.closest("details");
    if (more) more.open = true;
    first.focus();
  } else if (fallbackField) {
    fallbackField.focus();
  }
}

function confirmThen(title, text, okLabel, run, opener) {
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = okLabel;
  $("cerr-").textContent = "";
  state.confirm = run;
  openDialog("confirm-dialog", opener);
  $("confirm-ok").focus();
}

$("confirm-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const r = await state.confirm();
  if (r.ok) {
    closeDialog("confirm-dialog");
    toast(r.data.message || "Done");
  } else {
    $("cerr-").textContent = r.data.error || `Failed (HTTP ${r.status})`;
  }
});

// The workspace dialog: add or rename.
function openWorkspaceDialog(renaming, opener) {
  const form = $("workspace-form");
  clearErrors(form);
  state.renaming = renaming;
  $("workspace-title").textContent = renaming ? `Rename ${renaming}` : "Add a workspace";
  $("w-name").value = renaming || "";
  openDialog("workspace-dialog", opener);
  $("w-name").focus();
}

$("workspace-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearErrors(ev.target);
  const name = $("w-name").value;
  const r = state.renaming
    ? await api("/api/workspace/rename", { name: state.renaming, new_name: name })
    : await api("/api/workspace/add", { name });
  if (r.ok) {
    closeDialog("workspace-dialog");
    toast(r.data.message);
  } else {
    $("werr-").textContent = r.data.error || `Failed (HTTP ${r.status})`;
    $("w-name").setAttribute("aria-invalid", "true");
    $("w-name").focus();
  }
});

// The key dialog: a new value for a key the config names.
function openKeyDialog(card, opener) {
  const form = $("key-form");
  clearErrors(form);
  state.keyName = card.key;
  $("key-title").textContent = `Set key ${card.key}`;
  $("key-intro").textContent = `The key “${card.key}” is used by ${card.name} (${card.provider_title}). Paste the new one; it goes to your system keychain and is never shown again.`;
  $("k-value").value = "";
  openDialog("key-dialog", opener);
  $("k-value").focus();
}

$("key-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearErrors(ev.target);
  const r = await api("/api/key/set", { name: state.keyName, value: $("k-value").value });
  $("k-value").value = "";
  if (r.ok) {
    closeDialog("key-dialog");
    toast(r.data.message);
  } else {
    showErrors("kerr-", r.data, $("k-value"));
  }
});

// ---- the service dialog ---------------------------------------------------------

function provider(id) {
  return state.providers.find((p) => p.id === id);
}

function slug(s) {
  return s.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "key";
}

function fillWorkspaces(selected) {
  const sel = $("f-workspace");
  // The demo's workspaces are not the user's: a first real service starts a new one.
  const names = state.page && !state.page.demo ? state.page.workspaces.map((w) => w.name) : [];
  const opts = names.map((n) => el("option", { value: n, text: n }));
  opts.push(el("option", { value: "", text: "New workspace…" }));
  sel.replaceChildren(...opts);
  sel.value = selected !== null && selected !== undefined && names.includes(selected) ? selected : (names[0] || "");
  syncWorkspace();
}

function syncWorkspace() {
  const isNew = $("f-workspace").value === "";
  $("f-new-workspace").hidden = !isNew;
  $("l-new-workspace").hidden = !isNew;
  if (isNew && !$("f-new-workspace").value) $("f-new-workspace").value = state.page && state.page.workspaces.length && !state.page.demo ? "" : "Personal";
}

function renderTargetFields(values) {
  const p = provider($("f-provider").value);
  const box = $("f-target");
  const fields = (p ? p.fields : []).map((f) => {
    const id = `f-target-${f.key}`;
    const err = `err-target.${f.key}`;
    const help = `help-target-${f.key}`;
    const value = values && values[f.key] !== undefined ? values[f.key] : (f.default || "");
    let input;
    if (f.choices && f.choices.length) {
      input = el("select", { id, "data-key": f.key, "aria-describedby": `${help} ${err}` },
        ...f.choices.map((c) => el("option", { value: c, text: c })));
      input.value = value || f.choices[0];
    } else {
      input = el("input", { id, "data-key": f.key, autocomplete: "off", "aria-describedby": `${help} ${err}`, required: f.required });
      input.value = value;
    }
    return el("div", { class: "field" },
      el("label", { for: id, text: f.label + (f.required ? "" : " (optional)") }),
      input,
      el("p", { class: "help", id: help, text: f.help.charAt(0).toUpperCase() + f.help.slice(1) }),
      el("p", { class: "err", id: err }));
  });
  box.replaceChildren(...fields);
}

function keyOptions(current) {
  const sel = $("f-key");
  const opts = [];
  for (const k of state.keys) {
    const note = k.source === "env"
      ? (k.present ? "environment variable" : "environment variable, not set")
      : (k.present ? "in the keychain" : "not in the keychain yet");
    opts.push(el("option", { value: `${k.source}:${k.source === "env" ? k.name.replace(/^env:/, "") : k.name}`, text: `${k.name} (${note})` }));
  }
  opts.push(el("option", { value: "new", text: "New key… (stored in the keychain)" }));
  opts.push(el("option", { value: "env-new", text: "Environment variable…" }));
  sel.replaceChildren(...opts);
  if (current) sel.value = current;
  else sel.value = "new";
  if (!sel.value) sel.value = "new";
  syncKey();
}

const KEY_HELP = "Keys are kept in your system keychain. Only their names are shown here.";

function syncKey() {
  const p = provider($("f-provider").value);
  if (!state.keyProblem) $("help-key").textContent = p && p.key_help ? `${KEY_HELP} ${p.title} needs ${p.key_help}.` : KEY_HELP;
  $("help-base_url").textContent = p && p.self_hosted
    ? `For a self-hosted or regional ${p.title}: its address. Leave empty for ${p.title}’s own.`
    : "Only for a proxy or a test server. Leave empty for the provider’s own.";
  const v = $("f-key").value;
  $("new-key").hidden = v !== "new";
  $("env-key").hidden = v !== "env-new";
  if (v === "new" && !$("f-key-name").dataset.touched) {
    const ws = $("f-workspace").value || $("f-new-workspace").value || "personal";
    $("f-key-name").value = `${slug(ws)}-${$("f-provider").value}`;
  }
}

function syncMode() {
  const link = $("f-mode-link").checked;
  $("key-part").hidden = link;
  $("test-connection").disabled = link;
}

async function openServiceDialog(card, workspace, opener) {
  const form = $("service-form");
  clearErrors(form);
  form.reset();
  state.editing = card ? card.id : null;
  $("service-title").textContent = card ? `Edit ${card.name}` : "Add a service";
  $("test-result").hidden = true;
  $("test-result").replaceChildren();
  $("f-key-name").dataset.touched = "";
  $("f-provider").replaceChildren(...state.providers.map((p) => el("option", { value: p.id, text: p.title })));
  $("f-provider").value = card ? card.provider : state.providers[0].id;
  fillWorkspaces(card ? card.workspace : workspace);
  $("f-name").value = card ? card.name : "";
  $(card && card.mode === "link" ? "f-mode-link" : "f-mode-api").checked = true;
  renderTargetFields(card ? card.settings.target : null);
  $("f-base_url").value = card && card.settings.base_url ? card.settings.base_url : "";
  $("f-dashboard").value = card && card.settings.dashboard ? card.settings.dashboard : "";
  $("f-refresh").value = card && card.settings.refresh ? card.settings.refresh : "";
  $("f-enabled").checked = card ? card.enabled : true;
  $("more-settings").open = !!(card && (card.settings.base_url || card.settings.dashboard || card.settings.refresh || !card.enabled));
  openDialog("service-dialog", opener);
  $("f-name").focus();
  const r = await api("/api/keys");
  state.keys = r.ok ? r.data.keys : [];
  if (!r.ok) $("err-key").textContent = r.data.error || "The keychain could not be read.";
  state.keyProblem = r.ok && r.data.problem ? r.data.problem : null;
  if (state.keyProblem) $("help-key").textContent = `The keychain could not be listed (${state.keyProblem}); you can still name a key.`;
  let current = null;
  if (card && card.key) current = card.key_source === "env" ? `env:${card.key.replace(/^env:/, "")}` : `keychain:${card.key}`;
  keyOptions(current);
  syncMode();
}

$("f-provider").addEventListener("change", () => {
  const before = {};
  for (const i of $("f-target").querySelectorAll("[data-key]")) before[i.getAttribute("data-key")] = i.value;
  renderTargetFields(before);
  syncKey();
});
$("f-workspace").addEventListener("change", () => { syncWorkspace(); syncKey(); });
$("f-key").addEventListener("change", syncKey);
$("f-key-name").addEventListener("input", () => { $("f-key-name").dataset.touched = "1"; });
$("f-mode-api").addEventListener("change", syncMode);
$("f-mode-link").addEventListener("change", syncMode);

function serviceForm() {
  const target = {};
  for (const i of $("f-target").querySelectorAll("[data-key]")) target[i.getAttribute("data-key")] = i.value;
  const mode = $("f-mode-link").checked ? "link" : "api";
  let key = null;
  const k = $("f-key").value;
  if (mode === "api") {
    if (k === "new") key = { source: "keychain", name: $("f-key-name").value, value: $("f-key-value").value };
    else if (k === "env-new") key = { source: "env", name: $("f-key-env").value };
    else if (k.startsWith("keychain:")) key = { source: "keychain", name: k.slice(9) };
    else if (k.startsWith("env:")) key = { source: "env", name: k.slice(4) };
  } else if (state.editing) {
    // A link keeps the key it had, if any (switching back needs no retyping).
    const card = findCard(state.editing);
    if (card && card.key) key = card.key_source === "env" ? { source: "env", name: card.key.replace(/^env:/, "") } : { source: "keychain", name: card.key };
  }
  const ws = $("f-workspace").value === "" ? $("f-new-workspace").value : $("f-workspace").value;
  return {
    id: state.editing,
    workspace: ws,
    name: $("f-name").value,
    provider: $("f-provider").value,
    mode,
    target,
    key,
    base_url: $("f-base_url").value,
    dashboard: $("f-dashboard").value,
    refresh: $("f-refresh").value,
    enabled: $("f-enabled").checked,
  };
}

$("test-connection").addEventListener("click", async () => {
  const form = $("service-form");
  clearErrors(form);
  const box = $("test-result");
  box.hidden = false;
  box.replaceChildren(el("p", { class: "checking", text: "Testing the connection…" }));
  const btn = $("test-connection");
  btn.disabled = true;
  const r = await api("/api/service/test", serviceForm());
  btn.disabled = false;
  if (r.ok) {
    const verdict = r.data.ok ? "It works: this is the card it will show." : "It did not work: this is what it would show.";
    box.replaceChildren(el("h3", { text: "Test connection" }), el("p", { class: r.data.ok ? "ok-text" : "bad-text", text: verdict }), renderCard(r.data.card, true));
  } else {
    box.replaceChildren(el("h3", { text: "Test connection" }), el("p", { class: "bad-text", text: r.data.error || `Failed (HTTP ${r.status})` }));
    showErrors("err-", r.data, null);
  }
});

$("service-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearErrors(ev.target);
  const btn = $("save-service");
  btn.disabled = true;
  const r = await api("/api/service/save", serviceForm());
  btn.disabled = false;
  $("f-key-value").value = r.ok ? "" : $("f-key-value").value;
  if (r.ok) {
    closeDialog("service-dialog");
    toast(r.data.message);
  } else {
    showErrors("err-", r.data, $("f-name"));
  }
});

// ---- start -------------------------------------------------------------------------

async function start() {
  const s = await api("/api/session");
  if (!s.ok) {
    $("headline").textContent = s.data.error || "This page could not sign in: open it from the tray menu.";
    return;
  }
  state.csrf = s.data.csrf;
  state.providers = s.data.providers;
  const first = await api("/api/state");
  if (first.ok) render(first.data);
  connect();
}

start();
