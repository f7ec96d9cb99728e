# SPDX-License-Identifier: EUPL-1.2
"""smart_data_models: arrives with its issue (see DESIGN.md)."""
