"""``python -m tests.sitegen --articles N``: serve a generated site and print its URL."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from tests.sitegen.server import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.sitegen", description=__doc__)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--poison", action="store_true", help="add the poison article")
    args = parser.parse_args(argv)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with serve(args.articles, args.seed, poison=args.poison, port=args.port) as site:
        print(site.base_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            done.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
