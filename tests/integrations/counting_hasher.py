"""A password hasher that counts how often a password is hashed, for tests that show a refused
sign-in costs no hash. Stores the same format as Django's MD5 hasher."""

from __future__ import annotations

import threading
import time

from django.contrib.auth.hashers import MD5PasswordHasher


class CountingPasswordHasher(MD5PasswordHasher):
    calls = 0
    _lock = threading.Lock()

    def encode(self, password: str, salt: str) -> str:
        # Every check and every dummy hash of an unknown username goes through encode().
        with CountingPasswordHasher._lock:
            CountingPasswordHasher.calls += 1
        return super().encode(password, salt)


class SlowCountingPasswordHasher(CountingPasswordHasher):
    """As slow as a real hash, so concurrent sign-ins overlap inside the password check."""

    def encode(self, password: str, salt: str) -> str:
        time.sleep(0.2)
        return super().encode(password, salt)
