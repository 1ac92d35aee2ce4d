"""The Dockerfile builds the image the compose file expects (checked statically: this machine cannot run a build)."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    result = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, arguments = stripped.partition(" ")
            result.append((keyword.upper(), arguments.strip()))
    return result


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(index for index, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def dockerignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(path: str) -> bool:
    """Whether the build context leaves out `path` (later patterns win; `!` re-includes)."""
    result = False
    for line in dockerignore_patterns():
        negate = line.startswith("!")
        pattern = line.removeprefix("!").removeprefix("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: index + 1]) for index in range(len(parts))]
        if any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes) or (
            pattern.startswith("**/") and any(fnmatch.fnmatch(part, pattern[3:]) for part in parts)
        ):
            result = not negate
    return result


def test_image_is_python_311_slim_and_runs_as_a_non_root_user() -> None:
    """Both stages start from python:3.11-slim and the runtime stage switches to an unprivileged user."""
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE.read_text(encoding="utf-8"), re.MULTILINE)
    assert base is not None
    assert base.group(1).startswith("python:3.11-slim")
    assert [args for keyword, args in instructions() if keyword == "FROM"] == [
        "${PYTHON_IMAGE} AS builder",
        "${PYTHON_IMAGE} AS runtime",
    ]
    users = [args for keyword, args in final_stage() if keyword == "USER"]
    assert users, "the runtime stage never switches user"
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_image_health_check_asks_healthz_with_the_standard_library() -> None:
    """HEALTHCHECK calls the service's /healthz on STORMWATCH_HTTP_PORT with urllib (slim images have no curl)."""
    (check,) = [args for keyword, args in final_stage() if keyword == "HEALTHCHECK"]
    command = json.loads(check[check.index("CMD") + len("CMD") :].strip())
    assert command[:2] == ["python", "-c"]
    assert "urllib.request.urlopen" in command[2]
    assert "STORMWATCH_HTTP_PORT" in command[2]
    assert "/healthz" in command[2]


def test_image_runs_the_stormwatch_command_and_finds_the_schemas() -> None:
    """The entry point is the `stormwatch` console script; the project is installed as a regular package, so the
    schemas are copied to /app/schemas and STORMWATCH_SCHEMAS_DIR points there; services listen on 0.0.0.0:8080."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["scripts"]["stormwatch"] == "services.cli:main"
    runtime = final_stage()
    assert ("ENTRYPOINT", '["stormwatch"]') in runtime
    assert ("COPY", "schemas /app/schemas") in runtime
    env = " ".join(args for keyword, args in runtime if keyword == "ENV")
    for setting in ("STORMWATCH_SCHEMAS_DIR=/app/schemas", "STORMWATCH_HTTP_HOST=0.0.0.0", "STORMWATCH_HTTP_PORT=8080"):
        assert setting in env
    installs = [args for keyword, args in instructions() if keyword == "RUN" and "pip install" in args]
    assert installs and not any(" -e " in args or "--editable" in args for args in installs)


def test_every_data_file_of_the_services_is_packaged() -> None:
    """A regular install carries only declared package data: every non-Python file under services/ (migrations, ...)
    matches a [tool.setuptools.package-data] pattern, or the image would start without it."""
    package_data: dict[str, list[str]] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]["package-data"]
    data_files = [
        path
        for path in (ROOT / "services").rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc"} and "__pycache__" not in path.parts
    ]
    assert any(path.suffix == ".sql" for path in data_files)
    for path in data_files:
        covered = False
        for package, patterns in package_data.items():
            package_dir = ROOT if package == "*" else ROOT / package.replace(".", "/")
            if package == "*" or path.is_relative_to(package_dir):
                relative = path.relative_to(package_dir).as_posix()
                covered = covered or any(fnmatch.fnmatch(relative, pattern) for pattern in patterns)
        assert covered, f"{path.relative_to(ROOT)} is not declared in [tool.setuptools.package-data]"


def test_build_context_keeps_sources_and_drops_local_state() -> None:
    """.dockerignore keeps what the image needs (pyproject.toml, README.md, services/, schemas/) and leaves out the
    virtualenv, git data, caches, local state, tests and any .env file with real secrets."""
    for needed in (
        "pyproject.toml",
        "README.md",
        "services/cli.py",
        "services/shared/migrations/0001_pollers.sql",
        "schemas/config.v1.json",
    ):
        assert not ignored(needed), needed
    for dropped in (
        ".venv/bin/python",
        ".git/HEAD",
        ".env",
        ".stormwatch/pg",
        "tests/conftest.py",
        "services/shared/__pycache__/x.pyc",
        ".mypy_cache/3.11",
        "stormwatch.egg-info/PKG-INFO",
    ):
        assert ignored(dropped), dropped
