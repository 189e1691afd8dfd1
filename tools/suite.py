"""The suite's Lambda functions: the Cargo workspace's members under functions/, in the workspace's
order (the order events flow through them). Every tool and test takes the list from here, so a
function added to the workspace is demonstrated, benchmarked, served and tested without more edits."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def workspace_functions(root: Path = ROOT) -> tuple[str, ...]:
    """The crate folders under functions/ that Cargo.toml's [workspace] members name (globs expanded)."""
    members = tomllib.loads((root / "Cargo.toml").read_text())["workspace"]["members"]
    found: list[str] = []
    for member in members:
        for path in sorted(root.glob(member)):
            if path.parent == root / "functions" and (path / "Cargo.toml").is_file() and path.name not in found:
                found.append(path.name)
    return tuple(found)


FUNCTIONS = workspace_functions()
