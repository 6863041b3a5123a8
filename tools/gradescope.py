"""A Gradescope autograder zip that grades with ``make grade`` (``make gradescope``).

``python tools/gradescope.py build gradescope_autograder.zip`` writes a Gradescope *custom*
autograder: ``setup.sh`` installs the course (its tracked files are in the zip under ``course/``)
with the pinned versions, and ``run_autograder`` grades ``/autograder/submission`` (the notebooks a
student uploads) with ``tools/grade.py --single`` and turns its ``results.json`` into Gradescope's
``/autograder/results/results.json``: one test per exercise (1 point each), the feedback as output.
Every exercise runs in its own confined process, as with ``make grade``; nothing runs in the
student's kernel. ``AUTOGRADER_ROOT`` replaces ``/autograder`` to try the zip locally.

otter-grader is not used: it executes the whole notebook and then its tests in the student's own
namespace (a submission can patch the tests), takes one notebook per assignment, and re-running
every chapter per student is what ``make grade`` avoids.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COURSE_PATHS = ["pyproject.toml", "constraints.txt", "README.md", "code", "data", "tools", "chapters", "notebooks"]

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image (Ubuntu, as root).
set -euo pipefail
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-pip >/dev/null
cd /autograder/source/course
python3 -m venv .venv
.venv/bin/pip install --quiet --extra-index-url https://download.pytorch.org/whl/cpu -c constraints.txt -e . nbformat
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission. AUTOGRADER_ROOT replaces /autograder for a local try.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
COURSE="$ROOT/source/course"
WORK="$(mktemp -d)"
mkdir -p "$WORK/submission" "$ROOT/results"
find "$ROOT/submission" -maxdepth 2 -type f -exec cp -t "$WORK/submission" {} + 2>/dev/null || true
cd "$COURSE"
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/python tools/grade.py "$WORK/submission" --single --out "$WORK/out" --jobs "${JOBS:-2}"
.venv/bin/python tools/gradescope.py results "$WORK/out/results.json" "$ROOT/results/results.json"
"""


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "--", *COURSE_PATHS], cwd=REPO, capture_output=True, text=True, check=True)
    return [line for line in out.stdout.splitlines() if (REPO / line).is_file()]


def build(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in [("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)]:
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16
            zf.writestr(info, text)
        for name in tracked_files():
            zf.write(REPO / name, f"course/{name}")
    return path


def results(grader_json: Path, dest: Path) -> None:
    """Gradescope's results.json from the grader's results.json (one submission)."""
    data = json.loads(grader_json.read_text())
    (student, sub), = data.items()
    tests = []
    for exercise_id, r in sub["exercises"].items():
        output = r["status"] + (f": {r['message']}" if r.get("message") else "") + (f"\n{r['tail']}" if r.get("tail") else "")
        tests.append({"name": f"{exercise_id} ({r['title']})", "score": 1 if r["status"] == "passed" else 0, "max_score": 1, "output": output})
    total = sum(t["score"] for t in tests)
    summary = f"{total} of {len(tests)} exercises passed." + (" Problems: " + "; ".join(sub["problems"]) if sub["problems"] else "")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps({"score": total, "output": summary, "tests": tests}, indent=1))


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "build":
        zip_path = build(Path(argv[1]))
        print(f"{zip_path}: {zip_path.stat().st_size / 2**20:.1f} MB; upload it as a Gradescope autograder (Ubuntu base image)")
        return 0
    if len(argv) == 3 and argv[0] == "results":
        results(Path(argv[1]), Path(argv[2]))
        return 0
    print("usage: gradescope.py build ZIP | gradescope.py results GRADER_JSON RESULTS_JSON", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
