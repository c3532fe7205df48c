#!/usr/bin/env bash
# Runs the suite with the services it needs: a private Secret Service (gnome-keyring in a
# D-Bus session of its own). The Docker daemon and the registry are started by the pytest
# fixtures themselves (tests/testbed). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

if [[ -z "${DOCKYARD_IN_DBUS:-}" ]]; then
  export DOCKYARD_IN_DBUS=1
  exec dbus-run-session -- "$0" "$@"
fi

# A keyring of the suite's own (never the user's), unlocked for this private session.
XDG_DATA_HOME=$(mktemp -d /tmp/dyk-XXXXXX)
export XDG_DATA_HOME
trap 'rm -rf "$XDG_DATA_HOME"' EXIT
eval "$(printf 'dockyard-test' | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)" || true
export QT_QPA_PLATFORM=offscreen
export PYTHONDONTWRITEBYTECODE=1

case "${1:-}" in
  --bench)
    shift
    "$VENV/bin/python" tests/benchmarks/run.py "$@"
    exit $? ;;
  --screenshots)
    shift
    "$VENV/bin/python" scripts/screenshots.py "$@"
    exit $? ;;
esac

# Verbose by default, so the log names what ran (an image built, a push, a keyring secret…).
[[ $# -eq 0 ]] && set -- -v
set +e
"$VENV/bin/python" -m pytest "$@"
code=$?
set -e
if [[ $code -eq 5 ]]; then
  echo "pytest collected no tests: that is a failure of the suite, not a pass." >&2
  exit 1
fi
exit $code
