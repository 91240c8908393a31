#!/usr/bin/env bash
# Takes a screenshot of the tray's open menu on a visible SNI host
# (gtk-sni-tray), for the README: a deploy failing, a crash and an error spike
# served by the simulator, a workspace and a card's own submenu open.
# Usage (inside scripts/session.sh):
#   tests/e2e/screenshot.sh path/to/overwatch OUT.png
# Checks that the icon is drawn in the bar with the worst status's colour, that
# the rows carry coloured status icons, and that the open submenus stay open
# while another workspace changes shape (the simulator's control endpoint).
set -u
BIN=$(realpath "$1")
OUTPNG=$2
OUT=$(mktemp -d -t overwatch-shot.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$OUT"' EXIT
export XDG_CONFIG_HOME=$OUT/config HOME=$OUT/home OVERWATCH_DATA_DIR=$OUT/data
mkdir -p "$HOME"

"$BIN" sim --write-config "$OUT/demo.toml" > "$OUT/sim.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do grep -q "wrote" "$OUT/sim.out" 2>/dev/null && break; sleep 0.1; done
BASE=$(grep -o 'http://127.0.0.1:[0-9]*/' "$OUT/sim.out" | head -n 1)
sed -i 's/^refresh = .*/refresh = "2s"/' "$OUT/demo.toml"
for t in railway:acme-shop=deploy-failing railway:acme-jobs=crash sentry:acme-web/shop-api=error-spike netlify:acme-docs=deploying; do
  curl -fsS -X POST "${BASE}_sim/scenario?target=${t%%=*}&scenario=${t#*=}" >/dev/null
done

gtk-sni-tray-standalone --top --beginning -s 32 -c '#303030' > "$OUT/host.log" 2>&1 &
pids+=($!)
sleep 1
OVERWATCH_DEMO_TOKEN=sim-token "$BIN" --config "$OUT/demo.toml" > "$OUT/app.out" 2>&1 &
pids+=($!)
SNI="/usr/bin/python3 $(dirname "$0")/sni.py"
# Wait for the confirmed "down" (two answers), then open the menu, a workspace
# and the crashed card's own submenu.
for _ in $(seq 1 100); do
  $SNI layout 2>/dev/null | head -n 1 | grep -q "1 down" && break
  sleep 0.2
done
xdotool mousemove 16 16 click 3
sleep 1.5
xdotool mousemove 150 99
sleep 1.5
# The crashed card's title row in the workspace submenu (the fourth row; the
# first workspace is the third row of the menu, under "Open Overwatch…").
xdotool mousemove 450 174
sleep 1.5
# Notifications popped up meanwhile would cover the menus.
dunstctl close-all
sleep 0.5
import -window root "$OUT/full.png"
convert "$OUT/full.png" -crop 1080x320+0+0 +repage "$OUTPNG"
px() { convert "$1" -crop "1x1+$2+$3" -format '%[fx:int(255*r+.5)],%[fx:int(255*g+.5)],%[fx:int(255*b+.5)]' info:; }
pass=0 fail=0
ok() { echo "ok   - $1"; pass=$((pass + 1)); }
bad() { echo "FAIL - $1"; fail=$((fail + 1)); }
# The icon in the bar is red (down is the worst status).
rgb=$(px "$OUT/full.png" 16 5)
if [ "$rgb" = "214,36,36" ]; then ok "the tray host draws the red icon"; else bad "the icon in the bar is $rgb, expected 214,36,36"; fi
# An open GTK menu is light; the empty root window behind it is black. Probe
# the workspace submenu and the card's submenu, right of where each starts.
open_at() { [ "$(px "$1" "$2" "$3")" != "0,0,0" ]; }
if open_at "$OUT/full.png" 250 300; then ok "the menu is open ($OUTPNG)"; else bad "no menu on screen"; fi
if open_at "$OUT/full.png" 700 230; then ok "the workspace submenu is open"; else bad "no workspace submenu on screen"; fi
if open_at "$OUT/full.png" 1000 270; then ok "the card's own submenu is open, built in full (its Mute row is drawn)"; else bad "no card submenu on screen"; fi
# The rows' status icons are drawn in colour by the host: some pixel of the
# menus is the down red (the workspace and the crashed card) and one amber.
colours=$(convert "$OUT/full.png" -crop 1280x300+0+32 +repage -format %c histogram:info:- )
if echo "$colours" | grep -q "(214, *36, *36)"; then ok "rows carry the red status icon"; else bad "no red status icon in the menu"; fi
if echo "$colours" | grep -q "(232, *150, *0)"; then ok "rows carry the amber status icon"; else bad "no amber status icon in the menu"; fi

# Another workspace changes shape while both submenus are open: a healthy
# site crashes, so its card gets a second row. The open submenus must stay.
# (Built as a host builds it when it shows it; workspaces are built when first opened.)
$SNI open "$($SNI id '^Sites — ')"
for _ in $(seq 1 25); do [ "$($SNI children '^Sites — ' | cut -f2)" != '…' ] && break; sleep 0.2; done
ROWS=$($SNI children '^Sites — ' | wc -l)
curl -fsS -X POST "${BASE}_sim/scenario?target=netlify:acme-marketing&scenario=crash" >/dev/null
for _ in $(seq 1 100); do
  [ "$($SNI children '^Sites — ' | wc -l)" -gt "$ROWS" ] && break
  sleep 0.2
done
if [ "$($SNI children '^Sites — ' | wc -l)" -gt "$ROWS" ]; then ok "the other workspace changed shape ($ROWS → $($SNI children '^Sites — ' | wc -l) rows)"
else bad "the other workspace did not change shape"; fi
sleep 10
import -window root "$OUT/later.png"
cp "$OUT/later.png" "${OUTPNG%.png}-10s-later.png"
if open_at "$OUT/later.png" 700 230 && open_at "$OUT/later.png" 1000 270; then
  ok "10 s later the workspace and card submenus are still open"
else
  bad "a change in another workspace closed the open submenu (see ${OUTPNG%.png}-10s-later.png)"
fi

# A workspace of ten services, four of them down, fits on an 800 px screen:
# its submenu ends above the screen's bottom edge, so the host needs no
# scroll arrows (GTK makes a menu taller than the screen scroll).
for p in "${pids[@]:2}"; do kill "$p" 2>/dev/null; done
sleep 1
"$BIN" sim --services 10 --refresh 2s --write-config "$OUT/fleet.toml" > "$OUT/sim2.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do grep -q "wrote" "$OUT/sim2.out" 2>/dev/null && break; sleep 0.1; done
BASE2=$(grep -o 'http://127.0.0.1:[0-9]*/' "$OUT/sim2.out" | head -n 1)
for t in railway:fleet-0 plausible:fleet-1.example netlify:fleet-2 sentry:fleet/p3; do
  curl -fsS -X POST "${BASE2}_sim/scenario?target=$t&scenario=crash" >/dev/null
done
curl -fsS -X POST "${BASE2}_sim/scenario?target=sentry:fleet/p7&scenario=error-spike" >/dev/null
dunstctl close-all
OVERWATCH_DEMO_TOKEN=sim-token "$BIN" --config "$OUT/fleet.toml" > "$OUT/app2.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 150); do
  $SNI layout 2>/dev/null | head -n 1 | grep -q "down" && break
  sleep 0.2
done
sleep 3
dunstctl close-all
xdotool mousemove 16 16 click 3
sleep 1.5
xdotool mousemove 150 99
sleep 1.5
import -window root "$OUT/fleet.png"
cp "$OUT/fleet.png" "${OUTPNG%.png}-10-services.png"
rows=$($SNI children '^Fleet 1 — ' | wc -l)
# The submenu's bottom edge: the first black pixel below it, down its middle
# (below y=120: the submenu starts at the third row, under "Open Overwatch…").
bottom=$(convert "$OUT/fleet.png" -crop 1x800+600+0 +repage txt:- | awk -F'[,: ]+' '/#000000/ && $2 > 120 {print $2; exit}')
if [ -n "$bottom" ] && [ "$bottom" -lt 790 ] && open_at "$OUT/fleet.png" 600 "$((bottom - 20))"; then
  ok "a ten-service workspace ($rows rows) fits on an 800 px screen (ends at y=$bottom)"
else
  bad "the ten-service workspace ($rows rows) does not fit (bottom edge: ${bottom:-none}; see ${OUTPNG%.png}-10-services.png)"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
