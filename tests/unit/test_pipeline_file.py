"""dockyard.yml: what a good file gives, the defaults, and where a bad file is wrong."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import pytest

from dockyard.core.errors import UserInputError
from dockyard.core.pipeline_file import (
    ApprovalConfig,
    BuildConfig,
    EnvironmentConfig,
    HealthcheckConfig,
    PipelineConfig,
    PipelineFileError,
    TestConfig,
    TriggerConfig,
    expand_build_args,
)
from dockyard.core.pipeline_load import load_pipeline
from dockyard.core.pipeline_order import promotes_from, promotes_to

FULL = """\
image: 127.0.0.1:5000/shop/web
build:
  context: app
  dockerfile: docker/Dockerfile
  args: {APP_VERSION: "${DOCKYARD_GIT_TAG:-dev}", WORKERS: 4, DEBUG: false}
  target: runtime
  host: builder
test:
  compose: ci/compose.test.yml
  service: checks
  timeout: 10m
trigger:
  branches: [main, "release/*"]
  tags: "v*"
  interval: 30s
environments:
  production:
    host: prod
    mode: service
    after: staging
    approval: {required: 2, self_approval: true, timeout: 1d}
    replicas: 3
    ports: ["443:8443/tcp"]
    secrets: [db_password, api.key]
  staging:
    host: local
    mode: container
    auto: true
    env_file: deploy/staging.env
    environment: {LOG_LEVEL: debug, PORT: 8080}
    configs: {/etc/app/app.cfg: deploy/staging/app.cfg}
    volumes: ["data:/var/lib/app", "./static:/srv/static:ro"]
    ports: ["8080:80", 9000, "127.0.0.1:8443:443/udp"]
    healthcheck:
      test: curl -fsS http://localhost/health
      interval: 10s
      timeout: 2s
      retries: 5
      start_period: 1m
    grace: 30s
"""


def load(text: str, exists: Callable[[str], bool] = lambda path: False) -> PipelineConfig:
    return load_pipeline(dedent(text), exists=exists)


def error_of(text: str, exists: Callable[[str], bool] = lambda path: False) -> PipelineFileError:
    with pytest.raises(PipelineFileError) as caught:
        load(text, exists)
    return caught.value


def test_full_file_gives_every_setting() -> None:
    config = load(FULL)
    assert config.image == "127.0.0.1:5000/shop/web"
    assert config.build == BuildConfig(
        context="app",
        dockerfile="docker/Dockerfile",
        args={"APP_VERSION": "${DOCKYARD_GIT_TAG:-dev}", "WORKERS": "4", "DEBUG": "false"},
        target="runtime",
        host="builder",
    )
    assert config.test == TestConfig(
        compose="ci/compose.test.yml", service="checks", command=None, timeout=600.0
    )
    assert config.trigger == TriggerConfig(branches=("main", "release/*"), tags="v*", interval=30.0)
    staging, production = config.environments
    assert staging == EnvironmentConfig(
        name="staging",
        host="local",
        mode="container",
        auto=True,
        after=None,
        approval=None,
        env_file="deploy/staging.env",
        environment={"LOG_LEVEL": "debug", "PORT": "8080"},
        configs={"/etc/app/app.cfg": "deploy/staging/app.cfg"},
        volumes=("data:/var/lib/app", "./static:/srv/static:ro"),
        ports=("8080:80", "9000", "127.0.0.1:8443:443/udp"),
        healthcheck=HealthcheckConfig(
            test=("CMD-SHELL", "curl -fsS http://localhost/health"),
            interval=10.0,
            timeout=2.0,
            retries=5,
            start_period=60.0,
        ),
        grace=30.0,
        replicas=1,
    )
    assert production == EnvironmentConfig(
        name="production",
        host="prod",
        mode="service",
        after="staging",
        approval=ApprovalConfig(required=2, self_approval=True, timeout=86400.0),
        ports=("443:8443/tcp",),
        secrets=("db_password", "api.key"),
        replicas=3,
    )


def test_config_is_immutable_and_hashable() -> None:
    config = load(FULL)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.image = "other/image"  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.build.args["X"] = "y"  # type: ignore[index]
    assert hash(config) == hash(load(FULL))
    assert load(FULL) == config


def test_directly_built_configs_freeze_dicts_and_lists() -> None:
    build = BuildConfig(args={"A": "1"})
    environment = EnvironmentConfig(name="qa", ports=["80"])  # type: ignore[arg-type]
    assert hash(build) == hash(BuildConfig(args={"A": "1"}))
    assert isinstance(hash(environment), int)
    assert environment.ports == ("80",)
    with pytest.raises(TypeError):
        build.args["A"] = "2"  # type: ignore[index]


@pytest.mark.parametrize("text", [None, "", "# only a comment\n", "---\n"])
def test_missing_or_empty_file_gives_defaults(text: str | None) -> None:
    config = load_pipeline(text)
    assert config == PipelineConfig(
        image=None, build=BuildConfig(), test=None, trigger=TriggerConfig(), environments=()
    )
    assert config.build.dockerfile == "Dockerfile"
    assert config.build.context == "."


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        ({"compose.test.yml"}, "compose.test.yml"),
        ({"docker-compose.test.yml"}, "docker-compose.test.yml"),
        ({"compose.test.yml", "docker-compose.test.yml"}, "compose.test.yml"),
    ],
)
def test_default_test_uses_the_compose_test_file_found(present: set[str], expected: str) -> None:
    config = load_pipeline(None, exists=present.__contains__)
    assert config.test == TestConfig(compose=expected, service="sut", timeout=600.0)


def test_docker_hub_autotest_repository_works_without_a_pipeline_file() -> None:
    config = load_pipeline("image: shop/web\n", exists={"docker-compose.test.yml"}.__contains__)
    assert config.test is not None
    assert (config.test.compose, config.test.service) == ("docker-compose.test.yml", "sut")


def test_test_section_without_a_file_name_uses_the_default_file() -> None:
    config = load("test:\n  timeout: 20m\n", exists={"compose.test.yml"}.__contains__)
    assert config.test == TestConfig(compose="compose.test.yml", timeout=1200.0)


def test_test_false_turns_the_test_stage_off() -> None:
    assert load("test: false\n", exists=lambda path: True).test is None


def test_test_command_as_string_runs_in_a_shell() -> None:
    config = load("test:\n  command: pytest -q && echo ok\n  timeout: 90\n")
    assert config.test == TestConfig(
        compose=None, command=("sh", "-c", "pytest -q && echo ok"), timeout=90.0
    )


def test_test_command_as_list_is_run_as_given() -> None:
    config = load("test:\n  command: [/app/selftest, --fast]\n")
    assert config.test is not None
    assert config.test.command == ("/app/selftest", "--fast")
    assert config.test.compose is None


def test_environment_command_replaces_the_image_command() -> None:
    config = load(
        "environments:\n  a:\n    command: ./serve --port 80\n"
        "  b:\n    command: [httpd, -f, -p, 80]\n  c: {}\n"
    )
    assert config.environment("a").command == ("sh", "-c", "./serve --port 80")
    assert config.environment("b").command == ("httpd", "-f", "-p", "80")
    assert config.environment("c").command is None


@pytest.mark.parametrize("value", ["{run: serve}", "[]", "5", "[[a]]"])
def test_environment_command_of_a_wrong_type_is_one_sentence(value: str) -> None:
    error = error_of(f"environments:\n  a:\n    command: {value}\n")
    assert error.key.startswith("environments.a.command")
    assert "expected a" in str(error)
    assert str(error).count("\n") == 0


def test_stack_mode_takes_a_compose_file_and_its_app_service() -> None:
    config = load(
        "environments:\n  a:\n    mode: stack\n    compose: deploy/compose.deploy.yml\n"
        "    service: web\n    replicas: 2\n    secrets: [db]\n"
    )
    env = config.environment("a")
    assert (env.mode, env.compose, env.service, env.replicas) == (
        "stack",
        "deploy/compose.deploy.yml",
        "web",
        2,
    )


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ("mode: stack\n", "environments.a.mode", "mode: stack needs compose"),
        ("mode: service\n    compose: c.yml\n", "environments.a.compose", "with mode: stack"),
        ("mode: stack\n    service: web\n", "environments.a.mode", "needs compose"),
        ("mode: stack\n    compose: ../c.yml\n", "environments.a.compose", "inside the repo"),
        ("mode: stack\n    compose: c.yml\n    ports: ['127.0.0.1:80:80']\n",
         "environments.a.ports[0]", "every address"),
    ],
)  # fmt: skip
def test_stack_mode_errors_name_the_key(text: str, key: str, fragment: str) -> None:
    error = error_of("environments:\n  a:\n    " + text)
    assert error.key == key
    assert fragment in str(error)


def test_approval_true_means_default_approval() -> None:
    config = load("environments:\n  prod:\n    approval: true\n")
    assert config.environment("prod").approval == ApprovalConfig(
        required=1, self_approval=False, timeout=None
    )


def test_environment_without_auto_waits_for_an_approval() -> None:
    config = load("environments:\n  prod:\n    host: prod\n  dev:\n")
    assert config.environment("prod").approval == ApprovalConfig()
    assert config.environment("dev").approval == ApprovalConfig()
    assert not config.environment("dev").auto


def test_environments_come_in_promotion_order_then_file_order() -> None:
    config = load(
        """\
        environments:
          production: {after: staging}
          qa: {auto: true}
          staging: {after: dev, auto: true}
          dev: {auto: true}
          canary: {after: staging}
        """
    )
    names = [environment.name for environment in config.environments]
    assert names == ["qa", "dev", "staging", "production", "canary"]


def test_each_environment_promotes_to_the_one_after_it() -> None:
    environments = load(
        """\
        environments:
          production: {after: staging}
          qa: {auto: true}
          staging: {after: dev, auto: true}
          dev: {auto: true}
        """
    ).environments  # qa, dev, staging, production
    following = {e.name: promotes_to(environments, e.name) for e in environments}
    assert following == {"qa": "dev", "dev": "staging", "staging": "production", "production": None}
    sources = {e.name: promotes_from(environments, e.name) for e in environments}
    assert sources == {"qa": None, "dev": "qa", "staging": "dev", "production": "staging"}


def test_unknown_environment_names_the_known_ones() -> None:
    config = load(FULL)
    with pytest.raises(UserInputError, match="'prod'; this pipeline has: staging, production"):
        config.environment("prod")
    with pytest.raises(UserInputError, match="defines none"):
        load_pipeline(None).environment("staging")


def test_healthcheck_list_form_gets_the_docker_prefix() -> None:
    config = load(
        """\
        environments:
          a: {auto: true, healthcheck: {test: [/bin/check, --quick]}}
          b: {auto: true, healthcheck: {test: [CMD-SHELL, "wget -q -O- localhost"]}}
        """
    )
    a, b = config.environments
    assert a.healthcheck == HealthcheckConfig(test=("CMD", "/bin/check", "--quick"))
    assert b.healthcheck is not None
    assert b.healthcheck.test == ("CMD-SHELL", "wget -q -O- localhost")


def test_x_keys_hold_anchors_that_environments_merge() -> None:
    config = load(
        """\
        x-deploy: &deploy
          mode: service
          secrets: [db_password]
          ports: ["8080:80"]
        environments:
          staging:
            <<: *deploy
            auto: true
          production:
            <<: *deploy
            host: prod
            x-note: reviewed weekly
        """
    )
    staging, production = config.environments
    assert (staging.mode, staging.secrets, staging.ports) == (
        "service",
        ("db_password",),
        ("8080:80",),
    )
    assert (production.host, production.ports) == ("prod", ("8080:80",))


def test_error_inside_a_merged_anchor_points_at_the_anchor() -> None:
    error = error_of(
        """\
        x-deploy: &deploy
          ports: [web]
        environments:
          staging:
            <<: *deploy
        """
    )
    assert (error.line, error.key) == (2, "environments.staging.ports[0]")


def test_trigger_accepts_one_branch_and_tags_true() -> None:
    config = load("trigger:\n  branches: main\n  tags: true\n")
    assert config.trigger == TriggerConfig(branches=("main",), tags="*", interval=60.0)


def test_error_message_names_file_line_key_expectation_and_value() -> None:
    error = error_of("image: shop/web\ntest:\n  compose: compose.test.yml\n  timeout: soon\n")
    assert str(error) == (
        "dockyard.yml:4: test.timeout: expected a duration like 10m, 30s or 1h30m, got 'soon'."
    )
    assert (error.file, error.line, error.key) == ("dockyard.yml", 4, "test.timeout")
    assert error.exit_code == 2


def test_error_uses_the_given_file_name() -> None:
    with pytest.raises(PipelineFileError, match=r"^ci/dockyard\.yml:1: imag: "):
        load_pipeline("imag: x\n", filename="ci/dockyard.yml")


def test_unknown_top_level_key_suggests_the_closest() -> None:
    error = error_of("image: shop/web\n\nbiuld:\n  context: .\n")
    assert str(error) == "dockyard.yml:3: biuld: unknown key; did you mean 'build'?"


def test_unknown_nested_key_suggests_the_closest() -> None:
    error = error_of(
        """\
        environments:
          staging:
            auto: true
            envfile: deploy/staging.env
        """
    )
    assert str(error) == (
        "dockyard.yml:4: environments.staging.envfile: unknown key; did you mean 'env_file'?"
    )


def test_unknown_key_without_a_close_match_lists_the_allowed_ones() -> None:
    error = error_of("trigger:\n  zzz: 1\n")
    assert str(error) == (
        "dockyard.yml:2: trigger.zzz: unknown key; expected one of branches, tags, interval."
    )


@pytest.mark.parametrize(
    ("text", "line", "key", "fragment"),
    [
        ("image: shop/web:1.0\n", 1, "image", "without a tag, got 'shop/web:1.0'"),
        ("image: shop/web@sha256:abc\n", 1, "image", "without a digest"),
        ("image: Shop/Web\n", 1, "image", "expected a repository name"),
        ("image: [a]\n", 1, "image", "got a list"),
        ("build: Dockerfile\n", 1, "build", "expected a mapping, got 'Dockerfile'"),
        ("build:\n  context: /abs\n", 2, "build.context", "relative path inside the repository"),
        ("build:\n  dockerfile: ../x/Dockerfile\n", 2, "build.dockerfile", "relative path"),
        ("build:\n  args:\n    A: [1]\n", 3, "build.args.A", "string, number or boolean"),
        ("build:\n  args:\n    V: ${DOCKYARD_GIT_TGA}\n", 3, "build.args.V", "'DOCKYARD_GIT_TAG'"),
        ("test:\n  compose: a.yml\n  command: make\n", 3, "test.command", "not both"),
        ("test:\n  command: make\n  service: sut\n", 3, "test.service", "only with compose"),
        ("test:\n  command: []\n", 2, "test.command", "non-empty list"),
        ("test:\n  timeout: 0\n", 2, "test.timeout", "longer than zero"),
        ("test:\n  timeout: 10m\n", 1, "test", "neither compose.test.yml nor docker-compose"),
        ("trigger:\n  interval: fast\n", 2, "trigger.interval", "got 'fast'"),
        ("trigger:\n  branches: [main, 3]\n", 2, "trigger.branches[1]", "expected a string"),
        ("environments: [staging]\n", 1, "environments", "expected a mapping, got a list"),
        ("environments:\n  Prod:\n", 2, "environments.Prod", "environment name"),
        (
            "environments:\n  a:\n    mode: swarm\n",
            3,
            "environments.a.mode",
            "container, service or stack",
        ),
        (
            "environments:\n  a:\n    auto: yes\n",
            3,
            "environments.a.auto",
            "true or false, got 'yes'",
        ),
        (
            "environments:\n  a:\n    auto: true\n    approval: {required: 1}\n",
            4,
            "environments.a.approval",
            "remove approval or auto",
        ),
        ("environments:\n  a:\n    approval: false\n", 3, "environments.a.approval", "auto: true"),
        (
            "environments:\n  a:\n    approval:\n      required: 0\n",
            4,
            "environments.a.approval.required",
            "at least 1, got 0",
        ),
        (
            "environments:\n  a:\n    approval:\n      required: true\n",
            4,
            "environments.a.approval.required",
            "whole number",
        ),
        (
            "environments:\n  a:\n    approval: {self_approval: no}\n",
            3,
            "environments.a.approval.self_approval",
            "true or false",
        ),
        (
            "environments:\n  a:\n    ports:\n      - 80\n      - 'web:80'\n",
            5,
            "environments.a.ports[1]",
            "a port like 8080:80",
        ),
        ("environments:\n  a:\n    ports: ['70000:80']\n", 3, "environments.a.ports[0]", "port"),
        (
            "environments:\n  a:\n    mode: service\n    ports: ['127.0.0.1:80:80']\n",
            4,
            "environments.a.ports[0]",
            "every address",
        ),
        (
            "environments:\n  a:\n    secrets: [db_password]\n",
            3,
            "environments.a.secrets",
            "secrets need mode: service",
        ),
        (
            "environments:\n  a:\n    secrets: db_password\n",
            3,
            "environments.a.secrets",
            "expected a list",
        ),
        (
            "environments:\n  a:\n    secrets: ['db password']\n",
            3,
            "environments.a.secrets[0]",
            "secret name",
        ),
        (
            "environments:\n  a:\n    configs: {app.cfg: deploy/app.cfg}\n",
            3,
            "environments.a.configs[app.cfg]",
            "absolute path in the container",
        ),
        (
            "environments:\n  a:\n    environment: {1ST: 1}\n",
            3,
            "environments.a.environment.1ST",
            "variable name",
        ),
        (
            "environments:\n  a:\n    volumes: ['data']\n",
            3,
            "environments.a.volumes[0]",
            "a volume like",
        ),
        ("environments:\n  a:\n    replicas: 2\n", 3, "environments.a.replicas", "mode: service"),
        ("environments:\n  a:\n    grace: later\n", 3, "environments.a.grace", "duration"),
        (
            "environments:\n  a:\n    healthcheck: {interval: 5s}\n",
            3,
            "environments.a.healthcheck",
            "needs test",
        ),
        (
            "environments:\n  a:\n    healthcheck:\n      test: x\n      retries: 0\n",
            5,
            "environments.a.healthcheck.retries",
            "at least 1",
        ),
    ],
)
def test_each_error_names_its_line_and_key(text: str, line: int, key: str, fragment: str) -> None:
    error = error_of(text)
    assert (error.line, error.key) == (line, key)
    assert str(error).startswith(f"dockyard.yml:{line}: {key}: ")
    assert fragment in str(error)


def test_after_must_name_another_environment() -> None:
    error = error_of(
        """\
        environments:
          staging: {auto: true}
          production:
            after: stagin
        """
    )
    assert str(error) == (
        "dockyard.yml:4: environments.production.after: 'stagin' is not an environment "
        "of this file; did you mean 'staging'?"
    )


def test_after_itself_is_an_error() -> None:
    error = error_of("environments:\n  a:\n    after: a\n")
    assert (error.line, error.key) == (3, "environments.a.after")
    assert "cannot come after itself" in str(error)


def test_cycle_is_reported_at_the_first_environment_in_it() -> None:
    error = error_of(
        """\
        environments:
          dev: {auto: true}
          qa: {after: prod}
          staging: {after: qa}
          prod: {after: staging}
        """
    )
    assert (error.line, error.key) == (3, "environments.qa.after")
    assert "qa → prod → staging → qa" in str(error)


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("image: shop/web\nbuild: {context: .\n", 3, "not valid YAML"),
        ("build:\n  context: .\n  context: app\n", 3, 'duplicate key "context"'),
        ("build:\n\tcontext: .\n", 2, "not valid YAML"),
        ("image: shop/web\n---\nimage: other/web\n", 2, "not valid YAML"),
    ],
)
def test_yaml_syntax_errors_point_at_their_line(text: str, line: int, fragment: str) -> None:
    error = error_of(text)
    assert error.line == line
    assert str(error).startswith(f"dockyard.yml:{line}: ")
    assert fragment in str(error)


@pytest.mark.parametrize(("text", "found"), [("- a\n- b\n", "a list"), ("just text\n", "'just")])
def test_document_must_be_a_mapping(text: str, found: str) -> None:
    error = error_of(text)
    assert str(error).startswith("dockyard.yml:1: expected a mapping with keys such as image")
    assert f"got {found}" in str(error)


@pytest.mark.parametrize(
    "name",
    [
        "shop/web",
        "web",
        "127.0.0.1:5000/shop/web",
        "localhost:5000/a/b-c",
        "registry.example.com/x__y",
    ],
)
def test_accepts_docker_repository_names(name: str) -> None:
    assert load(f"image: {name}\n").image == name


def test_expand_build_args_fills_known_values_and_blanks_unknown_ones() -> None:
    args = {
        "VERSION": "${DOCKYARD_GIT_TAG}",
        "FALLBACK": "${DOCKYARD_GIT_TAG:-dev}",
        "REF": "${DOCKYARD_GIT_BRANCH}@${DOCKYARD_GIT_COMMIT}",
        "RUN": "run-${DOCKYARD_RUN_ID}",
        "LITERAL": "$${HOME} costs $$5",
        "PLAIN": "unchanged",
        "MISSING": "[${SOMETHING_ELSE}]",
    }
    values = {"DOCKYARD_GIT_TAG": "", "DOCKYARD_GIT_BRANCH": "main", "DOCKYARD_GIT_COMMIT": "abc"}
    assert expand_build_args(args, values) == {
        "VERSION": "",
        "FALLBACK": "dev",
        "REF": "main@abc",
        "RUN": "run-",
        "LITERAL": "${HOME} costs $5",
        "PLAIN": "unchanged",
        "MISSING": "[]",
    }


def test_build_args_keep_variables_unexpanded_until_the_engine_fills_them() -> None:
    config = load('build:\n  args:\n    V: "v-${DOCKYARD_GIT_TAG}"\n')
    assert config.build.args == {"V": "v-${DOCKYARD_GIT_TAG}"}
    assert expand_build_args(config.build.args, {"DOCKYARD_GIT_TAG": "v1.2.0"}) == {"V": "v-v1.2.0"}


def test_example_in_the_documentation_is_a_valid_pipeline_file() -> None:
    docs = Path(__file__).parents[2] / "docs" / "pipeline-file.md"
    example = docs.read_text(encoding="utf-8").split("```yaml\n", 1)[1].split("```", 1)[0]
    config = load_pipeline(example)
    names = [environment.name for environment in config.environments]
    assert names == ["staging", "production", "demo"]
    assert config.environment("production").approval == ApprovalConfig(timeout=86400.0)
    assert config.environment("production").command == ("./serve", "--workers", "4")
    demo = config.environment("demo")
    assert (demo.mode, demo.compose, demo.service) == ("stack", "compose.deploy.yml", "web")


def test_build_network_timeout_and_secrets() -> None:
    build = load(
        "build:\n  network: host\n  timeout: 45m\n  secrets: [npm_token, pip.conf]\n"
    ).build
    assert (build.network, build.timeout, build.secrets) == (
        "host",
        2700.0,
        ("npm_token", "pip.conf"),
    )
    assert load("image: shop/web\n").build.timeout == 1800.0


def test_an_environment_named_build_clashes_with_build_secrets() -> None:
    text = "build:\n  secrets: [tok]\nenvironments:\n  build: {}\n"
    assert "would share the keyring entries of build.secrets" in str(error_of(text))
    assert load("environments:\n  build: {}\n").environments[0].name == "build"
