#!/usr/bin/python3
"""The dashboard page in a real browser: headless Chromium driven over WebDriver (python3-selenium, chromium-driver), against the real tray binary, the simulator and the session's gnome-keyring.

Usage (inside scripts/session.sh): tests/e2e/dashboard.py path/to/overwatch SHOT_DIR
Writes dashboard-1280.png, dashboard-400.png and dashboard-dark.png to SHOT_DIR
and checks what they show. Prints one line per check and "N passed, N failed";
exits non-zero on a failure. One Chromium for the whole run.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

BIN = os.path.realpath(sys.argv[1])
SHOTS = os.path.realpath(sys.argv[2])
HERE = os.path.dirname(os.path.realpath(__file__))
OUT = tempfile.mkdtemp(prefix="overwatch-dash.")
PASSED = 0
FAILED = 0
procs = []


def ok(name):
    global PASSED
    PASSED += 1
    print(f"ok   - {name}", flush=True)


def bad(name, why=""):
    global FAILED
    FAILED += 1
    print(f"FAIL - {name}" + (f": {why}" if why else ""), flush=True)


def check(name, cond, why=""):
    (ok if cond else lambda n: bad(n, why))(name)
    return cond


def eventually(fn, secs=20, step=0.25):
    end = time.time() + secs
    last = None
    while time.time() < end:
        try:
            last = fn()
            if last:
                return last
        except (WebDriverException, OSError, ValueError, KeyError, TypeError):
            pass
        time.sleep(step)
    return last


# ---- the environment: private dirs, a fake browser opener, the simulator ------

env = dict(os.environ)
env.update(
    XDG_CONFIG_HOME=f"{OUT}/config",
    HOME=f"{OUT}/home",
    OVERWATCH_DATA_DIR=f"{OUT}/data",
    RUST_LOG="overwatch=info",
)
os.makedirs(f"{OUT}/bin")
os.makedirs(env["HOME"])
OPENED = f"{OUT}/opened"
# What the tray opens is recorded, and this browser is sent there instead.
with open(f"{OUT}/bin/xdg-open", "w") as f:
    f.write(f'#!/bin/sh\necho "$@" >> {OPENED}\n')
os.chmod(f"{OUT}/bin/xdg-open", 0o755)
env["PATH"] = f"{OUT}/bin:" + env["PATH"]
CONFIG = f"{OUT}/config.toml"


def run(*args, **kw):
    return subprocess.run([BIN, "--config", CONFIG, *args], env=env, capture_output=True, text=True, timeout=60, **kw)


sim = subprocess.Popen([BIN, "sim"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
procs.append(sim)
BASE = None
for line in sim.stdout:
    m = re.search(r"http://127\.0\.0\.1:\d+/", line)
    if m:
        BASE = m.group(0)
        break
if not BASE:
    print("the simulator did not start")
    sys.exit(1)


def sim_set(target, scenario):
    req = urllib.request.Request(f"{BASE}_sim/scenario?target={target}&scenario={scenario}", method="POST")
    urllib.request.urlopen(req, timeout=5).read()


def secret_lookup(name):
    r = subprocess.run(["secret-tool", "lookup", "service", "overwatch", "username", name], capture_output=True, text=True)
    return r.stdout


def sni(*args):
    return subprocess.run(["/usr/bin/python3", f"{HERE}/sni.py", *args], capture_output=True, text=True, timeout=10)


def listening_ports(pid):
    """TCP ports a process listens on, from /proc (no tool needed)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            t = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if t.startswith("socket:["):
            inodes.add(t[8:-1])
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for row in f.readlines()[1:]:
                parts = row.split()
                if parts[3] == "0A" and parts[9] in inodes:
                    addr, port = parts[1].rsplit(":", 1)
                    ports.append((addr, int(port, 16)))
    return ports


COMMENT = "# My Overwatch — this comment must survive every edit from the page."
# No config file: the tray starts with the demo, as for a new user.

# ---- no tray yet -------------------------------------------------------------------

r = run("dashboard")
check("`overwatch dashboard` without a tray says how to start one", r.returncode == 1 and "overwatch demo" in r.stderr and "not running" in r.stderr, r.stderr)

app_log = open(f"{OUT}/app.err", "w")
app = subprocess.Popen([BIN, "--config", CONFIG], env=env, stdout=subprocess.DEVNULL, stderr=app_log)
procs.append(app)
check("the tray registers", bool(eventually(lambda: sni("item").returncode == 0, 20)))
time.sleep(1)
# The demo's simulator runs inside the tray; besides it, nothing may listen yet.
before_open = listening_ports(app.pid)

# ---- the browser ---------------------------------------------------------------------

opts = Options()
for a in [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={OUT}/chromium",
]:
    opts.add_argument(a)
opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
d = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=opts)
d.set_page_load_timeout(30)


def viewport(w, h):
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": False})


def js(script, *args):
    return d.execute_script(script, *args)


def card(name):
    """The card whose title is `name`, as plain data."""
    return js("""
      for (const c of document.querySelectorAll('#grid article.card')) {
        if (c.querySelector('h3').textContent === arguments[0]) return {
          word: c.querySelector('.pill .word').textContent,
          cls: c.className,
          text: c.innerText,
          fix: !!c.querySelector('[data-act="set-key"]'),
          id: c.getAttribute('data-id'),
        };
      }
      return null;""", name)


def opened_urls():
    try:
        with open(OPENED) as f:
            return [l.strip() for l in f if l.strip()]
    except FileNotFoundError:
        return []


viewport(1280, 900)
try:
    # ---- opened from the tray menu: the token, the cookie, the address bar ----
    menu_id = sni("id", "^Open Overwatch…$").stdout.strip()
    check("the tray menu has an \"Open Overwatch…\" row", menu_id != "", sni("layout").stdout[:400])
    sni("click", menu_id)
    url = eventually(lambda: opened_urls() and opened_urls()[-1], 15)
    check("Open Overwatch… opens a one-time sign-in link on 127.0.0.1", bool(url) and re.match(r"^http://127\.0\.0\.1:\d+/\?token=[0-9a-f]{64}$", url), url)
    new_ports = [p for p in listening_ports(app.pid) if p not in before_open]
    url_port = int(re.search(r":(\d+)/", url).group(1)) if url else 0
    check("opening the page starts one listener, on 127.0.0.1 at the link's port", new_ports == [("0100007F", url_port)], f"{new_ports} vs {url_port}")
    d.get(url)
    check("the token is dropped from the address bar", eventually(lambda: "token" not in d.current_url and d.current_url.endswith("/"), 10), d.current_url)
    check("the demo's services are shown, labelled as demo data", bool(eventually(lambda: js("return document.querySelectorAll('#grid article.card').length") == 8 and "Demo data." in js("return document.getElementById('banners').innerText"), 15)))
    js("window.__notReloaded = 1")
    bases = d.execute_async_script("const done = arguments[arguments.length - 1]; fetch('/api/state').then(r => r.json()).then(p => done([].concat(...p.workspaces.map(w => w.services.map(c => c.settings.base_url)))))")
    demo_ports = {int(re.search(r":(\d+)", b).group(1)) for b in bases if b}
    check("before the page was opened only the demo's own simulator listened", len(before_open) <= 1 and all(p[1] in demo_ports for p in before_open), f"{before_open} vs {demo_ports}")

    # ---- keyboard only: add the first service ----
    def active_id():
        return js("return document.activeElement && (document.activeElement.id || document.activeElement.getAttribute('data-act') || document.activeElement.tagName)")

    def tab_to(target, limit=60):
        for _ in range(limit):
            if active_id() == target:
                return True
            ActionChains(d).send_keys(Keys.TAB).perform()
        return active_id() == target

    def typed(text):
        ActionChains(d).send_keys(text).perform()

    js("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    reached = tab_to("add-first")
    check("\"Add your first service\" is reached with Tab", reached, active_id())
    ActionChains(d).send_keys(Keys.ENTER).perform()
    check("Enter opens the dialog with the focus in it", bool(eventually(lambda: js("return document.getElementById('service-dialog').open && document.getElementById('service-dialog').contains(document.activeElement)"), 5)))
    eventually(lambda: js("return document.getElementById('f-key').options.length > 1"), 10)
    # The form's fields, as a keyboard user meets them.
    ok_steps = True
    ok_steps &= tab_to("f-new-workspace")
    ActionChains(d).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).perform()
    typed("Personal")
    ok_steps &= tab_to("f-provider")
    typed("Railway")  # type-ahead on the select
    ok_steps &= tab_to("f-name")
    typed("Shop")
    ok_steps &= tab_to("f-target-project")
    typed("e2e-shop")
    ok_steps &= tab_to("f-key")
    ok_steps &= js("return document.getElementById('f-key').value") == "new"
    ok_steps &= tab_to("f-key-name")
    ActionChains(d).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).perform()
    typed("e2e-shop-key")
    ok_steps &= tab_to("f-key-value")
    typed("sim-token")
    ok_steps &= tab_to("more-toggle")
    ActionChains(d).send_keys(Keys.ENTER).perform()
    ok_steps &= tab_to("f-base_url")
    typed(BASE)
    check("every field of the dialog is reached and filled with the keyboard", ok_steps, active_id())
    ActionChains(d).send_keys(Keys.ENTER).perform()
    closed = eventually(lambda: not js("return document.getElementById('service-dialog').open"), 15)
    check("Enter saves and closes the dialog", bool(closed), js("return document.getElementById('err-').textContent + ' ' + [...document.querySelectorAll('.err')].map(e => e.id + ':' + e.textContent).join(' ')"))
    check("the service added from the keyboard appears in the grid", bool(eventually(lambda: card("Shop") and card("Shop")["word"] == "Healthy", 25)), str(card("Shop")))
    check("the first real service ends the demo", bool(eventually(lambda: js("return document.querySelectorAll('#grid article.card').length") == 1 and "Demo data" not in js("return document.getElementById('banners').innerText"), 15)))
    text = open(CONFIG).read() if os.path.exists(CONFIG) else ""
    check("the page created the config file with it", 'name = "Personal"' in text and 'name = "Shop"' in text and 'project = "e2e-shop"' in text and 'key = "e2e-shop-key"' in text, text)
    check("its key went to the keychain (gnome-keyring), not the file", secret_lookup("e2e-shop-key") == "sim-token" and "sim-token" not in text)
    check("no reload happened", js("return window.__notReloaded") == 1)
    # A hand edit: a comment on top (later edits from the page must keep it) and a quick refresh.
    with open(CONFIG, "w") as f:
        f.write(f'{COMMENT}\nrefresh = "2s"\n\n{text}')

    # ---- live: a simulator change turns the card red without a reload ----
    sim_set("railway:e2e-shop", "crash")
    check("the card turns red (down) without a reload", bool(eventually(lambda: card("Shop")["word"] == "Down" and "st-down" in card("Shop")["cls"], 30)), str(card("Shop")))
    check("the page was not reloaded for it", js("return window.__notReloaded") == 1)
    check("the header says what is down", "1 down" in js("return document.getElementById('headline').textContent"))
    check("the favicon follows the worst status", js("return document.getElementById('favicon').getAttribute('href')") == "/assets/status/down.png")
    check("the 24-hour strip has the checks in it", bool(eventually(lambda: js("return document.querySelectorAll('[data-id] .strip .cell.s-x, [data-id] .strip .cell.s-h').length") >= 1, 10)))
    sim_set("railway:e2e-shop", "healthy")

    # ---- the dialog with the mouse, Test connection, a rejected key, "Set key…" ----
    d.find_element(By.ID, "add-service").click()
    eventually(lambda: js("return document.getElementById('f-key').options.length > 1"), 10)
    d.find_element(By.ID, "f-provider").send_keys("Netlify")
    js("document.getElementById('f-provider').dispatchEvent(new Event('change'))")
    d.find_element(By.ID, "f-name").send_keys("Web")
    eventually(lambda: d.find_element(By.ID, "f-target-site"), 5).send_keys("e2e-web")
    js("const s = document.getElementById('f-key'); s.value = 'new'; s.dispatchEvent(new Event('change'))")
    kn = d.find_element(By.ID, "f-key-name")
    kn.clear()
    kn.send_keys("e2e-web-key")
    d.find_element(By.ID, "f-key-value").send_keys("wrong-token")
    d.find_element(By.ID, "more-toggle").click()
    d.find_element(By.ID, "f-base_url").send_keys(BASE)
    d.find_element(By.ID, "test-connection").click()
    result = eventually(lambda: js("const r = document.getElementById('test-result'); return r.querySelector('article.card') ? r.innerText : null"), 20)
    check("Test connection shows the card it would get: the key rejected", bool(result) and "Unknown" in result and "rejected" in result.lower(), str(result))
    check("a test saves nothing", "e2e-web" not in open(CONFIG).read() and secret_lookup("e2e-web-key") == "")
    d.find_element(By.ID, "save-service").click()
    eventually(lambda: not js("return document.getElementById('service-dialog').open"), 15)
    web = eventually(lambda: card("Web") if card("Web") and card("Web")["fix"] else None, 30)
    check("a rejected key shows the reason and \"Set key…\"", bool(web) and "rejected" in web["text"].lower(), str(card("Web")))
    js("document.querySelector('[data-id=\"' + arguments[0] + '\"] [data-act=\"set-key\"]').click()", web["id"] if web else "")
    eventually(lambda: js("return document.getElementById('key-dialog').open"), 5)
    d.find_element(By.ID, "k-value").send_keys("sim-token")
    d.find_element(By.ID, "k-value").send_keys(Keys.ENTER)
    check("Set key… stores the new value and the card recovers", bool(eventually(lambda: card("Web")["word"] == "Healthy", 30)), str(card("Web")))
    check("the keychain holds the new value", secret_lookup("e2e-web-key") == "sim-token")
    # One service per provider: Plausible and Sentry with the key already stored, picked by name.
    for title, name, fields in [("Plausible", "Traffic", {"site": "e2e.example"}), ("Sentry", "Errors", {"org": "e2e", "project": "api"})]:
        d.find_element(By.ID, "add-service").click()
        eventually(lambda: js("return document.getElementById('f-key').options.length > 2"), 10)
        js("const p = document.getElementById('f-provider'); p.value = [...p.options].find(o => o.text === arguments[0]).value; p.dispatchEvent(new Event('change'))", title)
        d.find_element(By.ID, "f-name").send_keys(name)
        for k, v in fields.items():
            d.find_element(By.ID, f"f-target-{k}").send_keys(v)
        offered = js("return [...document.getElementById('f-key').options].map(o => o.value)")
        js("const s = document.getElementById('f-key'); s.value = 'keychain:e2e-shop-key'; s.dispatchEvent(new Event('change'))")
        d.find_element(By.ID, "more-toggle").click()
        d.find_element(By.ID, "f-base_url").send_keys(BASE)
        d.find_element(By.ID, "save-service").click()
        eventually(lambda: not js("return document.getElementById('service-dialog').open"), 15)
    check("the key list offers the stored keys by name", "keychain:e2e-shop-key" in offered and "keychain:e2e-web-key" in offered, str(offered))
    check("one service per provider, all healthy in the grid", bool(eventually(lambda: all(card(n) and card(n)["word"] == "Healthy" for n in ["Shop", "Web", "Traffic", "Errors"]), 30)), str([card(n) for n in ["Shop", "Web", "Traffic", "Errors"]]))
    check("the page's edits kept the file's comment", COMMENT in open(CONFIG).read())
    html = js("return document.documentElement.outerHTML")
    check("no key value is anywhere in the page", "sim-token" not in html and "wrong-token" not in html)

    # ---- a hand edit reloads the grid; provider text and config text stay text ----
    evil = '<img src=x onerror="window.__xss=1">'
    with open(CONFIG, "a") as f:
        f.write(f'\n[[workspaces]]\nname = "Links"\n\n[[workspaces.services]]\nname = {json.dumps(evil)}\nprovider = "netlify"\nsite = "e2e-link"\nmode = "link"\n')
    check("a hand edit of the config shows up live", bool(eventually(lambda: card(evil), 15)))
    check("a name with markup is shown as text, never run", js("return window.__xss === undefined && document.querySelectorAll('img[src=\"x\"]').length === 0") and card(evil)["word"] == "Link only")

    # ---- a broken config: shown with its line, never overwritten from the page ----
    good = open(CONFIG).read()
    with open(CONFIG, "a") as f:
        f.write('\n[[workspaces]]\nname = "Broken"\nnope = 1\n')
    broken = open(CONFIG).read()
    check("a broken config is shown with its line", bool(eventually(lambda: re.search(r"config\.toml:\d+:\d+: unknown key", js("return document.getElementById('banners').innerText")), 15)))
    d.find_element(By.ID, "add-workspace").click()
    d.find_element(By.ID, "w-name").send_keys("Never", Keys.ENTER)
    msg = eventually(lambda: js("return document.getElementById('werr-').textContent"), 10)
    check("an edit from the page is refused, saying why", bool(msg) and "unknown key" in msg, str(msg))
    check("the broken file was not written", open(CONFIG).read() == broken)
    js("document.getElementById('workspace-dialog').close()")
    with open(CONFIG, "w") as f:
        f.write(good)
    eventually(lambda: js("return document.getElementById('banners').innerText.indexOf('config file has a problem') < 0"), 15)

    # ---- Refresh, reorder, disable from the card's controls ----
    n_before = int(json.load(urllib.request.urlopen(f"{BASE}_sim/stats", timeout=5))["requests"])
    js("document.querySelector('[data-id=\"' + arguments[0] + '\"] [data-act=\"refresh\"]').click()", card("Shop")["id"])
    check("Refresh checks the service now", bool(eventually(lambda: int(json.load(urllib.request.urlopen(f"{BASE}_sim/stats", timeout=5))["requests"]) > n_before, 10)))
    js("document.querySelector('[data-id=\"' + arguments[0] + '\"] [data-act=\"up\"]').click()", card("Web")["id"])
    check("Move up reorders the services in the file", bool(eventually(lambda: open(CONFIG).read().find('name = "Web"') < open(CONFIG).read().find('name = "Shop"'), 10)))
    check("…and on the page", bool(eventually(lambda: js("return [...document.querySelectorAll('section.workspace')][0].querySelector('h3').textContent") == "Web", 15)))

    # ---- accessibility basics ----
    unlabeled = js("""
      const bad = [];
      for (const i of document.querySelectorAll('input:not([type=hidden]), select')) if (!i.labels || i.labels.length === 0) bad.push(i.id);
      for (const b of document.querySelectorAll('button, a, summary')) if (!(b.getAttribute('aria-label') || b.textContent.trim())) bad.push(b.outerHTML.slice(0, 60));
      return bad;""")
    check("every control has a label for screen readers", unlabeled == [], str(unlabeled))
    check("every card says its status in a word", js("return [...document.querySelectorAll('#grid article.card')].every(c => c.querySelector('.pill .word').textContent.trim().length > 0)"))

    # ---- removing every workspace from the page leaves the empty state ----
    for ws in js("return [...document.querySelectorAll('section.workspace')].map(s => s.getAttribute('data-ws'))"):
        js("document.querySelector('[data-ws=\"' + arguments[0] + '\"] [data-act=\"ws-remove\"]').click()", ws)
        eventually(lambda: js("return document.getElementById('confirm-dialog').open"), 5)
        d.find_element(By.ID, "confirm-ok").click()
        eventually(lambda: not js("return document.getElementById('confirm-dialog').open"), 10)
        eventually(lambda: not js("return !!document.querySelector('[data-ws=\"' + arguments[0] + '\"]')", ws), 15)
    check("with no services left, the page offers one thing: add the first", bool(eventually(lambda: js("return document.querySelector('.empty h2')?.textContent") == "Add your first service", 15)))
    text = open(CONFIG).read()
    check("the file has no workspace left, and still its comment", "[[workspaces]]" not in text and COMMENT in text, text)

    # ---- the screenshots: the demo's services, every status ----
    with open(CONFIG, "w") as f:
        f.write(f'{COMMENT}\nrefresh = "2s"\n')
        services = [
            ("Deploys", [("Shop", "railway", 'project = "acme-shop"'), ("Jobs", "railway", 'project = "acme-jobs"')]),
            ("Traffic", [("Site", "plausible", 'site = "acme.example"'), ("Blog", "plausible", 'site = "blog.acme.example"')]),
            ("Sites", [("Marketing", "netlify", 'site = "acme-marketing"'), ("Docs", "netlify", 'site = "acme-docs"')]),
            ("Errors", [("Shop API", "sentry", 'org = "acme-web"\nproject = "shop-api"'), ("Frontend", "sentry", 'org = "acme-web"\nproject = "frontend"')]),
        ]
        for ws, svcs in services:
            f.write(f'\n[[workspaces]]\nname = "{ws}"\n')
            for name, p, target in svcs:
                f.write(f'\n[[workspaces.services]]\nname = "{name}"\nprovider = "{p}"\n{target}\nkey = "e2e-shop-key"\nbase_url = "{BASE}"\n')
    for t, s in [("railway:acme-shop", "deploy-failing"), ("railway:acme-jobs", "crash"), ("sentry:acme-web/shop-api", "error-spike"),
                 ("netlify:acme-docs", "deploying"), ("plausible:blog.acme.example", "traffic-collapse")]:
        sim_set(t, s)
    settled = eventually(lambda: js("""
        const w = [...document.querySelectorAll('#grid article.card .pill .word')].map(e => e.textContent);
        return w.length === 8 && w.includes('Down') && w.filter(x => x === 'Degraded').length >= 2 && !w.includes('Checking…');"""), 40)
    check("the demo's eight services settle into their statuses", bool(settled), str(js("return [...document.querySelectorAll('#grid article.card .pill .word')].map(e => e.textContent)")))
    time.sleep(2.5)
    check("a sparkline is drawn for a provider with a main number", js("return document.querySelectorAll('svg.spark polyline').length") > 0)
    os.makedirs(SHOTS, exist_ok=True)

    def shot(name, w, h, dark):
        d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]})
        viewport(w, h)
        js("window.scrollTo(0, 0); document.activeElement && document.activeElement.blur(); document.getElementById('toast').hidden = true")
        # No hover left on a button by the last click.
        ActionChains(d).move_to_element(d.find_element(By.ID, "headline")).perform()
        time.sleep(0.8)
        path = f"{SHOTS}/{name}"
        d.save_screenshot(path)
        return path

    def pixel(path, x, y):
        return subprocess.run(["convert", path, "-crop", f"1x1+{x}+{y}", "-format", "%[fx:int(255*r+.5)],%[fx:int(255*g+.5)],%[fx:int(255*b+.5)]", "info:"], capture_output=True, text=True).stdout

    def has_colour(path, rgb):
        r = subprocess.run(["convert", path, "-fill", "black", "+opaque", f"rgb({rgb})", "-fill", "white", "-opaque", f"rgb({rgb})", "-format", "%[fx:mean*w*h]", "info:"], capture_output=True, text=True).stdout
        return float(r or 0) >= 20

    p1280 = shot("dashboard-1280.png", 1280, 900, False)
    cols = js("const t = [...document.querySelectorAll('section.workspace')][0].querySelectorAll('article.card'); return t.length > 1 && t[0].getBoundingClientRect().top === t[1].getBoundingClientRect().top")
    check("at 1,280 px cards sit side by side", cols)
    check("the 1,280 px screenshot is light, with a red (down) card", pixel(p1280, 3, 300) == "244,245,247" and has_colour(p1280, "214,36,36") and has_colour(p1280, "232,150,0"), pixel(p1280, 3, 300))
    p400 = shot("dashboard-400.png", 400, 1300, False)
    check("at 400 px nothing scrolls sideways", js("return document.documentElement.scrollWidth <= 400"), str(js("return document.documentElement.scrollWidth")))
    check("at 400 px the cards are one column", js("const c = [...document.querySelectorAll('#grid article.card')]; return c.length > 1 && c[0].getBoundingClientRect().left === c[1].getBoundingClientRect().left"))
    check("the 400 px screenshot shows the grid", pixel(p400, 2, 600) == "244,245,247" and has_colour(p400, "214,36,36") or has_colour(p400, "232,150,0"), pixel(p400, 2, 600))
    pdark = shot("dashboard-dark.png", 1280, 900, True)
    check("the dark screenshot follows prefers-color-scheme", pixel(pdark, 3, 300) == "20,22,27" and has_colour(pdark, "214,36,36"), pixel(pdark, 3, 300))
    # The design's dialog, editing a service (light).
    js("document.querySelector('[data-id=\"' + arguments[0] + '\"] [data-act=\"edit\"]').click()", card("Jobs")["id"])
    eventually(lambda: js("return document.getElementById('service-dialog').open && document.getElementById('f-key').options.length > 1"), 10)
    pdialog = shot("dashboard-dialog.png", 1280, 900, False)
    check("the edit dialog shows the service's settings", js("return document.getElementById('f-name').value") == "Jobs" and js("return document.getElementById('f-target-project').value") == "acme-jobs")
    js("document.getElementById('service-dialog').close()")
    viewport(1600, 900)
    check("at 1,600 px the page still fits", js("return document.documentElement.scrollWidth <= 1600"))

    # ---- `overwatch dashboard` from a terminal ----
    before = len(opened_urls())
    r = run("dashboard")
    check("`overwatch dashboard` opens the running tray's page", r.returncode == 0 and "opened the dashboard" in r.stderr and len(opened_urls()) == before + 1, r.stderr)
    d.get(opened_urls()[-1])
    check("…which signs this browser in again", bool(eventually(lambda: js("return document.querySelectorAll('#grid article.card').length") == 8, 15)))
    r = run("dashboard", "--url")
    check("`overwatch dashboard --url` prints a one-time link", r.returncode == 0 and re.match(r"^http://127\.0\.0\.1:\d+/\?token=[0-9a-f]{64}$", r.stdout.strip()), r.stdout + r.stderr)

    csp = [e for e in d.get_log("browser") if "Content Security Policy" in e.get("message", "") or "Refused to" in e.get("message", "")]
    check("the page runs under its CSP without a violation", csp == [], str(csp[:3]))
finally:
    try:
        d.quit()
    except Exception:
        pass
    qid = sni("id", "^Quit Overwatch$").stdout.strip()
    if qid:
        sni("click", qid)
    try:
        app.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    for p in procs:
        if p.poll() is None:
            p.kill()
    app_log.close()
    log = open(f"{OUT}/app.err").read()
    check("no key value in the tray's output", "sim-token" not in log and "wrong-token" not in log)
    if FAILED:
        print("--- tray stderr ---")
        print("\n".join(log.splitlines()[-30:]))
    shutil.rmtree(OUT, ignore_errors=True)

print(f"{PASSED} passed, {FAILED} failed")
sys.exit(1 if FAILED else 0)
