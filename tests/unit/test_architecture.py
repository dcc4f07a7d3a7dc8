"""House rules a machine checks: the Qt contract covers every domain module; the CLI is documented."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _contract_sources() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    qt = next(c for c in contracts if "PySide6" in c["forbidden_modules"])
    return qt["source_modules"]


def test_every_domain_module_is_under_the_no_qt_contract():
    """GIVEN the import-linter contract WHEN a new module appears outside kiosk/ui THEN it must be
    listed (itself or a parent package), so nobody adds Qt to the domain unnoticed."""
    sources = _contract_sources()
    missing = []
    for path in (ROOT / "kiosk").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[1:2] == ("ui",) or parts[-1] in ("__main__", "resources") or parts == ("kiosk", "__init__"):
            continue
        name = ".".join(p for p in parts if p != "__init__")
        if not any(name == s or name.startswith(s + ".") for s in sources):
            missing.append(name)
    assert not missing, f"add to [tool.importlinter] source_modules: {sorted(set(missing))}"


def _cli_commands() -> set[str]:
    from kiosk.__main__ import _parser

    parser = _parser()
    commands = set()

    def walk(p, prefix):
        for action in p._actions:
            if action.__class__.__name__ == "_SubParsersAction":
                for name, sub in action.choices.items():
                    commands.add(f"{prefix} {name}".strip())
                    walk(sub, f"{prefix} {name}")

    walk(parser, "")
    return commands


def test_every_cli_command_is_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = {m.strip() for m in re.findall(r"kiosk ([a-z][a-z -]*[a-z])", readme)}
    missing = [c for c in _cli_commands()
               if not any(d == c or d.startswith(c + " ") for d in documented)
               and not any(other.startswith(c + " ") for other in _cli_commands())]
    assert not missing, f"document in README.md: {sorted(missing)}"
