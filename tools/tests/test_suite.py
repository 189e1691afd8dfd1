"""The one list of the suite's functions (tools/suite.py) follows the Cargo workspace."""

from __future__ import annotations

from tools.suite import FUNCTIONS, ROOT, workspace_functions


def test_the_functions_are_the_function_crates_of_the_workspace_in_its_order():
    assert sorted(FUNCTIONS) == sorted(p.parent.name for p in (ROOT / "functions").glob("*/Cargo.toml"))
    assert FUNCTIONS[0] == "ai-processor", "the workspace lists the functions in the order events reach them"


def test_globbed_members_count_and_other_members_do_not(tmp_path):
    (tmp_path / "Cargo.toml").write_text('[workspace]\nmembers = ["shared", "functions/zeta", "functions/*"]\n')
    for crate in ("shared", "functions/zeta", "functions/alpha"):
        (tmp_path / crate).mkdir(parents=True)
        (tmp_path / crate / "Cargo.toml").write_text("[package]\n")
    (tmp_path / "functions" / "notes").mkdir()
    assert workspace_functions(tmp_path) == ("zeta", "alpha")
