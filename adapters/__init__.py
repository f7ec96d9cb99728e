# SPDX-License-Identifier: EUPL-1.2
"""adapters: arrives with its issue (see DESIGN.md)."""
