"""The worker's Celery task shell: a declaration over ``shared.runner``.

``worker.process_url`` (handlers.process_url): fetch politely, extract, hand the document to
the indexer. ``worker.retag_document`` (retag.retag_document): tag a stored article again
with the current model, in place. Retries, host-slot waits, dead letters and outcome
counters are the runner's.
"""

from __future__ import annotations

from services.worker import handlers, retag
from shared.celery_app import create_app
from shared.messages import ProcessUrl, RetagDocument, TaskName
from shared.runner import Stage, register
from shared.settings import get_settings

app = create_app("worker", get_settings())

PROCESS_URL = Stage(
    TaskName.PROCESS_URL,
    ProcessUrl,
    handlers.process_url,
    "extract",
    "article",
    on_final=handlers.settle_final,  # the seen-set learns every skip and dead letter
)

process_url = register(app, PROCESS_URL)

RETAG_DOCUMENT = Stage(TaskName.RETAG_DOCUMENT, RetagDocument, retag.retag_document, "extract", "retag")

retag_document = register(app, RETAG_DOCUMENT)
