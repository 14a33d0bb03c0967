"""Import ldap3 once with pyasn1's import-time deprecation warnings silenced.

ldap3 2.9.1 (the latest release) imports ``tagMap`` and ``typeMap`` from pyasn1, which
pyasn1 0.6.1+ deprecates; under ``-W error`` (cvatcore's test settings) that import would
fail. Every module of this package imports ldap3 after this one.
"""

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"ldap3\..*")
    import ldap3  # noqa: F401
