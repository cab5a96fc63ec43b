"""vaeapp's Streamlit entry point: `streamlit run app.py`. Pages live in vaeapp/ui/."""

import streamlit as st

from vaeapp.ui.chart_warmup import load_chart_library_early

st.set_page_config(page_title="vaeapp: VAE latent-space explorer", layout="wide")
with load_chart_library_early():
    import torch

    from vaeapp.ui import compare_page, explore_page, interpolate_page, train_page

# The app decodes a few images at a time: a pool of op threads only adds latency, worse on a
# small machine shared with a training process.
torch.set_num_threads(1)
navigation = st.navigation(
    [
        st.Page(
            explore_page.render,
            title="Explore",
            icon=":material/scatter_plot:",
            url_path="explore",
            default=True,
        ),
        st.Page(
            train_page.render, title="Train", icon=":material/model_training:", url_path="train"
        ),
        st.Page(
            compare_page.render,
            title="Compare",
            icon=":material/stacked_line_chart:",
            url_path="compare",
        ),
        st.Page(
            interpolate_page.render,
            title="Interpolate",
            icon=":material/linear_scale:",
            url_path="interpolate",
        ),
    ]
)
navigation.run()
