"""Authorization: rules as data (``rules.py``), checked and turned into SQL by ``engine.py``."""
