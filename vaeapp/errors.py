"""Errors a user can act on.

Everything raised as a `VaeappError` carries a message written for the person at the keyboard;
the CLI prints it on one line and the app shows it beside the widget that caused it.
"""


class VaeappError(Exception):
    """A problem with the user's input or environment, not a bug in vaeapp."""


class ConfigError(VaeappError):
    """A hyperparameter or a saved config is out of range, missing or unknown."""


class DataError(VaeappError):
    """A data source is unknown, missing, or unreadable."""


class RunError(VaeappError):
    """A run directory cannot be used as asked: it exists already, is busy, or is no run."""


class CheckpointError(VaeappError):
    """A checkpoint cannot be read safely, or does not fit its run's config."""


class PathError(VaeappError):
    """A name or path a user gave cannot name a file: too long, a NUL byte, an unknown ~user."""


class UnsafeFileError(VaeappError):
    """A file is a link, a special file or larger than it can be, and was not used."""


class WriteError(VaeappError):
    """A file could not be written; what was there before is intact."""


class ImageError(VaeappError):
    """An uploaded or given image cannot be turned into a model input."""


class TrainingDiverged(VaeappError):
    """The loss became non-finite; the last good checkpoint is kept."""


class ProcessLost(VaeappError):
    """Another process of a distributed training run has stopped; the last checkpoint is kept."""


class NotInstalled(VaeappError):
    """An optional package a feature needs is not installed; the message says how to get it."""


class GraphError(VaeappError):
    """An imported ONNX graph cannot be used safely, or does not behave as a VAE's encoder or
    decoder (its shapes, its outputs, its time or memory)."""


class UserModuleError(VaeappError):
    """The PyTorch module `vaeapp import --module` names cannot be imported, built, given its
    weights, run or exported to ONNX."""
