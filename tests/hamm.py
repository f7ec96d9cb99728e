# SPDX-License-Identifier: EUPL-1.2
"""A small Hamm test set at real coordinates: parking sites, bike stations, climate stations, counters.

Hauptbahnhof: lon 7.8075, lat 51.6783. Maximilianpark: lon 7.8761, lat 51.6740 (about 4.8 km east).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

HBF = (7.8075, 51.6783)
MAXIPARK = (7.8761, 51.6740)
TODAY = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}


def _at(hours: float) -> str:
    return (TODAY + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def parking(name: str, lon: float, lat: float, free: int, total: int, scope: str) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:OffStreetParking:hamm-{name}",
        "type": "OffStreetParking",
        "scope": scope,
        "name": {"type": "Property", "value": f"Parkhaus {name.title()}"},
        "availableSpotNumber": {"type": "Property", "value": free, "observedAt": _at(1)},
        "totalSpotNumber": {"type": "Property", "value": total},
        "category": {"type": "Property", "value": ["public", "feeCharged"]},
        "refParkingGroup": {"type": "Relationship", "object": "urn:ngsi-ld:ParkingGroup:hamm-mitte"},
        "location": _point(lon, lat),
    }


def weather(name: str, lon: float, lat: float, temperature: float, observed_hours: float, scope: str) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:WeatherObserved:hamm-{name}",
        "type": "WeatherObserved",
        "scope": scope,
        "temperature": {"type": "Property", "value": temperature, "unitCode": "CEL", "observedAt": _at(observed_hours)},
        "relativeHumidity": {"type": "Property", "value": 0.41},
        "address": {"type": "Property", "value": {"addressLocality": "Hamm", "postalCode": "59065"}},
        "location": _point(lon, lat),
    }


ENTITIES: list[dict[str, Any]] = [
    parking("bahnhof", 7.8080, 51.6790, 121, 400, "/Hamm/Mitte"),  # ~80 m from the Hbf
    parking("allee-center", 7.8152, 51.6805, 8, 1300, "/Hamm/Mitte"),  # ~600 m
    parking("sued", 7.8090, 51.6700, 55, 200, "/Hamm/Sued"),  # ~930 m
    parking("maximilianpark", 7.8755, 51.6745, 300, 500, "/Hamm/Uentrop"),  # ~4.8 km
    {
        "id": "urn:ngsi-ld:BikeHireDockingStation:hamm-hbf",
        "type": "BikeHireDockingStation",
        "scope": "/Hamm/Mitte",
        "availableBikeNumber": {"type": "Property", "value": 7},
        "name": {"type": "LanguageProperty", "languageMap": {"de": "Fahrradstation Hauptbahnhof", "en": "Central station bikes"}},
        "location": _point(7.8070, 51.6779),
    },
    {
        "id": "urn:ngsi-ld:BikeHireDockingStation:hamm-maximilianpark",
        "type": "BikeHireDockingStation",
        "scope": "/Hamm/Uentrop",
        "availableBikeNumber": {"type": "Property", "value": 0},
        "location": _point(*MAXIPARK),
    },
    weather("marktplatz", 7.8180, 51.6807, 31.5, 2, "/Hamm/Mitte"),
    weather("rathaus", 7.8140, 51.6800, 29.0, 3, "/Hamm/Mitte"),
    weather("uentrop", 7.8900, 51.6700, 33.0, 2, "/Hamm/Uentrop"),
    weather("kurpark", 7.8300, 51.6600, 30.5, -30, "/Hamm/Mitte/Kurpark"),  # observed yesterday
    {
        "id": "urn:ngsi-ld:TrafficFlowObserved:hamm-hesslerstrasse",
        "type": ["TrafficFlowObserved", "Device"],
        "scope": "/Hamm/Mitte",
        "intensity": {"type": "Property", "value": 412, "observedAt": _at(1)},
        "laneDirection": {"type": "Property", "value": "forward"},
        "location": {
            "type": "GeoProperty",
            "value": {"type": "LineString", "coordinates": [[7.8200, 51.6850], [7.8260, 51.6880]]},
        },
    },
]
