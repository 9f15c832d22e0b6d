"""Clients for the stores, built once per process from settings and passed in."""

from shared.clients.elasticsearch import make_elasticsearch
from shared.clients.redis import celery_broker, make_broker_redis, make_redis, parse_redis_url

__all__ = ["celery_broker", "make_broker_redis", "make_elasticsearch", "make_redis", "parse_redis_url"]
