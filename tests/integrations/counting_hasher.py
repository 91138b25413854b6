"""A password hasher that counts how often a password is hashed, for tests that show a refused
sign-in costs no hash. Stores the same format as Django's MD5 hasher."""

from __future__ import annotations

import threading

from django.contrib.auth.hashers import MD5PasswordHasher


class CountingPasswordHasher(MD5PasswordHasher):
    calls = 0
    _lock = threading.Lock()

    def encode(self, password: str, salt: str) -> str:
        # Every check and every dummy hash of an unknown username goes through encode().
        with CountingPasswordHasher._lock:
            CountingPasswordHasher.calls += 1
        return super().encode(password, salt)
