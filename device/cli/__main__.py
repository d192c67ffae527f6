"""`python -m device.cli`: the `doorcam` command."""

import sys

from device.cli import main

sys.exit(main())
