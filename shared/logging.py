"""Logging set-up, once per process: structlog for our events, stdlib routed through it.

Every record (ours, Celery's, kombu's, elasticsearch's, trafilatura's) leaves as one JSON
object per line in production, or a coloured line in development (``LOG_FORMAT``).
"""

from __future__ import annotations

import logging
import sys

import structlog

from shared.settings import LogFormat, Settings

# Third-party loggers that are chatty at INFO and say nothing an operator needs.
_QUIET = ("elastic_transport", "trafilatura", "htmldate", "courlan", "httpx", "httpcore")

MAX_ERROR_CHARS = 500


def truncate(text: object, limit: int = MAX_ERROR_CHARS) -> str:
    """Exception text can carry whole pages; logs and dead letters get a bounded prefix."""
    s = str(text)
    return s if len(s) <= limit else s[:limit] + "…"


def _shared_processors() -> list[structlog.typing.Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def configure_logging(settings: Settings, service: str, *, cache: bool = True) -> None:
    """Configure structlog and the stdlib root logger for ``service``."""
    shared = _shared_processors()
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=cache,
    )
    if settings.log_format is LogFormat.JSON:
        renderer: structlog.typing.Processor = structlog.processors.JSONRenderer()
        final: list[structlog.typing.Processor] = [structlog.processors.dict_tracebacks, renderer]
    else:
        final = [structlog.dev.ConsoleRenderer()]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)
