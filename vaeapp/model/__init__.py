"""The VAE's maths: the networks q(z|x) and p(x|z), the likelihoods, the ELBO and IWAE bounds,
what the posterior shows (KL per dimension, active units), and the bounds over a data split.
Imports nothing of vaeapp but the foundation (config, errors)."""
