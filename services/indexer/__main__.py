import sys

from services.indexer.cli import main

sys.exit(main())
