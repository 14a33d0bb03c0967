"""The pluggy markers for the ``cvatcore`` project name."""

import pluggy

PROJECT_NAME = "cvatcore"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
