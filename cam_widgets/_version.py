"""The package's version, read from the installed distribution's metadata."""
from __future__ import annotations

from importlib import metadata

UNKNOWN_VERSION = "0+unknown"
"""What ``__version__`` holds when the package runs from a folder that was never installed."""


def installed_version(distribution: str = "cam_widgets") -> str:
    """The version pip recorded for `distribution`, or ``UNKNOWN_VERSION`` if none is installed."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return UNKNOWN_VERSION
