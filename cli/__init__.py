"""The ``cvatcore`` command line."""
