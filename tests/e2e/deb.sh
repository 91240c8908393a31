#!/usr/bin/env bash
# The Debian package on this machine, as a user gets it: installs it with
# apt-get, checks what it put where (binary, menu entry, icons, AppStream
# metainfo, man pages, completions, dependencies), drives the installed
# /usr/bin/overwatch with the tray's end-to-end test and the menu screenshot,
# starts it from its menu entry, then purges it and checks that nothing is
# left but the user's own config.
# Usage (inside scripts/session.sh, as root or with sudo):
#   tests/e2e/deb.sh path/to/overwatch_*.deb path/to/release/overwatch OUT.png
# Prints one line per check and "N passed, N failed"; exits non-zero on failure.
set -u
DEB=$(realpath "$1")
BUILT=$(realpath "$2")
OUTPNG=$3
HERE=$(cd "$(dirname "$0")" && pwd)
SNI="/usr/bin/python3 $HERE/sni.py"
APP_ID=rs.overwatch.Overwatch
OUT=$(mktemp -d -t overwatch-deb.XXXXXX)
PASS=0
FAIL=0
ok() { echo "ok   - $1"; PASS=$((PASS + 1)); }
bad() { echo "FAIL - $1"; FAIL=$((FAIL + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
eventually() {
  local tries=$(($1 * 5)); shift
  for _ in $(seq 1 "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  return 1
}
if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
apt() { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"; }
installed() { dpkg-query -W -f='${Status}' overwatch 2>/dev/null | grep -q "install ok installed"; }

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  # Never leave the package behind, even when a check failed half-way.
  if installed; then apt purge -y -qq overwatch >/dev/null 2>&1; fi
  rm -rf "$OUT"
}

# This test installs and purges the package: refuse rather than remove
# an Overwatch the machine's owner installed.
if installed || [ -e /usr/bin/overwatch ]; then
  echo "FAIL - an overwatch is already installed here ($(command -v overwatch)); the package test installs and purges its own: remove it first (apt-get purge overwatch)"
  echo "0 passed, 1 failed"
  exit 1
fi
trap cleanup EXIT

# The user's own things, which removing the package must not touch.
export HOME=$OUT/home XDG_CONFIG_HOME=$OUT/home/.config OVERWATCH_DATA_DIR=$OUT/data
mkdir -p "$HOME"
# What the system looks like before: every path under /usr, /etc and /opt.
# (Caches that dpkg triggers rebuild for every package are not ours.)
snapshot() {
  find /usr /etc /opt -xdev 2>/dev/null \
    | grep -Ev '^/usr/share/icons/[^/]+/icon-theme\.cache$|^/usr/share/applications/mimeinfo\.cache$|^/etc/ld\.so\.cache$' \
    | sort
}
snapshot > "$OUT/before"

echo "# apt-get install $(basename "$DEB")"
if apt install -y -qq "$DEB" > "$OUT/apt.log" 2>&1; then ok "apt-get installs the package"; else bad "apt-get installs the package"; cat "$OUT/apt.log"; fi
dpkg -L overwatch > "$OUT/files" 2>/dev/null

# The binary: the release build as it is (so the tray test below, run against
# /usr/bin/overwatch, tests exactly the bytes `cargo build --release` made).
check "/usr/bin/overwatch is the release build, byte for byte" cmp -s /usr/bin/overwatch "$BUILT"
check "overwatch is on the PATH and prints its version" bash -c "command -v overwatch | grep -qx /usr/bin/overwatch && overwatch --version | grep -q '^overwatch [0-9]'"
deps=$(dpkg-query -W -f='${Depends}' overwatch)
check "Depends names the tray library it dlopen()s" grep -q "libayatana-appindicator3-1" <<<"$deps"
check "Depends has the libraries it links (dpkg-shlibdeps)" bash -c "grep -q 'libgtk-3-0' <<<'$deps' && grep -q 'libdbus-1-3' <<<'$deps' && grep -q 'libc6' <<<'$deps'"

# The menu entry: valid, found by GIO the way menus find it, with our icon.
DESKTOP=/usr/share/applications/$APP_ID.desktop
check "the desktop entry is installed and valid" desktop-file-validate "$DESKTOP"
check "the desktop entry has Categories and our Icon, and forces no autostart" bash -c "grep -q '^Categories=.*;' '$DESKTOP' && grep -qx 'Icon=$APP_ID' '$DESKTOP' && ! grep -qi '^X-GNOME-Autostart' '$DESKTOP' && ! ls /etc/xdg/autostart 2>/dev/null | grep -qi overwatch"
menu_entry() {
  /usr/bin/python3 - "$APP_ID.desktop" <<'PY'
import sys
from gi.repository import Gio
app = Gio.DesktopAppInfo.new(sys.argv[1])
assert app is not None, "no such desktop entry"
assert app.should_show(), "hidden from menus"
print(app.get_name(), app.get_commandline(), app.get_icon().to_string(), sep="|")
PY
}
entry=$(menu_entry 2>&1)
check "menus find it: Overwatch, runs overwatch, our icon ($entry)" [ "$entry" = "Overwatch|overwatch|$APP_ID" ]

# The icon at every hicolor size, and the SVG drawing the same picture.
for size in 16 22 24 32 48 64 128 256; do
  f=/usr/share/icons/hicolor/${size}x${size}/apps/$APP_ID.png
  [ "$(identify -format '%wx%h' "$f" 2>/dev/null)" = "${size}x${size}" ] || { bad "hicolor icon ${size}x${size}"; continue; }
  ok "hicolor icon ${size}x${size}"
done
SVG=/usr/share/icons/hicolor/scalable/apps/$APP_ID.svg
if rsvg-convert -w 64 -h 64 "$SVG" -o "$OUT/svg64.png" 2>"$OUT/rsvg.err"; then
  differ=$(compare -metric AE -fuzz 10% "$OUT/svg64.png" /usr/share/icons/hicolor/64x64/apps/$APP_ID.png null: 2>&1)
  check "the scalable SVG draws what the PNGs show ($differ of 4096 pixels differ)" [ "${differ%%.*}" -le 40 ]
else
  bad "the scalable SVG renders: $(cat "$OUT/rsvg.err")"
fi

# AppStream metainfo, validated by the tool software centres use.
check "the AppStream metainfo passes appstreamcli validate" appstreamcli validate --no-net /usr/share/metainfo/$APP_ID.metainfo.xml

# Man pages where man looks, one per command.
check "man -w overwatch finds the installed page" bash -c "man -w overwatch | grep -qx /usr/share/man/man1/overwatch.1.gz"
check "man overwatch-service lists its subcommands" bash -c "MANWIDTH=80 man overwatch-service 2>/dev/null | grep -q 'overwatch-service-move'"
check "man overwatch-secret-set explains NAME" bash -c "MANWIDTH=80 man overwatch-secret-set 2>/dev/null | grep -q 'as a service'"
check "man overwatch has the exit status" bash -c "MANWIDTH=80 man overwatch 2>/dev/null | grep -q 'EXIT STATUS'"

# Completions where the shells look, and bash's completes a subcommand.
check "zsh and fish completions are installed" test -s /usr/share/zsh/vendor-completions/_overwatch -a -s /usr/share/fish/vendor_completions.d/overwatch.fish
complete_bash() {
  bash -c 'source /usr/share/bash-completion/completions/overwatch
    COMP_WORDS=(overwatch "$1"); COMP_CWORD=1; COMP_LINE="overwatch $1"; COMP_POINT=${#COMP_LINE}
    _overwatch overwatch "$1" overwatch; printf "%s\n" "${COMPREPLY[@]}"' _ "$1"
}
check "bash completes 'overwatch ser' to service" bash -c "$(declare -f complete_bash); complete_bash ser | grep -qx service"

# A user's config, written by the installed binary; it must outlive the package.
overwatch config init 2>/dev/null
CONFIG=$XDG_CONFIG_HOME/overwatch/config.toml
cp "$CONFIG" "$OUT/config.saved" 2>/dev/null
check "the installed overwatch writes the user's config" test -s "$CONFIG"

# Started from its menu entry (as a desktop does): with no config it shows the
# demo. A separate HOME, so the config above stays the user's.
( export HOME=$OUT/menu-home XDG_CONFIG_HOME=$OUT/menu-home/.config OVERWATCH_DATA_DIR=$OUT/menu-data
  mkdir -p "$HOME"
  /usr/bin/python3 -c "
from gi.repository import Gio
Gio.DesktopAppInfo.new('$APP_ID.desktop').launch([], None)" ) > "$OUT/launch.log" 2>&1
demo_up() { $SNI layout | cut -f3 | grep -q 'Demo'; }
check "the menu entry starts the tray (the demo, with no config)" eventually 20 demo_up
if item=$($SNI item 2>/dev/null); then
  # Its process, from the bus (other sessions on this machine may run an overwatch too).
  pid=$(busctl --user call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
    GetConnectionUnixProcessID s "${item%% *}" 2>/dev/null | awk '{print $2}')
  [ -n "$pid" ] && pids+=("$pid")
  $SNI click "$($SNI id '^Quit Overwatch$')" >/dev/null 2>&1
  check "and Quit ends it" eventually 10 bash -c "! $SNI item && ! kill -0 ${pid:-0} 2>/dev/null"
fi

# The tray end to end and the screenshot, against the installed binary.
sub() {
  local out; out=$("$@" 2>&1); echo "$out" | sed 's/^/    /'
  local line; line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
  if [ -z "$line" ]; then bad "$(basename "$1") printed no result"; return; fi
  local p f; p=${line%% passed*}; f=${line#*, }; f=${f%% failed}
  PASS=$((PASS + p)); FAIL=$((FAIL + f))
}
echo "# tests/e2e/tray.sh /usr/bin/overwatch"
sub "$HERE/tray.sh" /usr/bin/overwatch
echo "# tests/e2e/screenshot.sh /usr/bin/overwatch"
sub "$HERE/screenshot.sh" /usr/bin/overwatch "$OUTPNG"

echo "# apt-get purge overwatch"
if apt purge -y -qq overwatch > "$OUT/purge.log" 2>&1; then ok "apt-get purges the package"; else bad "apt-get purges the package"; cat "$OUT/purge.log"; fi
check "dpkg no longer knows it" bash -c "! dpkg-query -W -f='\${Status}' overwatch 2>/dev/null | grep -q installed"
left=$(while read -r f; do [ -f "$f" ] || [ -L "$f" ] && echo "$f"; done < "$OUT/files")
check "every file it installed is gone${left:+: $left}" [ -z "$left" ]
snapshot > "$OUT/after"
changed=$(diff "$OUT/before" "$OUT/after" | grep '^[<>]' | head -n 20)
check "/usr, /etc and /opt are as before the install${changed:+: $changed}" [ -z "$changed" ]
check "no overwatch file anywhere in /var/lib" bash -c "! find /var/lib -xdev -iname '*overwatch*' 2>/dev/null | grep -q ."
check "the user's config is still there, unchanged" cmp -s "$CONFIG" "$OUT/config.saved"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
