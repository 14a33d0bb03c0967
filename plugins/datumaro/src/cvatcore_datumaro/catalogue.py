"""The CVAT formats this plugin offers, by the names CVAT shows, and the datumaro plugins and
transforms behind each: as CVAT's dataset manager (``cvat/apps/dataset_manager/formats``)
calls them, minus what PyPI datumaro 1.13.12 lacks (skeletons become keypoints; no 3D)."""

from __future__ import annotations

import os
from typing import Any

from cvatcore_datumaro.bridge import Spec
from cvatcore_datumaro.incoming import Annotation

#: Segmentation formats draw shapes as one mask per instance, as CVAT's do.
_PAINT = ("polygons_to_masks", "boxes_to_masks", "merge_instance_segments")
MARKET = "market-1501"
_MARKET_ATTRS = ("query", "person_id", "camera_id")


def _market_out(item: Any) -> Any:
    """The ``market-1501`` tag's attributes become the image's (as CVAT's LabelAttrToAttr)."""
    tags = [a for a in item.annotations if a.type.name == "label" and a.attributes
            and set(a.attributes) & set(_MARKET_ATTRS)]
    if not tags:
        return item
    attributes = {**item.attributes, **{k: v for k, v in tags[0].attributes.items()
                                        if k in _MARKET_ATTRS}}
    return item.wrap(attributes=attributes,
                     annotations=[a for a in item.annotations if a is not tags[0]])


def _market_in(item: Any, frame: int) -> list[Annotation]:
    attributes = {k: str(item.attributes[k]).lower() if isinstance(item.attributes[k], bool)
                  else str(item.attributes[k]) for k in _MARKET_ATTRS if k in item.attributes}
    if not attributes:
        return []
    return [{"frame": frame, "label": MARKET, "group": 0, "attributes": attributes,
             "where": f"item {item.id!r}"}]


def _person_landmarks(item: Any) -> Any:
    """LFW keeps landmarks per image, without a label: they are the landmarks of the image's
    person (its one tag), as CVAT has them. datumaro's reader gives them whatever label it
    read last, so they take the tag's."""
    tags = [a for a in item.annotations if a.type.name == "label"]
    if len(tags) != 1:
        return item
    return item.wrap(annotations=[a.wrap(label=tags[0].label) if a.type.name == "points"
                                  else a for a in item.annotations])


def _faces_only(item: Any) -> Any:
    """VGGFace2 holds face boxes and landmarks, their label naming the person: datumaro's
    writer adds an empty landmarks row for anything else (a tag of the person too), which its
    own reader then refuses. A tag is kept only on an image without a face."""
    faces = [a for a in item.annotations if a.type.name in ("bbox", "points")]
    return item.wrap(annotations=faces or [a for a in item.annotations
                                           if a.type.name == "label"][:1])


def _captions_out(item: Any) -> Any:
    """Tags with a ``text`` attribute become the word's caption (ICDAR recognition)."""
    from datumaro.components.annotation import Caption

    anns = [Caption(a.attributes["text"]) if a.type.name == "label" and "text" in a.attributes
            else a for a in item.annotations]
    return item.wrap(annotations=anns)


def _tracked_only(item: Any) -> Any:
    """MOTS keeps tracks only: every mask is an object's track (CVAT's KeepTracks). The masks
    go to the writer as booleans: it multiplies them by ``1000 * class + track``, which
    overflows the uint8 arrays datumaro's own transforms make (under numpy 2)."""
    import numpy as np
    from datumaro.components.annotation import Mask

    return item.wrap(annotations=[
        Mask(image=np.asarray(a.image, dtype=bool), label=a.label, id=a.id, group=a.group,
             attributes=a.attributes, z_order=a.z_order) if a.type.name == "mask" else a
        for a in item.annotations if a.attributes.get("track_id") is not None])


def _icdar_mask_out(item: Any) -> Any:
    """ICDAR segmentation wants ``index``, ``color``, ``center`` and ``text`` on every mask;
    CVAT's users give them as attributes of the ``icdar`` label. ``index`` is the mask's
    number among the image's masks (the writer paints by it, so it is always set); missing
    others get a color of their own, the centre of the mask's box, no text."""
    anns = []
    masks = 0
    for ann in item.annotations:
        if ann.type.name == "mask":
            n, masks = masks, masks + 1
            attrs = dict(ann.attributes, index=n)
            if len(str(attrs.get("color", "")).split()) != 3:
                attrs["color"] = f"{(n * 47 + 13) % 256} {(n * 91 + 7) % 256} {n * 139 % 256}"
            if len(str(attrs.get("center", "")).split()) != 2:
                x, y, w, h = ann.get_bbox()
                attrs["center"] = f"{int(x + w / 2)} {int(y + h / 2)}"
            attrs.setdefault("text", "")
            ann = ann.wrap(attributes=attrs)
        anns.append(ann)
    return item.wrap(annotations=anns)


def _images_folder(folder: str) -> None:
    """COCO without images: datumaro's reader wants an ``images`` folder all the same."""
    os.makedirs(os.path.join(folder, "images"), exist_ok=True)


def _cityscapes_folders(folder: str) -> None:
    """Cityscapes without images: a ``leftImg8bit/<subset>`` folder for each ``gtFine`` one."""
    fine = os.path.join(folder, "gtFine")
    for subset in os.listdir(fine) if os.path.isdir(fine) else []:
        os.makedirs(os.path.join(folder, "leftImg8bit", subset), exist_ok=True)


def _image_info(context: Any) -> dict[str, Any]:
    """YOLO without images: every frame's size by its item id, as CVAT passes them."""
    return {"image_info": {name.rsplit(".", 1)[0]: (height, width)
                           for _, name, width, height in context.frames}}


def _image_sizes(context: Any) -> dict[str, Any]:
    """Open Images: every frame's size by its item id (its name without the extension), as
    CVAT passes them, so that masks of images without a box are read too."""
    return {"image_meta": {name.rsplit(".", 1)[0]: (height, width)
                           for _, name, width, height in context.frames}}


SPECS: tuple[Spec, ...] = (
    Spec("CamVid 1.0", "ZIP", "camvid", ("camvid",), transforms=_PAINT, colormap="rgb",
         rotated_as_polygons=True),
    Spec("Cityscapes 1.0", "ZIP", "cityscapes", ("cityscapes",), transforms=_PAINT,
         colormap="rgb", rotated_as_polygons=True, unpacked=_cityscapes_folders),
    Spec("COCO Keypoints 1.0", "JSON, ZIP", "coco_person_keypoints",
         ("coco_person_keypoints",), options={"merge_images": False}, keypoints=True,
         unpacked=_images_folder),
    Spec("ICDAR Localization 1.0", "ZIP", "icdar_text_localization",
         ("icdar_text_localization",), default_label="icdar", rotated_as_polygons=True),
    Spec("ICDAR Recognition 1.0", "ZIP", "icdar_word_recognition",
         ("icdar_word_recognition",), prepare=_captions_out, default_label="icdar"),
    Spec("ICDAR Segmentation 1.0", "ZIP", "icdar_text_segmentation",
         ("icdar_text_segmentation",), transforms=_PAINT, prepare=_icdar_mask_out,
         default_label="icdar", rotated_as_polygons=True),
    Spec("ImageNet 1.0", "ZIP", ("imagenet", "imagenet_txt"), ("imagenet_txt", "imagenet")),
    Spec("KITTI 1.0", "ZIP", "kitti", ("kitti",), transforms=_PAINT[:1] + _PAINT[2:],
         colormap="rgb", options={"apply_colormap": True}, rotated_as_polygons=True),
    Spec("LabelMe 3.0", "ZIP", "label_me", ("label_me",), rotated_as_polygons=True),
    Spec("LFW 1.0", "ZIP", "lfw", ("lfw",), read_item=_person_landmarks),
    Spec("Market-1501 1.0", "ZIP", "market1501", ("market1501",), prepare=_market_out,
         item_tags=_market_in),
    Spec("MOT 1.1", "ZIP", "mot_seq_gt", ("mot_seq",), tracks=True, numbered=True),
    Spec("MOTS PNG 1.0", "ZIP", "mots_png", ("mots",), prepare=_tracked_only,
         transforms=_PAINT, tracks=True, rotated_as_polygons=True),
    Spec("Open Images V6 1.0", "ZIP", "open_images", ("open_images",),
         import_options=_image_sizes),
    Spec("VGGFace2 1.0", "ZIP", "vgg_face2", ("vgg_face2",), prepare=_faces_only),
    Spec("WiderFace 1.0", "ZIP", "wider_face", ("wider_face",)),
    # The formats the core writes and reads itself: registered as fallbacks, so the core's
    # own stay in use (see README, "Names the core has too").
    Spec("COCO 1.0", "JSON, ZIP", "coco_instances", ("coco_instances",),
         options={"merge_images": False}, coco=True, unpacked=_images_folder, builtin=True),
    Spec("CVAT for images 1.1", "XML, ZIP", "cvat", None, builtin=True),
    Spec("CVAT 1.1", "XML, ZIP", None, ("cvat",), builtin=True),
    Spec("Datumaro 1.0", "ZIP", "datumaro", ("datumaro",), builtin=True),
    Spec("PASCAL VOC 1.1", "ZIP", "voc", ("voc",), options={"label_map": "source"},
         builtin=True),
    Spec("Segmentation mask 1.1", "ZIP", "voc_segmentation", ("voc_segmentation",),
         transforms=_PAINT, colormap="voc", rotated_as_polygons=True, builtin=True),
    Spec("YOLO 1.1", "ZIP", "yolo", ("yolo",), import_options=_image_info, builtin=True),
    # datumaro's Ultralytics writer insists on both a train and a val subset; CVAT writes
    # only train: reading only.
    Spec("Ultralytics YOLO Detection 1.0", "ZIP", None, ("yolo",), builtin=True),
)
