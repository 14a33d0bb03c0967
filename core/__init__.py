"""cvatcore's internal implementation. Plugin authors use ``cvatcore.hooks`` instead."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cvatcore")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0"
