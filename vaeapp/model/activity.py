"""When a latent unit counts as active: the variance over the data of its posterior mean above
ACTIVE_VARIANCE (Burda et al., 2015). Apart from `posterior` so that the maths panels quote it
without torch (a fresh server's first view draws them before torch is imported)."""

ACTIVE_VARIANCE = 0.01
