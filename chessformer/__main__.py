"""``python -m chessformer``: the same as the ``chessformer`` console script."""

import sys

from chessformer.cli import main

sys.exit(main())
