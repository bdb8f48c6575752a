import sys

from chessformer.cli import main

sys.exit(main())
