"""Dataset formats: the archive plumbing (safe reading, streamed writing), the registry filled
by ``register_dataset_formats``, and the built-in formats (one module each under
``formats/``). A library: it knows no services, permissions or HTTP."""
