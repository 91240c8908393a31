#!/usr/bin/env bash
# Menu size and idle memory of builds of the tray, side by side, for one fleet:
# how many entries each exports to the tray host and its resident memory,
# idle after the start-up round, then after a host has opened every submenu.
# Usage (inside scripts/session.sh, release builds):
#   scripts/session.sh scripts/bench-menu-size.sh before=path/to/old/overwatch after=target/release/overwatch
# Environment: SERVICES (50), REPEATS (3), SETTLE seconds (15). Prints a markdown table.
# Figures are printed, never asserted.
set -u
SERVICES=${SERVICES:-50}
REPEATS=${REPEATS:-3}
SETTLE=${SETTLE:-15}
HERE=$(cd "$(dirname "$0")/.." && pwd)
SNI="/usr/bin/python3 $HERE/tests/e2e/sni.py"
OUT=$(mktemp -d -t overwatch-menu-size.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$OUT"' EXIT
export XDG_CONFIG_HOME=$OUT/config HOME=$OUT/home OVERWATCH_DEMO_TOKEN=sim-token
mkdir -p "$HOME"
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mb() { awk -v k="$1" 'BEGIN {printf "%.1f MB", k / 1024}'; }

first_bin=${1#*=}
"$first_bin" sim --services "$SERVICES" --refresh 1h --write-config "$OUT/fleet.toml" > "$OUT/sim.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q "wrote" "$OUT/sim.out" 2>/dev/null && break; sleep 0.1; done

# run LABEL BIN: one measurement, appended to $OUT/LABEL.txt as
# "entries rss entries_opened rss_opened".
run() {
  local label=$1 bin=$2 app
  export OVERWATCH_DATA_DIR=$OUT/data-$label-$RANDOM
  "$bin" --config "$OUT/fleet.toml" > "$OUT/app.out" 2>&1 &
  app=$!
  pids+=($app)
  for _ in $(seq 1 300); do
    $SNI layout 2>/dev/null | head -n 1 | grep -q "All $SERVICES services healthy" && break
    sleep 0.2
  done
  sleep "$SETTLE"
  local n r n2 r2
  n=$($SNI layout | wc -l)
  r=$(rss_kb $app)
  # A host opening every submenu (AboutToShow, as hosts call it).
  $SNI open-all > /dev/null 2>&1
  sleep "$SETTLE"
  n2=$($SNI layout | wc -l)
  r2=$(rss_kb $app)
  echo "$n $r $n2 $r2" >> "$OUT/$label.txt"
  kill $app 2>/dev/null
  wait $app 2>/dev/null
  sleep 1
}

for _ in $(seq 1 "$REPEATS"); do
  for spec in "$@"; do
    run "${spec%%=*}" "${spec#*=}"
  done
done

echo "| build | menu entries | idle RSS (median) | runs | entries after opening every submenu | RSS then (median) |"
echo "|---|---:|---:|---|---:|---:|"
for spec in "$@"; do
  label=${spec%%=*}
  f=$OUT/$label.txt
  runs=$(awk '{printf "%s%.1f", (NR > 1 ? ", " : ""), $2 / 1024}' "$f")
  echo "| $label | $(awk 'NR==1 {print $1}' "$f") | $(mb "$(awk '{print $2}' "$f" | median)") | $runs MB | $(awk 'NR==1 {print $3}' "$f") | $(mb "$(awk '{print $4}' "$f" | median)") |"
done
echo
echo "$SERVICES services (the providers in turn, ten per workspace) against \`overwatch sim\`, refresh 1 h: one start-up round, then $SETTLE s of settling before each reading; every build in turn, $REPEATS times. Entries are the items the tray exports over dbusmenu (\`tests/e2e/sni.py layout\`); RSS is VmRSS. \"After opening every submenu\": \`sni.py open-all\` sends AboutToShow for each submenu, as a tray host does when it shows one."
