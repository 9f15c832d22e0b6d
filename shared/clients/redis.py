"""Redis client factories: one pooled client per process, for the shared state and the broker.

Two deployments may serve newsflow: ``REDIS_URL`` holds the shared state (seen-set, host rate
slots, duplicates, counters, dead letters, the delay queue) and ``BROKER_URL`` the Celery
queues; ``BROKER_URL`` defaults to ``REDIS_URL`` (one Redis for both).

URL forms, for either setting:

* ``redis://[:password@]host:6379/0`` and ``rediss://`` (TLS), as redis-py reads them;
* ``redis+sentinel://[:password@]host1:26379,host2:26379/0?master=mymaster`` (also
  ``sentinel://``): the Sentinels to ask for the current master of ``master`` (default
  ``REDIS_SENTINEL_MASTER``). The password is the master's; Sentinels are asked with the same one.

A password can also come from ``REDIS_PASSWORD`` (a secret, kept out of URLs and command
lines); a password inside the URL wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import redis
from redis.sentinel import Sentinel

from shared.settings import Settings

_SENTINEL_SCHEMES = ("redis+sentinel", "sentinel")
# Short socket timeouts: a stalled Redis must surface as a retryable error, not a hang.
_CLIENT_OPTIONS: dict[str, Any] = {
    "decode_responses": True,
    "socket_timeout": 10,
    "socket_connect_timeout": 5,
    "health_check_interval": 30,
}


@dataclass(frozen=True)
class RedisTarget:
    """Where one Redis deployment lives, parsed from its URL."""

    url: str = field(repr=False)
    sentinels: tuple[tuple[str, int], ...] = ()
    master: str = ""
    db: int = 0
    password: str | None = field(default=None, repr=False)

    @property
    def is_sentinel(self) -> bool:
        return bool(self.sentinels)


def parse_redis_url(
    url: str, *, default_master: str = "mymaster", password: str | None = None
) -> RedisTarget:
    parts = urlsplit(url)
    url_password = unquote(parts.password) if parts.password else None
    if parts.scheme not in _SENTINEL_SCHEMES:
        return RedisTarget(url=url, password=url_password or password)
    netloc = parts.netloc.rpartition("@")[2]
    sentinels = []
    for hostport in netloc.split(","):
        host, _, port = hostport.strip().rpartition(":") if ":" in hostport else (hostport, "", "26379")
        if not host:
            raise ValueError(f"bad Sentinel address {hostport!r} in a redis+sentinel:// URL")
        sentinels.append((host.strip("[]"), int(port or 26379)))
    query = parse_qs(parts.query)
    path = parts.path.strip("/")
    return RedisTarget(
        url=url,
        sentinels=tuple(sentinels),
        master=query.get("master", [default_master])[0],
        db=int(path) if path.isdigit() else 0,
        password=url_password or password,
    )


def _target(settings: Settings, url: str) -> RedisTarget:
    secret = settings.redis_password.get_secret_value() if settings.redis_password else None
    return parse_redis_url(url, default_master=settings.redis_sentinel_master, password=secret)


def _client(target: RedisTarget) -> redis.Redis:
    if target.is_sentinel:
        sentinel = Sentinel(
            list(target.sentinels),
            sentinel_kwargs={"password": target.password, "socket_timeout": 5},
            socket_timeout=10,
            socket_connect_timeout=5,
        )
        client: redis.Redis = sentinel.master_for(
            target.master, db=target.db, password=target.password, **_CLIENT_OPTIONS
        )
        return client
    options = dict(_CLIENT_OPTIONS)
    if target.password and not urlsplit(target.url).password:
        options["password"] = target.password
    return redis.Redis.from_url(target.url, **options)


def make_redis(settings: Settings) -> redis.Redis:
    """The shared-state Redis (``REDIS_URL``)."""
    return _client(_target(settings, settings.redis_url))


def make_broker_redis(settings: Settings) -> redis.Redis:
    """The broker's Redis (``BROKER_URL``, default ``REDIS_URL``): queue lists live here."""
    return _client(_target(settings, settings.broker))


def celery_broker(settings: Settings) -> tuple[str, dict[str, Any]]:
    """Kombu's broker URL and the extra transport options for it.

    Kombu spells Sentinel as ``sentinel://`` URLs joined by ``;`` plus a ``master_name``
    option. A password from ``REDIS_PASSWORD`` is put into the URL kombu gets (kombu masks it
    as ``**`` wherever it prints the URL); it never appears in our own settings or logs.
    """
    target = _target(settings, settings.broker)
    auth = f":{quote(target.password, safe='')}@" if target.password else ""
    if target.is_sentinel:
        urls = ";".join(f"sentinel://{auth}{host}:{port}/{target.db}" for host, port in target.sentinels)
        options: dict[str, Any] = {"master_name": target.master}
        if target.password:
            options["sentinel_kwargs"] = {"password": target.password}
        return urls, options
    parts = urlsplit(target.url)
    if target.password and not parts.password:
        netloc = auth + parts.netloc.rpartition("@")[2]
        return parts._replace(netloc=netloc).geturl(), {}
    return target.url, {}
