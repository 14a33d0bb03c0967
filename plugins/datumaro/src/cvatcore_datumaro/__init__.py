"""cvatcore-datumaro: CVAT's dataset formats that the ``datumaro`` package reads and writes
(CamVid, Cityscapes, COCO Keypoints, ICDAR, ImageNet, KITTI, LabelMe, LFW, Market-1501, MOT,
MOTS, Open Images, VGGFace2, WIDER Face), registered under the names CVAT shows.

The formats the core writes itself (COCO, CVAT XML, Datumaro, PASCAL VOC, Segmentation mask,
YOLO, Ultralytics YOLO detection) are registered too, as fallbacks: a name the core (or any
plugin) registers without ``fallback`` wins, so installing this plugin never changes what
those formats produce.
"""

from cvatcore.hooks import Register, hookimpl


@hookimpl
def register_dataset_formats(register: Register) -> None:
    from cvatcore_datumaro.catalogue import SPECS

    for spec in SPECS:
        register(spec.name, spec.as_format(), fallback=spec.builtin)
