#!/usr/bin/env bash
# `make package`: builds into dist/
#   dockyard-VERSION-py3-none-any.whl and dockyard-VERSION.tar.gz (twine check clean)
#   dockyard-VERSION-linux-x86_64.tar.gz   the one-folder PyInstaller bundle
#   dockyard_DEBVERSION_amd64.deb          that bundle under /opt/dockyard (build-deb.sh)
# and prints each artifact's size and how long the whole took.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
started=$SECONDS
step() { printf '==> %s (%ds)\n' "$1" $((SECONDS - started)); }

rm -rf dist build/pyinstaller build/pyinstaller-work build/deb && mkdir -p build
# Both from the tree: a wheel built from the sdist has no git, so it would lose the commit.
step "wheel and sdist"
"$PY" -m build --sdist --wheel --outdir dist . >build/python-build.log 2>&1 ||
  { tail -40 build/python-build.log >&2; exit 1; }
"$PY" -m twine check --strict dist/*.whl dist/*.tar.gz
version=$("$PY" -c 'import runpy; print(runpy.run_path("desktop/dockyard/_version.py")["__version__"])')
# reproducible dates (man page, archives): the last commit's, when there is a git history
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
export SOURCE_DATE_EPOCH

step "PyInstaller bundle $version"
venv=build/bundle-venv  # kept between builds: only the wheel is reinstalled
log=build/pyinstaller.log
[[ -x $venv/bin/python ]] || "$PY" -m venv "$venv"
wheel=$(ls dist/*.whl)
{
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$wheel[package]" &&
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
      --force-reinstall "$wheel" &&
    "$venv/bin/python" -m PyInstaller --noconfirm --log-level WARN --distpath build/pyinstaller \
      --workpath build/pyinstaller-work packaging/dockyard.spec
} >"$log" 2>&1 || { tail -40 "$log" >&2; exit 1; }
bundle=build/pyinstaller/dockyard
tarball=dist/dockyard-$version-linux-x86_64.tar.gz
tar -C build/pyinstaller --sort=name --owner=0 --group=0 --numeric-owner \
  --mtime="@$SOURCE_DATE_EPOCH" --transform "s,^dockyard,dockyard-$version," \
  -czf "$tarball" dockyard

step ".deb"
PY=$PY packaging/build-deb.sh "$bundle" "$version" >/dev/null

step "done"
echo "Version $version; bundle $(du -sm "$bundle" | cut -f1) MB unpacked."
ls -l dist | awk 'NR > 1 { printf "  %-60s %6.1f MB\n", $9, $5 / 1048576 }'
echo "make package took $((SECONDS - started)) s."
