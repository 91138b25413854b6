"""The customer setup guides in docs/ served as pages of the product.

The Markdown files are the one source: the repository shows them as they are, and the product
renders the same text, so the two cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import markdown
from django.conf import settings
from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class Guide:
    slug: str
    title: str
    html: SafeString


GUIDE_FILES = {
    "okta-setup": "okta-setup.md",
    "entra-setup": "entra-setup.md",
}


@cache
def guide_get(slug: str) -> Guide | None:
    """The guide rendered once per process; ``None`` for an unknown slug."""
    filename = GUIDE_FILES.get(slug)
    if filename is None:
        return None
    text = (settings.GUIDES_DIR / filename).read_text(encoding="utf-8")
    first_line, _, body = text.partition("\n")
    title = first_line.removeprefix("# ").strip()
    # The files are ours, in the repository; rendering them trusts their HTML like a template.
    html = markdown.markdown(body, extensions=["tables", "toc"], output_format="html")
    return Guide(slug=slug, title=title, html=mark_safe(html))
