"""Pure figure functions (numbers in, Plotly figure out), shared by every page."""

from attnrec.figures.attention import (
    attention_heatmap,
    contribution_heatmap,
    contribution_waterfall,
    dimensions_that_matter,
    entropy_bars,
    signed_heatmap,
    unique_names,
    waterfall_terms,
    z_bars,
)

__all__ = [
    "attention_heatmap",
    "contribution_heatmap",
    "contribution_waterfall",
    "dimensions_that_matter",
    "entropy_bars",
    "signed_heatmap",
    "unique_names",
    "waterfall_terms",
    "z_bars",
]
