"""Explore's Factors tab: which latent dimension carries which known factor of the data.

Where a data set knows the factors behind its images (`shapes`: shape, colour, scale,
rotation, x, y), the mutual information between each latent dimension and each factor, as a
share of the factor's entropy, shows whether the VAE has one dimension per factor; the MIG
score (Chen et al., 2018) sums that up in one number: 1 for one dimension per factor, 0 for
none. Data without factors say so.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from vaeapp.latent.factors import factor_entropy, mig, mutual_information
from vaeapp.ui.explore_tabs import Explorer

TAB = "Factors"


@st.cache_data(max_entries=8, show_spinner="Measuring what each dimension knows…")
def _scores(key: str, _codes: np.ndarray, _factors: np.ndarray) -> tuple[np.ndarray, float, list]:
    """The MI matrix as shares of each factor's entropy, the MIG and each factor's gap."""
    entropy = factor_entropy(_factors)
    shares = mutual_information(_codes, _factors) / np.where(entropy > 0, entropy, np.inf)
    score, per_factor = mig(_codes, _factors)
    return shares, score, per_factor.tolist()


def factors(explorer: Explorer) -> None:
    data = explorer.data
    if data.test.factors is None or not data.factor_names:
        st.info(
            f"{data.spec} has no known factors, so nothing here to measure against. Train on "
            "`shapes` (coloured sprites whose shape, colour, scale, rotation and position are "
            "known) to see which latent dimension carries which factor."
        )
        return
    if explorer.dim < 2:
        st.info("The MIG compares a factor's two most informative dimensions: it needs two.")
        return
    codes = explorer.mu[: explorer.n_test].numpy()
    key = f"{explorer.snapshot.key}|{data.spec}|{explorer.epoch}|{len(codes)}"
    shares, score, per_factor = _scores(key, codes, data.test.factors.numpy())
    st.markdown(
        f"**MIG {score:.2f}**: for each factor, the information its best latent dimension "
        "holds about it less the second best's, as a share of the factor's entropy, averaged "
        "(1: one dimension per factor; 0: none stands out)."
    )
    st.plotly_chart(factor_figure(shares, data.factor_names), key="explore_factors", theme=None)
    gaps = ", ".join(
        f"{name} {gap:.2f}" for name, gap in zip(data.factor_names, per_factor, strict=True)
    )
    st.caption(
        f"Each cell: I(z_i; factor) / H(factor) over the {len(codes):,} test images, each "
        f"dimension cut into 20 bins. Gap by factor: {gaps}. A beta-VAE (beta > 1) on `shapes` "
        "is where one dimension per factor shows."
    )


def factor_figure(shares: np.ndarray, names: tuple[str, ...]) -> go.Figure:
    """Latent dimensions down, factors across, the share of each factor's entropy a dimension
    holds as the colour."""
    figure = go.Figure(
        go.Heatmap(
            z=shares,
            x=list(names),
            y=[f"z{i + 1}" for i in range(len(shares))],
            zmin=0,
            zmax=1,
            colorscale="Blues",
            colorbar={"title": {"text": "I / H"}},
            hovertemplate="%{y} and %{x}: %{z:.2f} of its entropy<extra></extra>",
        )
    )
    figure.update_layout(
        template="none",
        height=120 + 22 * len(shares),
        margin={"l": 50, "r": 10, "t": 10, "b": 40},
        yaxis={"autorange": "reversed"},
    )
    return figure
