# SPDX-License-Identifier: EUPL-1.2
"""What every agent shares: settings, the durable queue, northbound delivery, MQTT, health and metrics."""
