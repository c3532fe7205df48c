#!/usr/bin/env bash
# Installs the system packages Dockyard needs, when they are missing (Debian/Ubuntu, as root).
#   --runtime  what the window needs (X/xcb libraries for Qt)
#   --test     everything the test suite uses: dockerd, registry, compose, busybox, keyring…
#   --package  what `make package` and `make package-check` use: dpkg-dev (dpkg-shlibdeps),
#              lintian, appstream, desktop-file-utils, git
set -euo pipefail

qt_libs=(libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0
  libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 libxcb-image0 libegl1 libgl1
  libfontconfig1 libdbus-1-3 libglib2.0-0)
test_pkgs=(docker.io docker-registry docker-compose busybox-static gnome-keyring dbus
  openssh-server openssl iproute2 xvfb xauth git desktop-file-utils appstream
  postgresql)
package_pkgs=(dpkg-dev lintian appstream desktop-file-utils git xz-utils)

wanted=("${qt_libs[@]}")
[[ "${1:-}" == "--test" ]] && wanted+=("${test_pkgs[@]}")
[[ "${1:-}" == "--package" ]] && wanted+=("${package_pkgs[@]}")

missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "Missing system packages: ${missing[*]} (no apt-get here: install them by hand)." >&2
  [[ "${1:-}" == --test || "${1:-}" == --package ]] && exit 1 || exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "Missing system packages: ${missing[*]}; run: sudo apt-get install ${missing[*]}" >&2
  [[ "${1:-}" == --test || "${1:-}" == --package ]] && exit 1 || exit 0
fi
echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d keeps the packages from starting their own daemons: the tests start theirs.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
