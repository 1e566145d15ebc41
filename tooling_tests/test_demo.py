"""Tests of `python -m katatools demo`: the post's three experiments, printed, and a PNG when matplotlib is there.

matplotlib is only in the demo's own environment (dependency group `demo`), so in the shared one both
branches are simulated: ``None`` in
``sys.modules`` makes its import fail, and a small fake stands in for an installed one (it
records the calls and writes a file where the figure goes). The experiments run with smaller
settings than the demo's own, to keep these tests short.
"""

from __future__ import annotations

import importlib.util
import os
import re
import struct
import subprocess
import sys
import types
import zlib
from pathlib import Path

import pytest

from katatools.learner import demo
from katatools.manifest import ROOT, load_manifest
from katatools.stubs import generated_stubs, write_package

QUICK = demo.Settings(n=40, line_iters=150, classifier_iters=100, network_iters=12, network_every=5,
                      descent_checkpoints=(1, 10, 100))
FAKE_PNG = b"\x89PNG\r\n\x1a\nfake"


@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setattr(demo, "SETTINGS", QUICK)


@pytest.fixture
def no_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)


class FakeAxes:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls
        self.transAxes = object()

    def __getattr__(self, name):
        return lambda *args, **kwargs: self.calls.append(name)


class FakeFigure:
    def tight_layout(self) -> None:
        pass

    def savefig(self, path, **kwargs) -> None:
        Path(path).write_bytes(FAKE_PNG)


@pytest.fixture
def fake_matplotlib(monkeypatch):
    """A stand-in for an installed matplotlib; returns the list of calls made on the axes."""
    calls: list[str] = []
    matplotlib = types.ModuleType("matplotlib")
    matplotlib.use = lambda backend: calls.append(f"use {backend}")
    pyplot = types.ModuleType("matplotlib.pyplot")
    pyplot.subplots = lambda rows, cols, **kwargs: (FakeFigure(), [[FakeAxes(calls) for _ in range(cols)]
                                                                   for _ in range(rows)])
    pyplot.close = lambda figure: calls.append("close")
    matplotlib.pyplot = pyplot
    monkeypatch.setitem(sys.modules, "matplotlib", matplotlib)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", pyplot)
    return calls


def number_after(label: str, text: str) -> float:
    match = re.search(rf"^{re.escape(label)} (\S+)$", text, re.MULTILINE)
    assert match, f"no line '{label} <number>' in:\n{text}"
    return float(match.group(1))


def test_prints_what_the_post_prints(tmp_path, capsys, quick, no_matplotlib):
    assert demo.main(["solutions", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert abs(number_after("m 3 m prime", out) - 3) < 0.01
    assert abs(number_after("b -2 b prime", out) + 2) < 0.01
    mse, truth = number_after("MSE autodiff", out), number_after("MSE truth", out)
    assert 0 < mse <= truth * 1.01, "the fitted line's MSE sits beside the truth's"
    assert number_after("Log loss autodiff", out) > 0 and number_after("Log loss truth", out) > 0
    iterations = [int(i) for i in re.findall(r"^Iter/Log loss:  (\d+) ", out, re.MULTILINE)]
    assert iterations == [0, 5, 10, 11], "every 5 iterations, and the last one"
    newton = [float(g) for g in re.findall(r"^Newton iteration +\d+: loss - best (\S+)$", out, re.MULTILINE)]
    descent = [float(g) for g in re.findall(r"^Descent iteration +\d+: loss - best (\S+)$", out, re.MULTILINE)]
    assert len(newton) == 11 and newton[0] > 0.1 and max(newton[6:]) < 1e-8, "Newton: within 1e-8 from step 6 on"
    assert len(descent) == 3 and descent[-1] > 1e-8 > newton[-1], "gradient descent is still above after 100 steps"


def test_default_target_is_the_reference(tmp_path, capsys, quick, no_matplotlib):
    assert demo.main(["--out", str(tmp_path)]) == 0
    assert "with solutions" in capsys.readouterr().out


def test_without_matplotlib_a_one_line_note_and_no_file(tmp_path, capsys, quick, no_matplotlib):
    assert demo.main(["solutions", "--out", str(tmp_path)]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if "matplotlib" in line]
    assert len(notes) == 1 and notes[0].startswith("no figure: matplotlib is not installed in this Python")
    assert "nox -s demo" in notes[0] and "pip install" not in notes[0]  # not into whatever Python is on PATH
    assert not (tmp_path / demo.FIGURE_NAME).exists()


def test_with_matplotlib_one_png_and_where_it_is(tmp_path, capsys, quick, fake_matplotlib):
    out_dir = tmp_path / "figures"
    assert demo.main(["solutions", "--out", str(out_dir)]) == 0
    figure = out_dir / demo.FIGURE_NAME
    assert figure.read_bytes() == FAKE_PNG
    assert f"figure written to {figure}" in capsys.readouterr().out
    assert fake_matplotlib[0] == "use Agg", "a file backend: no display needed"
    assert fake_matplotlib.count("scatter") == 3 and fake_matplotlib.count("plot") == 9  # 3 fits and truths, 3 losses
    assert fake_matplotlib[-1] == "close"


def test_unfinished_katas_are_reported_and_the_rest_still_runs(tmp_path, capsys, quick, fake_matplotlib):
    stubs = write_package(tmp_path / "stubs", generated_stubs(load_manifest()))
    assert demo.main([str(stubs), "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    for exercise in ("linear_regression", "logistic_regression", "deep_training", "newton"):
        assert f"skipped: exercise '{exercise}' is not done yet" in out
    assert "not every experiment ran" in out
    assert (tmp_path / demo.FIGURE_NAME).exists(), "the figure is still written, its panels say 'not run'"
    assert fake_matplotlib.count("text") == 5


def test_a_missing_target_is_a_clear_error(tmp_path, capsys):
    assert demo.main([str(tmp_path / "nowhere")]) == 1
    assert "demo: cannot load" in capsys.readouterr().out


def test_post_data_is_fixed_and_labels_are_0_or_1():
    x, y, labels = demo.post_data(seed=3, n=50)
    again = demo.post_data(seed=3, n=50)
    assert all((a == b).all() for a, b in zip((x, y, labels), again, strict=True))
    assert set(labels.tolist()) <= {0.0, 1.0}
    assert abs((y - (3 * x - 2)).std() - 0.01) < 0.005


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG, read from its header after checking its signature and the header's CRC."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    header = data[16:29]
    assert struct.unpack(">I", data[29:33])[0] == zlib.crc32(kind + header), "damaged header"
    assert data[-12:] == b"\x00\x00\x00\x00IEND\xaeB`\x82", "no end: the file was cut short"
    return struct.unpack(">II", header[:8])


def demo_python() -> str | None:
    """A Python that has matplotlib: `nox -s test` hands over the demo's own (KATA_DEMO_PYTHON)."""
    if os.environ.get("KATA_DEMO_PYTHON"):
        return os.environ["KATA_DEMO_PYTHON"]
    return sys.executable if importlib.util.find_spec("matplotlib") else None


@pytest.mark.slow
@pytest.mark.skipif(demo_python() is None, reason="no Python with matplotlib: run through nox -s proofs")
def test_the_demo_draws_its_figure(tmp_path):
    """The real thing, in the demo's environment: one PNG of the figure's size, and its path printed."""
    run = subprocess.run([demo_python(), "-m", "katatools", "demo", "solutions", "--quick", "--out", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert run.returncode == 0, run.stdout + run.stderr
    figure = tmp_path / demo.FIGURE_NAME
    assert f"figure written to {figure}" in run.stdout
    width, height = (size * demo.FIGURE_DPI for size in demo.FIGURE_SIZE)
    assert png_size(figure) == (width, height)
    assert figure.stat().st_size > 20_000  # five panels of points and curves, not an empty canvas
