"""`python -m attnrec ...` — see attnrec/cli.py."""

import sys

from attnrec.cli import main

sys.exit(main())
