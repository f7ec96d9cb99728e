# SPDX-License-Identifier: EUPL-1.2
"""The JSON agent: FIWARE IoT Agent JSON conventions (MQTT and HTTP measures, /iot provisioning API)."""
