"""Size limits of task data: what one request, one upload, one archive may hold.

Module constants (tests lower them); every limit is checked before the bytes are stored or
unpacked, and breaking one is a 413 (uploads) or a failed request naming the limit.
"""

from __future__ import annotations

GiB = 1 << 30
MiB = 1 << 20

# One request body of the upload endpoints is limited by ``api.context.STREAM_BODY_LIMIT``
# (8 GiB: cvat-sdk sends at most 100 MiB in bulk and 10 MiB TUS chunks; a plain
# single-request upload carries every file at once).
#: One file announced by TUS ``Upload-Length`` (CVAT's ``TUS_MAX_FILE_SIZE`` is 26 GiB).
MAX_TUS_FILE = 26 * GiB
#: Files in one task's upload area.
MAX_FILES = 1_000_000

#: Archives: members, total unpacked bytes, and the compression ratio one member (larger
#: than ``RATIO_MIN_SIZE``) or the whole archive may show before it counts as a zip bomb.
MAX_ARCHIVE_MEMBERS = 500_000
MAX_ARCHIVE_UNPACKED = 64 * GiB
MAX_MEMBER_RATIO = 200
RATIO_MIN_SIZE = 1 * MiB

#: Image headers that claim more pixels than this are refused (Pillow's own bomb guard
#: warns at 89 Mpx and fails at twice that).
MAX_IMAGE_PIXELS = 1 << 30
