"""Health probes answer whatever the Host header says: load balancers and Kubernetes send the
host's IP address, which DJANGO_ALLOWED_HOSTS does not list."""

from __future__ import annotations

import pytest
import requests


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_with_an_ip_host_header_are_answered_and_pages_are_not(live_server, path):
    probe_host = {"Host": "10.0.3.7:8000"}

    response = requests.get(live_server.url + path, headers=probe_host, timeout=10)
    page = requests.get(live_server.url + "/accounts/login/", headers=probe_host, timeout=10)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"
    assert page.status_code == 400
