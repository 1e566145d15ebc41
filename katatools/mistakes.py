"""The mistake corpus, ``mistakes/<stage>.toml``: hand-written learner mistakes, read and applied.

A mistake is a small find/replace patch to a reference module (the format: proofs/mutants.py, which
proves that every mistake fails a test of its exercise). Two readers need the corpus: the mutants
proof, and the grader's class report (grading/classreport.py), which names the known mistake a
submission's failures look like. So it lives in the core, and grading never imports the proofs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .manifest import ROOT, Manifest, ManifestError, Stage, tomllib
from .patching import CorpusError, Patch, apply_patches, parse_patches, text_field

MISTAKES_DIR = ROOT / "mistakes"


@dataclass(frozen=True)
class Mistake:
    name: str
    exercise: str
    description: str
    patches: tuple[Patch, ...]
    stage: Stage
    source: Path  # the mistakes/*.toml file it comes from
    modules: tuple[str, ...] = ()  # the modules its stage takes from the learner (the stage's own first)

    def patches_of(self, module: str) -> list[Patch]:
        return [p for p in self.patches if (p.module or self.stage.module) == module]


@dataclass
class CorpusReport:
    mistakes: list[Mistake] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)



def parse_mistake(table: dict, manifest: Manifest, file_stage: str, source: Path, where: str) -> Mistake:
    """One [[mistake]] table, checked against the manifest and the file it sits in."""
    if not isinstance(table, dict):
        raise CorpusError(f"{where}: a [[mistake]] must be a table")
    unknown = set(table) - {"name", "exercise", "description", "patch"}
    if unknown:
        raise CorpusError(f"{where}: unknown keys {sorted(unknown)}")
    name = text_field(table, "name", where)
    where = f"{source.name}: mistake {name!r}"
    exercise_name = text_field(table, "exercise", where)
    try:
        exercise = manifest.exercise(exercise_name)
    except ManifestError as exc:
        raise CorpusError(f"{where}: {exc}") from None
    if exercise.stage != file_stage:
        raise CorpusError(f"{where}: exercise {exercise_name!r} belongs to stage {exercise.stage!r}; "
                          f"put it in mistakes/{exercise.stage}.toml")
    raw = table.get("patch")
    if not isinstance(raw, list) or not raw:
        raise CorpusError(f"{where}: needs at least one [[mistake.patch]] with find and replace")
    stage = manifest.stage(file_stage)
    modules = tuple(manifest.learner_modules(stage))
    patches = parse_patches(raw, where, modules)
    return Mistake(name, exercise_name, text_field(table, "description", where), tuple(patches), stage, source, modules)


def patched_sources(mistake: Mistake, reference: Path) -> dict[str, str]:
    """File name -> source of each module the mistake's stage takes from the learner, patched."""
    out = {}
    for module in mistake.modules:
        text = (reference / f"{module}.py").read_text(encoding="utf-8")
        patches = mistake.patches_of(module)
        out[f"{module}.py"] = apply_patches(text, patches, f"{reference.name}/{module}.py") if patches else text
    return out


def load_corpus(directory: Path, manifest: Manifest, reference: Path) -> CorpusReport:
    """Every mistake of every ``<stage>.toml`` in ``directory``; problems are collected, not raised."""
    corpus = CorpusReport()
    seen: dict[str, Path] = {}
    for path in sorted(Path(directory).glob("*.toml")):
        stage_name = path.stem
        if stage_name not in manifest.stage_names:
            corpus.problems.append(f"{path.name}: not a stage of exercises.toml ({', '.join(manifest.stage_names)})")
            continue
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            corpus.problems.append(f"{path.name}: unreadable TOML: {exc}")
            continue
        if set(data) - {"mistake"}:
            corpus.problems.append(f"{path.name}: unknown top-level keys {sorted(set(data) - {'mistake'})}")
        missing = [m for m in manifest.learner_modules(manifest.stage(stage_name)) if not (reference / f"{m}.py").is_file()]
        if missing:
            corpus.problems.append(f"{path.name}: the reference module {reference / (missing[0] + '.py')} does not exist")
            continue
        for i, table in enumerate(data.get("mistake", []), 1):
            try:
                mistake = parse_mistake(table, manifest, stage_name, path, f"{path.name}: mistake #{i}")
                patched_sources(mistake, reference)
            except CorpusError as exc:
                label = table.get("name", f"#{i}") if isinstance(table, dict) else f"#{i}"
                message = str(exc)
                corpus.problems.append(message if message.startswith(path.name) else
                                       f"{path.name}: mistake {label!r}: {message}")
                continue
            if mistake.name in seen:
                corpus.problems.append(f"{path.name}: mistake {mistake.name!r} is also defined in {seen[mistake.name].name}")
                continue
            seen[mistake.name] = path
            corpus.mistakes.append(mistake)
    return corpus
