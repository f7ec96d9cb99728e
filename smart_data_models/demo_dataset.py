# SPDX-License-Identifier: EUPL-1.2
"""The Hamm demo dataset: the city's entities as Smart Data Models, at real (approximate) places.

Each DemoEntity is a normalized NGSI-LD entity written with the attribute names of its model's
Smart Data Models @context, plus the Signals (demo_signals.py) of its observed attributes. The
places are real and their coordinates approximate (to about 100 m); names of car parks, stations
and sensors are descriptive, and all values are invented. demo.py turns the dataset into the
entities to load (values at a given time) and into a week of history.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from smart_data_models import demo_signals as s
from smart_data_models.demo_signals import Signal

STEP_15_MIN = 900
STEP_HOUR = 3600
STEP_DAY = 86400
INSTALLED = datetime(2023, 5, 2, 8, 0, tzinfo=UTC)
PROJECT_START = datetime(2026, 10, 1, 7, 0, tzinfo=UTC)

Lonlat = tuple[float, float]

HAUPTBAHNHOF: Lonlat = (7.8075, 51.6783)
MARKTPLATZ: Lonlat = (7.8183, 51.6806)
MAXIMILIANPARK: Lonlat = (7.8761, 51.6740)
TIERPARK: Lonlat = (7.8164, 51.6629)
GUSTAV_LUEBCKE_MUSEUM: Lonlat = (7.8098, 51.6789)
MAXIMARE: Lonlat = (7.8400, 51.6905)
KURPARK: Lonlat = (7.8467, 51.6922)
SIGNAL_HESSLERSTRASSE: Lonlat = (7.8415, 51.6712)

# The seven districts (Stadtbezirke): a point in each, and the offset of its climate station
# from the city's mean temperature (the centre is an urban heat island).
DISTRICTS: dict[str, tuple[Lonlat, float]] = {
    "Mitte": ((7.8190, 51.6818), 1.2),
    "Heessen": ((7.8530, 51.7045), -0.3),
    "Bockum-Hövel": ((7.7450, 51.6930), -0.1),
    "Uentrop": ((7.9200, 51.6700), -0.4),
    "Pelkum": ((7.7592, 51.6465), 0.1),
    "Herringen": ((7.7390, 51.6620), 0.0),
    "Rhynern": ((7.8560, 51.6285), -0.6),
}


@dataclass(frozen=True, slots=True)
class Observed:
    """An observed attribute: its value over time, how often it is measured, its unit (UN/CEFACT)."""

    signal: Signal
    step_s: int
    unit_code: str | None = None
    history: bool = True  # False: a current value only (e.g. a timestamp of the last report)


@dataclass
class DemoEntity:
    entity: dict[str, Any]
    observed: dict[str, Observed] = field(default_factory=dict)
    interval_s: int | None = None  # *Observed types: the counting interval (dateObservedFrom/To)

    @property
    def id(self) -> str:
        return str(self.entity["id"])

    @property
    def type(self) -> str:
        return str(self.entity["type"])


# -- helpers -----------------------------------------------------------------------------------------


def urn(entity_type: str, slug: str) -> str:
    return f"urn:ngsi-ld:{entity_type}:hamm-{slug}"


def prop(value: Any, **members: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value, **members}


def rel(target: str | list[str]) -> dict[str, Any]:
    return {"type": "Relationship", "object": target}


def geo(geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "GeoProperty", "value": geometry}


def point(place: Lonlat) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [round(place[0], 6), round(place[1], 6)]}


def moved(place: Lonlat, east_m: float, north_m: float) -> Lonlat:
    return (
        place[0] + east_m / (111_320 * math.cos(math.radians(place[1]))),
        place[1] + north_m / 111_320,
    )


def line(start: Lonlat, end: Lonlat) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [point(start)["coordinates"], point(end)["coordinates"]]}


def rectangle(south_west: Lonlat, width_m: float, height_m: float) -> dict[str, Any]:
    corners = [
        south_west,
        moved(south_west, width_m, 0),
        moved(south_west, width_m, height_m),
        moved(south_west, 0, height_m),
        south_west,
    ]
    return {"type": "Polygon", "coordinates": [[point(corner)["coordinates"] for corner in corners]]}


def address(street: str, postal_code: str, district: str) -> dict[str, Any]:
    return prop(
        {
            "streetAddress": street,
            "postalCode": postal_code,
            "addressLocality": "Hamm",
            "district": district,
            "addressRegion": "Nordrhein-Westfalen",
            "addressCountry": "DE",
        }
    )


def scope(district: str) -> str:
    return f"/Hamm/{district}"


def length_m(start: Lonlat, end: Lonlat) -> float:
    east = (end[0] - start[0]) * 111_320 * math.cos(math.radians(start[1]))
    north = (end[1] - start[1]) * 111_320
    return round(math.hypot(east, north))


# -- mobility -----------------------------------------------------------------------------------------

# (slug, name, start, end, lanes, speed limit km/h, district)
_ROADS: list[tuple[str, str, Lonlat, Lonlat, int, int, str]] = [
    ("marker-allee-1", "Marker Allee", (7.8330, 51.6730), (7.8490, 51.6695), 2, 50, "Uentrop"),
    ("hesslerstrasse-1", "Heßlerstraße", (7.8405, 51.6765), (7.8425, 51.6660), 2, 50, "Uentrop"),
    ("weststrasse-1", "Weststraße", (7.8120, 51.6803), (7.8178, 51.6806), 1, 20, "Mitte"),
    ("oststrasse-1", "Oststraße", (7.8190, 51.6806), (7.8262, 51.6808), 1, 20, "Mitte"),
    ("werler-strasse-1", "Werler Straße (B 63)", (7.8300, 51.6620), (7.8330, 51.6480), 4, 50, "Mitte"),
    ("kamener-strasse-1", "Kamener Straße (B 61)", (7.7960, 51.6745), (7.7740, 51.6660), 4, 50, "Pelkum"),
    ("muensterstrasse-1", "Münsterstraße", (7.8075, 51.6880), (7.8050, 51.6990), 2, 50, "Bockum-Hövel"),
    ("heessener-strasse-1", "Heessener Straße", (7.8240, 51.6870), (7.8420, 51.6990), 2, 50, "Heessen"),
    ("ostring-1", "Ostring", (7.8262, 51.6760), (7.8270, 51.6850), 4, 50, "Mitte"),
    ("dortmunder-strasse-1", "Dortmunder Straße", (7.7990, 51.6760), (7.7850, 51.6720), 2, 50, "Mitte"),
]


def road_segments() -> list[DemoEntity]:
    found = []
    for slug, name, start, end, lanes, limit, district in _ROADS:
        road = slug.rsplit("-", 1)[0]
        found.append(
            DemoEntity(
                {
                    "id": urn("RoadSegment", slug),
                    "type": "RoadSegment",
                    "scope": scope(district),
                    "name": prop(name),
                    "refRoad": rel(urn("Road", road)),
                    "location": geo(line(start, end)),
                    "startPoint": geo(point(start)),
                    "endPoint": geo(point(end)),
                    "length": prop(length_m(start, end), unitCode="MTR"),
                    "totalLaneNumber": prop(lanes),
                    "maximumAllowedSpeed": prop(limit, unitCode="KMH"),
                    "allowedVehicleType": prop(
                        ["bicycle"] if limit == 20 else ["car", "bus", "lorry", "motorcycle", "bicycle"]
                    ),
                    "roadClass": prop("MAJOR_CITY_ROAD" if lanes >= 2 else "MINOR_CITY_ROAD"),
                }
            )
        )
    return found


# (slug, name, road segment, place, peak vehicles/h per lane direction, free speed km/h, district)
_CAR_COUNTERS: list[tuple[str, str, str, Lonlat, float, float, str]] = [
    ("werler-strasse", "Zählstelle Werler Straße (B 63)", "werler-strasse-1", (7.8318, 51.6555), 1400, 52, "Mitte"),
    ("kamener-strasse", "Zählstelle Kamener Straße (B 61)", "kamener-strasse-1", (7.7850, 51.6702), 1250, 50, "Pelkum"),
    ("muensterstrasse", "Zählstelle Münsterstraße", "muensterstrasse-1", (7.8062, 51.6935), 800, 48, "Bockum-Hövel"),
    ("heessener-strasse", "Zählstelle Heessener Straße", "heessener-strasse-1", (7.8330, 51.6930), 900, 47, "Heessen"),
    ("ostring", "Zählstelle Ostring", "ostring-1", (7.8266, 51.6805), 1100, 45, "Mitte"),
    ("dortmunder-strasse", "Zählstelle Dortmunder Straße", "dortmunder-strasse-1", (7.7920, 51.6740), 700, 46, "Mitte"),
    ("marker-allee-cars", "LSA Heßlerstraße / Marker Allee: Kfz", "marker-allee-1", (7.8408, 51.6713), 650, 44, "Uentrop"),
]
_BICYCLE_COUNTERS: list[tuple[str, str, str, Lonlat, float, str]] = [
    ("radweg-kanal", "Radzählstelle Kanalpromenade (Datteln-Hamm-Kanal)", "ostring-1", (7.8290, 51.6862), 180, "Mitte"),
    ("radweg-ostring", "Radzählstelle Ostring", "ostring-1", (7.8268, 51.6790), 140, "Mitte"),
    ("radweg-werler-strasse", "Radzählstelle Werler Straße", "werler-strasse-1", (7.8315, 51.6580), 90, "Mitte"),
]


def traffic_counters() -> list[DemoEntity]:
    found = []
    for slug, name, segment, place, peak, free_kmh, district in _CAR_COUNTERS:
        key = f"tfo-{slug}"
        found.append(
            DemoEntity(
                {
                    "id": urn("TrafficFlowObserved", slug),
                    "type": "TrafficFlowObserved",
                    "scope": scope(district),
                    "name": prop(name),
                    "location": geo(point(place)),
                    "refRoadSegment": rel(urn("RoadSegment", segment)),
                    "laneId": prop(1),
                    "laneDirection": prop("forward"),
                    "vehicleType": prop("car"),
                    "refDevice": rel(urn("Device", f"counter-{slug}")),
                },
                observed={
                    "intensity": Observed(s.vehicle_count(key, peak, STEP_15_MIN), STEP_15_MIN),
                    "averageVehicleSpeed": Observed(s.average_speed(key, free_kmh, peak), STEP_15_MIN, "KMH"),
                    "occupancy": Observed(s.occupancy(key), STEP_15_MIN),
                    "congested": Observed(lambda at: s.traffic_profile(at) > 0.85, STEP_15_MIN),
                },
                interval_s=STEP_15_MIN,
            )
        )
    for slug, name, segment, place, peak, district in _BICYCLE_COUNTERS:
        found.append(
            DemoEntity(
                {
                    "id": urn("TrafficFlowObserved", slug),
                    "type": "TrafficFlowObserved",
                    "scope": scope(district),
                    "name": prop(name),
                    "location": geo(point(place)),
                    "refRoadSegment": rel(urn("RoadSegment", segment)),
                    "laneId": prop(1),
                    "vehicleType": prop("bicycle"),
                    "refDevice": rel(urn("Device", f"counter-{slug}")),
                },
                observed={"intensity": Observed(s.bicycle_count(f"tfo-{slug}", peak, STEP_15_MIN), STEP_15_MIN)},
                interval_s=STEP_15_MIN,
            )
        )
    return found


def pedestrian_and_signal_flows() -> list[DemoEntity]:
    found = [
        DemoEntity(
            {
                "id": urn("CrowdFlowObserved", slug),
                "type": "CrowdFlowObserved",
                "scope": scope("Mitte"),
                "name": prop(name),
                "location": geo(point(place)),
                "refRoadSegment": rel(urn("RoadSegment", segment)),
                "direction": prop("inbound"),
            },
            observed={"peopleCount": Observed(s.people_count(f"cfo-{slug}", peak, STEP_15_MIN), STEP_15_MIN)},
            interval_s=STEP_15_MIN,
        )
        for slug, name, segment, place, peak in [
            ("weststrasse", "Passantenzählung Weststraße", "weststrasse-1", (7.8150, 51.6804), 2600),
            ("bahnhofstrasse", "Passantenzählung Bahnhofstraße", "weststrasse-1", (7.8100, 51.6795), 1500),
            ("oststrasse", "Passantenzählung Oststraße", "oststrasse-1", (7.8225, 51.6807), 1200),
        ]
    ]
    for slug, item_type, sub_type, lane, signal in [
        ("marker-allee-bicycles", "vehicle", "bicycle", 2, s.bicycle_count("ifo-marker-allee", 120, STEP_15_MIN)),
        ("marker-allee-pedestrians", "people", "pedestrian", 3, s.people_count("ifo-marker-allee", 160, STEP_15_MIN)),
    ]:
        found.append(
            DemoEntity(
                {
                    "id": urn("ItemFlowObserved", slug),
                    "type": "ItemFlowObserved",
                    "scope": scope("Uentrop"),
                    "name": prop(f"LSA Heßlerstraße / Marker Allee: {'Radverkehr' if sub_type == 'bicycle' else 'Fußverkehr'}"),
                    "location": geo(point(moved(SIGNAL_HESSLERSTRASSE, -8, -4))),
                    "itemType": prop(item_type),
                    "itemSubType": prop(sub_type),
                    "laneId": prop(lane),
                    "laneDirection": prop("inbound"),
                    "refRoadSegment": rel(urn("RoadSegment", "marker-allee-1")),
                    "refDevice": rel(urn("Device", "lsa-hesslerstrasse-camera")),
                },
                observed={"intensity": Observed(signal, STEP_15_MIN)},
                interval_s=STEP_15_MIN,
            )
        )
    return found


def traffic_signals() -> list[DemoEntity]:
    pilot = SIGNAL_HESSLERSTRASSE
    zones = [
        ("urn:ngsi-ld:Dataset:zone-marker-allee-west", rectangle(moved(pilot, -45, -6), 30, 12), ["car", "bicycle"]),
        ("urn:ngsi-ld:Dataset:zone-marker-allee-east", rectangle(moved(pilot, 15, -6), 30, 12), ["car", "bicycle"]),
        ("urn:ngsi-ld:Dataset:zone-hesslerstrasse-north", rectangle(moved(pilot, -6, 15), 12, 30), ["car", "bicycle"]),
        ("urn:ngsi-ld:Dataset:crossing-pedestrians", rectangle(moved(pilot, -15, -15), 30, 30), ["pedestrian"]),
    ]

    def phase(at: datetime) -> str:
        return "P1" if s.noise("lsa-phase", at, STEP_15_MIN) < 0 else "P2"

    def phase_state(at: datetime) -> list[dict[str, str]]:
        main = "green" if phase(at) == "P1" else "red"
        side = "red" if main == "green" else "green"
        return [
            {"signalGroup": "K1", "roadUserClass": "car", "state": main},
            {"signalGroup": "R1", "roadUserClass": "bicycle", "state": main},
            {"signalGroup": "K2", "roadUserClass": "car", "state": side},
            {"signalGroup": "F1", "roadUserClass": "pedestrian", "state": side},
        ]

    found = [
        DemoEntity(
            {
                "id": urn("TrafficSignal", "hesslerstrasse-marker-allee"),
                "type": "TrafficSignal",
                "scope": scope("Uentrop"),
                "name": prop("LSA Heßlerstraße / Marker Allee"),
                "description": prop(
                    "Pilot of an intelligent traffic signal: cameras detect cars, bicycles and pedestrians; green is "
                    "requested and extended for cyclists and pedestrians as they approach."
                ),
                "location": geo(point(pilot)),
                "address": address("Heßlerstraße / Marker Allee", "59071", "Uentrop"),
                "detectionZone": [
                    {"type": "GeoProperty", "value": zone, "datasetId": dataset, "roadUserClass": prop(classes)}
                    for dataset, zone, classes in zones
                ],
                "detectedRoadUserClass": prop(["car", "bicycle", "pedestrian"]),
                "controlMode": prop("adaptive"),
                "signalProgram": prop("Tagesprogramm"),
                "cycleTime": prop(90, unitCode="SEC"),
                "operationalStatus": prop("ok"),
                "installationDate": prop("2023-07-01"),
                "refRoadSegment": rel([urn("RoadSegment", "marker-allee-1"), urn("RoadSegment", "hesslerstrasse-1")]),
                "refFlowObserved": rel(
                    [
                        urn("ItemFlowObserved", "marker-allee-bicycles"),
                        urn("ItemFlowObserved", "marker-allee-pedestrians"),
                        urn("TrafficFlowObserved", "marker-allee-cars"),
                    ]
                ),
                "refDevice": rel([urn("Device", "lsa-hesslerstrasse-controller"), urn("Device", "lsa-hesslerstrasse-camera")]),
                "dataProvider": prop("Stadt Hamm"),
            },
            observed={"currentPhase": Observed(phase, STEP_15_MIN), "phaseState": Observed(phase_state, STEP_15_MIN)},
        )
    ]
    for slug, name, place, segment, district in [
        ("werler-strasse-unnaer-strasse", "LSA Werler Straße / Unnaer Straße", (7.8322, 51.6540), "werler-strasse-1", "Mitte"),
        ("ostring-nordstrasse", "LSA Ostring / Nordstraße", (7.8266, 51.6826), "ostring-1", "Mitte"),
    ]:
        found.append(
            DemoEntity(
                {
                    "id": urn("TrafficSignal", slug),
                    "type": "TrafficSignal",
                    "scope": scope(district),
                    "name": prop(name),
                    "location": geo(point(place)),
                    "detectedRoadUserClass": prop(["car"]),
                    "controlMode": prop("vehicleActuated"),
                    "operationalStatus": prop("ok"),
                    "refRoadSegment": rel([urn("RoadSegment", segment)]),
                }
            )
        )
    return found


# (slug, name, place, street, total spots, busy share, commuter car park, floors)
_CAR_PARKS: list[tuple[str, str, Lonlat, str, int, float, bool, int]] = [
    ("hauptbahnhof", "Parkhaus Hauptbahnhof", (7.8066, 51.6776), "Willy-Brandt-Platz", 540, 0.9, True, 4),
    ("allee-center", "Parkhaus Allee-Center", (7.8125, 51.6792), "Richard-Matthaei-Platz", 1100, 0.85, False, 5),
    ("ritterpassage", "Parkhaus Ritterpassage", (7.8160, 51.6793), "Ritterstraße", 380, 0.8, False, 3),
    ("theater", "Parkhaus Theater", (7.8210, 51.6785), "Ostenallee", 300, 0.7, False, 3),
    ("nordstrasse", "Parkplatz Nordstraße", (7.8172, 51.6832), "Nordstraße", 120, 0.9, False, 0),
    ("museum", "Parkplatz Gustav-Lübcke-Museum", (7.8092, 51.6796), "Neue Bahnhofstraße", 80, 0.75, False, 0),
]


def parking() -> list[DemoEntity]:
    found = []
    for slug, name, place, street, total, busy, commuter, floors in _CAR_PARKS:
        key = f"parking-{slug}"
        free = s.free_spots(key, total, busy, commuter)
        groups = [urn("ParkingGroup", f"{slug}-floor-{floor}") for floor in range(floors)] if slug == "hauptbahnhof" else []
        entity: dict[str, Any] = {
            "id": urn("OffStreetParking", slug),
            "type": "OffStreetParking",
            "scope": scope("Mitte"),
            "name": prop(name),
            "location": geo(point(place)),
            "address": address(street, "59065", "Mitte"),
            "category": prop(["public", "feeCharged", "parkingGarage" if floors else "parkingLot"]),
            "allowedVehicleType": prop(["car"]),
            "chargeType": prop(["temporaryPrice"]),
            "layout": prop(["multiStorey"] if floors else ["surface"]),
            "totalSpotNumber": prop(total),
            "maximumAllowedHeight": prop(2.0, unitCode="MTR") if floors else prop(4.0, unitCode="MTR"),
            "openingHours": prop("Mo-Su 00:00-24:00" if commuter else "Mo-Sa 07:00-22:00"),
            "occupancyDetectionType": prop(["balancing"]),
            "specialLocation": prop(["publicTransportStation"] if commuter else ["shoppingCentre"]),
        }
        if floors:
            entity["highestFloor"] = prop(floors - 1)
            entity["lowestFloor"] = prop(0)
        if slug == "hauptbahnhof":
            entity["usageScenario"] = prop(["parkAndRide"])
            entity["facilities"] = prop(["electricChargingStation", "elevator", "bikeParking"])
        observed = {
            "availableSpotNumber": Observed(free, STEP_15_MIN),
            "occupancy": Observed(s.occupied_share(free, total), STEP_15_MIN),
            "status": Observed(s.car_park_status(free, total), STEP_15_MIN),
        }
        found.append(DemoEntity(entity, observed))
        for floor, group_id in enumerate(groups):
            floor_total = total // floors
            found.append(
                DemoEntity(
                    {
                        "id": group_id,
                        "type": "ParkingGroup",
                        "scope": scope("Mitte"),
                        "name": prop(f"{name}, Ebene {floor}"),
                        "location": geo(point(place)),
                        "refParkingSite": rel(urn("OffStreetParking", slug)),
                        "category": prop(["offStreet", "completeFloor"]),
                        "allowedVehicleType": prop("car"),
                        "totalSpotNumber": prop(floor_total),
                    },
                    {"availableSpotNumber": Observed(s.free_spots(f"{key}-{floor}", floor_total, busy, commuter), STEP_15_MIN)},
                )
            )
    zones = [
        ("nordstrasse", "Parkzone Nordstraße", (7.8150, 51.6829), (7.8200, 51.6831), 42),
        ("suedstrasse", "Parkzone Südstraße", (7.8165, 51.6782), (7.8215, 51.6786), 36),
        ("bahnhofsvorplatz", "Kurzzeitparken Bahnhofsvorplatz", (7.8070, 51.6787), (7.8088, 51.6790), 18),
        ("ostenallee", "Parkzone Ostenallee", (7.8230, 51.6795), (7.8300, 51.6805), 55),
    ]
    for slug, name, start, end, total in zones:
        spots = [urn("ParkingSpot", f"{slug}-{number}") for number in (1, 2)] if slug == "nordstrasse" else []
        entity = {
            "id": urn("OnStreetParking", slug),
            "type": "OnStreetParking",
            "scope": scope("Mitte"),
            "name": prop(name),
            "location": geo(line(start, end)),
            "category": prop(["public", "feeCharged", "shortTerm"]),
            "allowedVehicleType": prop(["car"]),
            "chargeType": prop(["temporaryPrice"]),
            "maximumParkingDuration": prop("PT2H"),
            "totalSpotNumber": prop(total),
            "occupancyDetectionType": prop(["singleSpaceDetection"] if spots else ["modelBased"]),
            "parkingMode": prop("parallelParking"),
        }
        if spots:
            entity["refParkingSpot"] = rel(spots)
        found.append(DemoEntity(entity, {"availableSpotNumber": Observed(s.free_spots(f"zone-{slug}", total, 0.85, False), STEP_15_MIN)}))
        for number, spot_id in enumerate(spots, start=1):
            found.append(
                DemoEntity(
                    {
                        "id": spot_id,
                        "type": "ParkingSpot",
                        "scope": scope("Mitte"),
                        "name": prop(f"{name}, Behindertenparkplatz {number}"),
                        "location": geo(point(moved(start, 12 * number, 0))),
                        "category": prop(["onStreet"]),
                        "refParkingSite": rel(urn("OnStreetParking", slug)),
                        "refDevice": rel([urn("Device", f"parking-sensor-{slug}-{number}")]),
                        "width": prop(3.5, unitCode="MTR"),
                        "length": prop(5.0, unitCode="MTR"),
                    },
                    {"status": Observed(s.spot_status(f"spot-{slug}-{number}"), STEP_15_MIN)},
                )
            )
    return found


_BIKE_STATIONS: list[tuple[str, str, Lonlat, int, bool, str]] = [
    ("hauptbahnhof", "Fahrradverleih Hauptbahnhof", (7.8080, 51.6787), 20, True, "Mitte"),
    ("marktplatz", "Fahrradverleih Marktplatz", (7.8178, 51.6809), 12, True, "Mitte"),
    ("maximilianpark", "Fahrradverleih Maximilianpark", (7.8748, 51.6752), 14, False, "Uentrop"),
    ("kurpark", "Fahrradverleih Kurpark", (7.8440, 51.6915), 10, False, "Uentrop"),
    ("heessen", "Fahrradverleih Heessen Mitte", (7.8525, 51.7040), 8, False, "Heessen"),
    ("bockum-hoevel", "Fahrradverleih Bockum-Hövel Markt", (7.7455, 51.6928), 8, False, "Bockum-Hövel"),
]


def bike_stations() -> list[DemoEntity]:
    found = []
    for slug, name, place, slots, centre, district in _BIKE_STATIONS:
        bikes = s.available_bikes(f"bike-{slug}", slots, centre)
        found.append(
            DemoEntity(
                {
                    "id": urn("BikeHireDockingStation", slug),
                    "type": "BikeHireDockingStation",
                    "scope": scope(district),
                    "name": prop(name),
                    "location": geo(point(place)),
                    "totalSlotNumber": prop(slots),
                    "outOfServiceSlotNumber": prop(0),
                },
                {
                    "availableBikeNumber": Observed(bikes, STEP_15_MIN),
                    "freeSlotNumber": Observed(s.remaining(slots, bikes), STEP_15_MIN),
                    "status": Observed(s.station_status(bikes, slots), STEP_15_MIN),
                },
            )
        )
    return found


_CHARGERS: list[tuple[str, str, Lonlat, int, list[str], str]] = [
    ("hauptbahnhof", "Ladepunkte Parkhaus Hauptbahnhof", (7.8068, 51.6777), 6, ["Type2"], "Mitte"),
    ("marktplatz", "Ladesäule Marktplatz", (7.8188, 51.6811), 2, ["Type2"], "Mitte"),
    ("maximilianpark", "Ladesäule Maximilianpark", (7.8735, 51.6742), 4, ["Type2", "CCS/SAE"], "Uentrop"),
    ("wiescherhoefener-markt", "Ladesäule Wiescherhöfener Markt", (7.7592, 51.6465), 2, ["Type2"], "Pelkum"),
    ("heessen", "Schnellladestation Heessen", (7.8510, 51.7030), 2, ["CCS/SAE", "CHAdeMO"], "Heessen"),
    ("rhynern", "Schnellladestation Rhynern (A 2)", (7.8600, 51.6270), 4, ["CCS/SAE"], "Rhynern"),
]


def charging_stations() -> list[DemoEntity]:
    found = []
    for slug, name, place, capacity, sockets, district in _CHARGERS:
        free = s.available_chargers(f"ev-{slug}", capacity)
        found.append(
            DemoEntity(
                {
                    "id": urn("EVChargingStation", slug),
                    "type": "EVChargingStation",
                    "scope": scope(district),
                    "name": prop(name),
                    "location": geo(point(place)),
                    "capacity": prop(capacity),
                    "socketNumber": prop(capacity),
                    "socketType": prop(sockets),
                    "allowedVehicleType": prop(["car"]),
                    "operator": prop("Stadtwerke Hamm"),
                    "openingHours": prop("Mo-Su 00:00-24:00"),
                },
                {
                    "availableCapacity": Observed(free, STEP_15_MIN),
                    "status": Observed(s.charger_status(free), STEP_15_MIN),
                },
            )
        )
    return found


def vehicles() -> list[DemoEntity]:
    found = []
    for slug, vehicle_type, category, place, name in [
        ("escooter-0142", "e-scooter", ["public", "tracked"], (7.8102, 51.6790), "E-Scooter 0142"),
        ("escooter-0377", "e-scooter", ["public", "tracked"], (7.8195, 51.6812), "E-Scooter 0377"),
        ("carsharing-hbf-1", "car", ["public", "tracked"], (7.8072, 51.6779), "Carsharing Hauptbahnhof 1"),
    ]:
        found.append(
            DemoEntity(
                {
                    "id": urn("Vehicle", slug),
                    "type": "Vehicle",
                    "scope": scope("Mitte"),
                    "name": prop(name),
                    "vehicleType": prop(vehicle_type),
                    "category": prop(category),
                    "location": geo(point(place)),
                    "serviceStatus": prop("parked"),
                },
                {"battery": Observed(s.battery_level(f"vehicle-{slug}", INSTALLED + timedelta(days=900)), STEP_HOUR)},
            )
        )
    found.append(
        DemoEntity(
            {
                "id": urn("Vehicle", "ash-muellfahrzeug-07"),
                "type": "Vehicle",
                "scope": scope("Mitte"),
                "name": prop("Müllfahrzeug 07 (ASH)"),
                "vehicleType": prop("lorry"),
                "category": prop(["municipalServices", "tracked"]),
                "serviceProvided": prop(["garbageCollection"]),
                "vehicleSpecialUsage": prop("trashManagement"),
                "location": geo(point((7.8290, 51.6745))),
                "serviceStatus": prop("onRoute"),
            }
        )
    )
    return found


# -- environment ------------------------------------------------------------------------------------------


def climate_stations() -> list[DemoEntity]:
    found = []
    for district, (place, offset) in DISTRICTS.items():
        slug = district.lower().replace("ö", "oe")
        key = f"climate-{slug}"
        found.append(
            DemoEntity(
                {
                    "id": urn("WeatherObserved", slug),
                    "type": "WeatherObserved",
                    "scope": scope(district),
                    "name": prop(f"Klimastation Hamm-{district}"),
                    "stationName": prop(f"Hamm-{district}"),
                    "stationCode": prop(f"HAM-KS-{list(DISTRICTS).index(district) + 1:02d}"),
                    "location": geo(point(place)),
                    "address": address(f"Stadtbezirk {district}", "59065", district),
                    "refDevice": rel(urn("Device", f"climate-sensor-{slug}")),
                    "dataProvider": prop("Stadt Hamm, Stadtklimaanalyse"),
                },
                {
                    "temperature": Observed(s.temperature(key, offset), STEP_15_MIN, "CEL"),
                    "relativeHumidity": Observed(s.relative_humidity(key), STEP_15_MIN, "P1"),
                    "windSpeed": Observed(s.wind_speed(key), STEP_15_MIN, "MTS"),
                    "windDirection": Observed(s.wind_direction(key), STEP_15_MIN, "DD"),
                    "precipitation": Observed(s.precipitation(key, STEP_15_MIN), STEP_15_MIN, "MMT"),
                    "atmosphericPressure": Observed(s.pressure(), STEP_15_MIN, "A97"),
                },
                interval_s=STEP_15_MIN,
            )
        )
    return found


_AIR_STATIONS: list[tuple[str, str, Lonlat, str, float]] = [
    ("mitte", "Luftmessstation Hamm-Mitte", (7.8130, 51.6812), "Mitte", 28.0),
    ("werler-strasse", "Luftmessstation Werler Straße (Verkehr)", (7.8320, 51.6560), "Mitte", 38.0),
    ("heessen", "Luftmessstation Hamm-Heessen", (7.8545, 51.7050), "Heessen", 17.0),
]
_AIR_STATIONS_PLACES = [(slug, place, district) for slug, _, place, district, _ in _AIR_STATIONS]


def air_quality_stations() -> list[DemoEntity]:
    found = []
    for slug, name, place, district, no2_base in _AIR_STATIONS:
        key = f"air-{slug}"
        no2 = s.pollutant(f"{key}-no2", no2_base, 0.7, 0.2)
        found.append(
            DemoEntity(
                {
                    "id": urn("AirQualityObserved", slug),
                    "type": "AirQualityObserved",
                    "scope": scope(district),
                    "name": prop(name),
                    "location": geo(point(place)),
                    "typeofLocation": prop("outdoor"),
                    "refDevice": rel(urn("Device", f"air-sensor-{slug}")),
                    "dataProvider": prop("Stadt Hamm"),
                },
                {
                    "no2": Observed(no2, STEP_HOUR, "GQ"),
                    "pm10": Observed(s.pollutant(f"{key}-pm10", 17.0, 0.3, 0.3), STEP_HOUR, "GQ"),
                    "pm25": Observed(s.pollutant(f"{key}-pm25", 10.0, 0.25, 0.3), STEP_HOUR, "GQ"),
                    "o3": Observed(s.ozone(f"{key}-o3"), STEP_HOUR, "GQ"),
                    "airQualityIndex": Observed(s.air_quality_index(no2), STEP_HOUR),
                    "airQualityLevel": Observed(s.air_quality_level(no2), STEP_HOUR),
                    "reliability": Observed(s.constant(0.9), STEP_HOUR),
                },
                interval_s=STEP_HOUR,
            )
        )
    return found


# (slug, name, place, district)
_CONTAINER_SITES: list[tuple[str, str, Lonlat, str]] = [
    ("santa-monica-platz", "Containerstandort Santa-Monica-Platz", (7.8198, 51.6822), "Mitte"),
    ("caldenhofer-weg", "Containerstandort Caldenhofer Weg", (7.8035, 51.6698), "Mitte"),
    ("heessen-markt", "Containerstandort Heessen Markt", (7.8520, 51.7052), "Heessen"),
    ("herringen-marktplatz", "Containerstandort Herringen Marktplatz", (7.7385, 51.6625), "Herringen"),
]
_KINDS = [("glass", "Altglas", "glass-container-3000"), ("paper", "Altpapier", "paper-container-3200"), ("other", "Altkleider", "glass-container-3000")]


def waste() -> list[DemoEntity]:
    found = [
        DemoEntity(
            {
                "id": urn("WasteContainerModel", model_slug),
                "type": "WasteContainerModel",
                "name": prop(name),
                "category": prop(["dumpster"]),
                "cargoVolume": prop(volume, unitCode="MTQ"),
                "madeOf": prop("metal"),
                "width": prop(1.6, unitCode="MTR"),
                "height": prop(1.8, unitCode="MTR"),
                "depth": prop(1.5, unitCode="MTR"),
                "features": prop(["insertHoles", "lockable"]),
                "insertHolesNumber": prop(3),
            }
        )
        for model_slug, name, volume in [
            ("glass-container-3000", "Depotcontainer Glas 3 m³", 3.0),
            ("paper-container-3200", "Depotcontainer Papier 3,2 m³", 3.2),
        ]
    ]
    for site_number, (slug, name, place, district) in enumerate(_CONTAINER_SITES):
        containers = []
        for kind_number, (kind, label, model_slug) in enumerate(_KINDS):
            container_id = urn("WasteContainer", f"{slug}-{kind}")
            containers.append(container_id)
            key = f"waste-{slug}-{kind}"
            found.append(
                DemoEntity(
                    {
                        "id": container_id,
                        "type": "WasteContainer",
                        "scope": scope(district),
                        "name": prop(f"{label}, {name.removeprefix('Containerstandort ')}"),
                        "location": geo(point(moved(place, 4 * kind_number, 0))),
                        "category": prop(["ground", "fixed"]),
                        "storedWasteKind": prop(kind),
                        "storedWasteOrigin": prop("household"),
                        "refWasteContainerModel": rel(urn("WasteContainerModel", model_slug)),
                        "refWasteContainerIsle": rel(urn("WasteContainerIsle", slug)),
                        "refDevice": rel([urn("Device", f"fill-sensor-{slug}-{kind}")]),
                        "responsible": prop("ASH Abfallwirtschaft und Stadtreinigung Hamm"),
                        "status": prop("ok"),
                    },
                    {"fillingLevel": Observed(s.filling_level(key, (site_number + kind_number) % 5, 0.09 + 0.02 * kind_number), STEP_HOUR)},
                )
            )
        found.append(
            DemoEntity(
                {
                    "id": urn("WasteContainerIsle", slug),
                    "type": "WasteContainerIsle",
                    "scope": scope(district),
                    "name": prop(name),
                    "location": geo(point(place)),
                    "features": prop(["containerFix"]),
                    "refWasteContainer": rel(containers),
                }
            )
        )
    for number, (slug, _, place, district) in enumerate(_CONTAINER_SITES[:2]):
        found.append(
            DemoEntity(
                {
                    "id": urn("WasteObserved", f"collection-{slug}"),
                    "type": "WasteObserved",
                    "scope": scope(district),
                    "name": prop(f"Leerung Altglas {slug}"),
                    "location": geo(point(place)),
                    "refGarbageTruck": rel(urn("Vehicle", "ash-muellfahrzeug-07")),
                },
                {
                    "weight": Observed(s.collected_weight(f"waste-weight-{slug}", 410 + 60 * number), STEP_DAY, "KGM"),
                },
                interval_s=STEP_DAY,
            )
        )
    return found


# -- city life ---------------------------------------------------------------------------------------------


def points_of_interest() -> list[DemoEntity]:
    found = []
    for slug, name, description, place, category, street, postal, district, url in [
        ("maximilianpark", "Maximilianpark", "Freizeitpark auf dem Gelände der ehemaligen Zeche Maximilian, mit dem Glaselefanten",
         MAXIMILIANPARK, ["park"], "Alter Grenzweg 2", "59071", "Uentrop", "https://www.maximilianpark.de"),
        ("tierpark", "Tierpark Hamm", "Zoo im Süden der Stadt mit etwa 550 Tieren aus 80 Arten", TIERPARK, ["zoo"],
         "Grünstraße 150", "59063", "Mitte", "https://www.tierpark-hamm.de"),
        ("gustav-luebcke-museum", "Gustav-Lübcke-Museum", "Museum für Kunst und Kulturgeschichte mit der größten Ägyptensammlung im Ruhrgebiet",
         GUSTAV_LUEBCKE_MUSEUM, ["museum"], "Neue Bahnhofstraße 9", "59065", "Mitte", "https://www.museum-hamm.de"),
        ("maximare", "Maximare", "Erlebnistherme und Sportbad am Kurpark", MAXIMARE, ["swimmingPool"],
         "Jürgen-Graef-Allee 2", "59065", "Uentrop", "https://www.maximare.com"),
        ("kurpark", "Kurpark Hamm", "Park am Datteln-Hamm-Kanal mit Kurhaus und Gradierwerk", KURPARK, ["park"],
         "Ostenallee", "59071", "Uentrop", "https://www.hamm.de"),
        ("hauptbahnhof", "Hamm (Westf) Hauptbahnhof", "Fernverkehrsbahnhof und Busbahnhof", HAUPTBAHNHOF, ["railwayStation"],
         "Willy-Brandt-Platz", "59065", "Mitte", "https://www.bahnhof.de"),
    ]:
        found.append(
            DemoEntity(
                {
                    "id": urn("PointOfInterest", slug),
                    "type": "PointOfInterest",
                    "scope": scope(district),
                    "name": prop(name),
                    "description": prop(description),
                    "category": prop(category),
                    "location": geo(point(place)),
                    "address": address(street, postal, district),
                    "url": prop(url),
                }
            )
        )
    return found


def events() -> list[DemoEntity]:
    return [
        DemoEntity(
            {
                "id": urn("Event", "herbstleuchten-maximilianpark"),
                "type": "Event",
                "scope": scope("Uentrop"),
                "name": prop("Herbstleuchten im Maximilianpark"),
                "description": prop("Illuminierter Park mit Licht- und Klanginstallationen"),
                "category": prop(["parksAndGardens", "spectacle"]),
                "location": geo(point(MAXIMILIANPARK)),
                "startDate": prop("2026-10-02T18:00:00Z"),
                "endDate": prop("2026-10-25T22:00:00Z"),
                "eventStatus": prop(["finished"]),
                "audience": prop(["family"]),
                "refPointOfInterest": rel([urn("PointOfInterest", "maximilianpark")]),
            }
        ),
        DemoEntity(
            {
                "id": urn("Event", "workshop-mobilitaet-innenstadt"),
                "type": "Event",
                "scope": scope("Mitte"),
                "name": prop("Workshop Mobilität Innenstadt"),
                "description": prop("Öffentlicher Workshop der Bürgerbeteiligung zum Rad- und Fußverkehr in der Innenstadt"),
                "location": geo(point((7.8161, 51.6767))),
                "startDate": prop("2026-11-28T16:00:00Z"),
                "endDate": prop("2026-11-28T19:00:00Z"),
                "eventStatus": prop(["scheduled"]),
                "audience": prop(["allPublic"]),
                "isAccessibleForFree": prop(True),
            }
        ),
    ]


def issue_reports() -> list[DemoEntity]:
    return [
        DemoEntity(
            {
                "id": urn("IssueReporting", slug),
                "type": "IssueReporting",
                "scope": scope(district),
                "title": prop(title),
                "description": prop(description),
                "category": prop(category),
                "location": geo(point(place)),
                "resolutionStatus": prop(status),
                "observationDateTime": prop(reported),
            }
        )
        for slug, title, description, category, place, status, reported, district in [
            ("report-0815", "Straßenlaterne defekt", "Laterne vor Nordstraße 12 bleibt nachts dunkel", "streetlighting",
             (7.8165, 51.6831), "InProgress", "2026-11-24T19:12:00Z", "Mitte"),
            ("report-0816", "Radweg beschädigt", "Wurzelaufbrüche auf dem Radweg an der Marker Allee", "roads",
             (7.8380, 51.6720), "Open", "2026-11-25T07:40:00Z", "Uentrop"),
            ("report-0817", "Container überfüllt", "Altglascontainer am Santa-Monica-Platz voll", "waste",
             (7.8198, 51.6822), "Closed.", "2026-11-20T10:05:00Z", "Mitte"),
        ]
    ]


def buildings() -> list[DemoEntity]:
    return [
        DemoEntity(
            {
                "id": urn("Building", slug),
                "type": "Building",
                "scope": scope(district),
                "name": prop(name),
                "category": prop(category),
                "address": address(street, postal, district),
                "location": geo(rectangle(moved(place, -20, -15), 40, 30)),
                "floorsAboveGround": prop(floors),
            }
        )
        for slug, name, category, place, street, postal, district, floors in [
            ("rathaus", "Rathaus Hamm", ["civic"], (7.8161, 51.6767), "Theodor-Heuss-Platz 16", "59065", "Mitte", 4),
            ("technisches-rathaus", "Technisches Rathaus", ["office"], (7.8100, 51.6760), "Gustav-Heinemann-Straße 10", "59065", "Mitte", 6),
            ("gymnasium-hammonense", "Gymnasium Hammonense", ["school"], (7.8230, 51.6838), "Ostring 1", "59065", "Mitte", 3),
        ]
    ]


def participation_projects() -> list[DemoEntity]:
    def title(de: str, en: str) -> dict[str, Any]:
        return {"type": "LanguageProperty", "languageMap": {"de": de, "en": en}}

    return [
        DemoEntity(
            {
                "id": urn("ParticipationProject", "mobilitaet-innenstadt"),
                "type": "ParticipationProject",
                "scope": scope("Mitte"),
                "name": prop("Mobilität Innenstadt"),
                "title": title("Mobilität in der Innenstadt: Ihre Ideen für Rad- und Fußverkehr",
                               "Mobility in the city centre: your ideas for cycling and walking"),
                "description": title(
                    "Wo fehlen Radwege, Abstellanlagen oder sichere Querungen? Markieren Sie Orte auf der Karte.",
                    "Where are cycle lanes, bike parking or safe crossings missing? Mark places on the map.",
                ),
                "status": prop("open"),
                "startDate": prop("2026-10-01"),
                "endDate": prop("2027-03-31"),
                "phase": prop(
                    [
                        {"name": "Online-Beteiligung", "startDate": "2026-10-01", "endDate": "2026-12-15"},
                        {"name": "Auswertung", "startDate": "2026-12-16", "endDate": "2027-02-15"},
                        {"name": "Ratsbeschluss", "startDate": "2027-03-01", "endDate": "2027-03-31"},
                    ]
                ),
                "area": geo(rectangle((7.8040, 51.6760), 1500, 1100)),
                "location": geo(point(MARKTPLATZ)),
                "topic": prop(["mobility", "urbanDevelopment"]),
                "participationMethod": prop(["online", "mapComments", "workshop"]),
                "url": prop("https://www.hamm.de/beteiligung/mobilitaet-innenstadt"),
                "organizer": prop("Stadt Hamm, Stadtplanungsamt"),
                "refRoadSegment": rel([urn("RoadSegment", "weststrasse-1"), urn("RoadSegment", "oststrasse-1")]),
                "refBuilding": rel([urn("Building", "rathaus")]),
            },
            {"contributionCount": Observed(s.contribution_count(PROJECT_START, 6.5), STEP_HOUR)},
        ),
        DemoEntity(
            {
                "id": urn("ParticipationProject", "hitzeaktionsplan"),
                "type": "ParticipationProject",
                "scope": scope("Mitte"),
                "name": prop("Hitzeaktionsplan"),
                "title": title("Kühle Orte für heiße Tage: der Hitzeaktionsplan für Hamm",
                               "Cool places for hot days: Hamm's heat action plan"),
                "description": title(
                    "Auf Grundlage der Stadtklimaanalyse: Wo ist es im Sommer zu heiß, wo fehlen Schatten und Trinkwasser?",
                    "Based on the urban climate analysis: where is it too hot in summer, where are shade and drinking water missing?",
                ),
                "status": prop("evaluation"),
                "startDate": prop("2026-05-15"),
                "endDate": prop("2026-12-31"),
                "phase": prop(
                    [
                        {"name": "Online-Umfrage", "startDate": "2026-05-15", "endDate": "2026-08-31"},
                        {"name": "Auswertung", "startDate": "2026-09-01", "endDate": "2026-12-31"},
                    ]
                ),
                "area": geo(rectangle((7.7300, 51.6250), 13500, 8500)),
                "location": geo(point(DISTRICTS["Mitte"][0])),
                "topic": prop(["climate", "greenSpaces"]),
                "participationMethod": prop(["online", "survey"]),
                "url": prop("https://www.hamm.de/beteiligung/hitzeaktionsplan"),
                "organizer": prop("Stadt Hamm, Umweltamt"),
            },
            {
                "contributionCount": Observed(
                    s.contribution_count(datetime(2026, 5, 15, 7, tzinfo=UTC), 9.0, datetime(2026, 8, 31, 22, tzinfo=UTC)),
                    STEP_HOUR,
                )
            },
        ),
        DemoEntity(
            {
                "id": urn("ParticipationProject", "umgestaltung-marker-allee"),
                "type": "ParticipationProject",
                "scope": scope("Uentrop"),
                "name": prop("Umgestaltung Marker Allee"),
                "title": title("Marker Allee: sicher zu Fuß und mit dem Rad", "Marker Allee: safe on foot and by bike"),
                "description": title(
                    "Entwürfe für Radwege und Querungen an der Marker Allee, mit den Daten der intelligenten Ampel Heßlerstraße.",
                    "Designs for cycle lanes and crossings on Marker Allee, informed by the data of the smart signal at Heßlerstraße.",
                ),
                "status": prop("planned"),
                "startDate": prop("2027-02-01"),
                "phase": prop([{"name": "Entwurfsvorstellung", "startDate": "2027-02-01", "endDate": "2027-03-15"}]),
                "area": geo(rectangle((7.8320, 51.6680), 1200, 300)),
                "location": geo(point(SIGNAL_HESSLERSTRASSE)),
                "topic": prop(["mobility", "safety"]),
                "participationMethod": prop(["online", "siteWalk"]),
                "url": prop("https://www.hamm.de/beteiligung/marker-allee"),
                "organizer": prop("Stadt Hamm, Straßen- und Verkehrsamt"),
                "refRoadSegment": rel([urn("RoadSegment", "marker-allee-1"), urn("RoadSegment", "hesslerstrasse-1")]),
                "contributionCount": prop(0),
            }
        ),
    ]


_STREETLIGHT_STREETS = [
    ("bahnhofstrasse", "Bahnhofstraße", (7.8090, 51.6790), (7.8120, 51.6802), "Mitte"),
    ("nordstrasse", "Nordstraße", (7.8150, 51.6829), (7.8200, 51.6831), "Mitte"),
    ("marker-allee", "Marker Allee", (7.8370, 51.6722), (7.8450, 51.6705), "Uentrop"),
]


def streetlights() -> list[DemoEntity]:
    found = []
    for slug, street, start, end, district in _STREETLIGHT_STREETS:
        for number in range(4):
            fraction = number / 3
            place = (start[0] + (end[0] - start[0]) * fraction, start[1] + (end[1] - start[1]) * fraction)
            found.append(
                DemoEntity(
                    {
                        "id": urn("Streetlight", f"{slug}-{number + 1}"),
                        "type": "Streetlight",
                        "scope": scope(district),
                        "name": prop(f"{street}, Mast {number + 1}"),
                        "location": geo(point(place)),
                        "status": prop("defectiveLamp" if (slug, number) == ("nordstrasse", 1) else "ok"),
                        "lanternHeight": prop(8, unitCode="MTR"),
                        "locationCategory": prop("road" if slug == "marker-allee" else "sidewalk"),
                        "controllingMethod": prop("group"),
                        "refStreetlightGroup": rel(urn("StreetlightGroup", slug)),
                        "streetPoleNum": prop(f"{slug.upper()[:3]}-{number + 1:03d}"),
                    },
                    {"powerState": Observed(s.power_state(), STEP_15_MIN), "illuminanceLevel": Observed(s.illuminance_level(), STEP_15_MIN)},
                )
            )
    return found


# -- devices ---------------------------------------------------------------------------------------------

_DEVICE_MODELS: dict[str, tuple[str, str, str, list[str], list[str]]] = {
    # slug: (name, manufacturer, model, category, controlledProperty)
    "climate-sensor": ("LoRaWAN-Klimasensor", "Example Sensors GmbH", "CLIMA-L4", ["sensor"],
                       ["temperature", "humidity", "windSpeed", "windDirection", "precipitation", "atmosphericPressure"]),
    "air-sensor": ("LoRaWAN-Luftqualitätssensor", "Example Sensors GmbH", "AIR-Q2", ["sensor"], ["airPollution"]),
    "parking-sensor": ("Parkplatzsensor (Magnetfeld, LoRaWAN)", "Example Parking Tech", "PARK-M1", ["sensor"], ["occupancy"]),
    "fill-sensor": ("Füllstandsensor (Ultraschall, LoRaWAN)", "Example Waste Tech", "FILL-U3", ["sensor"], ["fillingLevel"]),
    "traffic-counter": ("Verkehrszähler", "Example Traffic Systems", "COUNT-R", ["sensor"], ["trafficFlow"]),
    "signal-controller": ("Lichtsignal-Steuergerät", "Example Traffic Systems", "LSA-C9", ["actuator"], ["trafficFlow"]),
}


def devices() -> list[DemoEntity]:
    found = [
        DemoEntity(
            {
                "id": urn("DeviceModel", slug),
                "type": "DeviceModel",
                "name": prop(name),
                "manufacturerName": prop(manufacturer),
                "brandName": prop(manufacturer.split()[0]),
                "modelName": prop(model_name),
                "category": prop(category),
                "controlledProperty": prop(properties),
                "supportedProtocol": prop(["lora"] if slug not in ("traffic-counter", "signal-controller") else ["http"]),
            }
        )
        for slug, (name, manufacturer, model_name, category, properties) in _DEVICE_MODELS.items()
    ]

    def device(slug: str, model: str, place: Lonlat, district: str, lorawan: bool, asset: str | None) -> DemoEntity:
        _, _, _, category, properties = _DEVICE_MODELS[model]
        key = f"device-{slug}"
        entity: dict[str, Any] = {
            "id": urn("Device", slug),
            "type": "Device",
            "scope": scope(district),
            "name": prop(slug.replace("-", " ").title()),
            "deviceCategory": prop(category),
            "controlledProperty": prop(properties),
            "supportedProtocol": prop(["lora"] if lorawan else ["http"]),
            "location": geo(point(place)),
            "refDeviceModel": rel(urn("DeviceModel", model)),
            "serialNumber": prop(f"HAM-{sum(map(ord, slug)) * 37 % 10**6:06d}"),
            "dateInstalled": prop(INSTALLED.strftime("%Y-%m-%dT%H:%M:%SZ")),
            "owner": prop(["urn:ngsi-ld:Organization:stadt-hamm"]),
        }
        if asset is not None:
            entity["controlledAsset"] = rel([asset])
        observed = {"dateLastValueReported": Observed(lambda at: at.strftime("%Y-%m-%dT%H:%M:%SZ"), STEP_15_MIN, history=False)}
        if lorawan:
            observed["batteryLevel"] = Observed(s.battery_level(key, INSTALLED), STEP_HOUR)
            observed["rssi"] = Observed(s.rssi(key, -98 + (sum(map(ord, slug)) % 20)), STEP_HOUR, "2N")
        return DemoEntity(entity, observed)

    for district, (place, _) in DISTRICTS.items():
        slug = district.lower().replace("ö", "oe")
        found.append(device(f"climate-sensor-{slug}", "climate-sensor", place, district, True, urn("WeatherObserved", slug)))
    for slug, place, district in _AIR_STATIONS_PLACES:
        found.append(device(f"air-sensor-{slug}", "air-sensor", place, district, True, urn("AirQualityObserved", slug)))
    for number in (1, 2):
        found.append(
            device(f"parking-sensor-nordstrasse-{number}", "parking-sensor", moved((7.8150, 51.6829), 12 * number, 0), "Mitte",
                   True, urn("ParkingSpot", f"nordstrasse-{number}"))
        )
    for slug, _, place, district in _CONTAINER_SITES:
        for kind, _, _ in _KINDS:
            found.append(device(f"fill-sensor-{slug}-{kind}", "fill-sensor", place, district, True, urn("WasteContainer", f"{slug}-{kind}")))
    for slug, _, _, place, _, _, district in _CAR_COUNTERS:
        found.append(device(f"counter-{slug}", "traffic-counter", place, district, False, urn("TrafficFlowObserved", slug)))
    for slug, _, _, place, _, district in _BICYCLE_COUNTERS:
        found.append(device(f"counter-{slug}", "traffic-counter", place, district, False, urn("TrafficFlowObserved", slug)))
    found.append(device("lsa-hesslerstrasse-controller", "signal-controller", SIGNAL_HESSLERSTRASSE, "Uentrop", False,
                        urn("TrafficSignal", "hesslerstrasse-marker-allee")))
    found.append(device("lsa-hesslerstrasse-camera", "traffic-counter", moved(SIGNAL_HESSLERSTRASSE, 3, 3), "Uentrop", False,
                        urn("TrafficSignal", "hesslerstrasse-marker-allee")))
    for slug, place, kind in [("kurpark-baum-17", KURPARK, "soilMoisture"), ("maximilianpark-teich", MAXIMILIANPARK, "waterLevel")]:
        key = f"measurement-{slug}"
        found.append(
            DemoEntity(
                {
                    "id": urn("DeviceMeasurement", slug),
                    "type": "DeviceMeasurement",
                    "name": prop(f"LoRaWAN-Rohmessung {slug}"),
                    "location": geo(point(place)),
                    "controlledProperty": prop(kind),
                    "measurementType": prop("raw"),
                    "unit": prop("P1" if kind == "soilMoisture" else "MTR"),
                },
                {
                    "numValue": Observed(
                        s.drift(key, 0.28, 0.06, STEP_DAY, 3) if kind == "soilMoisture" else s.drift(key, 1.2, 0.05, 43200, 2),
                        STEP_HOUR,
                    ),
                },
                interval_s=STEP_HOUR,
            )
        )
    return found


@functools.cache
def hamm_dataset() -> tuple[DemoEntity, ...]:
    """Every demo entity (static parts and signals); demo.py gives them values at a time."""
    return tuple(
        road_segments()
        + traffic_counters()
        + pedestrian_and_signal_flows()
        + traffic_signals()
        + parking()
        + bike_stations()
        + charging_stations()
        + vehicles()
        + climate_stations()
        + air_quality_stations()
        + waste()
        + points_of_interest()
        + events()
        + issue_reports()
        + buildings()
        + participation_projects()
        + streetlights()
        + devices()
    )


__all__ = ["DISTRICTS", "HAUPTBAHNHOF", "MAXIMILIANPARK", "DemoEntity", "Observed", "hamm_dataset"]
