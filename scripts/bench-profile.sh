#!/usr/bin/env bash
# Compares release builds of Overwatch made with different profile settings:
# binary size and cold start to a registered tray item (median of N), each
# binary run in turn in one private session against the same 50-service config.
# Figures are printed, never asserted (BENCHMARKS.md, "Release profile").
# Usage: scripts/bench-profile.sh NAME=path/to/overwatch [NAME=path ...]
#   e.g. CARGO_TARGET_DIR=/tmp/lto CARGO_PROFILE_RELEASE_LTO=fat \
#        CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 cargo build --release
#        scripts/bench-profile.sh shipped=target/release/overwatch lto=/tmp/lto/release/overwatch
# Environment: RUNS (default 9).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${OW_BENCH_INNER:-}" != 1 ]; then
  export OW_BENCH_INNER=1
  exec scripts/session.sh "$0" "$@"
fi
RUNS=${RUNS:-9}
SNI="/usr/bin/python3 tests/e2e/sni.py"
OUT=$(mktemp -d -t overwatch-profile.XXXXXX)
export XDG_CONFIG_HOME=$OUT/config HOME=$OUT/home OVERWATCH_DATA_DIR=$OUT/data OVERWATCH_DEMO_TOKEN=sim-token
mkdir -p "$XDG_CONFIG_HOME" "$HOME"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$OUT"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
registered_by() {
  local pid=$1
  for _ in $(seq 1 400); do
    busctl --user list 2>/dev/null | awk -v p="$pid" '$2 == p {print $1}' | grep -q . &&
      $SNI item >/dev/null 2>&1 && return 0
    sleep 0.02
  done
  return 1
}
first=${1#*=}
"$first" sim --services 50 --refresh 1h --write-config "$OUT/fleet.toml" > "$OUT/sim.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q "wrote" "$OUT/sim.out" 2>/dev/null && break; sleep 0.05; done
hz=$(getconf CLK_TCK)
# Prints "WALL_MS CPU_MS": wall time until the item is registered, and the
# process's CPU time (all threads, user + system) by then — the part a busy
# machine does not inflate.
cold() {
  local t0 t1 p cpu
  t0=$(date +%s%N)
  "$1" --config "$OUT/fleet.toml" >/dev/null 2>&1 & p=$!
  registered_by $p || { echo "n/a n/a"; kill $p 2>/dev/null; return; }
  t1=$(date +%s%N)
  cpu=$(awk -v hz="$hz" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$p/stat")
  kill $p 2>/dev/null; wait $p 2>/dev/null || true
  echo "$(( (t1 - t0) / 1000000 )) $cpu"
}
declare -A wall cpu
# Interleaved, so a busy moment of the machine hits every build alike.
for _ in $(seq 1 "$RUNS"); do
  for arg in "$@"; do
    read -r w c <<<"$(cold "${arg#*=}")"
    wall[${arg%%=*}]+="$w "; cpu[${arg%%=*}]+="$c "
  done
done
echo "| build | size (stripped) | cold start to a registered tray item (median of $RUNS) | its CPU time (median) | runs (wall ms) |"
echo "|---|---:|---:|---:|---|"
for arg in "$@"; do
  name=${arg%%=*} bin=${arg#*=}
  size=$(awk -v b="$(stat -c %s "$bin")" 'BEGIN {printf "%.2f MB", b / 1048576}')
  echo "| $name | $size | $(tr ' ' '\n' <<<"${wall[$name]}" | grep . | median) ms | $(tr ' ' '\n' <<<"${cpu[$name]}" | grep . | median) ms | ${wall[$name]}|"
done
echo
echo "Cold start: from exec until the StatusNotifierWatcher lists the process's item (polled every 20 ms); CPU: utime + stime of the process then (10 ms ticks); page cache warm; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)."
