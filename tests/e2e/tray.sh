#!/usr/bin/env bash
# Headless end-to-end test of the real tray binary, checked from outside the
# process over D-Bus: registration, the compact menu and its status icons,
# icon colour, in-place updates (a change elsewhere keeps every id of the rest),
# clicks, notifications (urgency, image), settings, single instance, quit;
# then a first run: the demo, "Set up your own services…", a real config with
# a keychain key, an empty config, and a file nothing can open.
# Usage (inside scripts/session.sh): tests/e2e/tray.sh path/to/overwatch
# Prints one line per check and "N passed, N failed"; exits non-zero on failure.
set -u
BIN=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
SNI="/usr/bin/python3 $HERE/sni.py"
OUT=$(mktemp -d -t overwatch-e2e.XXXXXX)
PASS=0
FAIL=0
ok() { echo "ok   - $1"; PASS=$((PASS + 1)); }
bad() { echo "FAIL - $1"; FAIL=$((FAIL + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
# eventually SECONDS COMMAND...: retries every 0.2 s.
eventually() {
  local tries=$(($1 * 5)); shift
  for _ in $(seq 1 "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  return 1
}

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  if [ "$FAIL" -gt 0 ]; then
    echo "--- app stderr ---"; tail -n 40 "$OUT/app.err" 2>/dev/null
    echo "--- layout ---"; $SNI layout 2>&1 | head -n 60
  fi
  rm -rf "$OUT"
}
trap cleanup EXIT

export XDG_CONFIG_HOME=$OUT/config HOME=$OUT/home OVERWATCH_DATA_DIR=$OUT/data
mkdir -p "$OUT/bin" "$HOME" "$XDG_CONFIG_HOME"
# `open` uses xdg-open; headless it would fail, so record what would be opened
# (and whether the tray's own GDK_GL reached the program it opens).
printf '#!/bin/sh\necho "$@" >> %s/opened\necho "GDK_GL=${GDK_GL-unset}" >> %s/opened.env\n' "$OUT" "$OUT" > "$OUT/bin/xdg-open"
chmod +x "$OUT/bin/xdg-open"
export PATH="$OUT/bin:$PATH"

# The simulator, on a free port.
"$BIN" sim > "$OUT/sim.out" 2>&1 &
pids+=($!)
eventually 10 grep -q "listening on" "$OUT/sim.out" || { echo "simulator did not start"; cat "$OUT/sim.out"; exit 1; }
BASE=$(grep -o 'http://127.0.0.1:[0-9]*/' "$OUT/sim.out" | head -n 1)
sim_set() { curl -fsS -X POST "${BASE}_sim/scenario?target=$1&scenario=$2" >/dev/null; }
sim_requests() { curl -fsS "${BASE}_sim/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])'; }

CONFIG=$OUT/config.toml
cat > "$CONFIG" <<EOF
refresh = "2s"

[[workspaces]]
name = "Deploys"

[[workspaces.services]]
name = "Shop"
provider = "railway"
project = "e2e-shop"
key = "env:OW_E2E_TOKEN"
base_url = "$BASE"

[[workspaces]]
name = "Sites"

[[workspaces.services]]
name = "Web"
provider = "netlify"
site = "e2e-web"
key = "env:OW_E2E_TOKEN"
base_url = "$BASE"
EOF
export OW_E2E_TOKEN=sim-token

# Colour of the icon file the tray host reads, at the probe point above the glyph.
icon_rgb() {
  local f
  f=$($SNI prop IconName | tr -d "'") || return 1
  [ -f "$f" ] || return 1
  local w; w=$(identify -format '%w' "$f")
  convert "$f" -crop "1x1+$((w / 2))+$((w * 15 / 100))" -format '%[fx:int(255*r+.5)],%[fx:int(255*g+.5)],%[fx:int(255*b+.5)]' info:
}
icon_is() { [ "$(icon_rgb)" = "$1" ]; }
GREEN=34,160,74
RED=214,36,36
AMBER=232,150,0
NEUTRAL=84,110,140
# The colour of a menu row's icon (16 px: the probe point is 8,2), from the
# icon-data libdbusmenu exports to the tray host.
row_icon_rgb() {
  local id f=$OUT/row-icon.png
  id=$($SNI id "$1") || return 1
  rm -f "$f"; $SNI icon "$id" "$f" || return 1
  convert "$f" -crop 1x1+8+2 -format '%[fx:int(255*r+.5)],%[fx:int(255*g+.5)],%[fx:int(255*b+.5)]' info:
}
row_icon_is() { [ "$(row_icon_rgb "$1")" = "$2" ]; }
layout_has() { $SNI layout | cut -f3 | grep -qF -- "$1"; }
id_of() { $SNI id "$1"; }

# As a user runs it: scripts/session.sh sets GDK_GL=disable for the session's
# other GTK programs; the tray must keep OpenGL out by itself.
unset GDK_GL
# GTK caches its GLX probe on the root window (GDK_VISUALS); later GTK programs
# on the display then skip GL whatever GDK_GL says. Start each tray without it.
fresh_display() { xprop -root -remove GDK_VISUALS 2>/dev/null || true; }
# OpenGL libraries (libglvnd, Mesa's GLX/EGL/DRI drivers, llvmpipe's LLVM) mapped by PID.
gl_libs() { grep -oE '/[^ ]*/(lib(GL|GLX|EGL|GLdispatch|gallium|LLVM)[^/ ]*\.so[^/ ]*|[^/ ]*_dri\.so)' "/proc/$1/maps" | sort -u; }
no_gl() { [ -e "/proc/$1/maps" ] && [ -z "$(gl_libs "$1")" ]; }
has_gl() { gl_libs "$1" | grep -q .; }

# A zone far from UTC (UTC+14, no summer time): clock times in the menu and in
# notifications must be on the user's clock, not UTC.
export TZ=Pacific/Kiritimati
# Debug logging shows each re-read of the config ("config changed on disk").
fresh_display
RUST_LOG=overwatch=debug,info "$BIN" --config "$CONFIG" > "$OUT/app.out" 2> "$OUT/app.err" &
APP=$!
pids+=($APP)

check "the item registers with the StatusNotifierWatcher" eventually 15 $SNI item
check "the header says all is healthy" eventually 15 layout_has "Both services healthy"
check "one submenu per workspace, labelled with its worst status" bash -c "$SNI layout | awk -F'\t' '\$2==0' | cut -f3 | grep -qx 'Deploys — The service is healthy' && $SNI layout | awk -F'\t' '\$2==0' | cut -f3 | grep -qx 'Sites — The service is healthy'"
check "a workspace row carries the green status icon" eventually 10 row_icon_is '^Deploys — ' $GREEN
# A workspace's submenu is built when a host first opens it, with its cards'
# own submenus; until then it is one placeholder entry.
check "an unopened workspace is one placeholder entry" bash -c "[ \"\$($SNI children '^Sites — ' | cut -f2)\" = '…' ]"
$SNI open "$(id_of '^Deploys — ')"
check "opening a workspace builds its rows and its cards' submenus" eventually 5 bash -c "$SNI children '^Shop · Railway — ' | cut -f2 | grep -qx 'Refresh'"
check "a card is one title row with the summary, and its icon is green" eventually 10 row_icon_is '^Shop · Railway — all 2 services running$' $GREEN
# At most three rows per card in the workspace: the title and what adds to it.
ws_rows() { $SNI children "^$1 — " | cut -f2; }
check "the workspace holds the title and at most two rows per card, then its actions" bash -c "[ \"\$($SNI children '^Deploys — ' | cut -f2 | head -n 2 | tr '\n' '|')\" = 'Shop · Railway — all 2 services running|last deploy: 2 h ago (api)|' ] && [ \$($SNI children '^Deploys — ' | wc -l) -le 6 ]"
check "no row repeats the summary (services: 2/2 running is the summary's news)" bash -c "! $SNI children '^Deploys — ' | cut -f2 | grep -qx 'services: 2/2 running'"
check "rows under a title are text only (disabled)" bash -c "$SNI layout | awk -F'\t' '\$3==\"last deploy: 2 h ago (api)\" {print \$4}' | head -n 1 | grep -qx false"
check "the card's own submenu has the time, Refresh, Open dashboard and Mute" eventually 5 bash -c "$SNI children '^Shop · Railway — ' | cut -f2 | tr '\n' '|' | grep -q 'updated .*|.*|Refresh|Open dashboard|Mute|'"
check "no label is longer than about 60 characters" bash -c "$SNI layout | /usr/bin/python3 -c 'import sys; sys.exit(any(len(l.split(\"\t\")[2]) > 62 for l in sys.stdin))'"
check "the icon is green while everything is healthy" eventually 10 icon_is $GREEN
check "the tray maps no OpenGL library (GDK_GL unset, as users run it)" no_gl $APP

# Notifications that stay up (critical ones do) reach dunst's history when closed.
history() { dunstctl close-all; dunstctl history; }
export -f history

# A deploy starting relabels its card's row in place (and adds a line one
# level down): no entry is replaced, every id stays.
ids() { $SNI layout | cut -f1 | sort; }
export -f ids
export SNI
$SNI open "$(id_of '^Sites — ')"
check "the other workspace opens too" eventually 5 bash -c "$SNI children '^Web · Netlify — ' | cut -f2 | grep -qx 'Refresh'"
IDS=$(ids)
sim_set netlify:e2e-web deploying
check "a running deploy shows on its card" eventually 15 bash -c "$SNI children '^Sites — ' | cut -f2 | grep -q '⟳'"
check "...in place: every id stays" bash -c "[ -z \"\$(comm -23 <(echo \"$IDS\") <(ids))\" ]"
check "a running deploy never changes the colour" icon_is $GREEN

# A change of shape in one workspace (the site degrades: a card with a problem
# gets a second row) is made where it happens: every other entry keeps its id.
others() { comm -23 <($SNI layout | cut -f1 | sort) <($SNI subtree '^Sites — ' | cut -f1 | sort); }
export -f others
OTHERS=$(others)
SITES_ROWS=$($SNI children '^Sites — ' | wc -l)
sim_set netlify:e2e-web deploy-failing
check "a card with a problem gets a second row (the workspace changes shape)" eventually 20 bash -c "[ \$($SNI children '^Sites — ' | wc -l) -gt $SITES_ROWS ]"
check "a change of shape in one workspace keeps every id in the others" bash -c "[ \"\$(others)\" = \"$OTHERS\" ]"
check "the degraded card's icon is amber" eventually 5 row_icon_is '^Web · Netlify — ' $AMBER
sim_set netlify:e2e-web healthy
check "the site recovers" eventually 20 row_icon_is '^Sites — ' $GREEN

# The service goes down: colour, labels, notification.
sim_set railway:e2e-shop crash
check "the icon turns red when a service is down" eventually 20 icon_is $RED
check "the card says what broke" eventually 5 layout_has "Shop · Railway — api crashed"
check "the card's icon turns red in place" eventually 5 row_icon_is '^Shop · Railway — api crashed$' $RED
check "the workspace label carries the worst status" eventually 5 layout_has "Deploys — 1 down"
check "the workspace's icon turns red in place" eventually 5 row_icon_is '^Deploys — 1 down' $RED
check "a desktop notification says it is down" eventually 10 bash -c "history | grep -q 'Deploys · Shop (Railway) is down'"
# "down since HH:MM" in the user's zone (the hour now, or the one before at a turn of the hour).
check "the notification's clock time is local, not UTC" bash -c "history | grep -Eq 'down since ($(date +%H)|$(date -d '-1 min' +%H)):'"
# scripts/session.sh has dunst file each notification under the urgency it saw.
note_field() { history | /usr/bin/python3 -c "import json,sys
for n in json.load(sys.stdin)['data'][0]:
    if n['summary']['data'] == sys.argv[1]:
        print(n[sys.argv[2]]['data']); break" "$1" "$2"; }
export -f note_field
check "the down notification is critical" bash -c "[ \"\$(note_field 'Deploys · Shop (Railway) is down' category)\" = urgency-critical ]"
check "the down notification's image is the red status icon" bash -c "f=\$(note_field 'Deploys · Shop (Railway) is down' icon_path); [ -f \"\$f\" ] && [ \"\$(convert \"\$f\" -crop 1x1+32+9 -format '%[fx:int(255*r+.5)],%[fx:int(255*g+.5)],%[fx:int(255*b+.5)]' info:)\" = $RED ]"

# Clicks over dbusmenu reach the app (Deploys was opened above).
BEFORE=$(sim_requests)
$SNI click "$(id_of '^Refresh$')"
check "Refresh polls the service again" eventually 5 bash -c "[ \$(curl -fsS '${BASE}_sim/stats' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"requests\"])') -gt $BEFORE ]"
$SNI click "$(id_of '^Open dashboard$')"
# The card is down because a deploy crashed: "Open" goes to that deployment's page.
check "Open goes to the page about what broke (the crashed deployment)" eventually 5 grep -q "^https://railway.com/project/e2e-shop/service/.*[?&]id=" "$OUT/opened"
check "the opened program does not inherit the tray's GDK_GL" grep -qx "GDK_GL=unset" "$OUT/opened.env"
$SNI click "$(id_of '^5 min$')"
check "Auto-refresh ▸ 5 min is saved to the config" eventually 5 grep -q '^refresh = "5m"' "$CONFIG"
check "the new choice is checked in place" eventually 5 bash -c "$SNI layout | awk -F'\t' '\$3==\"5 min\" {print \$5}' | grep -qx 1"
REV=$($SNI revision)
$SNI click "$(id_of '^Pause 1 hour$')"
check "Notifications ▸ Pause 1 hour shows the local time it resumes" eventually 5 bash -c "$SNI layout | cut -f3 | grep -Eq '^Paused until ($(date -d '+1 hour' +%H)|$(date -d '+61 min' +%H)):'"
check "a label-only change keeps the layout revision" [ "$($SNI revision)" = "$REV" ]
$SNI click "$(id_of '^Launch at login$')"
check "Launch at login writes an XDG autostart entry" eventually 5 test -f "$XDG_CONFIG_HOME/autostart/overwatch.desktop"

# Reading the config (a `cat`, a backup tool) is not a change: the idle tray must
# not re-read it, nor start a loop of re-reading its own reads.
reads() { grep -c 'config changed on disk' "$OUT/app.err" || true; }
sleep 2
READS=$(reads)
cat "$CONFIG" > /dev/null
sleep 30
check "an idle tray re-reads its config zero times in 30 s after a cat" [ "$(reads)" = "$READS" ]

# Config edits are picked up live; a broken file is shown, not applied.
printf '\n[[workspaces]]\nname = "Broken"\nnope = 1\n' >> "$CONFIG"
check "a broken config is shown with its line" eventually 10 bash -c "$SNI layout | cut -f3 | grep -q 'config.toml:.*unknown key'"
check "the last good config keeps running" layout_has "Shop · Railway — api crashed"

# One instance at a time.
check "a second start says it is already running" bash -c "'$BIN' --config '$CONFIG' 2>&1 | grep -qi 'already running'"

# Quit exits cleanly and the item leaves the watcher.
$SNI click "$(id_of '^Quit Overwatch$')"
for _ in $(seq 1 50); do kill -0 $APP 2>/dev/null || break; sleep 0.1; done
wait $APP; RC=$?
check "Quit exits with code 0" [ "$RC" = 0 ]
check "the item is gone from the watcher" eventually 5 bash -c "! $SNI item"
check "no secret in the app's output" bash -c "! grep -q 'sim-token' '$OUT/app.out' '$OUT/app.err'"

# A user's own GDK_GL is kept (here: empty, GL on), and the check above can
# fail: with GL on, GTK maps the OpenGL libraries.
fresh_display
GDK_GL= "$BIN" --config "$CONFIG" > "$OUT/app2.out" 2> "$OUT/app2.err" &
APP2=$!
pids+=($APP2)
up_with_gl() { $SNI item >/dev/null 2>&1 && has_gl $APP2; }
check "with the user's GDK_GL (GL on), the tray starts and GTK maps OpenGL" eventually 15 up_with_gl
kill $APP2 2>/dev/null; wait $APP2 2>/dev/null

# ---- A first run: the demo, "Set up…", a real config with a keychain key, an
# empty config, and a file nothing can open.
FIRST=$OUT/first
mkdir -p "$FIRST/data"
export OVERWATCH_DATA_DIR=$FIRST/data
CONFIG2=$FIRST/config.toml
: > "$OUT/opened"
"$BIN" --config "$CONFIG2" > "$FIRST/app.out" 2> "$FIRST/app.err" &
APP=$!
pids+=($APP)
check "with no config the tray runs the demo" eventually 20 layout_has "Demo data"
check "the demo offers one row to set up your own services" bash -c "[ \$($SNI layout | cut -f3 | grep -c 'Set up your own services…') = 1 ]"
check "Auto-refresh shows the demo's 5 s ticked" bash -c "$SNI layout | awk -F'\t' '\$3==\"5 s\" {print \$5}' | grep -qx 1"
cant_checks() { history | grep -c "can't check" || true; }
CANT=$(cant_checks)
$SNI click "$(id_of '^Set up your own services…$')"
check "Set up writes the example with every service switched off, and opens it" eventually 5 bash -c "grep -q '^# \\[\\[workspaces.services\\]\\]' '$CONFIG2' && ! grep -q '^\\[\\[workspaces' '$CONFIG2' && grep -qxF '$CONFIG2' '$OUT/opened'"
sleep 4
check "the demo keeps running until a service is added" layout_has "Demo data"
check "no \"can't check\" notifications from placeholder services" [ "$(cant_checks)" = "$CANT" ]

# The demo answered its key from memory; a real config's keychain key must
# work as soon as the file says so (the store is chosen per config).
KEY=ow-e2e-$$
printf %s "$OW_E2E_TOKEN" | "$BIN" secret set "$KEY" > /dev/null 2>&1
cat > "$CONFIG2" <<EOF
refresh = "2s"

[[workspaces]]
name = "Mine"

[[workspaces.services]]
name = "Store"
provider = "railway"
project = "e2e-first-run"
key = "$KEY"
base_url = "$BASE"
EOF
check "after the demo, a config with a keychain key works without a restart" eventually 20 bash -c "$SNI open \"\$($SNI id '^Mine — ')\" && $SNI children '^Mine — ' | cut -f2 | grep -qx 'Store · Railway — all 2 services running'"
check "the demo is over" bash -c "! $SNI layout | cut -f3 | grep -q 'Demo data'"
check "nothing says the keychain is unavailable" bash -c "! $SNI layout | cut -f3 | grep -qi 'keychain'"
"$BIN" secret delete "$KEY" > /dev/null 2>&1

printf 'refresh = "2s"\n' > "$CONFIG2"
check "an empty config says so once, with the way to add a service" eventually 10 bash -c "[ \$($SNI layout | cut -f3 | grep -c 'No services yet') = 1 ] && $SNI layout | cut -f3 | grep -qx 'No services yet — Add a service…'"
check "an empty config shows the neutral icon, not the unknown one" eventually 5 icon_is $NEUTRAL

# Nothing can open the file (no editor set up): the menu and a notification
# say so, with the path.
printf '#!/bin/sh\nexit 3\n' > "$OUT/bin/xdg-open"
printf '#!/bin/sh\nexit 2\n' > "$OUT/bin/gio"
chmod +x "$OUT/bin/xdg-open" "$OUT/bin/gio"
$SNI click "$(id_of '^No services yet — Add a service…$')"
check "when nothing opens the file, the menu says so" eventually 15 layout_has "No application opened the"
check "...with the file's path one level down" bash -c "$SNI subtree 'No application opened' | cut -f2 | tr -d ' \n' | grep -qF '$CONFIG2'"
check "...and a notification says so" eventually 5 bash -c "history | grep -q \"Overwatch can't open the configuration file\""

$SNI click "$(id_of '^Quit Overwatch$')"
for _ in $(seq 1 50); do kill -0 $APP 2>/dev/null || break; sleep 0.1; done
wait $APP; RC=$?
check "the first-run tray quits with code 0" [ "$RC" = 0 ]
check "no secret in its output either" bash -c "! grep -q 'sim-token' '$FIRST/app.out' '$FIRST/app.err'"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
