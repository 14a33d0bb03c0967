"""A ``Spec`` (a CVAT format name and the datumaro plugins behind it) made into the exporter and
importer functions of a ``cvatcore.hooks.datasets.DatasetFormat``.

Datumaro reads and writes directories, not archives: an export is written into a temporary
directory, then copied member by member into the archive being written; an import unpacks the
uploaded archive (whose member names and sizes the core has already checked against zip
bombs, absolute paths and ``..``) into a temporary directory that lives until the last
annotation has been handed over.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cvatcore.hooks.datasets import (
    ArchiveReader,
    ArchiveWriter,
    DatasetFormat,
    DatasetFormatError,
    ExportDataset,
    ImportContext,
    ImportedAnnotations,
)
from cvatcore_datumaro.incoming import Annotation, Reader, as_tracks
from cvatcore_datumaro.outgoing import DatasetSource, label_colors


@dataclass(frozen=True)
class Spec:
    """One CVAT format backed by datumaro."""

    name: str  # as CVAT shows it: "LabelMe 3.0"
    ext: str
    #: datumaro's exporter; a pair ``(with images, without images)`` where CVAT picks by
    #: ``save_images`` (ImageNet). None: import only.
    exporter: str | tuple[str, str] | None
    #: datumaro's importers, the first one whose layout datumaro detects is used. None:
    #: export only.
    importers: tuple[str, ...] | None
    #: datumaro transforms applied before export (CVAT's: polygons to masks and so on).
    transforms: tuple[str, ...] = ()
    #: Rotated boxes are written as polygons (formats without rotation, as CVAT does).
    rotated_as_polygons: bool = False
    #: Pass CVAT's label colors as the exporter's ``label_map`` (segmentation formats):
    #: ``"rgb"`` as name -> color, ``"voc"`` as name -> (color, parts, actions).
    colormap: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    #: Items changed before export and annotations added from items on import (formats
    #: that keep per-image facts outside annotations: Market-1501, ICDAR recognition).
    prepare: Callable[[Any], Any] | None = None
    item_tags: Callable[[Any, int], list[Annotation]] | None = None
    #: Items changed after datumaro read them (LFW: the landmarks' label).
    read_item: Callable[[Any], Any] | None = None
    #: The label of annotations that have none in the format (ICDAR: "icdar").
    default_label: str | None = None
    #: Shapes with a track_id are imported as tracks (MOT, MOTS).
    tracks: bool = False
    #: Items are named by 1-based frame numbers (MOT).
    numbered: bool = False
    #: COCO keypoints: the box or polygon datumaro reads with each keypoints annotation
    #: (same group) is dropped, as CVAT keeps only the skeleton.
    keypoints: bool = False
    #: COCO instances: the box datumaro reads with each polygon or mask is dropped.
    coco: bool = False
    #: Options for datumaro's importer made from the target's frames (Open Images: the
    #: image sizes, which its masks need and its files keep only for some images).
    import_options: Callable[[ImportContext], dict[str, Any]] | None = None
    #: Called on the unpacked folder before datumaro reads it (folders datumaro's reader
    #: insists on even when an archive holds no images: COCO, Cityscapes).
    unpacked: Callable[[str], None] | None = None
    #: The core has a format of this name too; the core's wins (see ``register``).
    builtin: bool = False
    version: str = ""

    def as_format(self) -> DatasetFormat:
        return DatasetFormat(
            ext=self.ext, version=self.version or self.name.rsplit(" ", 1)[-1],
            exporter=(lambda d, a: export(self, d, a)) if self.exporter else None,
            importer=(lambda a, c: import_(self, a, c)) if self.importers else None)


_LOADING = threading.Lock()


def _environment() -> Any:
    """datumaro's plugins, with its image backend chosen in this thread: datumaro keeps it in
    a ContextVar set only when it is imported, so a job's worker thread has none. Its plugin
    registries fill lazily on first use; two jobs starting at once fill them one at a time."""
    from datumaro.components.environment import DEFAULT_ENVIRONMENT
    from datumaro.util.image import IMAGE_BACKEND, ImageBackend

    if IMAGE_BACKEND.get(None) is None:
        IMAGE_BACKEND.set(ImageBackend.cv2)
    with _LOADING:
        for registry in ("importers", "exporters", "transforms"):
            getattr(DEFAULT_ENVIRONMENT, registry)
    return DEFAULT_ENVIRONMENT


def export(spec: Spec, dataset: ExportDataset, archive: ArchiveWriter) -> None:
    env = _environment()
    name = spec.exporter
    if isinstance(name, tuple):
        name = name[0] if dataset.save_images else name[1]
    source: Any = DatasetSource(dataset, rotated_as_polygons=spec.rotated_as_polygons)
    for transform in spec.transforms:
        source = env.transforms[transform](source)
        source._subsets = list(dataset.subsets)  # known: spares datumaro a pass to find them
    if spec.prepare is not None:
        source = _wrap(source, spec.prepare)
    options = dict(spec.options)
    if spec.colormap:
        colors = label_colors(dataset.labels)
        options["label_map"] = colors if spec.colormap == "rgb" else {
            name: (rgb, [], []) for name, rgb in colors.items()}
    with tempfile.TemporaryDirectory(prefix="cvatcore-datumaro-") as folder:
        try:
            env.exporters[name].convert(source, folder, save_media=dataset.save_images,
                                        **options)
        except DatasetFormatError:
            raise
        except Exception as exc:  # datumaro's writers raise many kinds; the user needs why
            raise DatasetFormatError(f"{spec.name}: datumaro could not write the dataset "
                                     f"({_why(exc, folder, 'the archive')})") from exc
        _copy_into(folder, archive)


def _wrap(source: Any, prepare: Callable[[Any], Any]) -> Any:
    from datumaro.components.transformer import ItemTransform

    class Prepare(ItemTransform):
        def transform_item(self, item: Any) -> Any:
            return prepare(item)

    wrapped = Prepare(source)
    wrapped._subsets = source._subsets
    return wrapped


def _copy_into(folder: str, archive: ArchiveWriter) -> None:
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for file in sorted(files):
            path = os.path.join(root, file)
            member = os.path.relpath(path, folder).replace(os.sep, "/")
            with open(path, "rb") as src, archive.open(member) as out:
                shutil.copyfileobj(src, out, 1 << 20)


def import_(spec: Spec, archive: ArchiveReader, context: ImportContext) -> ImportedAnnotations:
    folder = tempfile.TemporaryDirectory(prefix="cvatcore-datumaro-")
    try:
        _unpack(archive, folder.name)
        if spec.unpacked is not None:
            spec.unpacked(folder.name)
        options = spec.import_options(context) if spec.import_options else {}
        dataset = _read(spec, folder.name, archive.filename, options)
    except BaseException:
        folder.cleanup()
        raise
    return ImportedAnnotations(stream=_annotations(spec, dataset, context, folder,
                                                   archive.filename))


def _unpack(archive: ArchiveReader, folder: str) -> None:
    for name in archive.names():
        if name.endswith("/"):
            continue
        path = os.path.join(folder, *name.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with archive.open(name) as src, open(path, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)


def _read(spec: Spec, folder: str, filename: str, options: dict[str, Any]) -> Any:
    from datumaro.components.dataset import Dataset

    env = _environment()
    assert spec.importers is not None
    name = spec.importers[0]
    try:
        if len(spec.importers) > 1:
            detected = set(env.detect_dataset(folder))
            name = next((n for n in spec.importers if n in detected), name)
        return Dataset.import_from(folder, name, env=env, **options)
    except Exception as exc:  # datumaro's readers raise many kinds; the user needs why
        raise DatasetFormatError(f"{filename}: not a {spec.name} dataset "
                                 f"({_why(exc, folder, filename)})") from None


def _annotations(spec: Spec, dataset: Any, context: ImportContext, folder: Any,
                 filename: str) -> Iterator[tuple[str, Annotation]]:
    try:
        _environment()  # the stream may be read in another thread than the importer ran in
        reader = Reader(dataset.categories(), context, default_label=spec.default_label)
        tracked: list[Annotation] = []
        for item in _items(dataset, spec, filename, folder.name):
            if spec.read_item is not None:
                item = spec.read_item(item)
            where = f"{filename}: item {item.id!r}"
            frame = reader.frame(item, where, spec.numbered)
            if spec.item_tags is not None:
                for tag in spec.item_tags(item, frame):
                    yield "tags", tag
            for kind, ann in reader.annotations(item, frame, where, spec.keypoints,
                                                spec.coco):
                if spec.tracks and kind == "shapes" and "track_id" in ann:
                    tracked.append(ann)
                else:
                    ann.pop("track_id", None)
                    yield kind, ann
        last = max((index for index, *_ in context.frames), default=0)
        for track in as_tracks(tracked, last):
            yield "tracks", track
    finally:
        folder.cleanup()


def _items(dataset: Any, spec: Spec, filename: str, folder: str) -> Iterator[Any]:
    iterator = iter(dataset)
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except DatasetFormatError:
            raise
        except Exception as exc:  # a reader failing part-way: name the format and the cause
            raise DatasetFormatError(f"{filename}: not a {spec.name} dataset "
                                     f"({_why(exc, folder, filename)})") from None
        yield item


def _why(exc: BaseException, folder: str, name: str) -> str:
    """The error and the one datumaro wrapped in it ("Failed to import dataset ...:
    ValueError: ..."), with the server's temporary folder shown as ``name``."""
    text = f"{type(exc).__name__}: {exc}"
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause) and str(cause) not in text:
        text += f": {type(cause).__name__}: {cause}"
    return text.replace(folder + os.sep, "").replace(folder, name)
