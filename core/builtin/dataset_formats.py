"""Built-in plugin: the core's dataset formats (``core/datasets/formats``) and the export and
import job kinds that run them."""

from cvatcore.hooks import Register, hookimpl


@hookimpl
def register_dataset_formats(register: Register) -> None:
    from cvatcore.core.datasets.formats import (
        coco,
        cvat_read,
        cvat_xml,
        datumaro,
        masks,
        ultralytics,
        voc,
        yolo,
    )
    from cvatcore.hooks.datasets import DatasetFormat as F

    register("CVAT for images 1.1", F("XML, ZIP", "1.1", exporter=cvat_xml.export_images))
    register("CVAT for video 1.1", F("XML, ZIP", "1.1", exporter=cvat_xml.export_video))
    register("CVAT 1.1", F("XML, ZIP", "1.1", importer=cvat_read.import_cvat))
    register("COCO 1.0", F("JSON, ZIP", "1.0", exporter=coco.export_coco,
                           importer=coco.import_coco))
    register("YOLO 1.1", F("ZIP", "1.1", exporter=yolo.export_yolo, importer=yolo.import_yolo))
    register("Ultralytics YOLO Detection 1.0", F(
        "ZIP", "1.0", exporter=ultralytics.export_ultralytics,
        importer=ultralytics.import_ultralytics))
    register("PASCAL VOC 1.1", F("ZIP", "1.1", exporter=voc.export_voc,
                                 importer=voc.import_voc))
    register("Segmentation mask 1.1", F("ZIP", "1.1", exporter=masks.export_masks,
                                        importer=masks.import_masks))
    register("Datumaro 1.0", F("ZIP", "1.0", exporter=datumaro.export_datumaro,
                               importer=datumaro.import_datumaro))


@hookimpl
def register_job_kinds(register: Register) -> None:
    from cvatcore.core.services import datasets_export, datasets_import

    register("export:dataset", datasets_export.run)
    register("import:annotations", datasets_import.run)
    register("delete:exports", datasets_export.run_drop_exports)


@hookimpl
def register_domain_subscribers(register: Register) -> None:
    from cvatcore.core.services import datasets_export

    register("drop-exports", datasets_export.drop_exports_of_deleted,
             scopes={"delete:task", "delete:project", "delete:job"})
