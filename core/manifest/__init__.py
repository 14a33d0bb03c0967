"""CVAT dataset manifests (manifest.jsonl, format 1.1): create, read and validate."""
