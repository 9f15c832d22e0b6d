"""Command line of the indexer: ``setup`` (index templates, this year's index, the sources index).

python -m services.indexer setup

Searching and every other operator command live in the ``newsflow`` CLI (shared/cli.py).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

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
    parser.parse_args(argv)

    settings = get_settings()
    configure_logging(settings, "indexer-cli")
    es = make_elasticsearch(settings)
    languages, index = ensure_layout(es, IndexLayout.from_settings(settings), datetime.now(UTC))
    print(f"templates installed (language analysis: {languages}); current index {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
