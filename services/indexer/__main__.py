"""``python -m services.indexer run`` (the indexer process) | ``setup`` | ``search ...``."""

import sys

if sys.argv[1:2] == ["run"]:
    from services.indexer.consumer import main as run_main

    sys.exit(run_main())

from services.indexer.cli import main

sys.exit(main())
