"""The suite's Python tools. Run them as modules from the repository root (see pyproject.toml)."""
