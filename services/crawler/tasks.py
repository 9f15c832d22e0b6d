"""Celery task shells of the crawler: declarations over ``shared.runner``.

beat --(poll_tick_seconds)--> crawler.poll_due --> crawler.poll_source(source_id)
    --> crawler.fetch_listing(source_id, url, kind)  one fetch each, child sitemaps fan out
    --> worker.process_url(ProcessUrl)             each new article URL, exactly once

The work is in handlers.py (over crawl.py, listings.py, schedule.py); retries, waits, dead
letters and outcome counters are the runner's.
"""

from __future__ import annotations

from services.crawler import handlers
from shared.celery_app import create_app
from shared.messages import FetchListing, PollDue, PollSource, TaskName
from shared.runner import Stage, register
from shared.settings import get_settings

settings = get_settings()
app = create_app("crawler", settings)
app.conf.beat_schedule = {
    "poll-due": {"task": TaskName.POLL_DUE, "schedule": settings.poll_tick_seconds},
}

POLL_DUE = Stage(TaskName.POLL_DUE, PollDue, handlers.poll_due, "crawl", "poll", skipped="failed")
POLL_SOURCE = Stage(TaskName.POLL_SOURCE, PollSource, handlers.poll_source, "crawl", "poll", skipped="failed")
FETCH_LISTING = Stage(
    TaskName.FETCH_LISTING, FetchListing, handlers.fetch_listing, "crawl", "listing", skipped="failed"
)

poll_due = register(app, POLL_DUE)
poll_source = register(app, POLL_SOURCE)
fetch_listing = register(app, FETCH_LISTING)
