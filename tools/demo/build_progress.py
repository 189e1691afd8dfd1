"""Builds the functions with cargo and shows how far it is: crates compiled of the total, and
which function, instead of minutes of silence on a fresh machine.

The total is the function's dependency graph from `cargo tree` (normal and build dependencies,
features resolved for this package alone); progress counts the `compiler-artifact` messages of
`cargo build --message-format=json-render-diagnostics`, fresh (already built) crates included.
Each function is built on its own, exactly as `cargo lambda watch` runs it (`cargo run -p X
--bin X`), so the watcher finds it built and feature unification cannot differ.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

LOCK_WAIT = "Blocking waiting for file lock"


def crates_to_build(root: Path, package: str) -> int:
    """Packages `cargo build -p package` compiles: itself and its normal and build dependencies,
    with the features this build resolves (`cargo tree` resolves them as `cargo build -p` does)."""
    out = subprocess.run(["cargo", "tree", "--package", package, "--edges", "normal,build", "--prefix", "none",
                          "--format", "{p}"], cwd=root, capture_output=True, text=True, check=True).stdout
    return len({line.removesuffix(" (*)") for line in out.splitlines() if line.strip()})


def package_name(package_id: str) -> str:
    """`aws-sdk-s3` from `registry+https://...#aws-sdk-s3@1.2.3` (or the older `name version (source)`)."""
    if "#" in package_id:
        tail = package_id.rsplit("#", 1)[1]
        return tail.split("@", 1)[0] if "@" in tail else package_id.rsplit("/", 1)[-1].split("#", 1)[0]
    return package_id.split(" ", 1)[0]


class Progress:
    """Prints `N/M crates` at most every `interval` seconds (and at each 25 %), and what is
    being compiled when nothing finished for a while (a large SDK crate, another build's lock)."""

    def __init__(self, label: str, total: int, interval: float, out=sys.stdout) -> None:
        self.label, self.total, self.interval, self.out = label, total, interval, out
        self.done: set[str] = set()
        self.compiling: list[str] = []
        self.waiting_for_lock = False
        self.compiled = 0
        self.started = time.monotonic()
        self.last_print = 0.0
        self.last_quarter = 0
        self.current = ""
        self.lock = threading.Lock()

    def started_compiling(self, name: str) -> None:
        with self.lock:
            self.waiting_for_lock = False
            self.compiling.append(name)

    def artifact(self, message: dict) -> None:
        with self.lock:
            if "custom-build" in message.get("target", {}).get("kind", []):
                return
            self.waiting_for_lock = False
            package_id = message.get("package_id", "")
            self.done.add(package_id)
            name = package_name(package_id)
            if name in self.compiling:
                self.compiling.remove(name)
            if not message.get("fresh"):
                self.compiled += 1
            self.current = name
            if not self.compiled:  # nothing to compile so far: the closing line says so
                return
            quarter = 4 * len(self.done) // max(self.total, 1)
            if time.monotonic() - self.last_print >= self.interval or quarter > self.last_quarter:
                self.show()
                self.last_quarter = quarter

    def tick(self) -> None:
        """Called every second: a line when nothing was printed for three intervals."""
        with self.lock:
            if time.monotonic() - self.last_print < 3 * self.interval:
                return
            if self.waiting_for_lock:
                self.show("still waiting for another cargo build to release the target directory")
            elif self.compiling:
                self.show(f"{min(len(self.done), self.total)}/{self.total} crates, compiling {', '.join(self.compiling[-3:])}")

    def show(self, note: str = "") -> None:
        n = min(len(self.done), self.total)
        elapsed = time.monotonic() - self.started
        text = note or f"{n}/{self.total} crates ({100 * n // max(self.total, 1)} %), last {self.current}"
        print(f"  · {self.label}: {text} [{elapsed:.0f} s]", file=self.out, flush=True)
        self.last_print = time.monotonic()


def build(root: Path, package: str, log: Path, interval: float = 5.0) -> dict:
    """`cargo build -p package --bin package`, printing progress; returns counts for the step line.
    Raises with the end of cargo's output when the build fails."""
    total = crates_to_build(root, package)
    progress = Progress(package, total, interval)
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        ["cargo", "build", "--package", package, "--bin", package, "--message-format=json-render-diagnostics"],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)

    def read_stderr() -> None:
        with open(log, "a") as sink:
            for line in proc.stderr:
                sink.write(line)
                words = line.split()
                if LOCK_WAIT in line:
                    progress.waiting_for_lock = True
                    progress.show("waiting for another cargo build to release the target directory")
                elif len(words) >= 2 and words[0] == "Compiling":
                    progress.started_compiling(words[1])

    def ticker() -> None:
        while proc.poll() is None:
            time.sleep(1)
            progress.tick()

    readers = [threading.Thread(target=f, daemon=True) for f in (read_stderr, ticker)]
    for thread in readers:
        thread.start()
    for line in proc.stdout:
        if line.startswith("{"):
            message = json.loads(line)
            if message.get("reason") == "compiler-artifact":
                progress.artifact(message)
    proc.wait()
    for thread in readers:
        thread.join(timeout=5)
    if proc.returncode != 0:
        tail = "".join(log.read_text().splitlines(keepends=True)[-15:])
        raise RuntimeError(f"cargo build of {package} failed:\n{tail}")
    progress.show(f"built: {progress.compiled} crates compiled, {len(progress.done) - progress.compiled} already built")
    return {"crates": len(progress.done), "compiled": progress.compiled}
