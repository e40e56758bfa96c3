"""Reference tables generated from the code itself — settings and CLI — so the docs cannot drift.

`python -m belvedere.reference` rewrites the generated parts of docs/settings.md and docs/cli.md; a test
fails when they differ from what the code says.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from belvedere.config import Settings

BEGIN = "<!-- BEGIN GENERATED -->"
END = "<!-- END GENERATED -->"


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        return "—"
    value = field.default
    if value is None:
        return "unset"
    return f"`{value}`"


def type_name(annotation: Any) -> str:
    """How a setting's type reads in the table: lists and objects are JSON, with what they hold."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return " or ".join(f"`{a}`" for a in args)
    if origin in (list, tuple, set, frozenset):
        return f"JSON list of {type_name(args[0])}" if args else "JSON list"
    if origin is dict:
        return f"JSON object of {type_name(args[1])} by {type_name(args[0])}" if args else "JSON object"
    if args:  # a union
        return " or ".join(type_name(a) for a in args)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = ", ".join(f"`{name}`" for name in annotation.model_fields)
        return f"{{{fields}}}"
    return "none" if annotation is type(None) else getattr(annotation, "__name__", str(annotation))


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows: list[str] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows.extend(_rows(annotation, f"{prefix}{name.upper()}__"))
            continue
        kind, default = type_name(annotation), _default(field)
        rows.append(f"| `{prefix}{name.upper()}` | {kind} | {default} | {field.description} |")
    return rows


def settings_reference() -> str:
    header = ["| Variable | Type | Default | Meaning |", "|---|---|---|---|"]
    return "\n".join(header + _rows(Settings, "BELVEDERE_"))


def _command_rows(command: Any, path: str) -> list[str]:
    """Markdown for a click command (Typer's vendored click: duck-typed on purpose)."""
    lines: list[str] = []
    subcommands = getattr(command, "commands", None)
    if subcommands:
        for name in sorted(subcommands):
            lines.extend(_command_rows(subcommands[name], f"{path} {name}"))
        return lines
    lines.append(f"### `{path}`\n\n{(command.help or '').strip()}\n")
    params = [p for p in command.params if p.name != "help"]
    if params:
        lines.append("| Argument / option | Default | Meaning |\n|---|---|---|")
        for param in params:
            helptext = (getattr(param, "help", None) or "").replace("|", "/")
            if param.param_type_name == "option":
                names = ", ".join(f"`{o}`" for o in param.opts + param.secondary_opts)
                default = "—" if param.default is None or param.required else f"`{param.default}`"
            else:
                names, default = f"`{(param.name or '').upper()}`", "required"
            lines.append(f"| {names} | {default} | {helptext} |")
        lines.append("")
    return lines


def cli_reference() -> str:
    from belvedere.cli import COMMANDS, load

    lines: list[str] = []
    for name in sorted(COMMANDS):  # each command as it runs, its module loaded
        lines.extend(_command_rows(load(name), f"belvedere {name}"))
    return "\n".join(lines).strip()


def replace_generated(text: str, generated: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{generated}\n{END}{tail}"


DOCS = {"settings.md": settings_reference, "cli.md": cli_reference}


def main(docs_dir: Path) -> int:
    for name, build in DOCS.items():
        path = docs_dir / name
        path.write_text(replace_generated(path.read_text(), build()))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs")))
