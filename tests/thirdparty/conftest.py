"""The plugins under here are separate distributions with their own tests; cvatcore's suite
runs those in a fresh environment (``test_fresh_environment.py``), not in its own."""

collect_ignore_glob = ["cvatcore-*"]
