#!/usr/bin/env bash
# Takes a screenshot of the tray's open menu on a visible SNI host
# (gtk-sni-tray), for the README: a deploy failing, a crash and an error spike
# served by the simulator. Usage (inside scripts/session.sh):
#   tests/e2e/screenshot.sh path/to/overwatch OUT.png
# Checks that the icon is drawn in the bar with the worst status's colour.
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
# Wait for the confirmed "down" (two answers), then open the menu and a workspace.
for _ in $(seq 1 100); do
  /usr/bin/python3 "$(dirname "$0")/sni.py" layout 2>/dev/null | head -n 1 | grep -q "1 down" && break
  sleep 0.2
done
xdotool mousemove 16 16 click 3
sleep 1.5
xdotool mousemove 150 74
sleep 1.5
import -window root "$OUT/full.png"
convert "$OUT/full.png" -crop 760x560+0+0 +repage "$OUTPNG"
# The icon in the bar is red (down is the worst status).
px() { convert "$OUT/full.png" -crop "1x1+$1+$2" -format '%[fx:int(255*r+.5)],%[fx:int(255*g+.5)],%[fx:int(255*b+.5)]' info:; }
pass=0 fail=0
rgb=$(px 16 5)
if [ "$rgb" = "214,36,36" ]; then echo "ok   - the tray host draws the red icon"; pass=$((pass + 1));
else echo "FAIL - the icon in the bar is $rgb, expected 214,36,36"; fail=$((fail + 1)); fi
# An open GTK menu is light; the empty root window behind it is black.
menu=$(px 250 300)
if [ "$menu" != "0,0,0" ]; then echo "ok   - the menu and a workspace submenu are open ($OUTPNG)"; pass=$((pass + 1));
else echo "FAIL - no menu on screen"; fail=$((fail + 1)); fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
