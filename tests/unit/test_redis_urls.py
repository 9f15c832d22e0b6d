"""Redis URLs: plain, with a password from the settings, and Sentinel; broker vs shared state."""

from __future__ import annotations

import pytest

from shared.clients.redis import celery_broker, parse_redis_url
from shared.settings import Settings


def test_plain_url_is_kept() -> None:
    target = parse_redis_url("redis://cache:6379/2")
    assert not target.is_sentinel and target.url == "redis://cache:6379/2" and target.password is None


def test_sentinel_url_lists_sentinels_master_and_db() -> None:
    target = parse_redis_url("redis+sentinel://:s3cret@s1:26379,s2:26380,s3/1?master=newsflow")
    assert target.sentinels == (("s1", 26379), ("s2", 26380), ("s3", 26379))
    assert target.master == "newsflow" and target.db == 1 and target.password == "s3cret"
    assert "s3cret" not in repr(target)


def test_sentinel_master_defaults_from_the_setting() -> None:
    assert parse_redis_url("sentinel://s1:26379", default_master="m").master == "m"


def test_broker_defaults_to_the_shared_redis_and_can_be_another_one() -> None:
    one = Settings(redis_url="redis://state:6379/0")
    assert one.broker == "redis://state:6379/0"
    assert celery_broker(one) == ("redis://state:6379/0", {})
    two = Settings(redis_url="redis://state:6379/0", broker_url="redis://queues:6379/3")
    assert celery_broker(two) == ("redis://queues:6379/3", {})


def test_broker_password_from_the_setting_goes_into_kombus_url_only() -> None:
    settings = Settings(redis_url="redis://redis:6379/0", redis_password="p@ss/word")
    url, options = celery_broker(settings)
    assert url == "redis://:p%40ss%2Fword@redis:6379/0" and options == {}
    assert "p@ss" not in repr(settings)


def test_broker_sentinel_becomes_kombus_sentinel_form() -> None:
    settings = Settings(broker_url="redis+sentinel://:pw@s1:26379,s2:26379/0?master=queues")
    url, options = celery_broker(settings)
    assert url == "sentinel://:pw@s1:26379/0;sentinel://:pw@s2:26379/0"
    assert options == {"master_name": "queues", "sentinel_kwargs": {"password": "pw"}}


@pytest.mark.parametrize("url", ["redis+sentinel://:x@:26379/0"])
def test_bad_sentinel_address_is_refused(url: str) -> None:
    with pytest.raises(ValueError):
        parse_redis_url(url)
