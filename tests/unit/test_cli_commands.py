"""The command line answers ``--help`` at once: each command's module (the server, the query engine, the
database drivers behind it) is imported only when that command runs, and the one-line help the root lists
for it is the command's own."""

from __future__ import annotations

import subprocess
import sys

from belvedere.cli import COMMANDS, load


def test_the_listed_help_is_each_commands_own() -> None:
    for name, (_, _, listed) in COMMANDS.items():
        command = load(name)
        assert command.name == name
        assert " ".join((command.help or "").split()).startswith(listed.rstrip(".")), name


def test_help_and_version_import_no_command_module() -> None:
    probe = (
        "import sys; from typer.testing import CliRunner; from belvedere.cli import app\n"
        "for args in (['--help'], ['--version'], ['nope']):\n"
        "    CliRunner().invoke(app, args)\n"
        "heavy = ['sqlalchemy', 'fastapi', 'duckdb', 'pyarrow', 'belvedere.app', 'belvedere.cli.serve']\n"
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "belvedere", "--help"], capture_output=True, text=True, check=True
    )
    for name in COMMANDS:
        assert f" {name} " in listed.stdout
