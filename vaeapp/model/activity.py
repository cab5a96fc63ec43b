"""When a latent unit counts as active: the variance over the data of its posterior mean above
ACTIVE_VARIANCE (Burda et al., 2015). Apart from `posterior` so that pages without torch use it
(a fresh server's first view quotes it; the Train page marks its units with it)."""

ACTIVE_VARIANCE = 0.01


def is_active(activity: float) -> bool:
    """Whether a dimension whose posterior mean varies by `activity` over the data is in use."""
    return activity > ACTIVE_VARIANCE
