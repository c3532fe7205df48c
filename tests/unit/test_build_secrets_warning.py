"""The build stage warns of files that look like secrets and would reach the daemon: a
real folder, its .dockerignore read as docker-py reads it (and only when a file's name
looks like a secret at all, so the common build need not import Docker's SDK)."""

from __future__ import annotations

from pathlib import Path

from dockyard.engine.pipeline.build import likely_secrets


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_files_named_like_secrets_are_named_unless_dockerignore_leaves_them_out(
    tmp_path: Path,
) -> None:
    context = _tree(
        tmp_path,
        {
            "Dockerfile": "FROM busybox:stable\n",
            ".env": "TOKEN=x\n",
            "certs/server.key": "k",
            "deploy/id_ed25519": "k",
            "app/.env.production": "x",
            "app/main.py": "",
            ".dockerignore": "# not these\ncerts\n",
        },
    )
    assert likely_secrets(context, "Dockerfile") == [
        ".env",
        "app/.env.production",
        "deploy/id_ed25519",
    ]


def test_a_context_without_such_names_has_nothing_to_say(tmp_path: Path) -> None:
    context = _tree(tmp_path, {"Dockerfile": "FROM busybox:stable\n", "app.sh": "echo hi\n"})
    assert likely_secrets(context, "Dockerfile") == []
