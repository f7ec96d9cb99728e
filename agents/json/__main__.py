# SPDX-License-Identifier: EUPL-1.2
"""`python -m agents.json ...` = `citycontext agent json ...`."""

import sys

from agents.cli import main

sys.exit(main(["json", *sys.argv[1:]]))
