#!/usr/bin/env bash
# Builds release and runs every Overwatch benchmark, printing the markdown tables
# of BENCHMARKS.md: idle footprint against the floor (examples/floor.rs), poll
# cycles at scale, curl versus `overwatch status`, menu work, the soak, binary
# size and cold start, the dashboard's idle cost and history ring. Figures are
# printed, never asserted.
# Usage: scripts/bench.sh [--quick]      (make bench)
#   --quick: 20 s idle window, 1 repeat, 1,000 soak cycles (a smoke run).
# Environment: IDLE_SECONDS, REPEATS, SOAK_CYCLES override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
# The session below points HOME at a scratch dir; cargo and rustup must still find theirs.
export CARGO_HOME=${CARGO_HOME:-$HOME/.cargo} RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
CARGO=${CARGO:-cargo}

IDLE_SECONDS=${IDLE_SECONDS:-60}
# ONLY=engine skips the idle, size and cold-start part (section 1 and 6);
# ONLY=dashboard runs only section 7 (the dashboard's cost).
ONLY=${ONLY:-all}
REPEATS=${REPEATS:-3}
SOAK_CYCLES=${SOAK_CYCLES:-10000}
if [ "${1:-}" = --quick ]; then IDLE_SECONDS=20 REPEATS=1 SOAK_CYCLES=1000; fi

if [ "${OW_BENCH_INNER:-}" != 1 ]; then
  # Build everything first (benches, the floor), then the product binary last:
  # benches unify dev-dependency features, so the plain release build is the one measured.
  if [ "$ONLY" != dashboard ]; then
    $CARGO bench --no-run >&2
    $CARGO build --release --example floor >&2
  fi
  $CARGO build --release >&2
  OUT=$(mktemp -d -t overwatch-bench.XXXXXX)
  cp "$CARGO_TARGET_DIR/release/overwatch" "$OUT/"
  if [ "$ONLY" != dashboard ]; then cp "$CARGO_TARGET_DIR/release/examples/floor" "$OUT/"; fi
  export OW_BENCH_INNER=1 OW_BENCH_OUT=$OUT IDLE_SECONDS REPEATS SOAK_CYCLES ONLY
  trap 'rm -rf "$OUT"' EXIT
  echo "# Overwatch benchmarks — $(date -u +'%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
  echo
  scripts/session.sh "$0" "$@"
  exit $?
fi

# ---- inside the private session (Xvfb, D-Bus, tray watcher) -----------------
OUT=$OW_BENCH_OUT
BIN=$OUT/overwatch
FLOOR=$OUT/floor
SNI="/usr/bin/python3 tests/e2e/sni.py"
export XDG_CONFIG_HOME=$OUT/config HOME=$OUT/home OVERWATCH_DATA_DIR=$OUT/data
mkdir -p "$XDG_CONFIG_HOME" "$HOME"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

hz=$(getconf CLK_TCK)
# rss_kb PID, threads PID, ticks PID (utime+stime), ctxsw PID (all threads, vol+invol)
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
threads() { awk '/^Threads:/ {print $2}' "/proc/$1/status"; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ctxsw() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {s += $2} END {print s}'; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf (b > 0 ? "%.2f×" : "n/a"), a / b}'; }

# Waits until a tray item from PID is registered with the watcher.
registered_by() {
  local pid=$1
  for _ in $(seq 1 200); do
    busctl --user list 2>/dev/null | awk -v p="$pid" '$2 == p {print $1}' | grep -q . &&
      $SNI item >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  return 1
}

if [ "$ONLY" = all ]; then
# ---- 1. idle footprint against the floor --------------------------------------
"$BIN" sim --services 50 --refresh 60s --write-config "$OUT/fleet.toml" > "$OUT/sim.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q "wrote" "$OUT/sim.out" 2>/dev/null && break; sleep 0.05; done
export OVERWATCH_DEMO_TOKEN=sim-token
"$BIN" sim --services 50 --refresh 1h --write-config "$OUT/fleet-1h.toml" > /dev/null 2>&1 &
SIM2=$!
for _ in $(seq 1 100); do [ -s "$OUT/fleet-1h.toml" ] && break; sleep 0.05; done
kill $SIM2 2>/dev/null || true
# The 1 h config watches the same simulator as the 60 s one.
BASE=$(grep -o 'http://127.0.0.1:[0-9]*' "$OUT/sim.out" | head -n1)
sed -i "s#http://127.0.0.1:[0-9]*#$BASE#" "$OUT/fleet-1h.toml"

# idle_pair LABEL CONFIG: runs Overwatch and the floor side by side over the same window.
idle_pair() {
  local label=$1 config=$2
  "$FLOOR" >/dev/null 2>&1 & local fp=$!; pids+=($fp)
  "$BIN" --config "$config" >"$OUT/app.out" 2>"$OUT/app.err" & local op=$!; pids+=($op)
  # Settle: the start-up round, the first render, allocator warm-up.
  sleep 15
  local f0 o0 fc0 oc0
  f0=$(ticks $fp); o0=$(ticks $op); fc0=$(ctxsw $fp); oc0=$(ctxsw $op)
  sleep "$IDLE_SECONDS"
  local f1 o1 fc1 oc1
  f1=$(ticks $fp); o1=$(ticks $op); fc1=$(ctxsw $fp); oc1=$(ctxsw $op)
  local orss frss
  orss=$(rss_kb $op); frss=$(rss_kb $fp)
  echo "$label $orss $frss $(threads $op) $(threads $fp) $((o1 - o0)) $((f1 - f0)) $((oc1 - oc0)) $((fc1 - fc0))" >> "$OUT/idle.txt"
  kill $op $fp 2>/dev/null || true
  wait $op $fp 2>/dev/null || true
}
: > "$OUT/idle.txt"
for _ in $(seq 1 "$REPEATS"); do
  idle_pair "60s" "$OUT/fleet.toml"
done
idle_pair "1h" "$OUT/fleet-1h.toml"

echo "## 1. Idle footprint: 50 services against the floor"
echo
echo "| refresh | run | Overwatch RSS | floor RSS | **RSS ratio** | threads (ow / floor) | CPU over ${IDLE_SECONDS} s (ow / floor) | context switches over ${IDLE_SECONDS} s (ow / floor) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
n=0
while read -r label orss frss oth fth ot ft oc fc; do
  n=$((n + 1))
  cpu_o=$(awk -v t="$ot" -v h="$hz" -v s="$IDLE_SECONDS" 'BEGIN {printf "%.3f %%", 100 * t / h / s}')
  cpu_f=$(awk -v t="$ft" -v h="$hz" -v s="$IDLE_SECONDS" 'BEGIN {printf "%.3f %%", 100 * t / h / s}')
  echo "| $label | $n | $(awk -v k="$orss" 'BEGIN {printf "%.1f MB", k / 1024}') | $(awk -v k="$frss" 'BEGIN {printf "%.1f MB", k / 1024}') | **$(ratio "$orss" "$frss")** | $oth / $fth | $cpu_o / $cpu_f | $oc / $fc |"
done < "$OUT/idle.txt"
med_ratio=$(grep '^60s' "$OUT/idle.txt" | awk '{print $2 / $3}' | median)
echo
echo "Median RSS ratio at refresh 60 s: **$(printf '%.2f' "$med_ratio")×**. Both processes run at once in one Xvfb session (\`GDK_GL=disable NO_AT_BRIDGE=1\`, set by scripts/session.sh), measured over the same ${IDLE_SECONDS} s after 15 s of settling; RSS is VmRSS at the end of the window, CPU is utime+stime, context switches are voluntary + involuntary summed over /proc/PID/task/*. With refresh 60 s the window holds one poll round of 50 services; with refresh 1 h it holds none (pure idle)."
echo

# ---- 6. binary size and cold start ---------------------------------------------
cold() {
  local what=$1; shift
  local t0 t1 p
  t0=$(date +%s%N)
  "$@" >/dev/null 2>&1 & p=$!
  registered_by $p || { echo "n/a"; kill $p 2>/dev/null; return; }
  t1=$(date +%s%N)
  kill $p 2>/dev/null; wait $p 2>/dev/null || true
  echo $(( (t1 - t0) / 1000000 ))
}
os=(); fs=()
for _ in $(seq 1 5); do
  os+=("$(cold ow "$BIN" --config "$OUT/fleet-1h.toml")")
  fs+=("$(cold floor "$FLOOR")")
done
echo "## 6. Binary size and cold start"
echo
echo "| | size (release, stripped) | cold start to a registered tray item (median of 5) | runs (ms) |"
echo "|---|---:|---:|---|"
osz=$(stat -c %s "$BIN"); fsz=$(stat -c %s "$FLOOR")
echo "| Overwatch | $(awk -v b="$osz" 'BEGIN {printf "%.2f MB", b / 1048576}') | $(printf '%s\n' "${os[@]}" | median) ms | ${os[*]} |"
echo "| floor | $(awk -v b="$fsz" 'BEGIN {printf "%.2f MB", b / 1048576}') | $(printf '%s\n' "${fs[@]}" | median) ms | ${fs[*]} |"
echo
echo "Cold start: from exec until the StatusNotifierWatcher lists the process's item (polled every 50 ms, so ±50 ms); the page cache is warm. The floor is built with the same release profile (\`strip = true\`)."
echo
kill "${pids[0]}" 2>/dev/null || true
fi

# ---- 7. the dashboard: the tray's cost with its page never opened, then open --------
if [ "$ONLY" = all ] || [ "$ONLY" = dashboard ]; then
"$BIN" sim --services 50 --refresh 60s --write-config "$OUT/fleet-dash.toml" --force > "$OUT/sim-dash.out" 2>&1 &
SIM_DASH=$!; pids+=($SIM_DASH)
for _ in $(seq 1 100); do grep -q "wrote" "$OUT/sim-dash.out" 2>/dev/null && break; sleep 0.05; done
export OVERWATCH_DEMO_TOKEN=sim-token
# TCP sockets PID listens on (from /proc; no tool needed).
listening() {
  local inodes
  inodes=$(ls -l "/proc/$1/fd" 2>/dev/null | grep -o 'socket:\[[0-9]*\]' | grep -o '[0-9]*' | sort -u)
  awk 'NR > 1 && $4 == "0A" {print $10}' /proc/net/tcp /proc/net/tcp6 | sort -u | comm -12 - <(echo "$inodes") | wc -l
}
: > "$OUT/dash.txt"
for _ in $(seq 1 "$REPEATS"); do
  "$BIN" --config "$OUT/fleet-dash.toml" >"$OUT/app.out" 2>"$OUT/app.err" & op=$!; pids+=($op)
  sleep 15
  r0=$(rss_kb $op); l0=$(listening $op); t0=$(ticks $op); c0=$(ctxsw $op)
  sleep "$IDLE_SECONDS"
  r1=$(rss_kb $op); t1=$(ticks $op); c1=$(ctxsw $op)
  # Open the page the way a browser does: the sign-in link, the page, its state,
  # then its live stream, kept open for the same window.
  url=$("$BIN" dashboard --url)
  base=${url%%\?*}
  curl -fsS -c "$OUT/jar" -o /dev/null "$url"
  for p in "" api/session api/state assets/app.js assets/app.css; do curl -fsS -b "$OUT/jar" -o /dev/null "$base$p"; done
  curl -sS -N -b "$OUT/jar" "${base}api/events" > "$OUT/events.out" 2>/dev/null & sp=$!; pids+=($sp)
  sleep 5
  r2=$(rss_kb $op); l2=$(listening $op); t2=$(ticks $op); c2=$(ctxsw $op)
  sleep "$IDLE_SECONDS"
  r3=$(rss_kb $op); t3=$(ticks $op); c3=$(ctxsw $op)
  ev=$(grep -c '^event: ' "$OUT/events.out" || true); evb=$(stat -c %s "$OUT/events.out")
  kill $sp 2>/dev/null || true; wait $sp 2>/dev/null || true
  sleep 5
  r4=$(rss_kb $op)
  echo "$r0 $r1 $l0 $((t1 - t0)) $((c1 - c0)) $r2 $r3 $l2 $((t3 - t2)) $((c3 - c2)) $ev $evb $r4" >> "$OUT/dash.txt"
  kill $op 2>/dev/null || true; wait $op 2>/dev/null || true
done
echo "## 7. The dashboard: idle cost, and the 24-hour history"
echo
echo "| run | page never opened: RSS (start → +${IDLE_SECONDS} s) | TCP listeners | CPU / context switches over ${IDLE_SECONDS} s | page open (one live stream): RSS (+5 s → +${IDLE_SECONDS} s) | TCP listeners | CPU / context switches over ${IDLE_SECONDS} s | updates pushed (bytes, the first page included) | page closed again: RSS |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
n=0
mb() { awk -v k="$1" 'BEGIN {printf "%.1f MB", k / 1024}'; }
pct() { awk -v t="$1" -v h="$hz" -v s="$IDLE_SECONDS" 'BEGIN {printf "%.3f %%", 100 * t / h / s}'; }
while read -r r0 r1 l0 dt0 dc0 r2 r3 l2 dt2 dc2 ev evb r4; do
  n=$((n + 1))
  echo "| $n | $(mb "$r0") → $(mb "$r1") | $l0 | $(pct "$dt0") / $dc0 | $(mb "$r2") → $(mb "$r3") | $l2 | $(pct "$dt2") / $dc2 | $ev ($(awk -v b="$evb" 'BEGIN {printf "%.0f KB", b / 1024}')) | $(mb "$r4") |"
done < "$OUT/dash.txt"
echo
echo "The tray watches 50 simulated services (refresh 60 s, so each window holds one poll round); the page is opened by \`overwatch dashboard --url\` and loaded by curl as a browser would (the sign-in link, the page, its script and style, \`/api/state\`), then its Server-Sent Events stream is held open for the window: that stream is what an open page costs the tray (the browser's own memory is not the tray's). RSS is VmRSS; CPU is utime+stime; context switches are summed over all threads."
echo
$CARGO bench -q --bench engine -- history --services 50 2>/dev/null
echo
echo "The ring's cost after a day of checks every minute for 50 services (half with a main number, deploys and an hour of trouble each): what the state file grows by (as written, pretty-printed JSON) and the rings' heap. One quarter-hour bucket per token, one line per service."
echo
kill "$SIM_DASH" 2>/dev/null || true
fi
[ "$ONLY" = dashboard ] && exit 0

# ---- 2, 3, 5 (engine) and 4 (menu) ----------------------------------------------
echo "## 2. Poll cycle at scale"
echo
$CARGO bench -q --bench engine -- scale --repeats "$REPEATS" 2>/dev/null
echo
echo "## 3. Against the plain alternative: curl"
echo
$CARGO bench -q --bench engine -- curl --services 100 --repeats "$REPEATS" 2>/dev/null
echo
echo "## 4. Menu work"
echo
$CARGO bench -q --bench menu 2> "$OUT/menu.err"
echo
echo "## 5. Soak"
echo
$CARGO bench -q --bench engine -- soak --cycles "$SOAK_CYCLES" 2>/dev/null
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
