"""The SCIM 2.0 API under /scim/v1. Only this package imports django_scim.

Other apps use only what this module exports: :func:`base_url`, the SCIM base URL that
clients are given (the Integrations page shows it).
"""

from directory.scim.schema import base_url

__all__ = ["base_url"]
