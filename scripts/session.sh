#!/usr/bin/env bash
# Runs a command inside a private desktop session like the one Overwatch lives in:
# an X server (Xvfb), a D-Bus session bus, an unlocked gnome-keyring (Secret
# Service), a notification daemon (dunst) and a StatusNotifierWatcher (tray host).
# Usage: scripts/session.sh COMMAND [ARGS...]   — exits with COMMAND's status.
set -euo pipefail

if [ "${OW_SESSION_INNER:-}" != 1 ]; then
  # Outer half: start X, then D-Bus *inside* it so activated services see DISPLAY.
  export OW_SESSION_INNER=1
  exec xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" \
    dbus-run-session -- bash "$0" "$@"
fi

# Inner half: a private runtime/data dir so nothing touches the user's own.
OW_SESSION_DIR=$(mktemp -d -t overwatch-session.XXXXXX)
export XDG_RUNTIME_DIR="$OW_SESSION_DIR/run" XDG_DATA_HOME="$OW_SESSION_DIR/data"
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_DATA_HOME"
chmod 700 "$XDG_RUNTIME_DIR"
export NO_AT_BRIDGE=1 GDK_BACKEND=x11 GDK_GL=disable
dbus-update-activation-environment DISPLAY XAUTHORITY XDG_RUNTIME_DIR XDG_DATA_HOME HOME NO_AT_BRIDGE 2>/dev/null || true

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$OW_SESSION_DIR"
}
trap cleanup EXIT

# Secret Service: gnome-keyring with an unlocked login keyring (password "ci").
printf ci | gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null

# Notification daemon and tray watcher, started before anything that needs them.
# dunst 1.9 keeps no urgency in its history: these rules file each notification
# under its urgency as the daemon understood it ("urgency-critical"), which
# `dunstctl history` shows as the category.
cat > "$OW_SESSION_DIR/dunstrc" <<'EOF'
[urgency_low_seen]
    msg_urgency = low
    set_category = urgency-low
[urgency_normal_seen]
    msg_urgency = normal
    set_category = urgency-normal
[urgency_critical_seen]
    msg_urgency = critical
    set_category = urgency-critical
EOF
dunst -config "$OW_SESSION_DIR/dunstrc" >/dev/null 2>&1 & pids+=($!)
status-notifier-watcher >/dev/null 2>&1 & pids+=($!)

wait_for() {
  for _ in $(seq 1 100); do
    busctl --user list 2>/dev/null | grep -q "^$1 " && return 0
    sleep 0.05
  done
  echo "session.sh: $1 did not appear on the session bus" >&2
  return 1
}
wait_for org.freedesktop.secrets
wait_for org.freedesktop.Notifications
wait_for org.kde.StatusNotifierWatcher

# Tells the tests that need this session that they are in it: outside it they
# skip with a one-line reason; inside it they run and fail if a service is missing.
export OVERWATCH_TEST_SESSION=1
"$@"
