# SPDX-License-Identifier: EUPL-1.2
"""`python -m agents.lorawan ...` = `citycontext agent lorawan ...`."""

import sys

from agents.cli import main

sys.exit(main(["lorawan", *sys.argv[1:]]))
