"""The worker's Celery task shell: a declaration over ``shared.runner``.

``worker.process_url`` (handlers.process_url): fetch politely, extract, hand the document to
the indexer. Retries, host-slot waits, dead letters and outcome counters are the runner's.
"""

from __future__ import annotations

from services.worker import handlers
from shared.celery_app import create_app
from shared.messages import ProcessUrl, TaskName
from shared.runner import Stage, register
from shared.settings import get_settings

app = create_app("worker", get_settings())

PROCESS_URL = Stage(TaskName.PROCESS_URL, ProcessUrl, handlers.process_url, "extract", "article")

process_url = register(app, PROCESS_URL)
