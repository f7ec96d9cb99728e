# SPDX-License-Identifier: EUPL-1.2
"""The LoRaWAN agent: The Things Stack v3 and ChirpStack v4 uplinks over MQTT -> NGSI-LD entities."""
