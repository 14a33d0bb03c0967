"""Checks of single input fields that several services share, answering in DRF's words.

CVAT's serializers are DRF's, and clients (and CVAT's own tests) read these messages, so the
wording follows DRF's ``CharField`` exactly rather than each service phrasing its own.
"""

from __future__ import annotations

from typing import Any


def clean_text(
    data: dict[str, Any], clean: dict[str, Any], errors: dict[str, list[str]], name: str,
    limit: int, *, required: bool = False, min_length: int = 0, allow_blank: bool = True,
    strip: bool = False,
) -> None:
    """Copy the string ``data[name]`` into ``clean``, or note in ``errors`` what is wrong.

    ``null`` and non-strings are refused (``{}`` must never be stored as the text "{}");
    ``strip`` trims surrounding spaces before the checks, as DRF's ``trim_whitespace``."""
    if name not in data:
        if required:
            errors[name] = ["This field is required."]
        return
    value = data[name]
    if value is None:
        errors[name] = ["This field may not be null."]
        return
    if not isinstance(value, str):
        errors[name] = ["Not a valid string."]
        return
    if strip:
        value = value.strip()
    if not value and not allow_blank:
        errors[name] = ["This field may not be blank."]
    elif len(value) > limit:
        errors[name] = [f"Ensure this field has no more than {limit} characters."]
    elif len(value) < min_length:
        errors[name] = [f"Ensure this field has at least {min_length} characters."]
    else:
        clean[name] = value
