"""Grade a class: ``make grade SUBMISSIONS=<dir> [OUT=<dir>] [JOBS=<n>]``.

``<dir>`` holds one folder per student (the folder's name is the student's id) with any of the
student notebooks under the names ``make student`` gives them; a folder that holds notebooks
itself (``student/``) is graded as one submission. Writes ``OUT/grades.csv`` (one row per student:
``student``, one column per exercise id with 1 passed / 0 not, ``total``, ``problems``) and
``OUT/feedback/<student>.md``, and prints a summary. Exits 0 whenever grading finished.

How an exercise is graded, cheaply and faithfully: an answer may use only the names of the
chapters' setup (``np``, ``torch``, ``nn``, ``F``, ``ae``) and what it imports itself (the
statements say so, and ``tests/test_exercises.py`` runs every reference solution that way). So
the grader does not re-run a chapter: for each exercise it takes the answer cells (the code cells
between the exercise's statement, or the check cell before it, and its own check cell
``ae.exercises.check("<id>", <name>)``), and runs them with the setup and the check in a fresh,
confined process (``tools/grading_sandbox.py``). The check is the book's own: same check, same
message. The notebook's other cells, its check cells included, never run.

This process (the gradebook writer) reads notebooks as JSON and never runs a student's code.
"""

from __future__ import annotations

import argparse
import ast
import csv
import io
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from tqdm import tqdm

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parent
sys.path.insert(0, str(TOOLS))
from make_student import student_notebook  # noqa: E402 - the release defines the stubs

WORKER = TOOLS / "grading_sandbox.py"
CHECK_CALL = re.compile(r"""ae\.exercises\.check\(\s*["']([\w-]+)["']\s*(?:,\s*([A-Za-z_]\w*)\s*\))?""")
EXERCISES_HEADING = re.compile(r"^#{1,3}\s+Exercises\s*$", re.MULTILINE)
MAX_FILE = 20 * 2**20  # a notebook larger than this is not read
SUSPICIOUS = re.compile(
    r"ae\.exercises|autoencoders\.exercises|_REGISTRY|sys\.modules|__code__|\bgc\b|ctypes|/proc/|os\.write|"
    r"builtins|grading_sandbox"
)
STATUS_WORDS = {
    "passed": "passed",
    "not attempted": "not attempted",
    "wrong": "not passed",
    "error": "error",
    "timed out": "timed out",
    "out of memory": "out of memory",
    "exited": "ended its own process",
    "tampered": "no credit: it patched the checks",
    "missing": "not graded",
}
RELEASE_FILES = {".release.json"}


@dataclass
class Exercise:
    id: str
    title: str
    chapter: str
    name: str  # what the chapter's check cell passes to the check


@dataclass
class Result:
    status: str
    message: str = ""
    tail: str = ""
    seconds: float = 0.0
    note: str = ""


@dataclass
class Submission:
    student: str
    folder: Path
    results: dict[str, Result] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # feedback lines about files
    seconds: float = 0.0


# --- finding the answers -------------------------------------------------------------------------


def _statement_index(cells: list, exercise_id: str, before: int) -> int:
    """The last markdown cell before ``before`` that states the exercise (label or heading)."""
    label = re.compile(rf"(:label:\s*{re.escape(exercise_id)}\s*$)|(\(`{re.escape(exercise_id)}`\))", re.MULTILINE)
    for i in range(before - 1, -1, -1):
        if cells[i].cell_type == "markdown" and label.search(cells[i].source):
            return i
    return -1


def answer_code(nb: nbformat.NotebookNode, exercise_id: str) -> tuple[str | None, str]:
    """The code of an exercise's answer cells, or None and why they could not be found.

    The answer cells are the code cells between the exercise's statement (or the check cell of
    the exercise before it, whichever is later) and the exercise's own check cell; cells the
    chapter hides entirely (tag ``remove-cell``, e.g. a glue cell) are not answers.
    """
    cells = nb.cells
    checks = [
        (i, m.group(1))
        for i, c in enumerate(cells)
        if c.cell_type == "code"
        for m in CHECK_CALL.finditer(c.source)
    ]
    own = [i for i, found in checks if found == exercise_id]
    if not own:
        return None, f'its check cell `ae.exercises.check("{exercise_id}", ...)` is not in the notebook'
    end = own[0]
    start = max([_statement_index(cells, exercise_id, end)] + [i for i, _ in checks if i < end])
    if start < 0:
        headings = [i for i, c in enumerate(cells[:end]) if c.cell_type == "markdown" and EXERCISES_HEADING.search(c.source)]
        if not headings:
            return None, "the grader could not find where its answer starts (no statement or Exercises heading before the check cell)"
        start = headings[-1]
    parts = [
        c.source
        for c in cells[start + 1 : end]
        if c.cell_type == "code" and "remove-cell" not in c.get("metadata", {}).get("tags", [])
    ]
    return "\n\n".join(parts), ""


def _normal(code: str) -> str:
    return "\n".join(line.rstrip() for line in code.strip().splitlines() if line.strip())


def check_names(nb: nbformat.NotebookNode) -> dict[str, str]:
    """Exercise id -> the name its check cell passes to ``ae.exercises.check`` (also the tests')."""
    return {
        m.group(1): m.group(2)
        for c in nb.cells
        if c.cell_type == "code"
        for m in CHECK_CALL.finditer(c.source)
        if m.group(2)
    }


@dataclass
class Release:
    """What the book hands out: per chapter, the exercises in notebook order and their stubs."""

    chapters: dict[str, list[Exercise]]
    stubs: dict[str, str]

    @property
    def exercises(self) -> list[Exercise]:
        return [e for chapter in self.chapters.values() for e in chapter]


def release_source() -> Path:
    """Where ``make student`` makes the release from: the plain notebooks, else the chapters."""
    plain = REPO / "notebooks"
    return plain if any(plain.glob("*.ipynb")) else REPO / "chapters"


def load_release(catalog: list[dict], chapters_dir: Path | None = None) -> Release:
    """The exercises of every chapter (ids and titles from ``ae.exercises``, names and order from
    the chapter's check cells) and the untouched answer code of each."""
    chapters_dir = chapters_dir or release_source()
    by_chapter: dict[str, list[dict]] = {}
    for entry in catalog:
        by_chapter.setdefault(entry["chapter"], []).append(entry)
    chapters, stubs = {}, {}
    for path in sorted(chapters_dir.glob("*.ipynb")):
        nb = student_notebook(nbformat.read(path, as_version=4), path.name)
        names = check_names(nb)
        order = {exercise_id: i for i, exercise_id in enumerate(names)}
        entries = sorted(by_chapter.get(path.stem, []), key=lambda e: order.get(e["id"], len(order)))
        chapters[path.stem] = [Exercise(e["id"], e["title"], path.stem, names.get(e["id"], "")) for e in entries]
        for e in entries:
            code, _ = answer_code(nb, e["id"])
            stubs[e["id"]] = _normal(code or "")
    return Release(chapters, stubs)


def _defined_elsewhere(nb: nbformat.NotebookNode, name: str, answer: str) -> int | None:
    """The number of a notebook cell outside the answer that defines ``name``, if any."""
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code" or cell.source in answer:
            continue
        try:
            tree = ast.parse("\n".join(l for l in cell.source.splitlines() if not l.lstrip().startswith(("%", "!"))))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            bound = []
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound = [node.name]
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                bound = [node.id]
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                bound = [(a.asname or a.name).split(".")[0] for a in node.names]
            if name in bound:
                return number
    return None


# --- reading a submission ------------------------------------------------------------------------


def find_submissions(root: Path, single: bool = False) -> list[tuple[str, Path]]:
    """(student id, folder) pairs: one per sub-folder, or the folder itself if it holds notebooks."""
    if single or any(p.suffix == ".ipynb" for p in root.iterdir() if p.is_file()):
        return [(root.resolve().name, root)]
    return [(p.name, p) for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith(".")]


def _read_notebook(path: Path) -> tuple[nbformat.NotebookNode | None, str]:
    if path.stat().st_size > MAX_FILE:
        return None, f"{path.name} is larger than {MAX_FILE // 2**20} MB: not read"
    try:
        text = path.read_text(encoding="utf-8")
        return nbformat.reads(text, as_version=4), ""
    except Exception as err:  # noqa: BLE001 - invalid JSON, not a notebook, not UTF-8
        reason = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
        return None, f"{path.name} is not a readable notebook ({type(err).__name__}: {reason})"


def _copy_submission(folder: Path, workdir: Path) -> None:
    """The working copy: the submission's plain files (no links, nothing huge)."""
    for path in folder.iterdir():
        if path.is_file() and not path.is_symlink() and path.stat().st_size <= MAX_FILE:
            shutil.copyfile(path, workdir / path.name)


def prepare(sub: Submission, release: Release, workdir: Path) -> list[tuple[str, list[dict]]]:
    """Read a submission; return its jobs (one per notebook); record what needs no process."""
    _copy_submission(sub.folder, workdir)
    expected = {f"{chapter}.ipynb": chapter for chapter in release.chapters}
    present = {p.name: p for p in workdir.iterdir() if p.is_file()}
    originals = {p.name for p in sub.folder.iterdir()}
    notebooks: dict[str, tuple[nbformat.NotebookNode | None, str, str]] = {}  # chapter -> nb, file, problem
    unknown = [n for n in sorted(originals) if n not in expected and n not in RELEASE_FILES]
    for name, chapter in expected.items():
        if name in present:
            nb, problem = _read_notebook(present[name])
            notebooks[chapter] = (nb, name, problem)
    for name in list(unknown):
        path = present.get(name)
        if path is None or path.suffix != ".ipynb":
            continue
        nb, _ = _read_notebook(path)
        ids = set(check_names(nb)) if nb is not None else set()
        for chapter, exercises in release.chapters.items():
            if chapter not in notebooks and ids & {e.id for e in exercises}:
                notebooks[chapter] = (nb, name, "")
                unknown.remove(name)
                sub.problems.append(f"{name} graded as {chapter}.ipynb (renamed)")
                sub.lines.append(f"- `{name}` holds the exercises of `{chapter}.ipynb`: graded as that chapter. Keep the original name.")
                break
    for name in unknown:
        sub.problems.append(f"unknown file {name} ignored")
        sub.lines.append(f"- `{name}` is not one of the course notebooks: ignored.")
    jobs, missing = [], []
    for chapter, exercises in release.chapters.items():
        nb, file, problem = notebooks.get(chapter, (None, f"{chapter}.ipynb", ""))
        if nb is None:
            why = problem or f"{chapter}.ipynb is missing"
            if problem:
                sub.problems.append(why)
            else:
                missing.append(chapter)
            # Said once, under the chapter's heading in the feedback (not also under "Files").
            for e in exercises:
                sub.results[e.id] = Result("missing", why)
            continue
        runs = []
        for e in exercises:
            code, why = answer_code(nb, e.id)
            if code is None:
                sub.results[e.id] = Result("missing", why + "; put it back after your answer")
            elif _normal(code) == release.stubs.get(e.id):
                sub.results[e.id] = Result("not attempted", "the answer is still the stub of the release.")
            else:
                if SUSPICIOUS.search(code):
                    sub.problems.append(f"{e.id}: answer touches the grader's internals (review by hand)")
                runs.append({"id": e.id, "name": e.name, "code": code, "_nb": nb})
        if runs:
            jobs.append((file, runs))
    if missing:
        sub.problems.insert(0, "missing: " + ", ".join(f"{c}.ipynb" for c in missing))
    return jobs


# --- the workers ---------------------------------------------------------------------------------


class Worker:
    """One ``grading_sandbox.py`` process, spoken to in JSON lines; restarted if it dies."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.proc: subprocess.Popen | None = None
        self.buffer = b""
        self.hello: dict = {}

    def start(self) -> None:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=open(self.log, "ab"), env=env, cwd=str(REPO), start_new_session=True,
        )
        self.buffer = b""

    def ready(self, timeout: float = 600) -> dict:
        line = self.readline(timeout)
        if line is None:
            raise RuntimeError(f"the grading worker did not start; see {self.log}")
        self.hello = json.loads(line)
        return self.hello

    def readline(self, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait()


@dataclass
class Limits:
    exercise: float = 120.0
    notebook: float = 600.0
    memory_gib: float = 3.0


def run_jobs(jobs: list, workers: list[Worker], limits: Limits, progress: tqdm, private: list[Path] = ()) -> None:
    """Share the jobs (submission, file, exercises) between the workers; fill in the results.
    ``private``: folders no answer may read (the submissions, ``OUT``)."""
    queue = list(jobs)
    lock = threading.Lock()

    def serve(worker: Worker) -> None:
        while True:
            with lock:
                if not queue:
                    return
                sub, _file, workdir, runs = queue.pop(0)
            message = {
                "workdir": str(workdir),
                "notebook_timeout": limits.notebook,
                "memory": int(limits.memory_gib * 2**30),
                "private": [str(p) for p in private],
                "exercises": [
                    {"id": r["id"], "name": r["name"], "answer": str(r["_answer"]), "timeout": limits.exercise} for r in runs
                ],
            }
            start = time.monotonic()
            pending = {r["id"]: r for r in runs}
            try:
                worker.proc.stdin.write((json.dumps(message) + "\n").encode())
                worker.proc.stdin.flush()
                while True:
                    line = worker.readline(limits.notebook + 120)
                    if line is None:
                        raise RuntimeError("no answer from the grading worker")
                    data = json.loads(line)
                    if data.get("done"):
                        break
                    run = pending.pop(data["id"])
                    record(sub, run, data)
                    progress.update(1)
            except (RuntimeError, OSError, ValueError, KeyError) as err:
                for run in pending.values():
                    sub.results[run["id"]] = Result("error", f"the grader's worker failed ({err}); not graded")
                    progress.update(1)
                sub.problems.append("a grading worker failed; some exercises not graded")
                worker.stop()
                worker.start()
                worker.ready()
            sub.seconds += time.monotonic() - start

    threads = [threading.Thread(target=serve, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


CONFINEMENT: set[str] = set()


def record(sub: Submission, run: dict, data: dict) -> None:
    """One exercise's result, with a plain word on names the answer took from elsewhere."""
    result = Result(data["status"], data.get("message", ""), data.get("tail", ""), data.get("seconds", 0.0))
    CONFINEMENT.update(data.get("confinement", []))
    missing = re.search(r"name '(\w+)' is not defined", result.message + "\n" + result.tail)
    if missing and result.status != "passed":
        cell = _defined_elsewhere(run["_nb"], missing.group(1), run["code"])
        if cell is not None:
            result.note = (
                f"`{missing.group(1)}` is defined in cell {cell} of the notebook, outside this exercise's cells. "
                "Each answer is graded on its own, with only np, torch, nn, F and ae: define or import "
                "what it needs in its own cells."
            )
    if result.status in ("timed out", "out of memory", "exited", "tampered"):
        sub.problems.append(f"{run['id']}: {result.status}")
    sub.results[run["id"]] = result


# --- writing the gradebook -----------------------------------------------------------------------


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def gradebook(subs: list[Submission], release: Release) -> str:
    ids = [e.id for e in release.exercises]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", *ids, "total", "problems"])
    for sub in subs:
        marks = [1 if sub.results.get(i, Result("missing")).status == "passed" else 0 for i in ids]
        writer.writerow([sub.student, *marks, sum(marks), "; ".join(dict.fromkeys(sub.problems))])
    return out.getvalue()


def results_json(subs: list[Submission], release: Release) -> str:
    """Every result, machine-readable: {student: {exercise id: {status, message, tail, seconds}}}."""
    data = {
        sub.student: {
            "problems": list(dict.fromkeys(sub.problems)),
            "exercises": {
                e.id: {"title": e.title, "chapter": e.chapter, **vars(sub.results.get(e.id, Result("missing", "not graded")))}
                for e in release.exercises
            },
        }
        for sub in subs
    }
    return json.dumps(data, indent=1) + "\n"


def feedback(sub: Submission, release: Release) -> str:
    total = sum(r.status == "passed" for r in sub.results.values())
    lines = [f"# Feedback for {sub.student}", "", f"**{total} of {len(release.exercises)} exercises passed.**", ""]
    if sub.lines:
        lines += ["## Files", "", *sub.lines, ""]
    for chapter, exercises in release.chapters.items():
        lines += [f"## {chapter}.ipynb", ""]
        first = sub.results.get(exercises[0].id) if exercises else None
        if first is not None and first.status == "missing" and first.message.startswith(chapter):
            lines += [f"Not graded: {first.message}: its {len(exercises)} exercises are not graded.", ""]
            continue
        for e in exercises:
            r = sub.results.get(e.id, Result("missing", "not graded"))
            word = STATUS_WORDS.get(r.status, r.status)
            message = r.message
            head = f"{e.id} ({e.title}): "
            if message.startswith(head):
                message = message[len(head) :]
            if r.status in ("passed", "not attempted") and message.startswith("["):
                message = ""
            if message:
                message = message[0].upper() + message[1:]
            text = f"- **{e.id}** ({e.title}): {word}" + (f". {message}" if message else ".")
            lines.append(text.replace("\n", "\n  "))
            if r.note:
                lines.append(f"  {r.note}")
            if r.tail:
                lines += ["", "  ```text", *[f"  {l}" for l in r.tail.splitlines()], "  ```", ""]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# --- the command ---------------------------------------------------------------------------------


def grade(submissions: Path, out: Path, jobs: int, limits: Limits, quiet: bool = False, single: bool = False) -> list[Submission]:
    """Grade every submission under ``submissions`` into ``out``; return the submissions."""
    start = time.monotonic()
    CONFINEMENT.clear()
    found = find_submissions(submissions, single)
    out.mkdir(parents=True, exist_ok=True)
    (out / "feedback").mkdir(exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="ae-grade-"))
    workers = [Worker(scratch / f"worker{i}.log") for i in range(max(1, jobs))]
    try:
        for w in workers:
            w.start()
        hello = workers[0].ready()
        release = load_release(hello["catalog"])
        subs, queue = [], []
        for student, folder in found:
            sub = Submission(student, folder)
            workdir = scratch / "work" / f"{len(subs):04d}"
            workdir.mkdir(parents=True)
            answers = scratch / "answers" / workdir.name  # read-only to the child, outside its working copy
            answers.mkdir(parents=True)
            for file, runs in prepare(sub, release, workdir):
                for r in runs:
                    r["_answer"] = answers / f"{r['id']}.py"
                    r["_answer"].write_text(r["code"], encoding="utf-8")
                queue.append((sub, file, workdir, runs))
            subs.append(sub)
        total = len(subs) * len(release.exercises)
        with tqdm(total=total, unit="exercise", desc="grading", disable=quiet or None, file=sys.stderr) as progress:
            progress.update(total - sum(len(runs) for *_, runs in queue))
            if queue:
                for w in workers[1:]:
                    w.ready()
                run_jobs(queue, workers, limits, progress, [submissions.resolve(), out.resolve()])
    finally:
        for w in workers:
            w.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    _atomic_write(out / "grades.csv", gradebook(subs, release))
    _atomic_write(out / "results.json", results_json(subs, release))
    for sub in subs:
        _atomic_write(out / "feedback" / f"{sub.student}.md", feedback(sub, release))
    if not quiet:
        summary(subs, release, out, submissions, time.monotonic() - start, hello.get("landlock_abi", 0))
    return subs


def summary(subs: list[Submission], release: Release, out: Path, root: Path, seconds: float, abi: int) -> None:
    n = len(release.exercises)
    print(f"Graded {len(subs)} submission(s) of {n} exercises in {seconds:.0f} s.")
    width = max([len(s.student) for s in subs] + [7])
    for sub in subs:
        passed = sum(r.status == "passed" for r in sub.results.values())
        problems = "; ".join(dict.fromkeys(sub.problems))
        print(f"  {sub.student:<{width}}  {passed:>2} of {n} passed" + (f"   ({problems})" if problems else ""))
    print(f"Gradebook: {out / 'grades.csv'}; feedback per student: {out / 'feedback'}/<student>.md")
    if CONFINEMENT:
        print("Each exercise ran in a fresh process with " + "; ".join(sorted(CONFINEMENT)) + ".")
        if not any("Landlock" in c for c in CONFINEMENT):
            print("WARNING: this kernel has no Landlock, so a submission could write wherever this user can, and "
                  "reads are not confined: an answer could read the other submissions and OUT. Grade untrusted "
                  "work in a container, one submission at a time, as a user without write access to the course files.")
        if not any("namespace" in c or "TCP" in c for c in CONFINEMENT):
            print("WARNING: the network could not be taken away on this machine (no network namespace, no Landlock TCP rules).")
    if len(subs) == 1 and not any(r.status == "passed" for r in subs[0].results.values()):
        first = f"{root / next(iter(release.chapters))}.ipynb"
        print(
            f"No exercise passes yet. To start: open {first} (`make lab`), find an exercise under "
            "'Exercises', replace its `raise NotImplementedError(...)` line with your code and run its "
            f"check cell; then `make grade SUBMISSIONS={root}` again."
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submissions", nargs="?", type=Path, help="one folder per student (or one student's folder)")
    parser.add_argument("--out", type=Path, default=Path("grades"), help="where grades.csv and feedback/ go (grades/)")
    parser.add_argument("--jobs", type=int, default=min(os.cpu_count() or 1, 4), help="exercises graded side by side")
    parser.add_argument("--timeout-exercise", type=float, default=Limits.exercise, help="seconds per exercise (120)")
    parser.add_argument("--timeout-notebook", type=float, default=Limits.notebook, help="seconds per notebook (600)")
    parser.add_argument("--memory", type=float, default=Limits.memory_gib, help="GiB per exercise (3)")
    parser.add_argument("--single", action="store_true", help="the folder is one submission, even without notebooks")
    args = parser.parse_args(argv)
    if args.submissions is None:
        print("usage: make grade SUBMISSIONS=<dir> [OUT=<dir>] [JOBS=<n>]  (one folder per student, or student/)", file=sys.stderr)
        return 2
    if not args.submissions.is_dir():
        print(f"error: {args.submissions} is not a folder. Give one folder per student, or your own student/.", file=sys.stderr)
        return 2
    try:
        limits = Limits(args.timeout_exercise, args.timeout_notebook, args.memory)
        grade(args.submissions, args.out, args.jobs, limits, single=args.single)
    except (OSError, RuntimeError) as err:
        print(f"error: the grader could not run: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
