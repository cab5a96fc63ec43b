""" "What am I looking at?": a short panel per page with the maths behind what it shows, each
term tied to the place on the page that shows it (Kingma & Welling, 2013)."""

from __future__ import annotations

import streamlit as st

from vaeapp.model.activity import ACTIVE_VARIANCE

# Streamlit's markdown (remark-math) reads a display as a fenced block: "$$" alone on the line
# that opens it and on the line that closes it. Text after an opening "$$" is the fence's info
# string, dropped, and a closing "$$" inside a line is not seen, so the display ran on as raw
# LaTeX to the text's end. An operator ends a line rather than starting one, so the display
# stays maths even where it is read inline.
MODEL = r"""
A VAE is two networks and a prior. The **encoder** is the approximate *posterior*
$q_\phi(z \mid x) = \mathcal{N}\big(\mu_\phi(x), \operatorname{diag}\sigma^2_\phi(x)\big)$;
the **decoder** is the *likelihood* $p_\theta(x \mid z)$ of the pixels; the **prior** is
$p(z) = \mathcal{N}(0, I)$. Training maximises the evidence lower bound

$$
\mathrm{ELBO}(x) = \mathbb{E}_{q_\phi(z\mid x)}\big[\log p_\theta(x \mid z)\big] -
\mathrm{KL}\big(q_\phi(z \mid x)\,\|\,p(z)\big) \;\le\; \log p_\theta(x),
$$

with $z = \mu + \sigma \odot \varepsilon$, $\varepsilon \sim \mathcal{N}(0, I)$ (the
reparameterisation trick) and the KL in closed form:
$\mathrm{KL} = -\tfrac12 \sum_d \big(1 + \log\sigma_d^2 - \mu_d^2 - \sigma_d^2\big)$.
"""

PAGES = {
    "Explore": r"""
- **The dots** are the test images at $\mu_\phi(x)$, the *mean* of each posterior
  $q_\phi(z \mid x)$; the ellipses, where drawn, are one standard deviation of it (on PCA, its
  covariance $A\,\Sigma\,A^\top$ seen through the projection $A$; UMAP bends space, so no
  ellipse there is honest).
- **The decoded image** is $\mathbb{E}[x \mid z]$ under the likelihood $p_\theta(x \mid z)$ at
  the code under the pointer or the sliders: what the decoder expects there, not a sample.
- **KL per dimension** splits the ELBO's KL term over $z_1 \dots z_D$; a dimension is *active*
  when $\operatorname{Var}_x \mathbb{E}_q[z_d] > ACTIVE_VARIANCE$ (Burda et al., 2015). An
  inactive one has collapsed onto the prior and carries no information.
- **Prior and aggregate posterior**: the contours of $p(z)$ and of
  $q(z) = \tfrac1N \sum_i q_\phi(z \mid x_i)$. Where $p(z)$ has mass and $q(z)$ almost none
  (a hole), the decoder saw few codes in training: what it decodes there is not what it was
  trained to produce, and samples from the prior that land there may be off.
- **Samples from the prior** decode $z \sim \mathcal{N}(0, T^2 I)$.
- **Factors** (for data whose factors are known, such as `shapes`): the mutual information
  $I(z_d; f)$ of each dimension with each factor, as a share of the factor's entropy $H(f)$,
  and the MIG, the mean over factors of the gap between the two most informative dimensions,
  $\tfrac{1}{F}\sum_f \big(I(z_{(1)}; f) - I(z_{(2)}; f)\big)/H(f)$ (Chen et al., 2018).
""",
    "Train": r"""
- **The ELBO curve** is the objective above, per step (smoothed) and per epoch on the test set;
  its two terms, the **reconstruction** $\mathbb{E}_q[\log p_\theta(x \mid z)]$ and the
  **KL** $\mathrm{KL}(q_\phi(z\mid x)\,\|\,p(z))$, are drawn apart. With $\beta \ne 1$ the loss
  weighs the KL by $\beta$; the ELBO shown is always the unweighted bound.
- **KL per dimension and active units** update each epoch; when units die (posterior collapse)
  the page says so.
- With a Bernoulli likelihood the ELBO bounds a log-likelihood only of *binary* pixels, so
  binarisation is on by default; on grey levels it is no normalised likelihood. For colour the
  discretised logistic gives each 8-bit value $k/255$ a logistic's mass over its bin, so the ELBO
  bounds $\log P(x)$ of the images as stored, and bits per dimension
  $-\log_2 P(x) / (C H W)$ compare with the literature's.
""",
    "Interpolate": r"""
- Each image is encoded to the mean $\mu_\phi(x)$ of its posterior $q_\phi(z \mid x)$; the
  path between the two means is decoded step by step, each image $\mathbb{E}[x \mid z]$.
- **Spherical** interpolation keeps every point as typical under $p(z) = \mathcal{N}(0, I)$ as
  its ends; **linear** cuts through the prior's low-probability centre in many dimensions.
""",
    "Compare": r"""
- The curves are each run's **test ELBO** per epoch (solid) and training ELBO (dotted), in
  nats per image: higher is better, and only runs whose likelihood is normalised compare with
  each other and with published figures.
""",
}


TITLE, ICON = "What am I looking at?", ":material/school:"


def what_am_i_looking_at(page: str) -> None:
    """The panel for `page`, folded away until asked for, at the width of where it is put."""
    with st.expander(TITLE, icon=ICON):
        _panel(page)


def what_am_i_looking_at_over(page: str) -> None:
    """The panel for `page` as a popover: it opens over the page, as wide as its button, and
    moves nothing below it (Explore's map stays where the user looks)."""
    with st.popover(TITLE, icon=ICON, width="stretch"):
        _panel(page)


def _panel(page: str) -> None:
    st.markdown(MODEL)
    st.markdown(PAGES[page].replace("ACTIVE_VARIANCE", f"{ACTIVE_VARIANCE:g}"))
