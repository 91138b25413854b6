"""The customer setup guides as product pages (linked from each provider's drawer)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from integrations.guides import guide_get


@require_GET
def guide(request: HttpRequest, slug: str) -> HttpResponse:
    """Public on purpose: a setup guide holds nothing secret, and whoever configures Okta or
    Entra may not have an ActivTrak login."""
    found = guide_get(slug)
    if found is None:
        raise Http404("No such guide.")
    return render(request, "integrations/guide.html", {"guide": found})
