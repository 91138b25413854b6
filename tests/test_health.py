"""Health probes answer whatever the Host header says: load balancers and Kubernetes send the
host's IP address, which DJANGO_ALLOWED_HOSTS does not list."""

from __future__ import annotations

import pytest
import requests


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_with_an_ip_host_header_are_answered(live_server, path):
    response = requests.get(live_server.url + path, headers={"Host": "10.0.3.7:8000"}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"


def test_other_paths_still_refuse_unknown_hosts(live_server):
    response = requests.get(live_server.url + "/accounts/login/", headers={"Host": "10.0.3.7:8000"}, timeout=10)
    assert response.status_code == 400
