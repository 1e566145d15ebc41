"""Find/replace patches to the reference, shared by the mistake corpus and the alternatives corpus.

A patch is a ``find`` snippet that must occur exactly once in the module at its turn, and the
``replace`` that takes its place. Both ``mistakes/<stage>.toml`` and ``alternatives/<stage>.toml``
write them as ``[[...patch]]`` tables; a stale ``find``, a patch that changes nothing and a patched
module that no longer parses are corpus errors, never a silent pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .parsing import check_compiles


class CorpusError(ValueError):
    """An entry of a corpus that cannot be run: malformed, stale, a no-op, or naming an unknown thing."""


@dataclass(frozen=True)
class Patch:
    find: str
    replace: str
    module: str | None = None  # the stage module it applies to; None: the corpus file's own stage


def apply_patches(source: str, patches: Sequence[Patch], where: str = "the module") -> str:
    """Apply find/replace patches in order; each ``find`` must occur exactly once at its turn."""
    text = source
    for i, patch in enumerate(patches, 1):
        count = text.count(patch.find)
        if count != 1:
            state = "not found" if count == 0 else f"found {count} times"
            raise CorpusError(f"patch {i}: find string {state} in {where} (a stale patch?): {patch.find!r}")
        if patch.find == patch.replace:
            raise CorpusError(f"patch {i}: replace is the same as find, the patch changes nothing")
        text = text.replace(patch.find, patch.replace)
    if text == source:
        raise CorpusError("the patches leave the module unchanged")
    check_syntax(text, where)
    return text


def check_syntax(text: str, where: str) -> None:
    """CorpusError unless ``text`` is valid Python."""
    try:
        check_compiles(text, where)  # one thread at a time (parsing.py): the class report patches on several
    except SyntaxError as exc:
        raise CorpusError(f"the patched module is not valid Python: {exc.msg} (line {exc.lineno})") from None


def text_field(table: dict, key: str, where: str) -> str:
    """``table[key]`` as a non-empty string, or CorpusError."""
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CorpusError(f"{where}: {key!r} must be a non-empty string")
    return value


def parse_patches(raw: object, where: str, modules: Sequence[str] = ()) -> list[Patch]:
    """The ``[[...patch]]`` tables of one entry: ``find`` and ``replace``, and ``module`` when
    ``modules`` (the stage modules it may name) is given."""
    if not isinstance(raw, list):
        raise CorpusError(f"{where}: 'patch' must be a list of [[...patch]] tables")
    allowed = {"find", "replace", "module"} if modules else {"find", "replace"}
    patches = []
    for i, p in enumerate(raw, 1):
        if not isinstance(p, dict) or not {"find", "replace"} <= set(p) <= allowed:
            raise CorpusError(f"{where}: patch {i} needs the keys find and replace"
                              + (" (and optionally module)" if modules else " (and no other)"))
        if not isinstance(p["find"], str) or not p["find"] or not isinstance(p["replace"], str):
            raise CorpusError(f"{where}: patch {i}: find must be a non-empty string and replace a string")
        module = p.get("module")
        if module is not None and module not in modules:
            raise CorpusError(f"{where}: patch {i}: module {module!r} is not a stage module ({', '.join(modules)})")
        patches.append(Patch(p["find"], p["replace"], module))
    return patches
