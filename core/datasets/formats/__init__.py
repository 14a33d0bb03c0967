"""The built-in dataset formats, one module each; ``core/builtin/dataset_formats.py``
registers them through ``register_dataset_formats`` like any plugin would."""
