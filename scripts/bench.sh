#!/usr/bin/env bash
# Builds release and runs every Overwatch benchmark, printing the markdown tables
# of BENCHMARKS.md: idle footprint against the floor (examples/floor.rs), binary
# size (per crate) and cold start, poll cycles at scale, the first round of a
# large fleet, curl versus `overwatch status`, HTTPS, menu work, the soak, the dashboard's idle cost and history ring.
# Figures are printed, never asserted.
# Usage: scripts/bench.sh [--quick]      (make bench)
#   --quick: 20 s idle window, 1 repeat, 1,000 soak cycles (a smoke run).
# Environment: IDLE_SECONDS, REPEATS, SOAK_CYCLES, TLS_WINDOW override the defaults.
# Every process is measured as a user runs it (no GDK_GL, no NO_AT_BRIDGE), with
# a GDK_GL=disable row beside it as a cross-check.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
# The session below points HOME at a scratch dir; cargo and rustup must still find theirs.
export CARGO_HOME=${CARGO_HOME:-$HOME/.cargo} RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
CARGO=${CARGO:-cargo}

IDLE_SECONDS=${IDLE_SECONDS:-60}
# ONLY=idle runs only the idle, size and cold-start part (sections 1 and 2);
# ONLY=engine only sections 3-8; ONLY=dashboard only section 11 (the dashboard's cost);
# ONLY=tray only section 12 (CPU per poll in the running tray).
ONLY=${ONLY:-all}
REPEATS=${REPEATS:-3}
SOAK_CYCLES=${SOAK_CYCLES:-10000}
# Seconds of steady state the HTTPS benchmark watches (one refresh interval and then some).
TLS_WINDOW=${TLS_WINDOW:-90}
if [ "${1:-}" = --quick ]; then IDLE_SECONDS=20 REPEATS=1 SOAK_CYCLES=1000 TLS_WINDOW=20; fi

if [ "${OW_BENCH_INNER:-}" != 1 ]; then
  # Build everything first (benches, the floor), then the product binary last:
  # benches unify dev-dependency features, so the plain release build is the one measured.
  if [ "$ONLY" = all ] || [ "$ONLY" = idle ] || [ "$ONLY" = engine ]; then
    $CARGO bench --no-run >&2
    $CARGO build --release --example floor >&2
  fi
  $CARGO build --release >&2
  OUT=$(mktemp -d -t overwatch-bench.XXXXXX)
  # The same binary with its symbols, for the per-crate size breakdown (only the
  # binary's own small crate is rebuilt; the plain build below restores the stripped one).
  if [ "$ONLY" = all ] || [ "$ONLY" = idle ]; then
    $CARGO rustc --release --bin overwatch -- -C strip=none >&2
    cp "$CARGO_TARGET_DIR/release/overwatch" "$OUT/overwatch.syms"
    $CARGO build --release >&2
    cp "$CARGO_TARGET_DIR/release/examples/floor" "$OUT/"
  fi
  cp "$CARGO_TARGET_DIR/release/overwatch" "$OUT/"
  export OW_BENCH_INNER=1 OW_BENCH_OUT=$OUT IDLE_SECONDS REPEATS SOAK_CYCLES ONLY TLS_WINDOW
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
mb() { awk -v k="$1" 'BEGIN {printf "%.1f MB", k / 1024}'; }

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

# As a user runs it: scripts/session.sh sets GDK_GL=disable and NO_AT_BRIDGE=1 for
# the session's own GTK programs; nothing sets them for users, so every process
# measured here runs without them unless its row says otherwise (the GL cross-check).
unset GDK_GL NO_AT_BRIDGE
AS_RUN="as a user runs it (no GDK_GL, no NO_AT_BRIDGE)"
# GTK 3 caches its GLX probe in the root window's GDK_VISUALS property: only the
# first GTK program on a display (a tray autostarted at login, say) loads Mesa for
# it, the later ones read the cache. Each measured start is made that first one.
fresh_display() { xprop -root -remove GDK_VISUALS 2>/dev/null || true; }

if [ "$ONLY" = all ] || [ "$ONLY" = idle ]; then
# ---- 1. idle footprint against the floor --------------------------------------
# One simulator serves every fleet; each fleet's config is written by `overwatch sim`.
"$BIN" sim --write-config "$OUT/demo.toml" > "$OUT/sim.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q "wrote" "$OUT/sim.out" 2>/dev/null && break; sleep 0.05; done
BASE=$(grep -o 'http://127.0.0.1:[0-9]*' "$OUT/sim.out" | head -n1)
export OVERWATCH_DEMO_TOKEN=sim-token
# fleet N REFRESH: writes $OUT/fleet-N-REFRESH.toml (watching the simulator above).
fleet() {
  local f="$OUT/fleet-$1-$2.toml"
  "$BIN" sim --services "$1" --refresh "$2" --write-config "$f" > /dev/null 2>&1 & local p=$!
  for _ in $(seq 1 100); do [ -s "$f" ] && break; sleep 0.05; done
  kill $p 2>/dev/null || true; wait $p 2>/dev/null || true
  sed -i "s#http://127.0.0.1:[0-9]*#$BASE#" "$f"
}
for n in 4 54 200; do fleet $n 60s; done
fleet 54 1h

# The processes of one idle run, side by side in the same session and minute:
# label, GL (as-run or off), command. Each Overwatch has its own data dir (its own
# single-instance lock and state).
PROCS=(
  "floor|run|$FLOOR"
  "floor|off|$FLOOR"
  "ow4|run|$BIN --config $OUT/fleet-4-60s.toml"
  "ow4|off|$BIN --config $OUT/fleet-4-60s.toml"
  "ow54|run|$BIN --config $OUT/fleet-54-60s.toml"
  "ow54|off|$BIN --config $OUT/fleet-54-60s.toml"
  "ow200|run|$BIN --config $OUT/fleet-200-60s.toml"
  "ow200|off|$BIN --config $OUT/fleet-200-60s.toml"
  "watch200|run|$BIN --config $OUT/fleet-200-60s.toml watch --no-notify"
  "watch200|off|$BIN --config $OUT/fleet-200-60s.toml watch --no-notify"
  "ow54h|run|$BIN --config $OUT/fleet-54-1h.toml"
)
: > "$OUT/idle.txt"
idle_run() {
  local run=$1 i=0 spec label gl cmd
  local -a ps=()
  fresh_display
  for spec in "${PROCS[@]}"; do
    IFS='|' read -r label gl cmd <<< "$spec"
    mkdir -p "$OUT/data-$i"
    if [ "$gl" = off ]; then
      GDK_GL=disable OVERWATCH_DATA_DIR="$OUT/data-$i" $cmd >/dev/null 2>"$OUT/idle-$i.err" &
    else
      OVERWATCH_DATA_DIR="$OUT/data-$i" $cmd >/dev/null 2>"$OUT/idle-$i.err" &
    fi
    ps+=($!); pids+=($!); i=$((i + 1))
  done
  # Settle: the start-up round, the first render, allocator warm-up.
  sleep 15
  local -a t0=() c0=()
  for p in "${ps[@]}"; do t0+=("$(ticks $p)"); c0+=("$(ctxsw $p)"); done
  sleep "$IDLE_SECONDS"
  i=0
  for spec in "${PROCS[@]}"; do
    IFS='|' read -r label gl cmd <<< "$spec"
    local p=${ps[$i]}
    if [ -r "/proc/$p/status" ]; then
      echo "$run $label $gl $(rss_kb $p) $(threads $p) $(( $(ticks $p) - ${t0[$i]} )) $(( $(ctxsw $p) - ${c0[$i]} ))" >> "$OUT/idle.txt"
    else
      echo "warning: $label ($gl) exited early: $(tail -n 3 "$OUT/idle-$i.err")" >&2
    fi
    i=$((i + 1))
  done
  for p in "${ps[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${ps[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$OUT"/data-*
}
for r in $(seq 1 "$REPEATS"); do idle_run "$r"; done

# cell LABEL GL FIELD: the median over the runs (FIELD 4 RSS kB, 5 threads, 6 CPU ticks, 7 context switches).
cell() { awk -v l="$1" -v g="$2" -v f="$3" '$2 == l && $3 == g {print $f}' "$OUT/idle.txt" | median; }
runs() { awk -v l="$1" -v g="$2" '$2 == l && $3 == g {printf "%s%.1f", (n++ ? " " : ""), $4 / 1024}' "$OUT/idle.txt"; }
FLOOR_OFF=$(cell floor off 4)
echo "## 1. Idle footprint, as a user runs it"
echo
echo "| | floor (tao + tray-icon) | Overwatch, 4 services | 54 services | 200 services | \`watch\` (no GUI), 200 |"
echo "|---|---:|---:|---:|---:|---:|"
row() {
  local gl=$1 what=$2
  local out="| $what |"
  for l in floor ow4 ow54 ow200 watch200; do out="$out $(mb "$(cell $l $gl 4)") |"; done
  echo "$out"
}
row run "**RSS $AS_RUN**"
row off "RSS with \`GDK_GL=disable\` (cross-check)"
out="| **RSS as run ÷ the floor with GL off** (goals: 1.2× / 1.3× / 1.6×) | 1 |"
for l in ow4 ow54 ow200 watch200; do out="$out **$(ratio "$(cell $l run 4)" "$FLOOR_OFF")** |"; done
echo "$out"
out="| threads (as run) |"
for l in floor ow4 ow54 ow200 watch200; do out="$out $(cell $l run 5) |"; done
echo "$out"
out="| CPU over ${IDLE_SECONDS} s (as run; one poll round inside) |"
for l in floor ow4 ow54 ow200 watch200; do out="$out $(awk -v t="$(cell $l run 6)" -v h="$hz" -v s="$IDLE_SECONDS" 'BEGIN {printf "%.3f %%", 100 * t / h / s}') |"; done
echo "$out"
out="| context switches over ${IDLE_SECONDS} s (as run) |"
for l in floor ow4 ow54 ow200 watch200; do out="$out $(cell $l run 7) |"; done
echo "$out"
out="| RSS runs, as run (MB) |"
for l in floor ow4 ow54 ow200 watch200; do out="$out $(runs $l run) |"; done
echo "$out"
echo
echo "Medians of $REPEATS runs. Every process of a run starts at once in one Xvfb session with a StatusNotifierWatcher (each tray registers its item), settles for 15 s (its start-up round and first render), then is watched for ${IDLE_SECONDS} s; RSS is VmRSS at the end (so $((15 + IDLE_SECONDS)) s after start), CPU is utime+stime over the window, context switches are voluntary + involuntary summed over /proc/PID/task/*. Refresh 60 s: the window holds one poll round. Each run starts on a display without GTK's cached GLX probe (the root window's \`GDK_VISUALS\`), as the first GTK program of a session finds it. \"As a user runs it\": neither \`GDK_GL\` nor \`NO_AT_BRIDGE\` is set (Overwatch turns GTK's GL off itself); the cross-check row sets \`GDK_GL=disable\` for the process. The ratio row divides each as-run RSS by the floor's with GL off, measured in the same runs."
echo
echo "Between polls (54 services, refresh 1 h, as run: no poll in the window): $(cell ow54h run 7) context switches in ${IDLE_SECONDS} s vs the floor's $(cell floor run 7), CPU $(awk -v t="$(cell ow54h run 6)" -v h="$hz" -v s="$IDLE_SECONDS" 'BEGIN {printf "%.3f %%", 100 * t / h / s}'), RSS $(mb "$(cell ow54h run 4)")."
echo

# ---- 2. binary size and cold start ---------------------------------------------
cold() {
  local what=$1; shift
  local t0 t1 p
  fresh_display
  t0=$(date +%s%N)
  "$@" >/dev/null 2>&1 & p=$!
  registered_by $p || { echo "n/a"; kill $p 2>/dev/null; return; }
  t1=$(date +%s%N)
  kill $p 2>/dev/null; wait $p 2>/dev/null || true
  echo $(( (t1 - t0) / 1000000 ))
}
os=(); fs=()
for _ in $(seq 1 5); do
  os+=("$(OVERWATCH_DATA_DIR=$OUT/data-cold cold ow "$BIN" --config "$OUT/fleet-200-60s.toml")")
  fs+=("$(cold floor "$FLOOR")")
done
rm -rf "$OUT/data-cold"
echo "## 2. Binary size and cold start"
echo
echo "| | size (release, stripped) | cold start to a registered tray item (median of 5) | runs (ms) |"
echo "|---|---:|---:|---|"
osz=$(stat -c %s "$BIN"); fsz=$(stat -c %s "$FLOOR")
echo "| Overwatch, 200 services | $(awk -v b="$osz" 'BEGIN {printf "%.2f MB", b / 1048576}') | $(printf '%s\n' "${os[@]}" | median) ms | ${os[*]} |"
echo "| floor | $(awk -v b="$fsz" 'BEGIN {printf "%.2f MB", b / 1048576}') | $(printf '%s\n' "${fs[@]}" | median) ms | ${fs[*]} |"
echo
echo "Cold start, $AS_RUN, each on a display without GTK's cached GLX probe: from exec until the StatusNotifierWatcher lists the process's item (polled every 50 ms, so ±50 ms); the page cache is warm. The floor is built with the same release profile (\`strip = true\`)."
echo
echo "Where the binary's code comes from (\`nm --size-sort\` on the same build with its symbols kept; each function is counted under the crate its name starts with, and a trait method under its type's crate unless that is the standard library's; generic code is counted where it was instantiated's name says, so this is an attribution, not an exact split):"
echo
/usr/bin/python3 - "$OUT/overwatch.syms" <<'PY'
import re, subprocess, sys
from collections import Counter
out = subprocess.run(["nm", "-S", "--size-sort", "-C", sys.argv[1]], capture_output=True, text=True).stdout
std = {"core", "alloc", "std", "compiler_builtins", "hashbrown", "std_detect", "rustc_demangle", "adler2", "miniz_oxide", "gimli", "addr2line", "object", "memchr"}
def crate(name):
    name = name.strip()
    m = re.match(r"<+\s*(?:&|\*const |\*mut |mut |dyn |\[|\()*\s*([A-Za-z_][A-Za-z0-9_]*)::", name)
    if name.startswith("<") and m:
        first = m.group(1)
        t = re.search(r" as ([A-Za-z_][A-Za-z0-9_]*)::", name)
        if first in std and t and t.group(1) not in std:
            return t.group(1)
        return first
    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)::", name)
    return m.group(1) if m else None
sizes, total = Counter(), 0
for line in out.splitlines():
    parts = line.split(None, 3)
    if len(parts) < 4 or parts[2] not in "tTwW":
        continue
    size = int(parts[1], 16)
    total += size
    c = crate(parts[3])
    if c is None:
        c = "(C and assembly: ring's primitives, libc glue, …)"
    elif c in std:
        c = "std (core, alloc, std)"
    sizes[c] += size
print("| crate | code | share of the code |")
print("|---|---:|---:|")
shown = 0
for c, n in sizes.most_common():
    if shown < 22:
        print(f"| {c} | {n / 1024:.0f} KB | {100 * n / total:.1f} % |")
        shown += 1
rest = sum(n for c, n in sizes.most_common()[22:])
print(f"| {len(sizes) - 22} other crates | {rest / 1024:.0f} KB | {100 * rest / total:.1f} % |")
print(f"| **all code (.text functions)** | **{total / 1048576:.2f} MB** | 100 % |")
for c in ("zbus", "zvariant", "h2", "dbus", "notify_rust"):
    if c not in sizes:
        print(f"\n`{c}`: not in the binary.", end="")
print()
PY
echo
kill "${pids[0]}" 2>/dev/null || true
fi

# ---- 11. the dashboard: the tray's cost with its page never opened, then open --------
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
echo "## 11. The dashboard: idle cost, and the 24-hour history"
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

# ---- 12. CPU per poll in the running tray, against a curl per request ----------------
if [ "$ONLY" = all ] || [ "$ONLY" = tray ]; then
"$BIN" sim --write-config "$OUT/poll.toml" > "$OUT/sim-poll.out" 2>&1 &
SIM_POLL=$!; pids+=($SIM_POLL)
for _ in $(seq 1 100); do grep -q "wrote" "$OUT/sim-poll.out" 2>/dev/null && break; sleep 0.05; done
PBASE=$(grep -o 'http://127.0.0.1:[0-9]*' "$OUT/sim-poll.out" | head -n1)
export OVERWATCH_DEMO_TOKEN=sim-token
requests() { curl -fsS "$PBASE/_sim/stats" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])'; }
# The CPU (ticks) 100 curl processes spend on one request each to the same simulator.
curl_ticks() {
  ( for _ in $(seq 1 100); do
      curl -fsS -o /dev/null -H 'Authorization: Bearer sim-token' "$PBASE/api/v1/sites/fleet-1"
    done
    awk '{print $16 + $17}' "/proc/$BASHPID/stat" )
}
: > "$OUT/poll.txt"
for _ in $(seq 1 "$REPEATS"); do
  # services:refresh — ten services poll every 3 s so that the window holds
  # enough polls to read against 10 ms CPU ticks; a poll's cost does not
  # depend on how often it comes. "w" runs `watch` (no GUI) beside the tray.
  for spec in 10:3s 200:30s 1000:30s w200:30s; do
    n=${spec%%:*}; refresh=${spec#*:}; cmd=()
    if [ "${n#w}" != "$n" ]; then n=${n#w}; cmd=(watch --no-notify); fi
    f="$OUT/poll-$n.toml"
    "$BIN" sim --services "$n" --refresh "$refresh" --write-config "$f" > /dev/null 2>&1 & p=$!
    for _ in $(seq 1 100); do [ -s "$f" ] && break; sleep 0.05; done
    kill $p 2>/dev/null || true; wait $p 2>/dev/null || true
    sed -i "s#http://127.0.0.1:[0-9]*#$PBASE#" "$f"
    rm -rf "$OUT/data-poll"; mkdir -p "$OUT/data-poll"
    OVERWATCH_DATA_DIR="$OUT/data-poll" "$BIN" --config "$f" "${cmd[@]}" >/dev/null 2>"$OUT/poll.err" & op=$!; pids+=($op)
    # The start-up round and the first menu, then a window of steady polling
    # (refresh 30 s: every service twice in a minute, at jittered moments).
    sleep 20
    t0=$(ticks $op); q0=$(requests)
    sleep "$IDLE_SECONDS"
    t1=$(ticks $op); q1=$(requests)
    c=$(curl_ticks)
    echo "${spec%%:*} $((t1 - t0)) $((q1 - q0)) $c $(rss_kb $op)" >> "$OUT/poll.txt"
    kill $op 2>/dev/null || true; wait $op 2>/dev/null || true
  done
done
kill "$SIM_POLL" 2>/dev/null || true
echo "## 12. CPU per poll in the running tray"
echo
echo "| services | requests in ${IDLE_SECONDS} s | tray CPU per request (median) | a \`curl\` per request, same run | **ratio** (goal ≤ 1/20 = 0.05×, flat) | runs (µs per request) | RSS at the end |"
echo "|---:|---:|---:|---:|---:|---|---:|"
for n in 10 200 1000 w200; do
  awk -v n="$n" -v hz="$hz" '$1 == n {
      us = 1e6 * $2 / hz / $3; cu = 1e6 * $4 / hz / 100;
      print us, cu, $3, $5 }' "$OUT/poll.txt" > "$OUT/poll-$n.txt"
  us=$(awk '{print $1}' "$OUT/poll-$n.txt" | median)
  cu=$(awk '{print $2}' "$OUT/poll-$n.txt" | median)
  q=$(awk '{print $3}' "$OUT/poll-$n.txt" | median)
  rss=$(awk '{print $4}' "$OUT/poll-$n.txt" | median)
  all=$(awk '{printf "%s%.0f", (NR > 1 ? " " : ""), $1}' "$OUT/poll-$n.txt")
  label=$n; [ "$n" = w200 ] && label="200, \`watch\` (no GUI)"
  echo "| $label | $q | $(awk -v u="$us" 'BEGIN {printf "%.0f µs", u}') | $(awk -v u="$cu" 'BEGIN {printf "%.0f µs", u}') | **$(ratio "$us" "$cu")** | $all | $(mb "$rss") |"
done
echo
echo "The tray as a user runs it (release build, no environment variables) watching N simulated services (ten per workspace, the providers in turn) at refresh 30 s (10 services: 3 s), after a 20 s settle; its CPU (utime+stime of the whole process: engine, HTTP, menu model, GTK and libdbusmenu) over the window divided by the provider requests the simulator answered in it. The \`curl\` column is 100 \`curl\` processes, one GET each to the same simulator, measured in the same run (their CPU as the shell's children). Medians of $REPEATS runs; CPU ticks are 1/$hz s."
echo
fi
if [ "$ONLY" = dashboard ] || [ "$ONLY" = tray ]; then exit 0; fi

# ---- 3–6 and 8 (engine), 7 (menu) ----------------------------------------------
if [ "$ONLY" = all ] || [ "$ONLY" = engine ]; then
echo "## 3. Poll cycle at scale"
echo
$CARGO bench -q --bench engine -- scale --repeats "$REPEATS" 2>/dev/null
echo
echo "## 4. The first round of a large fleet"
echo
$CARGO bench -q --bench engine -- first --services 200 --repeats "$REPEATS" 2>/dev/null
echo
echo "## 5. Against the plain alternative: curl"
echo
$CARGO bench -q --bench engine -- curl --services 100 --repeats "$REPEATS" 2>/dev/null
echo
echo "## 6. HTTPS: the simulator behind TLS"
echo
$CARGO bench -q --bench engine -- tls --services 100 --window "$TLS_WINDOW" 2>/dev/null
echo
echo "## 7. Menu work"
echo
# The benchmark process stands in for the tray, which turns GTK's GL off for itself.
GDK_GL=disable $CARGO bench -q --bench menu 2> "$OUT/menu.err"
echo
echo "## 8. Soak"
echo
$CARGO bench -q --bench engine -- soak --cycles "$SOAK_CYCLES" 2>/dev/null
echo
fi
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
