"""Is any text cut off on the page the tab shows? One check for every browser test that looks at a page.

Two kinds of cut are found:
- text the browser clips (an element with hidden/clipped overflow or an ellipsis whose content is wider than its
  box: a metric, caption, button or table cell), and a field's value wider than the field (a selectbox's choice);
- Plotly labels (tick labels, titles, legends, bar and annotation texts) that reach outside their figure's drawing,
  where the browser does not show them.
The dataframe grid (a canvas, which shortens long cells by design and shows them on hover) and the rows of attnrec's
row picker (which do the same: the whole text is the cell's tooltip) are left out, and so is
visually hidden accessibility text (1 px wide "Skip to main content"). A value typed into a text field scrolls by
design; the tests type none where they check.
"""

from __future__ import annotations

FIND_CUTS = """
() => {
  const cuts = [];
  const shown = (r) => r.width > 1 && r.height > 1;
  for (const el of document.querySelectorAll('[data-testid="stAppViewContainer"] *')) {
    if (el.closest('[data-testid="stDataFrame"], .attnrec-row, .js-plotly-plot, textarea, input')) continue;
    if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    const style = getComputedStyle(el);
    if (!shown(el.getBoundingClientRect()) || style.visibility === 'hidden') continue;
    const clips = style.textOverflow === 'ellipsis' || ['hidden', 'clip'].includes(style.overflowX);
    if (clips && el.scrollWidth > el.clientWidth + 1)
      cuts.push(`text "${el.textContent.trim().slice(0, 80)}" needs ${el.scrollWidth} px, has ${el.clientWidth}`);
  }
  // A selectbox shows its choice in an input: a long model or dataset name must fit its box too.
  for (const input of document.querySelectorAll('[data-testid="stAppViewContainer"] input')) {
    if (['checkbox', 'radio', 'range', 'file', 'hidden'].includes(input.type) || !input.value) continue;
    if (!shown(input.getBoundingClientRect()) || input.closest('[data-testid="stDataFrame"]')) continue;
    if (input.scrollWidth > input.clientWidth + 1)
      cuts.push(`field "${input.value.slice(0, 80)}" needs ${input.scrollWidth} px, has ${input.clientWidth}`);
  }
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    const svg = plot.querySelector('.main-svg');
    if (!svg) continue;
    const box = svg.getBoundingClientRect();
    if (!shown(box)) continue;
    const figure = ((plot.querySelector('.gtitle') || {}).textContent || '(untitled)').slice(0, 60);
    for (const label of plot.querySelectorAll('text')) {
      const r = label.getBoundingClientRect();
      if (!shown(r) || !label.textContent.trim()) continue;
      const over = Math.max(box.left - r.left, r.right - box.right, box.top - r.top, r.bottom - box.bottom);
      const text = label.textContent.trim().slice(0, 60);
      if (over > 1) cuts.push(`figure "${figure}": label "${text}" is ${Math.round(over)} px outside`);
    }
  }
  return cuts;
}
"""

# Every Plotly figure has redrawn at its container's new width (after a window resize).
CHARTS_FIT = """
() => [...document.querySelectorAll('.js-plotly-plot')].every((plot) => {
  const svg = plot.querySelector('.main-svg');
  return !svg || Math.abs(svg.getBoundingClientRect().width - plot.getBoundingClientRect().width) < 2;
})
"""

SIZES = {1280: 800, 1920: 1080}


def cut_off(tab) -> list[str]:
    """What is cut off on the tab's page now, one line each (empty: nothing)."""
    return tab.evaluate(FIND_CUTS)


def assert_nothing_cut_off(tab, where: str) -> None:
    cuts = cut_off(tab)
    assert not cuts, f"{where}: " + "; ".join(cuts)


def assert_nothing_cut_off_at_both_sizes(tab, where: str) -> None:
    """The page as shown at 1280×800, then at 1920×1080 (the charts redraw for the wider window first); the tab
    is left at 1280×800."""
    try:
        for width, height in SIZES.items():
            tab.set_viewport_size({"width": width, "height": height})
            tab.wait_for_function(CHARTS_FIT, timeout=30_000)
            assert_nothing_cut_off(tab, f"{where} at {width}×{height}")
    finally:
        tab.set_viewport_size({"width": 1280, "height": 800})
