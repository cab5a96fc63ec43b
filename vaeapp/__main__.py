"""`python -m vaeapp …` runs the command line."""

import sys

from vaeapp.cli import main

sys.exit(main())
