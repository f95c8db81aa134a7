"""The one figure style of the marts and the study report: the Okabe-Ito palette (separable by colour-blind
readers), body-size text, the one P-value format, marker names with their units, and the encoding of a figure
as PNG (the Dagster UI) and SVG (the report, vector for print).

Every figure module draws with these; every place that prints a P-value (figures, report) calls `format_p`.
matplotlib is imported inside the functions (Agg backend), so importing the marts stays cheap.
"""

from __future__ import annotations

import io
import multiprocessing
import threading
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from orchestration import settings

# Okabe & Ito (2008), "Color Universal Design": distinguishable under every common colour-vision deficiency.
OKABE_ITO = {"blue": "#0072B2", "vermillion": "#D55E00", "green": "#009E73", "orange": "#E69F00",
             "sky_blue": "#56B4E9", "purple": "#CC79A7", "yellow": "#F0E442", "black": "#000000"}
# The order series take: the strongest contrasts first (yellow last: weak on white).
PALETTE = tuple(OKABE_ITO[name] for name in ("blue", "vermillion", "green", "orange", "sky_blue", "purple",
                                             "black", "yellow"))
GREY = "#7F7F7F"

# Point sizes. A figure is drawn at its print size (inches), so BODY_PT is the size a reader sees in print,
# the size of the page's body text; numbers at risk and panel labels are body text, never smaller.
BODY_PT = 10.0
TITLE_PT = 11.0
SMALL_PT = 9.0  # tick labels and legends only
# Latin first; then the common Simplified Chinese families, for a center's name or a regimen delivered in
# Chinese: matplotlib falls back glyph by glyph to the first installed family that has the glyph (PNG), and the
# SVG names them all, so that a reader's browser draws the characters with its own CJK font.
FONT_FAMILY = ["DejaVu Sans", "Arial", "Helvetica", "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
               "Microsoft YaHei", "PingFang SC", "sans-serif"]

RC = {
    "font.family": "sans-serif",
    "font.sans-serif": FONT_FAMILY,
    "font.size": BODY_PT,
    "axes.titlesize": TITLE_PT,
    "axes.labelsize": BODY_PT,
    "xtick.labelsize": SMALL_PT,
    "ytick.labelsize": SMALL_PT,
    "legend.fontsize": SMALL_PT,
    "figure.titlesize": TITLE_PT + 1,
    "axes.prop_cycle": None,  # set in style(): a cycler
    # SVG: text kept as text (selectable, takes the page's font; a third of the size of outlined glyphs), and
    # element ids from a fixed salt, so that the same data give the same bytes.
    "svg.fonttype": "none",
    "svg.hashsalt": "blina-warehouse",
}

# marker (as the immune and cytokine marts name it) -> what a reader reads, with its unit.
UNITS = {"abs": "×10⁹/L", "pct": "% of lymphocytes"}
MARKER_LABELS = {
    "cd3_abs": "CD3⁺ T cells (×10⁹/L)", "cd4_abs": "CD4⁺ T cells (×10⁹/L)", "cd8_abs": "CD8⁺ T cells (×10⁹/L)",
    "cd3_pct": "CD3⁺ T cells (% of lymphocytes)", "cd4_pct": "CD4⁺ T cells (% of lymphocytes)",
    "cd8_pct": "CD8⁺ T cells (% of lymphocytes)", "nk_abs": "NK cells (×10⁹/L)",
    "nk_pct": "NK cells (% of lymphocytes)",
    "b_abs": "CD19⁺ B cells (×10⁹/L)", "b_pct": "CD19⁺ B cells (% of lymphocytes)",
    "cd4_cd8_ratio": "CD4/CD8 (ratio)", "lymphocytes_abs": "Lymphocytes (×10⁹/L)",
    "neutrophils": "Neutrophils (×10⁹/L)", "platelets": "Platelets (×10⁹/L)",
    "igg_g_l": "IgG (g/L)", "iga_g_l": "IgA (g/L)", "igm_g_l": "IgM (g/L)",
    "il1b": "IL-1β (pg/mL)", "il2": "IL-2 (pg/mL)", "il4": "IL-4 (pg/mL)", "il5": "IL-5 (pg/mL)",
    "il6": "IL-6 (pg/mL)", "il8": "IL-8 (pg/mL)", "il10": "IL-10 (pg/mL)", "il12p70": "IL-12p70 (pg/mL)",
    "il17": "IL-17 (pg/mL)", "ifng": "IFN-γ (pg/mL)", "tnfa": "TNF-α (pg/mL)", "ifna": "IFN-α (pg/mL)",
}


def format_p(p_value: float | None) -> str:
    """The one P-value format of every figure and of the report: `P = 0.012` (three decimals), `P < 0.001`;
    `P not defined` where the data cannot answer (the test's P is NULL)."""
    if p_value is None or p_value != p_value:
        return "P not defined"
    return "P < 0.001" if p_value < 0.001 else f"P = {p_value:.3f}"


def marker_label(marker: str) -> str:
    """The marker's name with its unit; an unknown marker as it is named (never without a unit silently:
    MARKER_LABELS lists every marker of the immune and cytokine marts)."""
    return MARKER_LABELS.get(marker, marker)


def marker_unit(marker: str) -> str:
    """The unit inside marker_label's parentheses ('' when it has none)."""
    label = marker_label(marker)
    return label[label.rfind("(") + 1:-1] if label.endswith(")") else ""


# matplotlib's rc parameters are one dict for the process: two marts drawing side by side (orchestration/jobs.py)
# would each restore the other's parameters mid-figure. One block styled at a time (re-entrant: a figure drawn
# inside style() is rendered inside it again).
_STYLED = threading.RLock()


@contextmanager
def style():
    """matplotlib's rc parameters of every figure, for the block that draws and saves one (one block at a time
    in the process)."""
    import matplotlib

    matplotlib.use("Agg")
    from cycler import cycler

    with _STYLED, matplotlib.rc_context({**RC, "axes.prop_cycle": cycler(color=PALETTE)}):
        yield


def new_figure(**kwargs):
    """A matplotlib Figure (no pyplot: no global state); draw and encode it inside `style()`."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(**kwargs)


class Rendered(bytes):
    """A figure's PNG bytes (what the marts always returned, and the Dagster UI shows) carrying its SVG as
    `.svg` (what the report embeds). Equal when the PNGs are."""

    svg: bytes

    def __new__(cls, png: bytes, svg: bytes) -> Rendered:
        rendered = super().__new__(cls, png)
        rendered.svg = svg
        return rendered


def render(figure) -> Rendered:
    """`figure` as PNG and SVG, without software or date metadata: the same data give the same bytes."""
    with style():
        png, svg = io.BytesIO(), io.BytesIO()
        figure.savefig(png, format="png", metadata={"Software": None})
        figure.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    return Rendered(png.getvalue(), svg.getvalue())


# How long a forked child may take over its share (the survival mart's 8 figures take ~1.2 s at any size) before
# this process renders the share itself: a fork copies only the forking thread, so a lock another thread held
# at that moment would stay locked in the child, and the run must not wait for it.
CHILD_SECONDS = 60.0


def render_all(figures: Mapping[str, Any], processes: int | None = None) -> dict[str, Rendered]:
    """Each of `figures` (name -> Figure) rendered, the same bytes as `render` gives, shared among `processes`
    (default: the warehouse's thread budget, settings.threads()) forked from this one: encoding is Python under
    the GIL, one core's work (the survival mart's 16 figures ~2.3 s), while the figures are already drawn in
    this process's memory, which a forked child shares without pickling them. A child that fails, or does not
    answer within CHILD_SECONDS, leaves its figures to this process (which then raises the error itself)."""
    names = list(figures)
    processes = min(processes or settings.threads(), len(names))
    if processes < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return {name: render(figures[name]) for name in names}
    fork = multiprocessing.get_context("fork")
    shares = [names[index::processes] for index in range(processes)]
    children = []
    for share in shares[1:]:
        receiver, sender = fork.Pipe(duplex=False)
        child = fork.Process(target=_render_share, args=(figures, share, sender), daemon=True)
        child.start()
        sender.close()
        children.append((share, receiver, child))
    rendered = {name: render(figures[name]) for name in shares[0]}
    for share, receiver, child in children:
        received = _received(receiver)
        if received is None:  # the child died or hung before sending: render here, where an error is raised
            child.kill()
            received = {name: render(figures[name]) for name in share}
        rendered.update(received)
        child.join()
    return {name: rendered[name] for name in names}


def _received(receiver) -> dict[str, Rendered] | None:
    """A child's rendered share, or None when it closed its end without sending or sent nothing within
    CHILD_SECONDS."""
    try:
        if receiver.poll(CHILD_SECONDS):
            return {name: Rendered(png, svg) for name, (png, svg) in receiver.recv().items()}
    except EOFError:
        pass
    return None


def _render_share(figures: Mapping[str, Any], share: Sequence[str], sender) -> None:
    """In a forked child: render `share` of `figures` and send their bytes to the parent."""
    rendered = {name: render(figures[name]) for name in share}
    sender.send({name: (bytes(figure), figure.svg) for name, figure in rendered.items()})
