"""The one figure style: the P-value format, marker labels with units, PNG with its SVG, and the figures written
as both."""

import os
import re
import time

import pytest

from assets.marts import plot_style, shared


@pytest.mark.parametrize(("p_value", "printed"), [
    (0.0123, "P = 0.012"), (0.0004, "P < 0.001"), (0.001, "P = 0.001"), (0.35, "P = 0.350"), (1.0, "P = 1.000"),
    (None, "P not defined"), (float("nan"), "P not defined"),
])
def test_one_p_value_format(p_value, printed):
    assert plot_style.format_p(p_value) == printed


def test_every_immune_and_cytokine_marker_has_a_label_with_its_unit():
    from assets.marts.cytokines import CYTOKINES
    from assets.marts.immune import BLOOD_COUNTS, IMMUNOGLOBULINS, MARKERS

    for marker in [*MARKERS, *BLOOD_COUNTS, *IMMUNOGLOBULINS, *CYTOKINES]:
        assert plot_style.marker_unit(marker), marker
    assert plot_style.marker_label("cd3_abs") == "CD3⁺ T cells (×10⁹/L)"
    assert plot_style.marker_unit("il6") == "pg/mL"


def test_palette_is_okabe_ito_without_red_green_pairs():
    assert set(plot_style.PALETTE) == set(plot_style.OKABE_ITO.values())
    assert "#c0392b" not in plot_style.PALETTE and "#2e8b57" not in plot_style.PALETTE


def _line_figure(slope: float):
    figure = plot_style.new_figure(figsize=(2, 2))
    with plot_style.style():
        figure.add_subplot().plot([0, 1], [0, slope])
    return figure


def test_a_rendered_figure_is_its_png_carrying_its_svg_and_both_are_saved(tmp_path):
    figure = _line_figure(1)
    rendered = plot_style.render(figure)
    assert rendered.startswith(b"\x89PNG") and rendered.svg.startswith(b"<?xml")
    assert rendered == plot_style.render(figure) and rendered.svg == plot_style.render(figure).svg  # no dates
    folder = shared.save_figures(str(tmp_path / "warehouse.duckdb"), {"a.png": rendered, "plain.png": b"\x89PNG"})
    assert sorted(path.name for path in folder.iterdir()) == ["a.png", "a.svg", "plain.png"]


def test_figures_rendered_in_forked_processes_are_the_bytes_rendered_here_in_their_order():
    figures = {f"line_{slope}.png": _line_figure(slope) for slope in (3, 1, 2, 5, 4)}
    alone = {name: plot_style.render(figure) for name, figure in figures.items()}
    shared_out = plot_style.render_all(figures, processes=3)
    assert list(shared_out) == list(figures)
    for name, rendered in shared_out.items():
        assert rendered == alone[name] and rendered.svg == alone[name].svg
    assert len(set(shared_out.values())) == len(figures)  # each its own figure, not one repeated


class _Unrenderable:
    """A figure whose rendering fails (as a drawing error would)."""

    def savefig(self, *args, **kwargs):
        raise ValueError("cannot render this figure")


def test_a_figure_that_fails_in_a_forked_process_raises_its_error_here():
    figures = {"good.png": _line_figure(1), "bad.png": _Unrenderable()}  # the second goes to the child
    with pytest.raises(ValueError, match="cannot render this figure"):
        plot_style.render_all(figures, processes=2)


class _HangsInAChild:
    """A figure whose rendering stalls in a forked child (as on a lock held at the fork), and works here."""

    def __init__(self, figure):
        self.figure, self.parent = figure, os.getpid()

    def savefig(self, *args, **kwargs):
        if os.getpid() != self.parent:
            time.sleep(30)  # waited for, the call would take this long
        self.figure.savefig(*args, **kwargs)


def test_a_forked_process_that_does_not_answer_is_given_up_and_its_figures_rendered_here(monkeypatch):
    monkeypatch.setattr(plot_style, "CHILD_SECONDS", 0.5)
    figures = {"first.png": _line_figure(1), "hangs.png": _HangsInAChild(_line_figure(2))}
    started = time.monotonic()
    rendered = plot_style.render_all(figures, processes=2)
    assert time.monotonic() - started < 20
    assert rendered["hangs.png"] == plot_style.render(_line_figure(2))


def test_chinese_text_stays_text_in_the_svg_with_a_chinese_font_named_for_the_reader():
    figure = plot_style.new_figure(figsize=(2, 2))
    with plot_style.style():
        figure.add_subplot().set_title("上海儿童医学中心")
    svg = plot_style.render(figure).svg.decode()
    assert "上海儿童医学中心" in svg  # text, not outlines of missing glyphs: the browser draws it
    font = re.search(r"font-family:([^;\"]+)", svg).group(1)
    assert "DejaVu Sans" in font and "Noto Sans CJK SC" in font and "Microsoft YaHei" in font


def test_figure_panels_are_titled_with_units_and_the_one_p_format():
    import polars as pl

    from assets.marts.immune_plots import distribution_figure

    quantiles = pl.DataFrame([{"marker": "cd3_abs", "column": column, "n": 5, "q0": 0.1, "q25": 0.2, "q50": 0.3,
                               "q75": 0.4, "q100": 0.5} for column in ("pre", "end")])
    svg = distribution_figure(quantiles, (("pre", "Before"), ("end", "After")), {"cd3_abs": 0.0123},
                              "Figure 1").svg.decode()
    assert "CD3⁺ T cells (×10⁹/L)" in svg and "P = 0.012" in svg and ">cd3_abs<" not in svg


def test_one_figure_styled_at_a_time_in_the_process():
    # matplotlib's rc parameters are the process's: a mart drawing beside another (orchestration/jobs.py) waits
    # until the other's style() block ended, and re-entering the block from its own thread does not wait.
    import threading

    entered = threading.Event()

    def other_mart() -> None:
        with plot_style.style():
            entered.set()

    with plot_style.style():
        with plot_style.style():  # re-entrant: render() inside a drawing block
            pass
        other = threading.Thread(target=other_mart)
        other.start()
        assert not entered.wait(0.3)
    assert entered.wait(5)
    other.join()
