from __future__ import annotations


class DirectoryError(Exception):
    """A rule of the directory was broken; the SCIM layer and the UI turn it into their errors.

    ``scim_type`` is the RFC 7644 scimType (uniqueness, invalidValue, mutability, ...).
    """

    def __init__(self, detail: str, *, scim_type: str | None = None, status: int = 400) -> None:
        super().__init__(detail)
        self.detail = detail
        self.scim_type = scim_type
        self.status = status
