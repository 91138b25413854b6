"""The customer setup guides are pages of the product, linked from each provider's drawer."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from integrations.providers import PROVIDERS


@pytest.mark.parametrize(
    ("slug", "title", "section"),
    [
        ("okta-setup", "Set up user and group provisioning from Okta", "Attribute mappings"),
        ("entra-setup", "Set up user and group provisioning from Microsoft Entra ID", "Tenant URL"),
    ],
)
def test_each_guide_renders_from_its_markdown_with_the_troubleshooting_table(
    client, slug, title, section
):
    response = client.get(reverse("integrations:guide", args=[slug]))
    assert response.status_code == 200
    page = response.content.decode()
    assert f'<h1 class="page-title" id="guide-title">{title}</h1>' in page
    assert section in page
    assert '<h2 id="troubleshooting">Troubleshooting</h2>' in page
    troubleshooting = page.split('id="troubleshooting"', 1)[1]
    for status in ("401", "409", "413", "429", "503"):
        assert f"<td>{status}</td>" in troubleshooting
    # Every in-page link points at a heading that exists.
    for anchor in re.findall(r'href="#([^"]+)"', page):
        assert f'id="{anchor}"' in page, anchor


def test_an_unknown_guide_is_a_404(client):
    assert client.get("/help/not-a-guide/").status_code == 404


@pytest.mark.parametrize("kind", sorted(PROVIDERS))
def test_the_add_instance_drawer_links_to_its_providers_guide(client, alice, kind):
    client.force_login(alice)
    page = client.get(reverse("integrations:instance-new", args=[kind])).content.decode()
    link = reverse("integrations:guide", args=[PROVIDERS[kind].guide])
    assert f'href="{link}"' in page
    assert client.get(link).status_code == 200
