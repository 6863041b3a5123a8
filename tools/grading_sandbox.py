"""The grading worker: runs a student's answers, one exercise at a time, in sandboxed processes.

``tools/grade.py`` (the gradebook writer) starts ``python tools/grading_sandbox.py`` once per job
slot and never runs a student's code itself. This worker imports the chapters' setup once (numpy,
torch and the package take seconds to import), then forks one fresh child per exercise, so every
exercise starts from the same clean state and costs no import. The child:

1. confines itself (:func:`confine`): its own process group, killed with the worker; resource
   limits (memory as ``RLIMIT_DATA``, CPU seconds, file size, no core dumps); no network (a new,
   empty network namespace where Linux allows it, and Landlock's TCP rules); Landlock's file rules
   (writes only below its working copy of the submission; reads only the Python environment, the
   package and its data, system folders, the working copy and its answer file: not the other
   submissions, their working copies, ``OUT`` or the course's other folders) and scopes (no
   signals to processes outside it); whatever the kernel cannot do is reported, never silently
   assumed;
2. runs :data:`SETUP` (the names every answer may use, the same ones ``tests/test_exercises.py``
   gives a reference solution), seeds the random generators, executes the exercise's answer cells,
   and calls ``ae.exercises.check`` on the name the chapter's check cell passes to it;
3. verifies that the answer cells did not patch what the check relies on (:func:`fingerprint`),
   and writes one JSON result to a pipe that only it holds.

The worker enforces the time limits (per exercise, and what is left of the notebook's), and turns
what happened into a status: ``passed``, ``not attempted``, ``wrong`` (the check's own message),
``error`` (the answer cells raised: the last lines of the traceback), ``timed out``, ``out of
memory``, ``exited`` (the answer ended its process), ``tampered`` (it patched the checks).

Protocol, JSON lines: the worker first writes ``{"catalog": [...]}``; then for every job read from
stdin (``{"workdir", "exercises": [{"id", "answer", "name", "timeout"}], "notebook_timeout",
"memory", "private"}``) it writes one line per exercise and ``{"done": true}``. ``answer`` is the path
of a file that holds the answer cells' code: only the child reads it, after confining itself, so
this worker (whose memory every child inherits) never holds a student's code. ``private`` are
folders no child may read (the submissions, ``OUT``).
"""

from __future__ import annotations

import ctypes
import errno
import io
import json
import os
import resource
import select
import signal
import struct
import sys
import time
import traceback
import types
import warnings

# What every answer may use: the chapters' setup cell binds these names the same way
# (tests/test_grading.py checks it), and tests/test_exercises.py runs every reference solution
# with exactly these names. Answers must be self-contained: anything else they import themselves.
SETUP = """\
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

import autoencoders as ae
"""
SETUP_NAMES = ("np", "torch", "nn", "F", "ae")
SEED = 0
TAIL_LINES = 8
MESSAGE_LIMIT = 4000
_OOM_MARKERS = ("MemoryError", "can't allocate memory", "Cannot allocate memory", "out of memory")

# --- Linux confinement: unshare, Landlock (through ctypes: no dependency) ---------------------

_LIBC = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWUSER, _CLONE_NEWNET = 0x10000000, 0x40000000
_PR_SET_NO_NEW_PRIVS, _PR_SET_PDEATHSIG = 38, 1
_SYS_LANDLOCK_CREATE_RULESET, _SYS_LANDLOCK_ADD_RULE, _SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
_LANDLOCK_RULE_PATH_BENEATH = 1
# Write-like file accesses. ABI 1: WRITE_FILE (bit 1), REMOVE_DIR ... MAKE_SYM (bits 4-12);
# 2: REFER; 3: TRUNCATE; 5: IOCTL_DEV.
_FS_WRITE = {1: (1 << 1) | sum(1 << b for b in range(4, 13)), 2: 1 << 13, 3: 1 << 14, 5: 1 << 15}
_FS_WRITE_FILE = 1 << 1
_FS_TRUNCATE = 1 << 14
# Read-like accesses (ABI 1): EXECUTE (bit 0), READ_FILE (bit 2), READ_DIR (bit 3).
_FS_EXECUTE, _FS_READ_FILE, _FS_READ_DIR = 1 << 0, 1 << 2, 1 << 3
_FS_READ = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
_NET_TCP = 0b11  # BIND_TCP | CONNECT_TCP (ABI 4)
_SCOPES = 0b11  # ABSTRACT_UNIX_SOCKET | SIGNAL (ABI 6)
# What an answer reads besides the Python installation, the package and its data: shared
# libraries, configuration (locale, time zones), CPU and memory facts that numpy, torch and
# sklearn look up, and the devices (/dev/null, /dev/urandom, /dev/shm).
SYSTEM_READ = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/proc", "/dev", "/sys")
_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def readable_paths(workdir: str, private: list[str] = ()) -> list[str]:
    """The folders a child may read (besides its working copy and its answer file).

    The Python installation and the environment (``sys.prefix``, ``sys.base_prefix`` and the
    folders on ``sys.path``), the package ``autoencoders`` and its data folder, and
    :data:`SYSTEM_READ`. Never a folder that holds (or is inside) the repository's other folders
    (chapters/, tests/, tools/, notebooks/), the other working copies, or a ``private`` path (the
    submissions, ``OUT``): such a candidate is dropped, whatever it would have given.
    """
    import autoencoders
    from autoencoders import data

    package = os.path.dirname(os.path.abspath(autoencoders.__file__))
    candidates = [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix, *sys.path,
                  package, str(data.DATA_DIR), *SYSTEM_READ]
    inside_repo_ok = [os.path.dirname(package), str(data.DATA_DIR), sys.prefix]
    secret = [os.path.realpath(p) for p in (_REPO, os.path.dirname(os.path.abspath(workdir)), *private)]
    out: list[str] = []
    for path in candidates:
        if not path or not os.path.exists(path):
            continue
        real = os.path.realpath(path)
        if any(_inside(s, real) for s in secret):  # it holds the repository, the working copies, ...
            continue
        if _inside(real, os.path.realpath(_REPO)) and not any(_inside(real, os.path.realpath(ok)) for ok in inside_repo_ok):
            continue  # tools/, tests/, chapters/, notebooks/ (and tools/ is sys.path[0] of the worker)
        if any(_inside(real, s) for s in secret[1:]):
            continue
        if real not in out:
            out.append(real)
    return out


def _landlock_abi() -> int:
    if not sys.platform.startswith("linux"):
        return 0
    abi = _LIBC.syscall(_SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(abi, 0)


def _landlock(workdir: str, answer: str | None = None, private: list[str] = ()) -> list[str]:
    """Allow reads only of :func:`readable_paths`, the working copy and the answer file; writes
    only below ``workdir`` (and to /dev/null); deny TCP; scope signals. Return what applied."""
    abi = _landlock_abi()
    if abi < 1:
        return []
    write = 0
    for level, rights in _FS_WRITE.items():
        if abi >= level:
            write |= rights
    fs = write | _FS_READ
    net = _NET_TCP if abi >= 4 else 0
    scoped = _SCOPES if abi >= 6 else 0
    attr = struct.pack("QQQ", fs, net, scoped)[: 8 if abi < 4 else 16 if abi < 6 else 24]
    buf = ctypes.create_string_buffer(attr, len(attr))
    readable = readable_paths(workdir, private)
    rules = [(path, _FS_READ) for path in readable] + [(workdir, fs)]
    rules.append(("/dev/null", _FS_READ_FILE | _FS_WRITE_FILE | (_FS_TRUNCATE if abi >= 3 else 0)))
    if answer:
        rules.append((answer, _FS_READ_FILE))
    ruleset = _LIBC.syscall(_SYS_LANDLOCK_CREATE_RULESET, buf, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))
    if ruleset < 0:
        return []
    try:
        for path, rights in rules:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                if not os.path.isdir(path):  # a file takes file rights only
                    rights &= _FS_EXECUTE | _FS_READ_FILE | _FS_WRITE_FILE | _FS_TRUNCATE | (1 << 15)
                rule = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd), 12)
                if _LIBC.syscall(_SYS_LANDLOCK_ADD_RULE, ruleset, _LANDLOCK_RULE_PATH_BENEATH, rule, ctypes.c_uint32(0)):
                    return []
            finally:
                os.close(fd)
        if _LIBC.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) or _LIBC.syscall(_SYS_LANDLOCK_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)):
            return []
    finally:
        os.close(ruleset)
    return [
        "files: writes only in the working copy (Landlock)",
        "files: reads only the Python environment, the package and its data, system folders and the working copy;"
        " not the other submissions, OUT or the course's other folders (Landlock)",
    ] + (["network: no TCP (Landlock)"] if net else []) + (["signals: only to its own processes (Landlock)"] if scoped else [])


def _no_network() -> list[str]:
    """A new, empty network namespace (as root, or through a user namespace)."""
    if not sys.platform.startswith("linux"):
        return []
    flags = _CLONE_NEWNET if os.geteuid() == 0 else _CLONE_NEWUSER | _CLONE_NEWNET
    uid = os.geteuid()
    if _LIBC.unshare(flags) != 0:
        return []
    if flags & _CLONE_NEWUSER:
        try:  # keep our own uid inside (the files stay ours); harmless if it fails
            with open("/proc/self/uid_map", "w") as f:
                f.write(f"{uid} {uid} 1")
        except OSError:
            pass
    return ["network: none (empty network namespace)"]


def confine(workdir: str, memory: int, cpu_seconds: float, answer: str | None = None, private: list[str] = ()) -> list[str]:
    """Confine the current (child) process; return what applied, in words."""
    applied = []
    for limit, value in [
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_FSIZE, 256 * 2**20),
        (resource.RLIMIT_CPU, int(cpu_seconds) + 5),
        (resource.RLIMIT_DATA, memory),
    ]:
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):
            pass
    applied.append(f"memory: {memory / 2**30:.1f} GiB (RLIMIT_DATA)")
    applied += _no_network()
    applied += _landlock(workdir, answer, private)
    return applied


# --- tamper evidence -----------------------------------------------------------------------------

_KINDS = (types.FunctionType, types.BuiltinFunctionType, type, types.ModuleType, types.MethodType)
# The libraries a check computes with. Watching every module costs seconds per exercise (each
# object touched in a forked child is a copied page), so the private parts of torch are left out.
_WATCHED = ("autoencoders", "numpy", "torch", "builtins", "math", "random", "sklearn", "scipy", "skimage")


def _watched(module_name: str) -> bool:
    parts = module_name.split(".")
    return parts[0] in _WATCHED and not (parts[0] == "torch" and any(p.startswith("_") for p in parts[1:]))


def fingerprint() -> dict[tuple[str, str], tuple[int, int]]:
    """Identity of every function, class and module reachable as a module attribute (and of the
    code of every Python function), plus the exercise registry and the classes the checks use.

    Taken once in the worker before any student code runs; a child compares after the check. The
    legitimate effects of running an answer (new modules, new attributes, caches) add entries or
    change data, never replace a function that existed before.
    """
    out: dict[tuple[str, str], tuple[int, int]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for module_name, module in list(sys.modules.items()):
            if not isinstance(module, types.ModuleType) or not _watched(module_name):
                continue
            namespace = getattr(module, "__dict__", None)
            if not isinstance(namespace, dict):
                continue
            for key, value in list(namespace.items()):
                if isinstance(value, _KINDS):
                    code = value.__code__ if type(value) is types.FunctionType else None
                    out[(module_name, key)] = (id(value), id(code))
                if isinstance(value, type) and module_name.startswith("autoencoders"):
                    for attr, member in list(vars(value).items()):
                        code = getattr(member, "__code__", None) if isinstance(member, types.FunctionType) else None
                        out[(f"{module_name}.{key}", attr)] = (id(member), id(code))
        import torch
        from autoencoders.exercises import core

        for cls in (torch.Tensor, torch.nn.Module):
            for attr, member in list(vars(cls).items()):
                out[(cls.__qualname__, attr)] = (id(member), 0)
        for exercise_id, ex in list(core._REGISTRY.items()):
            out[("ae.exercises registry", exercise_id)] = (id(ex), id(ex.checker.__code__))
    return out


def tampered(before: dict, after: dict) -> list[str]:
    """What existed before and is now a different object (or gone)."""
    return sorted(f"{m}.{k}" for (m, k), v in before.items() if after.get((m, k)) != v)


# --- one exercise, in the child ------------------------------------------------------------------


def _tail(exc: BaseException) -> str:
    """The last lines of the traceback, without the grader's own frames."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames)]
    lines += traceback.format_exception_only(type(exc), exc)
    text = "".join(lines).rstrip().splitlines()
    return "\n".join(text[-TAIL_LINES:])


def _is_oom(text: str) -> bool:
    return any(marker in text for marker in _OOM_MARKERS)


def _without_magics(code: str) -> str:
    """IPython magics and shell lines (``%time``, ``!pip``) become ``pass``: the grader runs Python."""
    out = []
    for line in code.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            line = line[: len(line) - len(stripped)] + "pass  # " + stripped
        out.append(line)
    return "\n".join(out)


def run_exercise(exercise: dict, before: dict) -> dict:
    """Execute the answer cells and the check in this (already confined) process."""
    import autoencoders as ae
    from autoencoders.exercises import core

    check, wrong_answer = core.check, core.WrongAnswer  # references taken before student code runs
    exercise_id, name = exercise["id"], exercise["name"]
    namespace: dict = {"__name__": "__main__", "__builtins__": __builtins__}
    exec(SETUP, namespace)  # noqa: S102 - our own setup
    ae.seed_everything(SEED)
    printed = io.StringIO()
    stage = "answer"
    try:
        code = compile(_without_magics(exercise["code"]), f"<answer cells of {exercise_id}>", "exec")
        sys.stdout = printed
        exec(code, namespace)  # noqa: S102 - the student's answer, in this sandboxed process
        if name not in namespace:
            sys.stdout = sys.__stdout__
            return {"status": "error", "message": f"the answer cells do not define `{name}`, the name the check cell passes."}
        stage = "check"
        printed.seek(0)
        printed.truncate()
        outcome = check(exercise_id, namespace[name])
        sys.stdout = sys.__stdout__
        result = {"status": "passed" if outcome == True else "not attempted", "message": printed.getvalue().strip()[-MESSAGE_LIMIT:]}  # noqa: E712
    except wrong_answer as wrong:
        sys.stdout = sys.__stdout__
        message = str(wrong)[:MESSAGE_LIMIT]
        result = {"status": "out of memory" if _is_oom(message) else "wrong", "message": message}
    except (SystemExit, KeyboardInterrupt) as stop:
        sys.stdout = sys.__stdout__
        what = "the answer cells" if stage == "answer" else "the answer, while the check ran it,"
        result = {"status": "exited", "message": f"{what} raised {type(stop).__name__}{f'({stop})' if str(stop) else ''}: it ends the process."}
    except BaseException as exc:  # noqa: BLE001 - anything the answer cells raised
        sys.stdout = sys.__stdout__
        tail = _tail(exc)
        status = "out of memory" if isinstance(exc, MemoryError) or _is_oom(tail) else "error"
        where = "running the answer cells" if stage == "answer" else "checking the answer"
        result = {"status": status, "message": f"{type(exc).__name__} while {where}.", "tail": tail}
        if isinstance(exc, OSError) and "socket" in tail:
            result["message"] += " Grading runs without a network: an answer must not connect anywhere."
    changed = tampered(before, fingerprint())
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        result = {
            "status": "tampered",
            "message": f"the answer replaced what the check relies on ({shown}); no credit. "
            f"The check would have said: {result['status']}.",
        }
    return result


def _child(exercise: dict, workdir: str, memory: int, timeout: float, before: dict, result_fd: int, private: list[str]) -> None:
    """The forked child: confine, run, report through ``result_fd``, exit. Never returns."""
    try:
        os.setsid()
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        log = os.open(os.path.join(workdir, f".{exercise['id']}.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.closerange(3, result_fd)
        os.closerange(result_fd + 1, 4096)
        os.chdir(workdir)
        os.environ.update(HOME=workdir, TMPDIR=workdir, MPLCONFIGDIR=os.path.join(workdir, ".matplotlib"))
        applied = confine(workdir, memory, timeout, exercise["answer"], private)
        with open(exercise["answer"], encoding="utf-8") as f:  # read here: the worker never holds an answer
            exercise = {**exercise, "code": f.read()}
        result = run_exercise(exercise, before)
        result["confinement"] = applied
        data = json.dumps(result).encode()
    except BaseException as exc:  # noqa: BLE001 - a failure of the sandbox itself
        data = json.dumps({"status": "error", "message": f"the grader's sandbox failed: {exc!r}"}).encode()
    try:
        os.write(result_fd, data)
    finally:
        os._exit(0)


def _collect(pid: int, read_fd: int, timeout: float) -> tuple[bytes, int | None, bool]:
    """Read the child's result until EOF or the deadline; kill it at the deadline."""
    deadline = time.monotonic() + timeout
    chunks, timed_out = [], False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([read_fd], [], [], left)
        if ready:
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    if timed_out:
        for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
            try:
                target()
            except OSError:
                pass
    _, status = os.waitpid(pid, 0)
    try:  # whatever it left behind in its process group
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    return b"".join(chunks), status, timed_out


def grade_exercise(exercise: dict, workdir: str, memory: int, timeout: float, before: dict, private: list[str] = ()) -> dict:
    """Fork a child for one exercise and turn how it ended into a result."""
    start = time.monotonic()
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(exercise, workdir, memory, timeout, before, write_fd, list(private))
    os.close(write_fd)
    try:
        data, status, timed_out = _collect(pid, read_fd, timeout)
    finally:
        os.close(read_fd)
    seconds = round(time.monotonic() - start, 2)
    signum = os.WTERMSIG(status) if status is not None and os.WIFSIGNALED(status) else None
    if timed_out or signum == signal.SIGXCPU:
        return {"status": "timed out", "message": f"stopped after {timeout:.0f} s (the time limit).", "seconds": seconds}
    try:
        result = json.loads(data.decode()) if data else None
        if not isinstance(result, dict) or not isinstance(result.get("status"), str):
            raise ValueError("not a result")
    except ValueError:
        result = None
    if result is None:
        if signum == signal.SIGKILL:
            result = {"status": "out of memory", "message": "the process was killed (SIGKILL), most likely for its memory."}
        elif signum is not None:
            result = {"status": "error", "message": f"the process crashed ({signal.Signals(signum).name})."}
        else:
            result = {"status": "exited", "message": "the answer ended its own process (os._exit or similar) before the check finished."}
    result["seconds"] = seconds
    return result


def serve(stdin=sys.stdin, stdout=sys.stdout) -> None:
    """The worker loop (see the module docstring for the protocol)."""
    exec(SETUP, {})  # noqa: S102 - import once, before any fork
    import autoencoders as ae

    # Seeding makes torch deterministic, which imports (and patches in) torch's compiler stack:
    # seconds, so once here, and part of the state every child starts from.
    ae.seed_everything(SEED)

    catalog = [{"id": e.id, "title": e.title, "chapter": e.chapter} for e in ae.exercises.catalog()]
    before = fingerprint()
    stdout.write(json.dumps({"catalog": catalog, "landlock_abi": _landlock_abi()}) + "\n")
    stdout.flush()
    for line in stdin:
        job = json.loads(line)
        notebook_deadline = time.monotonic() + job["notebook_timeout"]
        for exercise in job["exercises"]:
            left = notebook_deadline - time.monotonic()
            if left < 1:
                result = {"status": "timed out", "message": "not run: the notebook's time limit was used up by the exercises before it.", "seconds": 0}
            else:
                result = grade_exercise(exercise, job["workdir"], job["memory"], min(exercise["timeout"], left), before, job.get("private", []))
            result["id"] = exercise["id"]
            stdout.write(json.dumps(result) + "\n")
            stdout.flush()
        stdout.write(json.dumps({"done": True}) + "\n")
        stdout.flush()


if __name__ == "__main__":
    # The protocol owns stdout: anything else printed while importing goes to stderr.
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    serve(sys.stdin, protocol)
