"""One source per exercise: the learner's stubs are generated from the marked reference.

Each exercise's code in ``solutions/`` sits between two comments, at the indentation of the
code they fence::

    other = as_variable(other, "+")
    # BEGIN add
    return Variable(self.value + other.value, self.grad + other.grad)
    # END add

``stub_source`` replaces each region with ``raise NotImplementedError(message)``, the message
built from the manifest: the exercise, its one-line description and its rule. Everything outside
the markers is copied as it is: docstrings (written once, for the learner), plumbing, imports.
``katas/`` is this generator's committed output (``python -m katatools stubs --check``), and
``reset`` writes the generated stub back.

A later exercise may extend an earlier one's code: its region then sits inside the earlier
region, and its BEGIN line names a guard, ``# BEGIN pow_variable when not _is_zero(other.grad)``.
Stubbed on its own, such a region becomes ``if <guard>: raise NotImplementedError(...)``, so the
earlier exercise keeps working on the cases it covers. Stubbing the outer region removes the inner
one with it, but for a guarded region of a *later stage's* exercise: its guarded stub stays, above
the outer one's (``later_stage_guards``), where the learner will come back to it. Stubbing only some exercises (``exercises=``) builds the reference as a
learner has it midway: the independence proof and the alternatives corpus use it.

The manifest's ``covers`` names the functions and methods of each exercise. Every region must
lie in one of them, and each of them must hold a region of its exercise: the markers and the
manifest cannot drift apart. An exercise that extends an earlier stage's module (stage 5's
arrays teaches the operators of stage 1 to carry numpy arrays) names those functions with their
module, ``"variable:Variable.__add__"``, and its regions there sit inside the earlier ones with
a guard.

    python -m katatools stubs            write katas/ from solutions/
    python -m katatools stubs --check    exit 1, with a diff, when katas/ is not the generator's output
"""

from __future__ import annotations

import argparse
import ast
import difflib
import os
import re
import sys
import textwrap
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from .manifest import ROOT, Exercise, Manifest, ManifestError, Stage, load_manifest

REFERENCE_DIR = ROOT / "solutions"
KATAS_DIR = ROOT / "katas"
BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN (?P<name>[A-Za-z_][A-Za-z0-9_]*)(?: when (?P<guard>.+?))?\s*$")
END = re.compile(r"^(?P<indent>[ \t]*)# END (?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*$")
MESSAGE_WIDTH = 100  # columns a generated raise may take before its message is split over lines


class MarkerError(ValueError):
    """The markers of a reference module are malformed, or disagree with the manifest."""


@dataclass(frozen=True)
class Region:
    exercise: str
    begin: int  # 0-based line index of "# BEGIN"
    end: int  # 0-based line index of "# END"
    indent: str
    guard: str | None
    outer: str | None  # the exercise of the enclosing region, if any


def find_regions(text: str, where: str) -> list[Region]:
    """Every marked region of ``text``, in order; MarkerError for unbalanced or crossed markers."""
    regions: list[Region] = []
    open_: list[tuple[str, int, str, str | None]] = []
    for number, line in enumerate(text.splitlines()):
        if begin := BEGIN.match(line):
            open_.append((begin["name"], number, begin["indent"], begin["guard"]))
        elif end := END.match(line):
            if not open_ or open_[-1][0] != end["name"]:
                expected = f"# END {open_[-1][0]}" if open_ else "no END"
                raise MarkerError(f"{where}:{number + 1}: '# END {end['name']}' where {expected} was due")
            name, start, indent, guard = open_.pop()
            if end["indent"] != indent:
                raise MarkerError(f"{where}:{number + 1}: '# END {name}' is not indented like its BEGIN")
            if guard is not None and not open_:
                raise MarkerError(f"{where}:{start + 1}: a guarded region ('when ...') must sit inside another region")
            regions.append(Region(name, start, number, indent, guard, open_[-1][0] if open_ else None))
        elif re.match(r"^\s*# (BEGIN|END)\b", line):
            raise MarkerError(f"{where}:{number + 1}: malformed marker {line.strip()!r}")
    if open_:
        raise MarkerError(f"{where}:{open_[-1][1] + 1}: '# BEGIN {open_[-1][0]}' has no END")
    return sorted(regions, key=lambda r: r.begin)


def stub_message(exercise: Exercise) -> str:
    """The NotImplementedError message of an exercise's stub: its name, description and rule."""
    return f"exercise {exercise.name!r}: {exercise.description}. Rule: {exercise.rule}"


def later_message(exercise: Exercise, stage: Stage) -> str:
    """The message of a later stage's marker left in an earlier exercise's stub (``later_stage_guards``)."""
    return f"exercise {exercise.name!r}: {exercise.description}; stage {stage.index + 1} comes back to this line"


def stub_lines(exercise: Exercise, indent: str, guard: str | None, message: str | None = None) -> list[str]:
    """``raise NotImplementedError(...)`` at ``indent``, under ``if guard:`` when there is one."""
    if guard is not None:
        return [f"{indent}if {guard}:", *stub_lines(exercise, indent + "    ", None, message)]
    message = message or stub_message(exercise)
    single = f"{indent}raise NotImplementedError({quoted(message)})"
    if len(single) <= MESSAGE_WIDTH:
        return [single]
    width = MESSAGE_WIDTH - len(indent) - 6
    pieces: list[str] = []
    for part in message.replace(". Rule: ", ". \nRule: ").split("\n"):  # the rule starts a line of its own
        start = len(pieces)
        for word in part.split(" "):  # every piece but the last ends with its space
            if len(pieces) > start and len(pieces[-1]) + len(word) <= width:
                pieces[-1] += word + " "
            else:
                pieces.append(word + " ")
        pieces[-1] = pieces[-1][:-1]
    return [f"{indent}raise NotImplementedError(", *(f"{indent}    {quoted(p)}" for p in pieces), f"{indent})"]


def quoted(text: str) -> str:
    """``text`` as a double-quoted Python string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def stub_source(text: str, manifest: Manifest, exercises: Collection[str] | None = None,
                where: str = "<reference>") -> str:
    """``text`` with the regions of ``exercises`` (default: every region) replaced by their stubs."""
    regions = find_regions(text, where)
    for region in regions:
        try:
            manifest.exercise(region.exercise)
        except ManifestError as exc:
            raise MarkerError(f"{where}:{region.begin + 1}: {exc}") from None
    wanted = {r.exercise for r in regions} if exercises is None else set(exercises)
    lines = text.splitlines()
    out: list[str] = []
    skip_until = -1
    for number, line in enumerate(lines):
        if number <= skip_until:
            continue
        region = next((r for r in regions if r.begin == number), None)
        if region is not None and region.exercise in wanted:
            for later in later_stage_guards(region, regions, manifest, wanted):
                exercise = manifest.exercise(later.exercise)
                message = later_message(exercise, manifest.stage(exercise.stage))
                out.extend(stub_lines(exercise, region.indent, later.guard, message))
            out.extend(stub_lines(manifest.exercise(region.exercise), region.indent, region.guard))
            skip_until = region.end
        elif region is not None or END.match(line):
            continue  # a kept region's markers vanish; its code stays
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def later_stage_guards(region: Region, regions: list[Region], manifest: Manifest, wanted: set[str]) -> list[Region]:
    """The guarded regions inside ``region`` that belong to a later stage's exercise being stubbed too,
    the first of each exercise, the latest stage's first: stubbing ``region`` keeps their guarded
    stubs, before its own.

    So the stub of stage 1's ``__add__`` holds ``if _holds_array(self, other): raise
    NotImplementedError("exercise 'arrays': ...")`` above add's own: a learner writes add below it and
    leaves it, and stage 5's arrays reports "not started" until the learner comes back to that line.
    The latest stage's guard comes first because its inputs are new to the code written for the
    earlier ones: in ``__pow__``, stage 7's nested Variable (whose ndim is its value's) must stop at
    nested's guard, not reach the learner's stage-5 arrays code and fail there, which would show
    nested as failing while the learner is still in stage 5."""
    stage_of = {e.name: manifest.stage(e.stage).index for e in manifest.exercises}
    found: dict[str, Region] = {}
    for inner in regions:
        if (region.begin < inner.begin and inner.end < region.end and inner.guard is not None
                and inner.exercise in wanted and stage_of[inner.exercise] > stage_of[region.exercise]):
            found.setdefault(inner.exercise, inner)
    return sorted(found.values(), key=lambda inner: -stage_of[inner.exercise])  # stable: source order within a stage


def solution_source(text: str) -> str:
    """The reference without its markers: what the solved kata module looks like."""
    return "\n".join(line for line in text.splitlines() if not (BEGIN.match(line) or END.match(line))) + "\n"


# ---------------------------------------------------------------- markers against the manifest's `covers`


def _enclosing_functions(tree: ast.Module) -> list[tuple[int, int, str]]:
    """(first line, last line, qualified name) of every function and method, 1-based lines."""
    found: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                found.append((child.lineno, child.end_lineno or child.lineno, name))
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")

    visit(tree, "")
    return found


def check_covers(text: str, stage: Stage, manifest: Manifest, where: str) -> list[str]:
    """Problems where the markers of a stage module and the manifest's ``covers`` disagree.

    A region of one of the stage's own exercises lies in a function its ``covers`` names as is
    ("log"); a region of a later stage's exercise that extends this module lies in one its
    ``covers`` names with the module ("primitives:log"). No region of an earlier stage's exercise
    belongs here.
    """
    problems = []
    regions = find_regions(text, where)
    functions = _enclosing_functions(ast.parse(text, filename=where))
    seen: dict[str, set[str]] = {}
    for region in regions:
        inside = [name for first, last, name in functions if first <= region.begin + 1 <= last]
        function = inside[-1] if inside else None
        try:
            exercise = manifest.exercise(region.exercise)
        except ManifestError as exc:
            problems.append(f"{where}:{region.begin + 1}: {exc}")
            continue
        owner = manifest.stage(exercise.stage)
        cover = function if exercise.stage == stage.name else f"{stage.module}:{function}"
        if owner.index < stage.index:
            problems.append(f"{where}:{region.begin + 1}: exercise {exercise.name!r} belongs to stage "
                            f"{exercise.stage!r}, not {stage.name!r}")
        elif cover not in exercise.covers:
            problems.append(f"{where}:{region.begin + 1}: a region of {exercise.name!r} in {function or 'module code'}, "
                            f"which its `covers` in exercises.toml does not list as {cover!r} "
                            f"({', '.join(exercise.covers)})")
        seen.setdefault(exercise.name, set()).add(cover or "")
    for exercise in manifest.exercises:
        for name in exercise.covers:
            if manifest.cover_module(exercise, name) == stage.module and name not in seen.get(exercise.name, set()):
                problems.append(f"{where}: {name} is in the `covers` of {exercise.name!r} but holds no region of it")
    return problems


def outermost_region(text: str, function: str, where: str = "<reference>") -> Region:
    """The one region in ``function`` (qualified, as in ``covers``) that no other region of it encloses.

    MarkerError when the module has no such function, or it holds no region, or several side by side.
    """
    spans = [(first, last) for first, last, name in _enclosing_functions(ast.parse(text, filename=where))
             if name == function]
    if not spans:
        raise MarkerError(f"{where} defines no function {function!r}")
    first, last = spans[0]
    inside = [r for r in find_regions(text, where) if first <= r.begin + 1 <= last]
    outer = [r for r in inside if not any(o.begin < r.begin and r.end < o.end for o in inside)]
    if len(outer) != 1:
        held = "holds no marked region" if not outer else f"holds {len(outer)} regions side by side"
        raise MarkerError(f"{where}: {function} {held}, so a body cannot say which one it replaces")
    return outer[0]


def replace_region(text: str, function: str, body: str, where: str = "<reference>") -> tuple[str, str]:
    """``text`` with the outermost region of ``function`` (its markers too) replaced by ``body``.

    ``body`` is written dedented; it is re-indented to the region's indentation. Returns the new
    text and the replaced code, dedented and without markers (to tell a body that changes nothing).
    """
    region = outermost_region(text, function, where)
    lines = text.splitlines()
    old = [line for line in lines[region.begin + 1:region.end] if not (BEGIN.match(line) or END.match(line))]
    new = [f"{region.indent}{line}" if line.strip() else "" for line in textwrap.dedent(body).strip("\n").splitlines()]
    if not new:
        raise MarkerError(f"{where}: the body for {function} is empty")
    replaced = textwrap.dedent("\n".join(old))
    return "\n".join([*lines[:region.begin], *new, *lines[region.end + 1:]]) + "\n", replaced


# ---------------------------------------------------------------- whole packages


def module_path(directory: Path, stage: Stage) -> Path:
    return Path(directory) / f"{stage.module}.py"


def generated_stubs(manifest: Manifest, reference: Path = REFERENCE_DIR,
                    exercises: Collection[str] | None = None) -> dict[str, str]:
    """File name -> generated source, for every stage module of the reference."""
    out = {}
    for stage in manifest.stages:
        path = module_path(reference, stage)
        out[path.name] = stub_source(path.read_text(encoding="utf-8"), manifest, exercises, f"solutions/{path.name}")
    return out


PRISTINE = "pristine"  # where a learner's edition keeps the generated stubs (it has no solutions/ to make them from)


def reference_sources(manifest: Manifest, root: Path = ROOT) -> dict[str, str] | None:
    """Module -> source of the reference in ``root``/solutions, or None where there is none (a
    learner's edition, a Classroom 50 bundle): the features that need it say so."""
    folder = root / REFERENCE_DIR.name
    paths = {s.module: module_path(folder, s) for s in manifest.stages}
    if not all(p.is_file() for p in paths.values()):
        return None
    return {module: path.read_text(encoding="utf-8") for module, path in paths.items()}


def pristine_stubs(manifest: Manifest, root: Path = ROOT) -> dict[str, str]:
    """File name -> the pristine stub: generated from the reference where there is one, else the
    copies a learner's edition keeps in pristine/. FileNotFoundError when neither is complete."""
    if reference_sources(manifest, root) is not None:
        return generated_stubs(manifest, root / REFERENCE_DIR.name)
    folder = root / PRISTINE
    paths = [module_path(folder, s) for s in manifest.stages]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"no reference (solutions/) and no pristine stubs ({PRISTINE}/ lacks {', '.join(missing)}) "
                                f"in {root}: the stubs cannot be made")
    return {p.name: p.read_text(encoding="utf-8") for p in paths}


def stub_of(stage: Stage, manifest: Manifest | None = None, reference: Path = REFERENCE_DIR) -> str:
    """The generated stub of one stage module, as ``katas/`` ships it."""
    manifest = manifest or load_manifest()
    path = module_path(reference, stage)
    return stub_source(path.read_text(encoding="utf-8"), manifest, None, f"solutions/{path.name}")


def write_package(dest: Path, sources: dict[str, str]) -> Path:
    """Write kata modules into ``dest`` (created if needed), each file atomically."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name, text in sources.items():
        partial = dest / f".{name}.partial"
        partial.write_text(text, encoding="utf-8", newline="\n")
        os.replace(partial, dest / name)
    return dest


def later_stubbed(manifest: Manifest, exercise: str, reference: Path = REFERENCE_DIR) -> dict[str, str]:
    """The reference with every exercise after ``exercise`` (manifest order) stubbed."""
    index = manifest.exercise(exercise).index
    later = [e.name for e in manifest.exercises if e.index > index]
    return generated_stubs(manifest, reference, later)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m katatools stubs",
                                     description="Generate katas/ from the marked reference in solutions/.")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 with a diff when katas/ differs from the generator's output")
    args = parser.parse_args(argv)
    manifest = load_manifest()
    problems: list[str] = []
    try:
        for stage in manifest.stages:
            path = module_path(REFERENCE_DIR, stage)
            problems += check_covers(path.read_text(encoding="utf-8"), stage, manifest, f"solutions/{path.name}")
        stubs = generated_stubs(manifest)
    except MarkerError as exc:
        problems.append(str(exc))
    if problems:
        print("stubs: the reference's markers disagree with exercises.toml:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    if not args.check:
        write_package(KATAS_DIR, stubs)
        print(f"stubs: wrote {', '.join(f'katas/{n}' for n in stubs)} from solutions/")
        return 0
    stale = []
    for name, text in stubs.items():
        path = KATAS_DIR / name
        current = path.read_text(encoding="utf-8") if path.is_file() else ""
        if current != text:
            stale.append(name)
            sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                                       f"katas/{name}", f"generated from solutions/{name}"))
    if stale:
        print(f"stubs: katas/{', katas/'.join(stale)} differ from the generated stubs; run `python -m katatools stubs`")
        return 1
    print(f"stubs: katas/ is the generator's output ({len(stubs)} modules)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
