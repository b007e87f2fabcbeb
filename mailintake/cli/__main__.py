"""`python -m mailintake.cli`, the same as the `mailintake` console script."""

import sys

from mailintake.cli import main

sys.exit(main())
