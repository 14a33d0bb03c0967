"""Hook specs for inference backends that run automatic-annotation functions.

A backend is a model server (Nuclio, the built-in OpenCV detectors, ...) that lists functions
and runs them on frames; ``/api/lambda`` lists the functions of every enabled backend, calls
them on one frame, and runs them over whole tasks in background jobs. The object a backend's
factory returns follows ``cvatcore.hooks.InferenceBackend`` (``list_functions``, ``invoke``,
``health``); descriptors and errors are in ``cvatcore.hooks.inference_types``; the contract
tests every backend passes are ``InferenceBackendContract`` and (for a remote server)
``UnreachableInferenceContract`` in ``cvatcore.hooks.testing.contracts``; the testing kit's
``images.face_png()`` is a frame the built-in face detector finds.
"""

from cvatcore.hooks.markers import hookspec
from cvatcore.hooks.types import Register


@hookspec
def register_inference_backends(register: Register) -> None:
    """Add inference backends (model servers) that ``/api/lambda`` functions run on.

    Called: once, synchronously, while the application is built. The factories run when a
    backend is first used (the first ``/api/lambda`` request or batch job), once per process.

    Arguments:
        register: ``register(name, factory, config_model=..., description=...)``
            (``cvatcore.hooks.Register``): ``config_model`` is a ``ProviderConfig`` subclass
            (``EmptyConfig`` by default), ``description`` is shown by ``cvatcore plugins``.
            ``factory(config)`` returns an object that follows
            ``cvatcore.hooks.InferenceBackend``: ``list_functions()`` returns descriptors
            (``id``, ``name``, ``kind`` detector/interactor/tracker/reid, ``labels_v2`` with
            types, attributes and sublabels, ``description``, ``version``),
            ``invoke(function_id, payload)`` runs one function on one frame and
            ``health()`` says whether the server can be used. ``payload`` holds ``image``
            (base64; only the ``roi`` when a request gives one: the core moves the answer
            back) and, by kind, CVAT's fields: detectors ``threshold``; interactors
            ``pos_points``, ``neg_points``, ``obj_bbox``; trackers ``shapes`` and
            ``states`` (the function's own states, which the core signs before clients
            see them and checks when they come back), answered with ``{"shapes",
            "states"}``. A tracker's descriptor lists ``supported_shape_types``.
            Operators enable backends with ``[inference] backends = [...]`` (their order
            decides which backend serves an id two of them list) and set options under
            ``[inference.options.<name>]``.

    Returns:
        Nothing; backends are added only through ``register``. Duplicate names stop start-up.
        Errors a backend raises at run time are ``cvatcore.hooks.inference_types``
        classes, which the API answers with 503 (unreachable), 504 (timeout), 404 (unknown
        function) or the upstream status.

    Example::

        from cvatcore.hooks.inference_types import describe_function

        class Echo:
            def __init__(self, config): ...
            def list_functions(self):
                return [describe_function("echo", labels=[{"name": "box"}])]
            def invoke(self, function_id, payload):
                return [{"label": "box", "type": "rectangle", "points": [0, 0, 1, 1],
                         "confidence": 1.0}]
            def health(self):
                return {"ok": True, "detail": ""}

        @hookimpl
        def register_inference_backends(register):
            register("echo", Echo)
    """
