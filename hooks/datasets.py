"""Hook spec and types for dataset formats (annotation export and import: COCO, YOLO, ...).

A format provider is a pair of plain functions. The exporter receives an ``ExportDataset``
(labels, and frames with their annotations produced one at a time) and writes files into an
``ArchiveWriter`` (the zip being written, member by member). The importer receives an
``ArchiveReader`` (the uploaded zip, or a single file as an archive of one member, already
checked against zip bombs and unsafe paths) and an ``ImportContext`` (the target's labels and
frames), and returns ``ImportedAnnotations``; the core matches labels by name, checks every
annotation and writes all of them or nothing.

Annotations travel as plain dicts, CVAT's own JSON with names instead of ids:

* a tag: ``{"frame", "label", "source", "group", "attributes": {name: value}}``;
* a shape: ``{"frame", "type", "label", "points", "occluded", "outside", "z_order",
  "rotation", "group", "source", "attributes", "elements"}`` where ``type`` is one of
  ``rectangle polygon polyline points ellipse cuboid mask skeleton``; a mask's ``points`` are
  CVAT's RLE followed by ``left, top, right, bottom``; a skeleton's ``elements`` are shapes
  (``type`` ``points``) of its sublabels. Shapes an exporter sees may carry ``track_id`` and
  ``keyframe`` (the per-frame shapes of a track, interpolated between key frames);
* a track (import, and ``ExportDataset.tracks``): ``{"frame", "label", "group", "source",
  "attributes", "shapes": [shape...], "elements": [track...]}``.

Raise ``DatasetFormatError("annotations.xml:12: unknown label 'cat'")`` for a file that
cannot be read: the message reaches the user as is, so name the file, line or element.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from cvatcore.hooks.markers import hookspec
from cvatcore.hooks.types import Register

Annotation = dict[str, Any]


class DatasetFormatError(ValueError):
    """An archive or file that does not follow its format; the message names where."""


@dataclass(frozen=True)
class DatasetAttribute:
    """An attribute of a label, as CVAT defines it."""

    name: str
    input_type: str  # select | checkbox | radio | number | text
    mutable: bool = False
    default_value: str = ""
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatasetLabel:
    """A label; ``parent`` names the skeleton a sublabel belongs to."""

    name: str
    type: str = "any"
    color: str = ""
    attributes: tuple[DatasetAttribute, ...] = ()
    parent: str | None = None
    svg: str = ""


@dataclass
class DatasetFrame:
    """One frame and its annotations (tags and shapes, tracks' shapes included)."""

    index: int
    name: str  # the frame's file path as uploaded (``images/0001.jpg``)
    width: int
    height: int
    subset: str = "default"
    tags: list[Annotation] = field(default_factory=list)
    shapes: list[Annotation] = field(default_factory=list)
    #: The original image's bytes, read when called (exporters call it only with save_images).
    image: Callable[[], bytes] = lambda: b""
    #: The extension of the stored image (``.jpg``); frames of a video are ``.png`` stills.
    image_ext: str = ".jpg"
    task_id: int | None = None


@dataclass
class ExportDataset:
    """What an exporter receives. ``frames()`` and ``tracks()`` read from the database and
    media store again on every call, one frame at a time, so a project of 100,000 frames
    never sits in memory."""

    kind: str  # task | job | project
    name: str
    labels: list[DatasetLabel]
    save_images: bool
    frames: Callable[[], Iterator[DatasetFrame]]
    #: Tracks with their key frames only (for formats that keep tracks).
    tracks: Callable[[], Iterator[Annotation]] = lambda: iter(())
    #: id, name, size, mode, overlap, created, updated, owner, ... of the task/job/project.
    meta: dict[str, Any] = field(default_factory=dict)
    subsets: list[str] = field(default_factory=lambda: ["default"])


class ArchiveWriter(Protocol):
    """The zip being written: members are compressed and written as they come."""

    def write(self, name: str, data: bytes | str) -> None: ...

    def open(self, name: str) -> IO[bytes]:
        """A writable member; close it (or use ``with``) before opening the next."""


class ArchiveReader(Protocol):
    """The uploaded archive (or one file): member names are relative, ``/``-separated."""

    filename: str

    def names(self) -> list[str]: ...

    def read(self, name: str) -> bytes: ...

    def open(self, name: str) -> IO[bytes]: ...


@dataclass
class ImportContext:
    """What an importer may look at: the target's labels and frames."""

    labels: list[DatasetLabel]
    #: ``(index, name, width, height)`` of every frame of the target.
    frames: list[tuple[int, str, int, int]]
    #: ``frame_of(name, where)``: the index of the frame with that file name (matched as
    #: given, then without directories, then without the extension); ``where`` names the
    #: place in the file for the ``DatasetFormatError`` a name that matches no frame raises.
    frame_of: Callable[[str, str], int]


@dataclass
class ImportedAnnotations:
    """What an importer returns: lists, and/or ``stream``, ``(kind, annotation)`` pairs
    (``kind`` is ``"tags"``, ``"shapes"`` or ``"tracks"``) produced while the file is read.
    The core consumes the lists, then the stream once, checking and writing a batch at a time
    in one transaction, so a big file read as a stream never sits in memory whole; a
    ``DatasetFormatError`` raised from the stream still undoes everything."""

    tags: list[Annotation] = field(default_factory=list)
    shapes: list[Annotation] = field(default_factory=list)
    tracks: list[Annotation] = field(default_factory=list)
    stream: Iterable[tuple[str, Annotation]] = ()


@dataclass(frozen=True)
class DatasetFormat:
    """One format as ``GET /api/server/annotation/formats`` lists it.

    ``ext`` is what CVAT shows (``"ZIP"``, ``"JSON, ZIP"``, ``"XML, ZIP"``); ``exporter`` and
    ``importer`` are optional, and a format with only one of them is listed only under
    ``exporters`` or ``importers``.
    """

    ext: str
    version: str
    exporter: Callable[[ExportDataset, ArchiveWriter], None] | None = None
    importer: Callable[[ArchiveReader, ImportContext], ImportedAnnotations] | None = None
    dimension: str = "2d"
    enabled: bool = True


@hookspec
def register_dataset_formats(register: Register) -> None:
    """Add dataset formats: annotation export and import in a named archive layout.

    Called: once, synchronously, while the application is built (server, worker and CLI).

    Arguments:
        register: ``register(name, fmt)`` (``cvatcore.hooks.Register``). ``name`` is the
            name CVAT displays and clients send as ``format=`` (``"COCO 1.0"``,
            ``"CVAT for images 1.1"``: the name, a space, the version). ``fmt`` is a
            ``cvatcore.hooks.datasets.DatasetFormat``: ``ext``, ``version``, ``dimension``
            (``"2d"`` or ``"3d"``), ``enabled``, and the functions:

            ``exporter(dataset, archive)`` writes ``dataset`` (an ``ExportDataset``: labels,
            ``frames()`` yielding one ``DatasetFrame`` at a time with its tags and shapes,
            ``tracks()``, ``save_images``) into ``archive`` (an ``ArchiveWriter``), member by
            member; it runs in a background job, never inside a request.

            ``importer(archive, context)`` reads ``archive`` (an ``ArchiveReader``; a single
            uploaded ``.xml``/``.json``/``.txt`` file is an archive of that one member) and
            returns ``ImportedAnnotations`` with label *names* and frame indexes
            (``context.frame_of(file_name, where)`` finds a frame by name). Raise
            ``DatasetFormatError`` naming the file and line or element for anything that
            does not parse; the core refuses unknown labels, frames and attribute values
            with the same kind of message, and writes nothing unless everything is valid.

            The annotation dicts are described in this module's docstring.

        ``register(name, fmt, fallback=True)`` offers a format only for as long as no
            other plugin registers that name without ``fallback`` (the built-in formats never
            use it, so they win over a plugin's copy); the order plugins load in plays no part.

    Returns:
        Nothing; formats are added only through ``register``. A name registered by two
        plugins (both with, or both without, ``fallback``) stops start-up.

    Example::

        @hookimpl
        def register_dataset_formats(register):
            register("My Format 1.0", DatasetFormat(ext="ZIP", version="1.0",
                                                    exporter=write_mine, importer=read_mine))
    """
