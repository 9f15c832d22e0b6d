"""Command line for the index: ``setup`` (templates, alias) and ``search``.

python -m services.indexer setup
python -m services.indexer search "putin syria" --topic energy --since 7d --place SY
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from services.indexer.search import SearchRequest, search
from services.indexer.templates import IndexLayout, ensure_layout
from shared.clients import make_elasticsearch
from shared.logging import configure_logging
from shared.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="newsflow-index", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "setup", help="install index templates, this year's index and the sources index (idempotent)"
    )
    s = sub.add_parser("search", help="full-text search of the headline index")
    s.add_argument("text", nargs="?", default="", help='query; "quoted phrases" match as phrases')
    s.add_argument("--topic", action="append", default=[], help="topic label or QCode (repeatable)")
    s.add_argument("--place", action="append", default=[], help="ISO country code (repeatable)")
    s.add_argument("--since", help="7d, 12h, 30m or an ISO date")
    s.add_argument("--until", help="7d, 12h, 30m or an ISO date")
    s.add_argument("--source", help="source id")
    s.add_argument("-n", "--size", type=int, default=10)
    s.add_argument("--all-copies", action="store_true", help="do not collapse duplicates")
    s.add_argument("--json", action="store_true", help="print hits as JSON lines")
    args = parser.parse_args(argv)

    settings = get_settings()
    configure_logging(settings, "indexer-cli")
    es = make_elasticsearch(settings)
    if args.command == "setup":
        languages, index = ensure_layout(es, IndexLayout.from_settings(settings), datetime.now(UTC))
        print(f"templates installed (language analysis: {languages}); current index {index}")
        return 0

    req = SearchRequest(
        text=args.text,
        topics=args.topic,
        places=args.place,
        since=args.since,
        until=args.until,
        source=args.source,
        size=args.size,
        collapse_duplicates=not args.all_copies,
    )
    total, hits = search(es, settings.index_prefix, req)
    if args.json:
        for hit in hits:
            print(json.dumps(hit.__dict__, ensure_ascii=False))
        return 0
    print(f"{total} matching articles")
    for rank, hit in enumerate(hits, 1):
        print(f"{rank:>2}. {hit.published_at[:16]}  {hit.title}")
        print(f"    {hit.url}")
        if hit.topics or hit.places:
            print(f"    topics: {', '.join(hit.topics) or '-'}   places: {', '.join(hit.places) or '-'}")
        if hit.snippet:
            print(f"    … {hit.snippet} …")
    return 0


if __name__ == "__main__":
    sys.exit(main())
