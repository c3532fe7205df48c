#!/usr/bin/env bash
# `make package-check` (CI, as root, after `make package`): proves that what dist/ holds
# installs, starts and goes away again, as a user would see it:
#   the wheel carries the icons; the bundle's --version and CLI under `env -i`, its window
#   offscreen, its size; the .deb installed with apt-get, /usr/bin/dockyard, the window,
#   desktop-file-validate, appstreamcli, lintian without errors; apt-get purge leaves no file.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
started=$SECONDS
MAX_BUNDLE_MB=250
WINDOW_UP_S=5
SHOW_TIMEOUT_S=30

fail() { echo "package-check: FAILED: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
only() { # the one file matching a glob
  local matches=("$@")
  [[ ${#matches[@]} -eq 1 && -e ${matches[0]} ]] || fail "expected one of $*; run make package"
  echo "${matches[0]}"
}

wheel=$(only dist/dockyard-*-py3-none-any.whl)
tarball=$(only dist/dockyard-*-linux-x86_64.tar.gz)
deb=$(only dist/dockyard_*_amd64.deb)
version=${tarball#dist/dockyard-}
version=${version%-linux-x86_64.tar.gz}
scratch=$(mktemp -d)
installed_by_us=""
cleanup() {
  [[ -n $installed_by_us ]] && apt-get purge -y -qq dockyard >/dev/null 2>&1
  rm -rf "$scratch"
}
trap cleanup EXIT

# The window of COMMAND... starts and shows itself within SHOW_TIMEOUT_S (the offscreen
# platform says so on stderr when a window is shown), stays up WINDOW_UP_S seconds more,
# and ends on SIGTERM, without a traceback.
window_stays_up() {
  local label=$1 log=$scratch/window-$1.log
  shift
  local begin=$EPOCHREALTIME shown="" up_until=""
  "$@" >"$log" 2>&1 &
  local pid=$!
  for _ in $(seq $(((SHOW_TIMEOUT_S + WINDOW_UP_S) * 10))); do
    sleep 0.1
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "$label: the window exited"; }
    if [[ -z $shown ]] && grep -q propagateSizeHints "$log"; then
      shown=$(awk -v a="$begin" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
      up_until=$((SECONDS + WINDOW_UP_S))
    fi
    [[ -n $up_until ]] && ((SECONDS >= up_until)) && break
  done
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  [[ -n $shown ]] || { cat "$log" >&2; fail "$label: no window shown in ${SHOW_TIMEOUT_S} s"; }
  ! grep -q Traceback "$log" || { cat "$log" >&2; fail "$label: a traceback"; }
  ok "$label: window shown after ${shown} s, then up for ${WINDOW_UP_S} s"
}

# --- the wheel ---------------------------------------------------------------------------
"$PY" - "$wheel" <<'EOF' || fail "the wheel lacks its resources or version"
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
wanted = {"dockyard/resources/icons/dockyard.svg", "dockyard/resources/icons/status-failed.svg",
          "dockyard/_version.py"}
sys.exit(0 if wanted <= names else f"missing: {sorted(wanted - names)}")
EOF
ok "wheel carries the icons and _version.py"
# installed from the wheel (as pip and pipx do; build.sh made this venv), the app finds them
bundle_venv=build/bundle-venv/bin/python
if [[ -x $bundle_venv ]]; then
  QT_QPA_PLATFORM=offscreen "$bundle_venv" -c '
import sys
from dockyard.ui.icons import icon, icon_path
path = icon_path("dockyard")
sys.exit(0 if path and "site-packages" in str(path) and not icon("run").isNull() else f"icon: {path}")
' || fail "the installed wheel does not find its icons"
  ok "an installed wheel finds its icons"
fi

# --- the bundle --------------------------------------------------------------------------
tar -C "$scratch" -xzf "$tarball"
bundle=$scratch/dockyard-$version
size_mb=$(du -sm "$bundle" | cut -f1)
echo "bundle: $size_mb MB unpacked, $(du -m "$tarball" | cut -f1) MB packed"
((size_mb <= MAX_BUNDLE_MB)) || fail "the bundle is $size_mb MB unpacked (limit $MAX_BUNDLE_MB MB)"
[[ -n $(find "$bundle" -name libqsvgicon.so) ]] || fail "the bundle has no SVG icon engine"
out=$(env -i "$bundle/dockyard" --version)
[[ $out == "dockyard $version"* ]] || fail "bundle --version said: $out"
ok "env -i bundle --version: $out"
env -i DOCKYARD_HOME="$scratch/home-cli" "$bundle/dockyard" hosts list >"$scratch/hosts.txt" ||
  fail "env -i bundle hosts list failed: $(cat "$scratch/hosts.txt")"
grep -q local "$scratch/hosts.txt" || fail "bundle hosts list has no local endpoint"
ok "env -i bundle drives the CLI (hosts list)"
# team mode's PostgreSQL driver (psycopg with its libpq) loads: port 1 has no server
out=$(echo x | env -i DOCKYARD_HOME="$scratch/home-cli" "$bundle/dockyard" team connect \
  postgresql://dockyard@127.0.0.1:1/dockyard 2>&1) && fail "team connect to port 1 succeeded"
[[ $out == *unreachable* ]] || fail "bundle team connect said: $out"
ok "env -i bundle reaches for a team server (psycopg and libpq load)"
window_stays_up bundle env -i QT_QPA_PLATFORM=offscreen DOCKYARD_HOME="$scratch/home-bundle" \
  "$bundle/dockyard"
if [[ -x .venv/bin/dockyard ]]; then # what `make run` starts, for comparison
  window_stays_up venv env QT_QPA_PLATFORM=offscreen DOCKYARD_HOME="$scratch/home-venv" \
    .venv/bin/dockyard
fi

# --- the .deb ----------------------------------------------------------------------------
[[ $(id -u) -eq 0 ]] || fail "installing the .deb needs root (CI runs as root)"
! dpkg -s dockyard >/dev/null 2>&1 || fail "dockyard is installed already; apt-get purge dockyard"
lintian --fail-on error "$deb" | tee "$scratch/lintian.txt" ||
  fail "lintian reports errors"
ok "lintian: no errors ($(grep -c '^W:' "$scratch/lintian.txt" || true) warnings)"
export DEBIAN_FRONTEND=noninteractive
installed_by_us=yes
apt-get install -y -qq "./$deb" >"$scratch/apt.log" 2>&1 ||
  { apt-get update -qq && apt-get install -y -qq "./$deb" >"$scratch/apt.log" 2>&1; } ||
  { cat "$scratch/apt.log" >&2; fail "apt-get install ./$deb failed"; }
[[ $(command -v dockyard) == /usr/bin/dockyard ]] || fail "dockyard is not /usr/bin/dockyard"
out=$(/usr/bin/dockyard --version)
[[ $out == "dockyard $version"* ]] || fail "/usr/bin/dockyard --version said: $out"
ok "/usr/bin/dockyard --version: $out"
window_stays_up deb env QT_QPA_PLATFORM=offscreen DOCKYARD_HOME="$scratch/home-deb" /usr/bin/dockyard
desktop-file-validate /usr/share/applications/dockyard.desktop || fail "desktop-file-validate"
appstreamcli validate --no-net /usr/share/metainfo/io.github.dockyard.Dockyard.metainfo.xml ||
  fail "appstreamcli validate"
for path in /usr/share/icons/hicolor/scalable/apps/dockyard.svg \
  /usr/share/icons/hicolor/256x256/apps/dockyard.png /usr/share/man/man1/dockyard.1.gz; do
  [[ -s $path ]] || fail "$path is missing"
done
zcat /usr/share/man/man1/dockyard.1.gz | grep -q '^\.SS promote' || fail "the man page lacks commands"
ok "desktop entry, metainfo, icons and man page installed and valid"

dpkg -L dockyard >"$scratch/files.txt"
apt-get purge -y -qq dockyard >/dev/null
installed_by_us=""
leftovers=()
while read -r path; do
  [[ -e $path || -L $path ]] || continue
  if [[ -d $path && ! -L $path && $path != /opt/dockyard* ]]; then
    # shared directories stay when another package owns them or they hold others' files
    dpkg -S "$path" >/dev/null 2>&1 && continue
    [[ -n $(ls -A "$path") ]] && continue
  fi
  leftovers+=("$path")
done <"$scratch/files.txt"
((${#leftovers[@]} == 0)) || fail "apt-get purge left: ${leftovers[*]}"
ok "apt-get purge removed all $(wc -l <"$scratch/files.txt") paths"
echo "make package-check took $((SECONDS - started)) s."
