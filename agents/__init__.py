# SPDX-License-Identifier: EUPL-1.2
"""agents: arrives with its issue (see DESIGN.md)."""
