"""What the docker and compose CLIs can do is found out once and kept between processes,
until a CLI, its plugins or PATH change (real files and folders; the probe is a counter)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.engine.pipeline.toolcache import kept


def test_an_answer_is_kept_until_a_cli_its_plugins_or_path_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "bin"
    folder.mkdir()
    docker = folder / "docker"
    docker.write_text("#!/bin/sh\nexit 1\n")
    docker.chmod(0o755)
    config = tmp_path / "docker-config"
    config.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    monkeypatch.setenv("DOCKYARD_HOME", str(tmp_path / "home"))
    asked: list[int] = []

    def find_out() -> list[object]:
        asked.append(1)
        return ["docker", len(asked)]

    assert kept("buildkit", find_out) == ["docker", 1]
    assert kept("buildkit", find_out) == ["docker", 1]  # as a later process finds it
    (config / "cli-plugins").mkdir()
    (config / "cli-plugins" / "docker-buildx").write_text("")
    assert kept("buildkit", find_out) == ["docker", 2]  # a plugin was installed
    docker.write_text("#!/bin/sh\necho 'Docker version 20.10.24'\n")
    assert kept("buildkit", find_out) == ["docker", 3]  # the CLI changed
    monkeypatch.setenv("PATH", f"{tmp_path}:{folder}")
    assert kept("buildkit", find_out) == ["docker", 4]  # another PATH
    assert kept("buildkit", find_out) == ["docker", 4]
    (tmp_path / "home" / "cache" / "tools.json").write_text("{not json")
    assert kept("buildkit", find_out) == ["docker", 5]  # a damaged file is only a miss
