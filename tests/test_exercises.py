"""The exercise checks have teeth and are fair: reference solutions pass, so do at least two correct
answers written differently, plausible wrong answers are rejected with a message that helps, stubs
say "not attempted", and no exercise of a chapter goes unchecked.

The reference solution of an exercise is taken from its chapter notebook (the code cells between
``{solution-start} <id>`` and ``{solution-end}``) and executed alone, with ``np``, ``torch``,
``nn``, ``F`` and ``ae`` in scope; the name it defines is read from the check cell
``ae.exercises.check("<id>", <name>)``. The fixture chapter under ``tests/fixtures`` exercises the
same path independently of the real chapters.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import inspect
import io
import math
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import autoencoders as ae
from autoencoders.exercises import Exercise, WrongAnswer, call, check, exercise, expect_close, expect_number
from autoencoders.exercises import isolated_registry
from grade import check_names
from make_student import solutions
from exercise_answers import FIXTURES, WrongAnswers, chapter_correct_answers, chapter_wrong_answers, fixture_exercises

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "chapters").glob("*.ipynb"))
MIN_PER_CHAPTER = 3
MIN_ALTERNATIVES = 2  # correct answers written differently from the reference, per exercise
# What a raw numpy / torch error starts with; a helpful message says more than that.
BARE_ERROR = re.compile(
    r"^(operands could not be broadcast|matmul:|mat1 and mat2|The size of tensor|shapes \(|index \d|"
    r"unsupported operand|could not broadcast|Expected all tensors|too many indices)"
)


def run_solution(code: str, name: str) -> Any:
    """Execute a solution's code cells alone and return the object called ``name``."""
    namespace: dict[str, Any] = {"np": np, "torch": torch, "nn": nn, "F": F, "ae": ae}
    exec(compile(code, f"<solution defining {name}>", "exec"), namespace)  # noqa: S102 - our own notebooks
    return namespace[name]


def checked(exercise_id: str, answer: Any) -> tuple[bool, list[str]]:
    """Run ``check`` and return its result and the lines it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = check(exercise_id, answer)
    return result, out.getvalue().splitlines()


def unhelpful(message: str, ex: Exercise) -> str:
    """Why a WrongAnswer message would not help a student ('' when it is fine)."""
    prefix = f"{ex.id} ({ex.title}): "
    if not message.startswith(prefix):
        return f"does not start with {prefix!r}"
    body = message[len(prefix) :]
    if len(body.split()) < 4:
        return "is too short to help"
    if BARE_ERROR.match(body):
        return "is a bare numpy/torch error"
    return ""


def fingerprint(value: Any) -> str:
    """A hashable summary of one argument, to count distinct inputs."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return f"{value.shape}{value.dtype}" + hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
    return repr(value)


def distinct_inputs(exercise_id: str, answer: Any) -> int:
    """How many distinct inputs the check tries a function answer on."""
    seen: set[str] = set()

    @functools.wraps(answer)
    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.add("|".join(map(fingerprint, args)) + repr(sorted((k, fingerprint(v)) for k, v in kwargs.items())))
        return answer(*args, **kwargs)

    checked(exercise_id, spy)
    return len(seen)


def exercise_problems(
    ex: Exercise, nb: nbformat.NotebookNode, name: str, wrong: WrongAnswers, correct: WrongAnswers
) -> list[str]:
    """Everything wrong with one exercise: its reference, its correct alternatives, its wrong answers,
    its stub, None."""
    sols, names = solutions(nb, name), check_names(nb)
    if ex.id not in sols:
        return [f"{ex.id}: no {{solution-start}} {ex.id} ... {{solution-end}} block in {name}"]
    if ex.id not in names:
        return [f"{ex.id}: no check cell ae.exercises.check({ex.id!r}, <name>) in {name}"]
    problems = []
    try:
        reference = run_solution(sols[ex.id].code, names[ex.id])
    except Exception as err:  # noqa: BLE001 - reported with the rule it breaks
        return [f"{ex.id}: the solution cells do not run alone (with np, torch, nn, F, ae): {type(err).__name__}: {err}"]
    result, lines = checked(ex.id, reference)
    if result != True or lines != [f"[passed] {ex.id} ({ex.title}): correct. Well done!"]:
        problems.append(f"{ex.id}: the reference solution did not pass cleanly: returned {result!r}, printed {lines}")
    if inspect.isfunction(reference) and distinct_inputs(ex.id, reference) < 2:
        problems.append(f"{ex.id}: the check tries the answer on fewer than 2 distinct inputs")
    if len(correct.get(ex.id, [])) < MIN_ALTERNATIVES:
        problems.append(f"{ex.id}: fewer than {MIN_ALTERNATIVES} correct alternatives in tests/exercise_answers/")
    for description, answer in correct.get(ex.id, []):
        try:
            result, lines = checked(ex.id, answer)
        except Exception as err:  # noqa: BLE001 - a refused correct answer, whatever the reason
            problems.append(f"{ex.id}: refused the correct answer '{description}': {type(err).__name__}: {err}")
        else:
            if result != True:
                problems.append(f"{ex.id}: did not accept the correct answer '{description}': {lines}")
    if len(wrong.get(ex.id, [])) < 2:
        problems.append(f"{ex.id}: fewer than 2 wrong answers in tests/exercise_answers/")
    for description, answer in wrong.get(ex.id, []) + [("None", None)]:
        try:
            result, lines = checked(ex.id, answer)
        except WrongAnswer as err:
            if why := unhelpful(str(err), ex):
                problems.append(f"{ex.id}: the message for the wrong answer '{description}' {why}: {err}")
        except Exception as err:  # noqa: BLE001 - anything else is a bug of the check
            problems.append(f"{ex.id}: the wrong answer '{description}' raised {type(err).__name__}: {err}")
        else:
            problems.append(f"{ex.id}: accepted the wrong answer '{description}' (returned {result!r}, {lines})")
    if f'"Exercise {ex.id}: ' not in sols[ex.id].student_code:
        problems.append(f"{ex.id}: the student stub does not name the exercise")
    stub = run_solution(sols[ex.id].student_code, names[ex.id])
    result, lines = checked(ex.id, stub)
    if result != False or len(lines) != 1 or not lines[0].startswith(f"[not attempted] {ex.id} "):
        problems.append(f"{ex.id}: the stub did not give one 'not attempted' line: returned {result!r}, printed {lines}")
    return problems


def chapter_problems(path: Path, chapter: str, wrong: WrongAnswers, correct: WrongAnswers) -> list[str]:
    """Everything wrong with the exercises of one chapter notebook."""
    nb = nbformat.read(path, as_version=4)
    exercises = [e for e in ae.exercises.catalog() if e.chapter == chapter]
    ids = {e.id for e in exercises}
    problems = [
        f"{label}: the notebook has a solution for it but no check in ae.exercises for chapter {chapter}"
        for label in solutions(nb, path.name)
        if label not in ids
    ]
    problems += [
        f"{label}: a check cell uses an id that is not registered for chapter {chapter}"
        for label in check_names(nb)
        if label not in ids
    ]
    for ex in exercises:
        problems += exercise_problems(ex, nb, path.name, wrong, correct)
    return problems


# --- the real chapters --------------------------------------------------------------------------


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_exercises_have_teeth(path):
    problems = chapter_problems(path, path.stem, chapter_wrong_answers(), chapter_correct_answers())
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


def test_every_exercise_belongs_to_a_chapter_and_every_wrong_answer_to_an_exercise():
    stems = {p.stem for p in CHAPTERS}
    ids = {e.id for e in ae.exercises.catalog()}
    orphans = [f"{e.id} (chapter {e.chapter!r})" for e in ae.exercises.catalog() if e.chapter not in stems]
    assert not orphans, f"exercises whose chapter is not a notebook in chapters/: {orphans}"
    stale = sorted((set(chapter_wrong_answers()) | set(chapter_correct_answers())) - ids)
    assert not stale, f"tests/exercise_answers/ has answers for unknown exercise ids: {stale}"


def test_every_chapter_has_three_checked_exercises():
    counts = {p.stem: 0 for p in CHAPTERS}
    for e in ae.exercises.catalog():
        counts[e.chapter] = counts.get(e.chapter, 0) + 1
    short = {chapter: n for chapter, n in counts.items() if n < MIN_PER_CHAPTER}
    assert not short, f"chapters with fewer than {MIN_PER_CHAPTER} checked exercises (chapter: count): {short}"


# --- numbers in exercise statements: glued, or a constant of the check --------------------------

EXERCISE_DIRECTIVE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{exercise\}[^\n]*\n(?P<body>.*?)^(?P=fence)\s*$", re.S | re.M)
ROLE = re.compile(r"\{[\w:-]+\}`[^`]*`")  # {glue:text}`name:.2f`, {ref}`label`, {cite}`key`: not typed numbers
NUMBER = re.compile(r"(?<![\w.,\\^{])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?!\w)")
# Numbers a statement may type, with the reason. Anything else must be glued or be a constant of the check.
ALLOWED_NUMBERS = {
    0.0: "zero", 1.0: "one (an index, a unit, a range [0, 1])", 2.0: "two (a square, a pair, log base 2)",
    28.0: "the side of an MNIST digit (28x28 pixels), a fact of the data set",
}


def statement_numbers(statement: str) -> list[float]:
    """The numbers typed in an exercise statement, outside roles (glue, references, citations)."""
    text = re.sub(r"^:label:.*$", "", ROLE.sub(" ", statement), flags=re.M)
    text = re.sub(r"(\d)[x×](\d)", r"\1 x \2", text)  # 64x64: two numbers
    return [float((m.group(1) + (m.group(2) or "")).replace(",", "")) for m in NUMBER.finditer(text)]


def _numeric_literals(tree: ast.AST) -> set[float]:
    return {
        float(n.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, (int, float)) and not isinstance(n.value, bool)
    }


def check_constants(ex: Exercise) -> set[float]:
    """Every number written in the check: its literals, the module constants it names, and those of
    the module's functions it calls (followed within the check's module)."""
    module = sys.modules[ex.checker.__module__]
    assigned = {}
    for node in ast.parse(inspect.getsource(module)).body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Name):
                    assigned[target.id] = node.value
    values: set[float] = set()
    seen, todo = set(), [ex.checker]
    while todo:
        function = todo.pop()
        if function in seen:
            continue
        seen.add(function)
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
        values |= _numeric_literals(tree)
        for name in {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}:
            if name in assigned:
                values |= _numeric_literals(assigned[name])
            obj = getattr(module, name, None)
            if inspect.isfunction(obj) and obj.__module__ == module.__name__:
                todo.append(obj)
    return values


def untraced_numbers(statement: str, constants: set[float]) -> list[float]:
    """Numbers in ``statement`` that are neither allowed nor a constant (or a percentage of one)."""
    return [
        v for v in statement_numbers(statement)
        if v not in ALLOWED_NUMBERS and not any(math.isclose(v, c) or math.isclose(v / 100, c) for c in constants)
    ]


def test_statement_numbers_are_read_from_text_not_roles():
    statement = (
        "```{exercise} A codec\n:label: comp-x\n\nSpend between 24 and 36 bits on 4,000 digits of 28x28,"
        " at least {glue:text}`psnr:.1f` dB, as in {numref}`fig-3`, at 14.5 dB and 50 %; use $x_1$ and fc2.\n```"
    )
    assert statement_numbers(statement) == [24.0, 36.0, 4000.0, 28.0, 28.0, 14.5, 50.0]
    assert untraced_numbers(statement, {24.0, 36, 4000, 0.5}) == [14.5]


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_exercise_statements_type_no_untraced_number(path):
    """The intro promises that numbers come from computations: in a statement, a typed number is a
    constant of its check (so statement and check agree) or allowed above; all else is glued."""
    exercises = {e.id: e for e in ae.exercises.catalog()}
    problems = []
    for cell in nbformat.read(path, as_version=4).cells:
        for match in EXERCISE_DIRECTIVE.finditer(cell.source if cell.cell_type == "markdown" else ""):
            label = re.search(r":label:\s*(\S+)", match.group("body")).group(1)
            constants = check_constants(exercises[label]) if label in exercises else set()
            if bad := untraced_numbers(match.group(0), constants):
                problems.append(f"{label}: {', '.join(f'{v:g}' for v in bad)}")
    assert not problems, (
        f"{path.name}: numbers typed in exercise statements that are neither glued nor a constant of the "
        "check (glue them, or use the check's constant):\n  " + "\n  ".join(problems)
    )


# --- the fixture chapter: the same path, independent of the chapters ----------------------------


def test_fixture_chapter_exercises_have_teeth():
    with fixture_exercises() as (wrong, correct):
        problems = chapter_problems(FIXTURES / "fixture_chapter.ipynb", "fixture_chapter", wrong, correct)
    assert not problems, "\n".join(problems)


def test_the_tests_catch_a_check_without_teeth():
    """A check that accepts anything, with one wrong answer only, is reported on every count."""
    with fixture_exercises() as (wrong, correct):
        one_wrong = {"fx-centre": wrong["fx-centre"][:1]}
        one_correct = {"fx-centre": correct["fx-centre"][:1]}
    nb = nbformat.read(FIXTURES / "fixture_chapter.ipynb", as_version=4)
    with isolated_registry():
        exercise("fx-centre", title="Centre the data", chapter="fixture_chapter")(lambda answer: None)
        problems = exercise_problems(ae.exercises.get("fx-centre"), nb, "fixture_chapter.ipynb", one_wrong, one_correct)
    text = "\n".join(problems)
    assert "accepted the wrong answer 'centred the rows instead of the columns'" in text, text
    assert "accepted the wrong answer 'None'" not in text, "check() itself must reject None"
    assert "fewer than 2 wrong answers" in text and "fewer than 2 distinct inputs" in text, text
    assert "fewer than 2 correct alternatives" in text, text
    assert "the stub did not give one 'not attempted' line" in text, text


def test_the_tests_catch_a_check_that_refuses_a_correct_answer():
    """A check too strict for a correct answer written another way is reported, naming that answer."""
    with fixture_exercises() as (wrong, correct):
        pass
    nb = nbformat.read(FIXTURES / "fixture_chapter.ipynb", as_version=4)

    def strict(answer):  # only a float64 NumPy result passes: the float32 alternative is refused
        X = np.arange(6.0).reshape(2, 3)
        got = call(answer, X)
        if not (isinstance(got, np.ndarray) and got.dtype == np.float64):
            raise WrongAnswer("the result must be a float64 NumPy array")
        expect_close(got, X - X.mean(axis=0), name="centre(X)")

    with isolated_registry():
        exercise("fx-centre", title="Centre the data", chapter="fixture_chapter")(strict)
        problems = exercise_problems(ae.exercises.get("fx-centre"), nb, "fixture_chapter.ipynb", wrong, correct)
    text = "\n".join(problems)
    assert "refused the correct answer 'float32 arithmetic, a loop over the columns'" in text, text
    assert "refused the correct answer 'scikit-learn" not in text, text


def test_catalog_lists_id_title_and_chapter():
    with fixture_exercises():
        entries = {e.id: (e.title, e.chapter) for e in ae.exercises.catalog()}
        shown = repr(ae.exercises.catalog())
    assert entries["fx-count"] == ("Counting images", "fixture_chapter")
    assert re.search(r"fixture_chapter\s+fx-count\s+Counting images", shown), shown
    assert "fx-count" not in {e.id for e in ae.exercises.catalog()}, "the fixture's exercises must be forgotten"


# --- the check machinery, on a tiny exercise registered in the test ----------------------------


@pytest.fixture
def double():
    """A tiny exercise: ``double(X)`` returns 2 X, tried on two inputs."""
    with isolated_registry():

        @exercise("t-double", title="Double it", chapter="00_test")
        def _check(answer):
            for X in [np.arange(6.0).reshape(2, 3), np.ones((4, 1))]:
                expect_close(call(answer, X), 2 * X, name=f"double(X) for X of shape {X.shape}", hint="multiply every entry by 2")

        yield "t-double"


def test_right_answer_prints_one_line(double):
    assert checked(double, lambda X: 2 * X) == (True, ["[passed] t-double (Double it): correct. Well done!"])


def test_stub_is_not_attempted_and_the_notebook_runs_on(double):
    def stub(X):
        raise NotImplementedError("Exercise t-double: write your solution here")

    assert checked(double, stub) == (
        False,
        ["[not attempted] t-double (Double it): replace the NotImplementedError stub with your code, "
         "then run this cell again."],
    )


def test_a_library_not_implemented_error_is_shown_with_the_notice(double):
    def unsupported(X):
        raise NotImplementedError("The operator 'aten::foo' is not implemented for 'MPS'")

    result, lines = checked(double, unsupported)
    assert result == False and lines[0].startswith("[not attempted] t-double (Double it): ")
    assert lines[0].endswith("(your code raised NotImplementedError: The operator 'aten::foo' is not implemented for 'MPS')")


def test_message_for_a_transposed_answer(double):
    with pytest.raises(WrongAnswer) as info:
        check(double, lambda X: 2 * X.T)
    assert str(info.value) == (
        "t-double (Double it): double(X) for X of shape (2, 3) has shape (3, 2), expected (2, 3). "
        "It looks transposed. Hint: multiply every entry by 2"
    )


def test_message_for_wrong_values_names_the_worst_entry(double):
    with pytest.raises(WrongAnswer, match=r"wrong values: the largest difference is 5 at index \(1, 2\) \(got 5, expected 10\)"):
        check(double, lambda X: X)


def test_hard_coded_output_fails_on_the_second_input(double):
    with pytest.raises(WrongAnswer, match=r"shape \(4, 1\) has shape \(2, 3\)"):
        check(double, lambda X: 2 * np.arange(6.0).reshape(2, 3))


def test_crash_in_student_code_says_where_and_with_what(double):
    def crashes(X):
        return X @ X  # (2, 3) @ (2, 3) cannot multiply

    with pytest.raises(WrongAnswer) as info:
        check(double, crashes)
    message = str(info.value)
    assert message.startswith("t-double (Double it): your function raised ValueError: matmul"), message
    assert "It was called with: (ndarray of shape (2, 3), dtype float64)" in message, message
    assert "In your code, line" in message and "return X @ X" in message, message


@pytest.mark.parametrize(
    "answer, expected",
    [
        (None, r"the answer is None"),
        (np.zeros((2, 3)), r"expected a function, got ndarray of shape \(2, 3\)"),
        (lambda X: None, r"returned None. Did it forget to `return`"),
        (lambda X: "2X", r"should be an array of numbers, got str '2X'"),
        (lambda X: 2 * X.ravel(), r"has shape \(6,\), expected \(2, 3\). It has the right number of entries"),
        (lambda X: 2 * X[None], r"has shape \(1, 2, 3\), expected \(2, 3\). It differs only by axes of length 1"),
        (lambda X: -2 * X, r"Every value has the wrong sign"),
        (lambda X: np.full_like(X, np.inf), r"contains NaN or inf"),
        (lambda X: torch.as_tensor(X), r"largest difference"),
    ],
    ids=["None", "not-callable", "returns-None", "string", "flattened", "extra-axis", "sign", "inf", "tensor-wrong"],
)
def test_wrong_answers_get_a_specific_message(double, answer, expected):
    with pytest.raises(WrongAnswer, match=r"^t-double \(Double it\): .*" + expected):
        check(double, answer)


def test_a_torch_answer_is_compared_like_an_array(double):
    assert checked(double, lambda X: 2 * torch.as_tensor(X))[0] == True  # noqa: E712 - an Outcome


def test_checker_crash_and_plain_assert_become_wrong_answers():
    with isolated_registry():

        @exercise("t-first", title="First row", chapter="00_test")
        def _check(answer):
            row = call(answer, np.eye(3))[0]  # a checker that trusts the answer is indexable
            assert row.shape == (3,), f"the first row should have 3 entries, got shape {row.shape}"

        with pytest.raises(WrongAnswer, match=r"could not be checked, the check failed with TypeError"):
            check("t-first", lambda X: 3.0)
        with pytest.raises(WrongAnswer, match=r"^t-first \(First row\): the first row should have 3 entries"):
            check("t-first", lambda X: X[:, :2])


def test_a_stub_reached_by_the_checker_directly_is_not_attempted():
    """A model whose forward is still the stub: the checker calls it without call()."""
    with isolated_registry():

        @exercise("t-model", title="A model", chapter="00_test")
        def _check(model_class):
            model = call(model_class, 3)
            expect_close(model(np.ones(3)), np.full(3, 2.0), name="model(x)")

        class Stub:
            def __init__(self, d):
                self.d = d

            def __call__(self, x):
                raise NotImplementedError("Exercise t-model: write your solution here")

        assert checked("t-model", Stub) == (
            False,
            ["[not attempted] t-model (A model): replace the NotImplementedError stub with your code, "
             "then run this cell again."],
        )


def test_huge_integers_are_compared_exactly():
    expect_number(256**49152, 256**49152, name="the number of images")
    with pytest.raises(WrongAnswer, match=r"is about 10\^118286\.\d\d, expected about 10\^118369\.\d\d\."):
        expect_number(255**49152, 256**49152, name="the number of images")
    with pytest.raises(WrongAnswer, match=r"should be a single number, got list of length 2"):
        expect_number([1, 2], 3)


def test_unknown_id_is_a_value_error_with_a_suggestion(double):
    with pytest.raises(ValueError, match=r"no exercise with id 't-doubel'. Did you mean 't-double'"):
        check("t-doubel", lambda X: 2 * X)


def test_registry_rejects_a_second_checker_and_bad_labels(double):
    with pytest.raises(ValueError, match=r"'t-double' is registered twice"):
        exercise("t-double", title="Again", chapter="00_test")(lambda answer: None)
    with pytest.raises(ValueError, match=r"must be a book label"):
        exercise("T Double", title="Bad", chapter="00_test")
    with pytest.raises(ValueError, match=r"non-empty title and chapter"):
        exercise("t-untitled", title="", chapter="00_test")


def test_isolated_registry_forgets_what_was_registered(double):
    assert double in {e.id for e in ae.exercises.catalog()}
    with isolated_registry():
        exercise("t-temp", title="Temporary", chapter="00_test")(lambda answer: None)
        assert "t-temp" in {e.id for e in ae.exercises.catalog()}
    assert "t-temp" not in {e.id for e in ae.exercises.catalog()}
    assert double in {e.id for e in ae.exercises.catalog()}
