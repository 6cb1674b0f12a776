"""`python -m ssopoc` is the `ssopoc` command."""

import sys

from ssopoc.cli import main

sys.exit(main())
