"""The one keyring wrapper: values kept by earlier Dockyards (through the ``keyring``
library) stay readable, a configured backend is obeyed, and reading a secret from the
Secret Service costs no import of the library nor of a cipher, and a locked keyring is
said. The suite's real gnome-keyring."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import keyring
import pytest

from dockyard.core.redaction import redact
from dockyard.engine import keyring_store
from testbed.cli import run_dockyard

pytestmark = pytest.mark.keyring


def test_values_of_the_keyring_library_and_of_dockyard_are_the_same_items() -> None:
    service, key = f"dockyard-test-{uuid.uuid4().hex[:8]}", "shop/production/api_token"
    keyring.set_password(service, key, "kept-by-an-older-dockyard")
    try:
        assert keyring_store.read(service, key) == "kept-by-an-older-dockyard"
        assert "kept-by-an-older-dockyard" not in redact("token=kept-by-an-older-dockyard")
        keyring_store.write(service, key, "replaced-by-this-one")
        assert keyring.get_password(service, key) == "replaced-by-this-one"
        assert keyring_store.delete(service, key) is True
        assert keyring.get_password(service, key) is None
        assert keyring_store.delete(service, key) is False
        assert keyring_store.read(service, key) is None
    finally:
        keyring_store.delete(service, key)


_PROBE = """
import json, sys
from dockyard.engine import keyring_store
value = keyring_store.read(sys.argv[1], "k")
loaded = ("keyring", "secretstorage", "cryptography")
print(json.dumps({"value": value, "loaded": [name for name in loaded if name in sys.modules]}))
"""


def test_reading_from_the_secret_service_loads_neither_the_library_nor_a_cipher() -> None:
    # The library takes about 0.15 s to import and choose, secretstorage with cryptography
    # 40 ms; team mode reads its password on every command.
    service = f"dockyard-test-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(keyring_store._CONFIGURED_BY)}
    keyring_store.write(service, "k", "v")
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, service],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
    finally:
        keyring_store.delete(service, "k")
    assert json.loads(done.stdout) == {"value": "v", "loaded": []}


_LOCKED_PROBE = """
from jeepney import DBusAddress, new_method_call
from jeepney.io.blocking import open_dbus_connection
from dockyard.engine import keyring_store
keyring_store.write("dockyard-test", "k", "kept while unlocked")
service = DBusAddress("/org/freedesktop/secrets", "org.freedesktop.secrets",
                      "org.freedesktop.Secret.Service")
with open_dbus_connection() as bus:  # as when the screen locks
    bus.send_and_get_reply(new_method_call(
        service, "Lock", "ao", (["/org/freedesktop/secrets/collection/login"],)))
try:
    print(keyring_store.read("dockyard-test", "k"))
except keyring_store.KeyringUnavailable as exc:
    print(exc)
"""


def test_a_locked_keyring_is_said_not_taken_for_no_secret(tmp_path: Path) -> None:
    """A keyring of its own (locking the suite's would stop the other tests), locked after
    a value was kept: the read asks the service to unlock, which no one can answer here."""
    started = (
        'eval "$(printf pw | gnome-keyring-daemon --unlock --components=secrets)" && '
        f"exec {sys.executable} -c '{_LOCKED_PROBE}'"
    )
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path)}
    done = subprocess.run(
        ["dbus-run-session", "--", "sh", "-c", started],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert "The OS keyring is not available (the collection stayed locked)" in done.stdout, (
        done.stdout + done.stderr
    )


def test_a_backend_named_in_keyringrc_is_obeyed(dockyard_home: Path, tmp_path: Path) -> None:
    config = tmp_path / "config" / "python_keyring"
    config.mkdir(parents=True)
    (config / "keyringrc.cfg").write_text(
        "[backend]\ndefault-keyring=keyring.backends.fail.Keyring\n"
    )
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    result = run_dockyard(
        dockyard_home, "secret", "set", str(tmp_path), "staging", "token", env=env, stdin="v\n"
    )
    assert result.returncode == 3, result.stderr
    assert "keyring is not available" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_named_backend_that_is_not_installed_is_said_in_one_sentence(
    dockyard_home: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyrings.nowhere.Keyring"}
    result = run_dockyard(
        dockyard_home, "secret", "set", str(tmp_path), "staging", "token", env=env, stdin="v\n"
    )
    assert result.returncode == 3, result.stderr
    assert "keyring is not available" in result.stderr and "keyrings" in result.stderr
    assert "install the backend named in PYTHON_KEYRING_BACKEND" in result.stderr
    assert "unlock" not in result.stderr  # unlocking cannot help a backend not installed
    assert "Traceback" not in result.stderr
