"""Which services of a compose test file get the tested image and which compose builds."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from dockyard.engine.pipeline.testfile import PipelineBuild, prepare_test_file

IMAGE = "dockyard/app:abc"


def prepare(tmp_path: Path, text: str, build: PipelineBuild | None = None):
    (tmp_path / "docker-compose.test.yml").write_text(text)
    return prepare_test_file(
        tmp_path / "docker-compose.test.yml", IMAGE, build or PipelineBuild(tmp_path, "Dockerfile")
    )


def test_only_the_pipelines_own_build_gets_the_tested_image(tmp_path: Path) -> None:
    result = prepare(
        tmp_path,
        "services:\n"
        "  app: {build: .}\n"
        "  same: {build: {context: ., dockerfile: ./Dockerfile}}\n"
        "  sut: {build: {context: ., dockerfile: Dockerfile.test}}\n"
        "  stage: {build: {context: ., target: test}}\n"
        "  sub: {build: ./tests}\n"
        "  var: {build: '${CONTEXT}'}\n"
        "  db: {image: busybox:stable}\n",
    )
    assert (result.tested, result.built) == (["app", "same"], ["sut", "stage", "sub", "var"])
    written = YAML(typ="safe").load(result.path.read_text())["services"]
    assert written["app"] == {"image": IMAGE}
    assert written["sut"]["build"]["dockerfile"] == "Dockerfile.test"
    assert result.path.parent == tmp_path  # relative paths mean what they meant


def test_a_target_of_the_pipeline_build_is_the_same_build(tmp_path: Path) -> None:
    build = PipelineBuild(tmp_path, "Dockerfile", "prod")
    result = prepare(tmp_path, "services:\n  app: {build: {context: ., target: prod}}\n", build)
    assert result.tested == ["app"]


def test_version_1_files_are_read_with_their_dockerfile_key(tmp_path: Path) -> None:
    result = prepare(
        tmp_path,
        "sut:\n  build: .\n  dockerfile: Dockerfile.test\n"
        "web:\n  build: .\n  dockerfile: Dockerfile\n  links: [sut]\n",
    )
    assert result.version1
    assert (result.tested, result.built) == (["web"], ["sut"])
    written = YAML(typ="safe").load(result.path.read_text())
    assert written["web"] == {"image": IMAGE, "links": ["sut"]}


def test_nothing_is_written_when_no_service_builds_the_app(tmp_path: Path) -> None:
    result = prepare(tmp_path, "services:\n  sut: {image: '${DOCKYARD_IMAGE}'}\n")
    assert result.path == tmp_path / "docker-compose.test.yml"
    assert not result.tested and not result.built
