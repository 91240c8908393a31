#!/usr/bin/env bash
# Headless end-to-end test of the real tray binary, checked from outside the
# process over D-Bus: registration, menu layout, icon colour, in-place updates,
# clicks, notifications, settings, single instance, quit.
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
check "one submenu per workspace, labelled with its worst status" bash -c "$SNI layout | awk -F'\t' '\$2==0' | cut -f3 | grep -qx '✓ Deploys — The service is healthy' && $SNI layout | awk -F'\t' '\$2==0' | cut -f3 | grep -qx '✓ Sites — The service is healthy'"
check "card titles, summaries and metric lines are in the menu" bash -c "$SNI layout | cut -f3 | grep -qx '✓ Shop · Railway' && $SNI layout | cut -f3 | grep -qx 'services: 2/2 running' && $SNI layout | cut -f3 | grep -qx '✓ Web · Netlify'"
check "metric lines are disabled (text only)" bash -c "$SNI layout | awk -F'\t' '\$3==\"services: 2/2 running\" {print \$4}' | grep -qx false"
check "the icon is green while everything is healthy" eventually 10 icon_is $GREEN
check "the tray maps no OpenGL library (GDK_GL unset, as users run it)" no_gl $APP

# A label-only change (a deploy starts) must not rebuild the menu.
REV0=$($SNI revision)
REFRESH_ID=$(id_of '^Refresh all$')
TITLE_ID=$(id_of '^✓ Shop · Railway$')
sim_set railway:e2e-shop deploying
check "a running deploy shows on the card" eventually 15 bash -c "$SNI layout | cut -f3 | grep -q '⟳'"
check "a label-only update keeps item ids and the layout revision" bash -c "[ \"\$($SNI id '^Refresh all\$')\" = '$REFRESH_ID' ] && [ \"\$($SNI id '^✓ Shop · Railway\$')\" = '$TITLE_ID' ] && [ \"\$($SNI revision)\" = '$REV0' ]"
check "a running deploy never changes the colour" icon_is $GREEN

# The service goes down: colour, labels, notification.
sim_set railway:e2e-shop crash
check "the icon turns red when a service is down" eventually 20 icon_is $RED
check "the card says what broke" eventually 5 layout_has "× Shop · Railway"
check "the workspace label carries the worst status" eventually 5 layout_has "× Deploys — 1 down"
check "a desktop notification says it is down" eventually 10 bash -c "dunstctl history | grep -q 'Deploys · Shop (Railway) is down'"
# "down since HH:MM" in the user's zone (the hour now, or the one before at a turn of the hour).
check "the notification's clock time is local, not UTC" bash -c "dunstctl history | grep -Eq 'down since ($(date +%H)|$(date -d '-1 min' +%H)):'"

# Clicks over dbusmenu reach the app.
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
$SNI click "$(id_of '^Pause 1 hour$')"
check "Notifications ▸ Pause 1 hour shows the local time it resumes" eventually 5 bash -c "$SNI layout | cut -f3 | grep -Eq '^Paused until ($(date -d '+1 hour' +%H)|$(date -d '+61 min' +%H)):'"
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
check "the last good config keeps running" layout_has "× Shop · Railway"

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

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
