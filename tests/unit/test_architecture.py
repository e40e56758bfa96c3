"""Where code may depend on what (issue #26): the contexts hold the use cases, the adapters (web, cli) are
thin over them, and the platform serves everyone. Read from the import statements of every module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
CONTEXTS = (
    "accounts",
    "alerts",
    "auth",
    "dashboards",
    "demo",
    "ingest",
    "insights",
    "notify",
    "query",
    "store",
)
ADAPTERS = ("web", "cli", "app", "runtime")


def _module(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, absolute (relative imports resolved)."""
    found: set[str] = set()
    package = _module(path).rsplit(".", 1)[0] if path.name != "__init__.py" else _module(path)
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("belvedere")}


MODULES = {_module(p): _imports(p) for p in sorted(SRC.rglob("*.py"))}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _breaks(rule: str) -> list[str]:
    broken = []
    for module, imports in MODULES.items():
        for name in imports:
            if (
                rule == "pages"
                and module.startswith("belvedere.web.pages")
                and name.startswith("belvedere.web.api_")
            ):
                broken.append(f"{module} -> {name}")
            if rule == "contexts" and _layer(module) in CONTEXTS and _layer(name) in ADAPTERS:
                broken.append(f"{module} -> {name}")
            # The migrations assemble every context's tables (Alembic reads their models): they alone may.
            in_platform = _layer(module) == "platform" and not module.startswith(
                "belvedere.platform.migrations"
            )
            if rule == "platform" and in_platform and _layer(name) in CONTEXTS + ADAPTERS:
                broken.append(f"{module} -> {name}")
    return sorted(set(broken))


@pytest.mark.parametrize(
    "rule",
    [
        pytest.param("pages", id="pages call use cases, never the JSON API's route functions"),
        pytest.param("contexts", id="contexts know nothing of the web, the CLI or the composition root"),
        pytest.param("platform", id="the platform serves every context and depends on none"),
    ],
)
def test_dependencies_point_inwards(rule: str) -> None:
    assert _breaks(rule) == []


def test_the_rules_read_real_imports() -> None:
    """The checker sees imports at all (a rule that reads nothing would always pass)."""
    assert "belvedere.web.access" in MODULES["belvedere.app"] or any(
        name.startswith("belvedere.web") for name in MODULES["belvedere.app"]
    )
    assert any(name.startswith("belvedere.accounts") for name in MODULES["belvedere.web.api_orgs"])
