"""The one error family of bliss-lab.

Every error the library raises on purpose is a :class:`BlissError`, and its message is one
sentence a person can act on. The command line prints it as ``bliss: error: ...`` and the app
shows it as a message; anything that is not a ``BlissError`` is a bug and is logged as one.

The subclasses live here, not in the modules that raise them, so that the CLI and the app can
catch a specific kind (a model that cannot load, say) without importing torch to do it. Some
also derive from the built-in type they replace (``ValueError``, ``RuntimeError``), so code
written against those keeps working.
"""

from __future__ import annotations


class BlissError(Exception):
    """Base of every error bliss-lab raises on purpose. The message is one sentence."""


class SettingError(BlissError, ValueError):
    """A ``BLISS_*`` environment variable holds a value that cannot be used."""


class BundleError(BlissError, ValueError):
    """A bundle file is missing, unreadable, too large or inconsistent."""


class VectorError(BlissError, ValueError):
    """An embedding row has zero length or non-finite values; ``row`` says which."""

    def __init__(self, message: str, row: int = -1) -> None:
        super().__init__(message)
        self.row = row


class ScoringError(BlissError, ValueError):
    """A scoring request that cannot be honoured (bad K, unknown class, ...)."""


class NotFittedError(ScoringError, AttributeError):
    """A scorer was asked to score before :meth:`fit` (as scikit-learn's ``NotFittedError``)."""


class MetricError(BlissError, ValueError):
    """The labels make a metric undefined (e.g. no anomalies in the test set)."""


class SplitError(ScoringError):
    """A setup or a choice of normal classes that cannot be used (a kind of scoring request
    that cannot be honoured, hence a :class:`ScoringError`)."""


class EvaluationError(BlissError, ValueError):
    """An evaluation cannot run as asked."""


class SimulationError(BlissError, ValueError):
    """Simulation knobs outside what the simulation can generate."""


class ProjectionError(BlissError, ValueError):
    """A 2-D projection cannot be computed as asked."""


class DataError(BlissError, ValueError):
    """A data source cannot be opened or is unusable."""


class ImageRejected(BlissError, ValueError):
    """One image was refused; ``name`` says which, ``reason`` why."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


class DictionaryError(BlissError, ValueError):
    """A text dictionary could not be found or read."""


class ModelLoadError(BlissError, RuntimeError):
    """A model or its weights could not be loaded."""


class CacheError(BlissError, RuntimeError):
    """The embedding cache cannot be used; the message names the folder and how to clear it."""


class EmbedError(BlissError, RuntimeError):
    """Embedding could not be completed."""


class DeviceError(BlissError, RuntimeError):
    """A compute device that was asked for (``--device cuda``) is not available here."""


class EngineError(BlissError, RuntimeError):
    """A distributed engine (``bliss embed --engine ray``) is missing or cannot run the job."""


class OutputError(BlissError, OSError):
    """An output path that must not be written (not a regular file, missing folder, ...)."""


class CommandError(BlissError):
    """A command-line usage error that argparse cannot see."""


class AppError(BlissError):
    """A problem the app shows to its user as a message."""


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of an exception's message, cut to ``limit`` characters (its type's name
    when the message is empty): what a one-line error quotes of a library's exception."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__
