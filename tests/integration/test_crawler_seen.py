"""The shared seen-set on the real Redis."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from shared.keys import Keys
from shared.seen import (
    forget,
    is_seen,
    mark_new,
    mark_new_many,
    url_key_hash,
)

pytestmark = pytest.mark.integration


def test_mark_new_once_per_normalised_url(redis_client: Any, unique_name: str) -> None:
    keys = Keys(unique_name)
    url = "https://Example.com:443/news/a.html?utm_source=x#top"
    assert mark_new(redis_client, keys, url, 3600)
    assert not mark_new(redis_client, keys, "https://example.com/news/a.html", 3600)
    assert is_seen(redis_client, keys, "https://example.com/news/a.html?fbclid=1")
    ttl = redis_client.ttl(keys.seen(url_key_hash(url)))
    assert 3590 < ttl <= 3600
    forget(redis_client, keys, url)
    assert not is_seen(redis_client, keys, url)


def test_mark_new_many_and_concurrent_claims(redis_client: Any, unique_name: str) -> None:
    keys = Keys(unique_name)
    urls = [f"https://ex.com/n/{i}-12345" for i in range(50)]
    assert mark_new_many(redis_client, keys, urls[:10], 60) == [True] * 10
    wins: list[int] = []
    lock = threading.Lock()

    def claim() -> None:
        won = sum(mark_new_many(redis_client, keys, urls, 60))
        with lock:
            wins.append(won)

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(wins) == 40  # every remaining URL claimed by exactly one thread
