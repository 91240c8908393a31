#!/usr/bin/env bash
# Installs the Debian packages Overwatch needs to build, run and test, if any are missing.
# Uses apt-get as root, or through sudo. Prints nothing when all are there.
set -euo pipefail

packages=(
  # build: GTK for the tray (tao/muda), libdbus for the Secret Service client
  pkg-config libgtk-3-dev libdbus-1-dev
  # run: the tray backend is dlopen()ed at run time
  libayatana-appindicator3-1
  # test session: X server, D-Bus, keyring, notifications, tray watcher
  xvfb xauth dbus-daemon dbus-bin libglib2.0-bin gnome-keyring libsecret-tools
  dunst haskell-status-notifier-item-utils
  # the screenshot of the open menu: a visible SNI host and a pointer
  haskell-gtk-sni-tray-utils xdotool
  # end-to-end checks: icon pixels, screenshots
  imagemagick x11-utils python3-gi gir1.2-glib-2.0 curl
  # the tray test runs in a zone far from UTC (local clock times)
  tzdata
  # the interactive CLI test drives a real terminal
  tmux
  # the Debian package: its dependencies (dpkg-shlibdeps), and the checks of
  # what it installs — menu entry, AppStream metainfo, man pages, the SVG icon
  dpkg-dev desktop-file-utils appstream man-db librsvg2-bin
  # the dashboard's browser tests: headless Chromium driven over WebDriver
  chromium chromium-driver python3-selenium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing system packages: ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
# Another apt-get (a package test, a parallel build) may hold the lock: wait for it.
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
