"""vaeapp: train, evaluate and explore Variational Autoencoders (Kingma & Welling, 2013)."""

__version__ = "0.1.0"
