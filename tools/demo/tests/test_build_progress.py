"""The demo's build progress: crates counted once each, build scripts not counted, lines printed."""
from __future__ import annotations

import io

from tools.demo import build_progress


def artifact(package_id: str, kind: str = "lib", fresh: bool = False) -> dict:
    name = build_progress.package_name(package_id)
    return {"reason": "compiler-artifact", "package_id": package_id, "fresh": fresh,
            "target": {"name": name.replace("-", "_"), "kind": [kind]}}


def test_package_names_are_read_from_both_package_id_formats():
    assert build_progress.package_name("registry+https://github.com/rust-lang/crates.io-index#aws-sdk-s3@1.2.3") == "aws-sdk-s3"
    assert build_progress.package_name("path+file:///work/functions/cost-guard#0.1.0") == "cost-guard"
    assert build_progress.package_name("path+file:///work/shared#media-suite-shared@0.1.0") == "media-suite-shared"
    assert build_progress.package_name("serde 1.0.0 (registry+https://github.com/rust-lang/crates.io-index)") == "serde"


def test_each_crate_counts_once_and_quarters_are_printed():
    out = io.StringIO()
    progress = build_progress.Progress("notifier", total=4, interval=3600, out=out)
    progress.started_compiling("serde")
    progress.artifact(artifact("registry+x#serde@1.0.0", kind="custom-build"))
    progress.artifact(artifact("registry+x#serde@1.0.0"))
    progress.artifact(artifact("registry+x#libc@0.2.0", fresh=True))
    progress.artifact(artifact("registry+x#libc@0.2.0", fresh=True))
    progress.artifact(artifact("path+file:///w#notifier@0.1.0", kind="bin"))
    lines = out.getvalue().splitlines()
    assert [line.split("crates")[0].split(": ")[1] for line in lines] == ["1/4 ", "2/4 ", "3/4 "]
    assert "last notifier" in lines[-1]
    assert (len(progress.done), progress.compiled, progress.compiling) == (3, 2, [])


def test_an_up_to_date_build_prints_no_progress_lines():
    out = io.StringIO()
    progress = build_progress.Progress("cost-guard", total=2, interval=0, out=out)
    progress.artifact(artifact("registry+x#libc@0.2.0", fresh=True))
    progress.artifact(artifact("path+file:///w#cost-guard@0.1.0", kind="bin", fresh=True))
    assert out.getvalue() == "" and len(progress.done) == 2


def test_a_quiet_stretch_says_what_is_compiling_or_that_it_waits_for_the_lock():
    out = io.StringIO()
    progress = build_progress.Progress("ai-processor", total=10, interval=0, out=out)
    progress.waiting_for_lock = True
    progress.tick()
    progress.started_compiling("aws-sdk-ec2")
    progress.tick()
    lines = out.getvalue().splitlines()
    assert "still waiting for another cargo build" in lines[0]
    assert "0/10 crates, compiling aws-sdk-ec2" in lines[1]
