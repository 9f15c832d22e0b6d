"""Elasticsearch client factory, with the credentials the settings name."""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.serializer import OrjsonSerializer

from shared.settings import Settings


def make_elasticsearch(settings: Settings) -> Elasticsearch:
    options: dict[str, Any] = {
        "request_timeout": settings.elasticsearch_timeout,
        # Connection errors and 429/502/503/504 are retried by the transport before we see them.
        "retry_on_timeout": True,
        "max_retries": 2,
        # orjson for request bodies and responses: a bulk's serialisation was the largest cost
        # in the indexer's writer thread (docs/throughput.md).
        "serializer": OrjsonSerializer(),
    }
    if settings.elasticsearch_api_key is not None:
        options["api_key"] = settings.elasticsearch_api_key.get_secret_value()
    elif settings.elasticsearch_username and settings.elasticsearch_password is not None:
        options["basic_auth"] = (
            settings.elasticsearch_username,
            settings.elasticsearch_password.get_secret_value(),
        )
    if settings.elasticsearch_ca_certs is not None:
        options["ca_certs"] = str(settings.elasticsearch_ca_certs)
    return Elasticsearch(settings.elasticsearch_url, **options)
