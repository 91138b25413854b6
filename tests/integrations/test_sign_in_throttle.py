"""Every sign-in page (the product's, Okta SWA's address, Django admin's) goes through one
throttle, over real HTTP against a live server: per username, per address, refused before the
password is hashed, and with device cookies so an attacker cannot lock the real admin out."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth import get_user_model

from integrations.sign_in import DEVICE_COOKIE
from tests.conftest import ADMIN_PASSWORD
from tests.integrations.counting_hasher import CountingPasswordHasher
from tests.integrations.sign_in_browser import SIGN_IN_PAGES, SignInBrowser, signed_in, throttled

OPERATOR = "root@operator.example"

pytestmark = pytest.mark.parametrize("page", SIGN_IN_PAGES)


@pytest.fixture
def hashes(settings) -> type[CountingPasswordHasher]:
    settings.PASSWORD_HASHERS = ["tests.integrations.counting_hasher.CountingPasswordHasher"]
    CountingPasswordHasher.calls = 0
    return CountingPasswordHasher


@pytest.fixture
def operator(hashes):
    """A superuser whose username is an email, so every sign-in page accepts it."""
    return get_user_model().objects.create_superuser(OPERATOR, OPERATOR, ADMIN_PASSWORD)


@pytest.fixture
def behind_the_balancer(settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 1


def test_wrong_passwords_are_throttled_and_refused_without_hashing(
    page, live_server, operator, hashes, settings
):
    settings.SIGN_IN_FAILURE_LIMIT = 3
    browser = SignInBrowser(live_server.url)
    for _ in range(3):
        response = browser.sign_in(page, OPERATOR, "wrong password")
        assert response.status_code == 200 and "sessionid" not in response.cookies
    assert hashes.calls >= 3

    hashes.calls = 0
    for username, password in [
        (OPERATOR, "wrong password"),
        (OPERATOR.upper(), "another guess"),
        (OPERATOR, ADMIN_PASSWORD),
    ]:
        assert throttled(SignInBrowser(live_server.url).sign_in(page, username, password))
    assert hashes.calls == 0


def test_failures_for_one_account_from_many_addresses_are_limited(
    page, live_server, operator, hashes, behind_the_balancer, settings
):
    settings.SIGN_IN_FAILURE_LIMIT_PER_EMAIL = 4
    for number in range(4):
        browser = SignInBrowser(live_server.url, forwarded_for=f"203.0.113.{number + 1}")
        assert browser.sign_in(page, OPERATOR, f"guess {number}").status_code == 200

    hashes.calls = 0
    fresh_address = SignInBrowser(live_server.url, forwarded_for="198.51.100.99")
    assert throttled(fresh_address.sign_in(page, OPERATOR, ADMIN_PASSWORD))
    assert hashes.calls == 0
    # Another account is not held up by the attack on this one.
    get_user_model().objects.create_superuser("ops@operator.example", "", ADMIN_PASSWORD)
    assert signed_in(fresh_address.sign_in(page, "ops@operator.example", ADMIN_PASSWORD))


def test_failures_from_one_address_for_many_accounts_are_limited(
    page, live_server, operator, hashes, behind_the_balancer, settings
):
    settings.SIGN_IN_FAILURE_LIMIT_PER_ADDRESS = 3
    sprayer = SignInBrowser(live_server.url, forwarded_for="203.0.113.7")
    for number in range(3):
        assert sprayer.sign_in(page, f"user{number}@example.com", "Password1").status_code == 200

    hashes.calls = 0
    assert throttled(sprayer.sign_in(page, OPERATOR, ADMIN_PASSWORD))
    assert hashes.calls == 0
    # The operator from their own address is not held up.
    assert signed_in(
        SignInBrowser(live_server.url, forwarded_for="192.0.2.10").sign_in(
            page, OPERATOR, ADMIN_PASSWORD
        )
    )


@pytest.mark.parametrize(
    ("trusted_proxies", "forwarded_for"),
    [
        (1, "10.0.0.{n}, 203.0.113.5"),  # one proxy: forged entries left of the proxy's
        (1, "not-an-address-{n}, 203.0.113.5"),
        (1, "192.0.2.{n}, 10.1.1.{n}, 203.0.113.5"),
        (2, "198.51.100.{n}, 203.0.113.5, 10.0.0.2"),  # two proxies
        (0, "198.51.100.{n}"),  # no proxy: the header is not read at all
    ],
)
def test_forged_forwarded_for_entries_buy_no_fresh_address(
    page, live_server, operator, hashes, settings, trusted_proxies, forwarded_for
):
    settings.TRUSTED_PROXY_COUNT = trusted_proxies
    settings.SIGN_IN_FAILURE_LIMIT_PER_ADDRESS = 3
    for n in range(1, 4):
        sprayer = SignInBrowser(live_server.url, forwarded_for=forwarded_for.format(n=n))
        assert sprayer.sign_in(page, f"user{n}@example.com", "Password1").status_code == 200

    hashes.calls = 0
    forged = SignInBrowser(live_server.url, forwarded_for=forwarded_for.format(n=99))
    assert throttled(forged.sign_in(page, OPERATOR, ADMIN_PASSWORD))
    assert hashes.calls == 0


def _returning_browser(live_server, device_cookie: str, forwarded_for: str) -> SignInBrowser:
    """The admin's browser on another day: no session any more, only its device cookie."""
    browser = SignInBrowser(live_server.url, forwarded_for=forwarded_for)
    browser.session.cookies.set(DEVICE_COOKIE, device_cookie)
    return browser


def _attack(live_server, page: str, username: str, tries: int) -> None:
    for number in range(tries):
        attacker = SignInBrowser(live_server.url, forwarded_for=f"203.0.113.{number % 250 + 1}")
        attacker.sign_in(page, username, f"guess {number}")


def test_a_device_cookie_lets_the_admin_in_while_the_attacker_is_throttled(
    page, live_server, operator, hashes, behind_the_balancer, settings
):
    first_visit = SignInBrowser(live_server.url, forwarded_for="192.0.2.10")
    response = first_visit.sign_in(page, OPERATOR, ADMIN_PASSWORD)
    assert signed_in(response)
    device_cookie = response.cookies[DEVICE_COOKIE]

    _attack(live_server, page, OPERATOR, settings.SIGN_IN_FAILURE_LIMIT_PER_EMAIL + 3)

    hashes.calls = 0
    # The attacker, even with the right password, and any unknown browser are throttled ...
    assert throttled(
        SignInBrowser(live_server.url, forwarded_for="203.0.113.200").sign_in(
            page, OPERATOR, ADMIN_PASSWORD
        )
    )
    assert hashes.calls == 0
    # ... while the admin's own browser signs in, from home or from the attacker's address.
    for address in ["192.0.2.10", "198.51.100.20", "203.0.113.1"]:
        returning = _returning_browser(live_server, device_cookie, address)
        response = returning.sign_in(page, OPERATOR, ADMIN_PASSWORD)
        assert signed_in(response)
        device_cookie = response.cookies[DEVICE_COOKIE]


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda cookie: cookie[:-2] + ("AA" if cookie[-2:] != "AA" else "BB"), id="tampered"),
        pytest.param(lambda cookie: "", id="empty"),
        pytest.param(lambda cookie: "garbage", id="garbage"),
    ],
)
def test_a_spoilt_device_cookie_counts_as_an_unknown_browser(
    page, live_server, operator, hashes, behind_the_balancer, settings, spoil
):
    device_cookie = SignInBrowser(live_server.url).sign_in(page, OPERATOR, ADMIN_PASSWORD).cookies[
        DEVICE_COOKIE
    ]
    _attack(live_server, page, OPERATOR, settings.SIGN_IN_FAILURE_LIMIT_PER_EMAIL)

    spoilt = _returning_browser(live_server, spoil(device_cookie), "192.0.2.10")
    assert throttled(spoilt.sign_in(page, OPERATOR, ADMIN_PASSWORD))


def test_a_device_cookie_vouches_only_for_the_username_it_was_issued_to(
    page, live_server, operator, hashes, behind_the_balancer, settings
):
    get_user_model().objects.create_superuser("ops@operator.example", "", ADMIN_PASSWORD)
    ops_cookie = SignInBrowser(live_server.url).sign_in(
        page, "ops@operator.example", ADMIN_PASSWORD
    ).cookies[DEVICE_COOKIE]
    _attack(live_server, page, OPERATOR, settings.SIGN_IN_FAILURE_LIMIT_PER_EMAIL)

    borrowed = _returning_browser(live_server, ops_cookie, "192.0.2.10")
    assert throttled(borrowed.sign_in(page, OPERATOR, ADMIN_PASSWORD))


def test_a_device_cookie_that_keeps_failing_is_locked_on_its_own(
    page, live_server, operator, hashes, behind_the_balancer, settings
):
    settings.SIGN_IN_FAILURE_LIMIT = 3
    device_cookie = SignInBrowser(live_server.url).sign_in(page, OPERATOR, ADMIN_PASSWORD).cookies[
        DEVICE_COOKIE
    ]
    stolen = _returning_browser(live_server, device_cookie, "203.0.113.66")
    for number in range(3):
        assert stolen.sign_in(page, OPERATOR, f"guess {number}").status_code == 200

    hashes.calls = 0
    assert throttled(stolen.sign_in(page, OPERATOR, ADMIN_PASSWORD))
    assert hashes.calls == 0
    # The account itself is not locked: an unknown browser elsewhere still signs in.
    assert signed_in(
        SignInBrowser(live_server.url, forwarded_for="192.0.2.10").sign_in(
            page, OPERATOR, ADMIN_PASSWORD
        )
    )


def test_concurrent_wrong_passwords_get_no_more_checks_than_the_limit(
    page, live_server, settings
):
    settings.PASSWORD_HASHERS = ["tests.integrations.counting_hasher.SlowCountingPasswordHasher"]
    settings.SIGN_IN_FAILURE_LIMIT = 3
    get_user_model().objects.create_superuser(OPERATOR, OPERATOR, ADMIN_PASSWORD)
    CountingPasswordHasher.calls = 0
    attackers = 16
    browsers = [SignInBrowser(live_server.url) for _ in range(attackers)]
    forms = [browser.ready(page) for browser in browsers]
    start = threading.Barrier(attackers)

    def guess(number: int) -> int:
        start.wait()
        return browsers[number].submit(page, forms[number], OPERATOR, f"guess {number}").status_code

    with ThreadPoolExecutor(attackers) as pool:
        statuses = list(pool.map(guess, range(attackers)))

    assert statuses.count(200) == 3, statuses
    assert statuses.count(429) == attackers - 3, statuses
    assert CountingPasswordHasher.calls == 3
