"""The database-backed counters behind the SCIM rate limits."""

from __future__ import annotations

import time

from integrations import ratelimit
from integrations.models import RequestCounter


def test_hits_over_the_limit_return_the_seconds_left_in_the_window(db):
    waits = [ratelimit.hit("key:1", limit=3, window_seconds=3600) for _ in range(5)]
    assert waits[:3] == [None, None, None]
    assert all(isinstance(w, int) and 1 <= w <= 3600 for w in waits[3:])
    assert RequestCounter.objects.get(scope="key:1").hits == 5


def test_a_row_from_an_earlier_window_starts_again_at_one(db):
    RequestCounter.objects.create(scope="key:2", window_index=1, hits=10**6)
    assert ratelimit.hit("key:2", limit=1, window_seconds=60) is None
    assert RequestCounter.objects.get(scope="key:2").hits == 1


def test_a_lagging_clock_still_counts_in_the_newer_window(db):
    newer = int(time.time() // 60) + 5
    RequestCounter.objects.create(scope="key:3", window_index=newer, hits=1)
    assert ratelimit.hit("key:3", limit=1, window_seconds=60) is not None
    assert RequestCounter.objects.get(scope="key:3").window_index == newer


def test_the_sweep_removes_only_stale_rows_of_the_same_kind(db, monkeypatch):
    monkeypatch.setattr(ratelimit, "_SWEEP_ONE_IN", 1)
    RequestCounter.objects.create(scope="key:old", window_index=5, hits=1)
    ratelimit.hit("auth-failure:10.0.0.1", limit=100, window_seconds=600)
    ratelimit.hit("key:4", limit=100, window_seconds=60)
    # Key windows are numbered in minutes, failure windows in 10 minutes: a key request must
    # not sweep away the failure counts.
    assert RequestCounter.objects.filter(scope="auth-failure:10.0.0.1").exists()
    assert not RequestCounter.objects.filter(scope="key:old").exists()


def test_a_limit_of_zero_is_off_and_costs_no_query(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert ratelimit.hit("key:5", limit=0, window_seconds=60) is None
