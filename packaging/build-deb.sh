#!/usr/bin/env bash
# Builds dist/dockyard_VERSION_amd64.deb from the PyInstaller bundle (packaging/build.sh
# calls it): the bundle under /opt/dockyard, /usr/bin/dockyard, the desktop entry, the
# hicolor icons, the AppStream metainfo, the man page; Depends computed by dpkg-shlibdeps.
#   packaging/build-deb.sh BUNDLE_DIR VERSION   (VERSION as Python gives it: 1.2.4.dev3+gabc)
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=$1 version=$2
PY=${PY:-.venv/bin/python}
# Debian orders 1.2.4~dev3 before 1.2.4, as PEP 440 orders 1.2.4.dev3 before 1.2.4.
deb_version=$(sed -E 's/\.?(dev|rc|a|b)([0-9]+)/~\1\2/' <<<"$version")
work=build/deb
root=$work/root
rm -rf "$work" && mkdir -p "$root/DEBIAN" "$root/opt" "$root/usr/bin"

cp -a "$bundle" "$root/opt/dockyard"
find "$root/opt/dockyard" -type f -name '*.so*' -exec chmod 644 {} + # loaded, never executed
ln -s /opt/dockyard/dockyard "$root/usr/bin/dockyard"
install -D -m 644 packaging/dockyard.desktop "$root/usr/share/applications/dockyard.desktop"
metainfo=$root/usr/share/metainfo/io.github.dockyard.Dockyard.metainfo.xml
install -D -m 644 packaging/io.github.dockyard.Dockyard.metainfo.xml "$metainfo"
# a release build (a v1.2.3 tag) names itself first in <releases> for software centres
if [[ $version =~ ^[0-9]+(\.[0-9]+)*$ ]] && ! grep -q "release version=\"$version\"" "$metainfo"; then
  released=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" +%F)
  sed -i "s|<releases>|<releases>\n    <release version=\"$version\" date=\"$released\"/>|" "$metainfo"
fi
icons=$root/usr/share/icons/hicolor
install -D -m 644 desktop/dockyard/resources/icons/dockyard.svg "$icons/scalable/apps/dockyard.svg"
mkdir -p "$icons/256x256/apps"
"$PY" packaging/icon-png.py desktop/dockyard/resources/icons/dockyard.svg \
  "$icons/256x256/apps/dockyard.png" 256
mkdir -p "$root/usr/share/man/man1"
"$PY" packaging/manpage.py "$root/usr/share/man/man1/dockyard.1" "$version"
gzip -9n "$root/usr/share/man/man1/dockyard.1"
doc=$root/usr/share/doc/dockyard
install -D -m 644 packaging/debian/copyright "$doc/copyright"
gzip -9nc CHANGELOG.md >"$doc/CHANGELOG.md.gz"
maintainer="The Dockyard developers <maintainers@users.noreply.github.com>"
# the changelog dpkg tools read; what changed is in CHANGELOG.md.gz
gzip -9n >"$doc/changelog.gz" <<EOF
dockyard ($deb_version) unstable; urgency=medium

  * Built from git: $version.
    The changes are in CHANGELOG.md.gz.

 -- $maintainer  $(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}")
EOF
gzip -9nc README.md >"$doc/README.md.gz"
install -D -m 644 packaging/debian/lintian-overrides "$root/usr/share/lintian/overrides/dockyard"
find "$root" -type d -exec chmod 755 {} +

# Depends: the system libraries the bundle's ELF files load (the bundle carries Qt and
# Python, not X11/xcb, GL, fontconfig, D-Bus or OpenSSL). dpkg-shlibdeps wants a source tree.
mkdir -p "$work/src/debian"
printf 'Source: dockyard\n\nPackage: dockyard\nArchitecture: amd64\n' >"$work/src/debian/control"
mapfile -t elves < <(find "$root/opt/dockyard" -type f \( -name '*.so*' -o -name dockyard \) \
  -exec sh -c 'head -c4 "$1" | grep -q ELF && echo "$1"' _ {} \;)
mapfile -t private_dirs < <(printf '%s\n' "${elves[@]}" | xargs -n1 dirname | sort -u)
top=$PWD
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O --ignore-missing-info \
  "${private_dirs[@]/#/-l$top/}" "${elves[@]/#/$top/}" 2>"$top/$work/shlibdeps.log" |
  sed -n 's/^shlibs:Depends=//p')
[[ -n "$shlibs" ]] || { cat "$work/shlibdeps.log" >&2; echo "build-deb: dpkg-shlibdeps failed" >&2; exit 1; }

cat >"$root/DEBIAN/control" <<EOF
Package: dockyard
Version: $deb_version
Architecture: amd64
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $shlibs, git
Recommends: docker.io | docker-ce, docker-compose | docker-compose-plugin, gnome-keyring
Section: devel
Priority: optional
Homepage: https://github.com/dockyard/dockyard
Description: desktop dashboard for Docker releases from git repositories
 Dockyard builds the Docker image of a commit or tag, tests it with a compose
 file, pushes it, and deploys that exact digest to each environment on a local
 or remote Docker daemon. Release managers approve what goes to production
 with a button bound to one digest and roll back to any earlier release with
 a recorded, audited deployment.
 .
 The same engine drives the dockyard command line, for scripts and CI.
EOF
mkdir -p dist
dpkg-deb --root-owner-group -Zxz -z3 --build "$root" "dist/dockyard_${deb_version}_amd64.deb" >/dev/null
echo "dist/dockyard_${deb_version}_amd64.deb"
