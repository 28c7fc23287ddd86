"""`python -m batch_service serve --host 127.0.0.1 --port 0 --data-dir DIR`."""
from __future__ import annotations

import asyncio
import logging
import sys

from batch_service.app import serve
from batch_service.settings import settings_from_args


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and serve until SIGTERM."""
    settings = settings_from_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
