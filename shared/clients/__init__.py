"""Clients for the stores, built once per process from settings and passed in."""

from shared.clients.elasticsearch import make_elasticsearch
from shared.clients.redis import make_redis

__all__ = ["make_elasticsearch", "make_redis"]
