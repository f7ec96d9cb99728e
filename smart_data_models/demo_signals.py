# SPDX-License-Identifier: EUPL-1.2
"""Plausible values over time for the demo's observed attributes: one function of time per series.

A Signal maps a UTC datetime to the value an attribute had then. The same function gives the
current value the demo loads and each instance of the generated history, so the two agree.
Values follow the local clock of Hamm (Europe/Berlin): traffic peaks on weekday mornings and
afternoons, car parks fill while the shops are open, it is warmer in the afternoon and in summer,
street lights burn from dusk to dawn. The randomness is a hash of the series name and the time,
so a value at a given time is always the same: tests and notebooks see the same data.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Signal = Callable[[datetime], Any]

try:
    LOCAL = ZoneInfo("Europe/Berlin")
except ZoneInfoNotFoundError:  # no tz database: Central European Time, without summer time
    LOCAL = timezone(timedelta(hours=1))  # type: ignore[assignment]

# Monthly mean air temperature in Hamm (°C, about the 1991-2020 normals of the region), January first.
_MONTHLY_MEAN_C = (2.4, 3.0, 6.0, 9.8, 13.6, 16.6, 18.6, 18.2, 14.6, 10.6, 6.1, 3.1)
_LATITUDE = 51.68


def noise(key: str, at: datetime, period_s: int) -> float:
    """A value in [-1, 1], fixed for `key` within each period."""
    bucket = int(at.timestamp()) // period_s
    digest = hashlib.blake2b(f"{key}|{bucket}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**63 - 1.0


def smooth_noise(key: str, at: datetime, period_s: int) -> float:
    """Noise that drifts: linear between the values at period boundaries."""
    seconds = at.timestamp()
    fraction = (seconds % period_s) / period_s
    start = noise(key, at, period_s)
    end = noise(key, datetime.fromtimestamp(seconds + period_s, UTC), period_s)
    return start + (end - start) * fraction


def local_hour(at: datetime) -> float:
    local = at.astimezone(LOCAL)
    return local.hour + local.minute / 60 + local.second / 3600


def is_weekend(at: datetime) -> bool:
    return at.astimezone(LOCAL).weekday() >= 5


def _bump(hour: float, centre: float, width: float) -> float:
    return math.exp(-(((hour - centre) / width) ** 2))


def traffic_profile(at: datetime) -> float:
    """Share of the daily peak, 0..1: weekday rush hours, a flatter weekend."""
    hour = local_hour(at)
    if is_weekend(at):
        return 0.08 + 0.55 * _bump(hour, 14.0, 4.0)
    return 0.06 + 0.9 * _bump(hour, 7.6, 1.2) + 0.75 * _bump(hour, 16.8, 1.8) + 0.45 * _bump(hour, 12.5, 3.0)


def shopping_profile(at: datetime) -> float:
    """Share of the peak, 0..1, of people in the city centre: shop hours, busiest on Saturday."""
    hour = local_hour(at)
    weekday = at.astimezone(LOCAL).weekday()
    if weekday == 6:
        return 0.05 + 0.2 * _bump(hour, 15.0, 3.0)
    peak = 1.0 if weekday == 5 else 0.75
    return 0.03 + peak * _bump(hour, 14.5, 3.6)


def daylight(at: datetime) -> tuple[float, float]:
    """Local sunrise and sunset hours in Hamm (a simple solar model, good to about 15 minutes)."""
    local = at.astimezone(LOCAL)
    day = local.timetuple().tm_yday
    declination = math.radians(23.44) * math.sin(math.radians(360 / 365 * (day - 81)))
    ratio = -math.tan(math.radians(_LATITUDE)) * math.tan(declination)
    half_day_h = math.degrees(math.acos(max(-1.0, min(1.0, ratio)))) / 15
    offset = local.utcoffset() or timedelta(0)
    solar_noon = 12.0 - 7.82 / 15 + offset.total_seconds() / 3600  # Hamm lies at 7.82° E
    return solar_noon - half_day_h, solar_noon + half_day_h


def is_dark(at: datetime) -> bool:
    sunrise, sunset = daylight(at)
    hour = local_hour(at)
    return hour < sunrise - 0.25 or hour > sunset + 0.25


def seasonal_mean_c(at: datetime) -> float:
    """Monthly normals, interpolated between mid-months."""
    local = at.astimezone(LOCAL)
    position = (local.month - 1) + (local.day - 15) / 30.5
    lower = math.floor(position)
    weight = position - lower
    return _MONTHLY_MEAN_C[lower % 12] * (1 - weight) + _MONTHLY_MEAN_C[(lower + 1) % 12] * weight


# -- signals --------------------------------------------------------------------------------------


def temperature(key: str, offset_c: float) -> Signal:
    """Air temperature (°C): season, a daily cycle peaking mid-afternoon, weather drifting over hours."""

    def value(at: datetime) -> float:
        mean = seasonal_mean_c(at)
        amplitude = 2.5 + 0.25 * mean
        daily = amplitude * math.cos(2 * math.pi * (local_hour(at) - 15.0) / 24)
        weather = 2.5 * smooth_noise("weather", at, 6 * 3600) + 0.4 * smooth_noise(key, at, 3600)
        return round(mean + offset_c + daily + weather, 1)

    return value


def relative_humidity(key: str) -> Signal:
    """Relative humidity (0..1), highest before dawn."""

    def value(at: datetime) -> float:
        daily = 0.12 * math.cos(2 * math.pi * (local_hour(at) - 5.0) / 24)
        return round(min(1.0, max(0.3, 0.78 + daily + 0.08 * smooth_noise(key, at, 4 * 3600))), 2)

    return value


def wind_speed(key: str) -> Signal:
    """Wind speed (m/s)."""
    return lambda at: round(max(0.0, 3.2 + 2.2 * smooth_noise("wind", at, 8 * 3600) + 0.6 * noise(key, at, 900)), 1)


def wind_direction(key: str) -> Signal:
    """Wind direction (degrees, 0..360), mostly westerly."""
    return lambda at: round((250 + 70 * smooth_noise("wind-direction", at, 12 * 3600) + 15 * noise(key, at, 900)) % 360)


def precipitation(key: str, step_s: int) -> Signal:
    """Precipitation in the interval (mm): showers on some afternoons, rain fronts now and then."""

    def value(at: datetime) -> float:
        front = smooth_noise("rain-front", at, 9 * 3600)
        local = 0.3 * noise(key, at, step_s)
        intensity_mm_h = max(0.0, (front + local - 0.45) * 4.0)
        return round(intensity_mm_h * step_s / 3600, 1)

    return value


def pressure() -> Signal:
    """Air pressure (hPa), the same over the city."""
    return lambda at: round(1014 + 11 * smooth_noise("pressure", at, 36 * 3600), 1)


def pollutant(key: str, base: float, traffic_share: float, spread: float) -> Signal:
    """A concentration (µg/m³) that follows traffic."""

    def value(at: datetime) -> float:
        level = base * (1 - traffic_share + traffic_share * 1.6 * traffic_profile(at))
        return round(max(0.5, level * (1 + spread * smooth_noise(key, at, 3 * 3600))), 1)

    return value


def ozone(key: str) -> Signal:
    """Ozone (µg/m³): highest on sunny afternoons, low at night and where traffic is heavy."""

    def value(at: datetime) -> float:
        sun = _bump(local_hour(at), 15.5, 3.5)
        season = max(0.3, seasonal_mean_c(at) / 18.6)
        return round(max(2.0, 18 + 55 * sun * season + 8 * smooth_noise(key, at, 3 * 3600)), 1)

    return value


def vehicle_count(key: str, peak_per_hour: float, step_s: int) -> Signal:
    """Vehicles counted in the interval."""

    def value(at: datetime) -> int:
        rate = peak_per_hour * traffic_profile(at) * (1 + 0.12 * noise(key, at, step_s))
        return max(0, round(rate * step_s / 3600))

    return value


def average_speed(key: str, free_kmh: float, peak_per_hour: float) -> Signal:
    """Average speed (km/h): slower when busy."""
    return lambda at: round(max(8.0, free_kmh * (1 - 0.45 * traffic_profile(at)) + 3 * noise(key, at, 900)), 1)


def occupancy(key: str) -> Signal:
    """Share of time a loop detector is occupied (0..1)."""
    return lambda at: round(min(1.0, max(0.0, 0.04 + 0.4 * traffic_profile(at) + 0.03 * noise(key, at, 900))), 2)


def bicycle_count(key: str, peak_per_hour: float, step_s: int) -> Signal:
    """Bicycles in the interval: commuter peaks, fewer when it rains."""
    rain = precipitation("city", 3600)

    def value(at: datetime) -> int:
        dryness = 1.0 / (1.0 + float(rain(at)))
        rate = peak_per_hour * (0.6 * traffic_profile(at) + 0.4 * shopping_profile(at)) * dryness
        return max(0, round(rate * (1 + 0.2 * noise(key, at, step_s)) * step_s / 3600))

    return value


def people_count(key: str, peak_per_hour: float, step_s: int) -> Signal:
    """Pedestrians in the interval (a shopping street)."""

    def value(at: datetime) -> int:
        rate = peak_per_hour * shopping_profile(at) * (1 + 0.15 * noise(key, at, step_s))
        return max(0, round(rate * step_s / 3600))

    return value


def free_spots(key: str, total: int, busy_share: float, commuter: bool) -> Signal:
    """Free spots of a car park or zone: full while the shops are open (or, for commuters, on workdays)."""

    def value(at: datetime) -> int:
        if commuter and not is_weekend(at):
            hour = local_hour(at)
            demand = 0.15 + 0.8 * (1 / (1 + math.exp(-(hour - 7.5) * 2))) * (1 / (1 + math.exp((hour - 18.0) * 1.5)))
        else:
            demand = 0.1 + 0.9 * shopping_profile(at)
        share = demand * busy_share * (1 + 0.06 * smooth_noise(key, at, 1800))
        return max(0, min(total, round(total * (1 - share))))

    return value


def spot_status(key: str) -> Signal:
    """One sensor-equipped bay: "free" or "occupied"."""
    return lambda at: "occupied" if noise(key, at, 1800) < -1 + 2 * (0.25 + 0.65 * shopping_profile(at)) else "free"


def available_bikes(key: str, slots: int, towards_centre: bool) -> Signal:
    """Bikes at a docking station: they flow into the centre in the morning and out in the evening."""

    def value(at: datetime) -> int:
        hour = local_hour(at)
        swing = math.tanh((hour - 8.0) / 1.5) - math.tanh((hour - 17.5) / 1.5)  # 0 at night, ~2 by day
        share = 0.45 + (0.2 if towards_centre else -0.2) * swing / 2 + 0.1 * smooth_noise(key, at, 3600)
        return max(0, min(slots, round(slots * share)))

    return value


def available_chargers(key: str, capacity: int) -> Signal:
    """Free charging points of a station."""

    def value(at: datetime) -> int:
        busy_share = 0.15 + 0.6 * max(traffic_profile(at), shopping_profile(at)) + 0.15 * noise(key, at, 1800)
        return max(0, min(capacity, capacity - round(capacity * busy_share)))

    return value


def filling_level(key: str, emptied_weekday: int, daily_rise: float) -> Signal:
    """A waste container: fills during the week, emptied early on one weekday (0 = Monday)."""

    def value(at: datetime) -> float:
        local = at.astimezone(LOCAL)
        days_since = (local.weekday() - emptied_weekday) % 7 + local_hour(at) / 24
        if local.weekday() == emptied_weekday and local_hour(at) < 6.0:
            days_since += 7  # not yet emptied this morning
        days_since -= 6.0 / 24
        level = 0.04 + daily_rise * days_since * (1 + 0.1 * noise(key, at, 86400))
        return round(min(1.0, max(0.0, level)), 2)

    return value


def power_state() -> Signal:
    return lambda at: "on" if is_dark(at) else "off"


def illuminance_level() -> Signal:
    """Dimming level of a street light (0..1): full after dusk, dimmed after midnight, off by day."""

    def value(at: datetime) -> float:
        if not is_dark(at):
            return 0.0
        hour = local_hour(at)
        return 0.5 if 0.0 <= hour < 5.0 else 1.0

    return value


def battery_level(key: str, installed: datetime) -> Signal:
    """A battery (0..1) draining over about five years."""
    return lambda at: round(max(0.05, 0.98 - (at - installed).days / 1900 + 0.01 * noise(key, at, 86400)), 2)


def rssi(key: str, base_dbm: float) -> Signal:
    return lambda at: round(base_dbm + 6 * noise(key, at, 3600))


def contribution_count(start: datetime, per_day: float, end: datetime | None = None) -> Signal:
    """Contributions to a participation project: a burst at the start, then steadily more."""

    def value(at: datetime) -> int:
        last = min(at, end) if end is not None else at
        days = max(0.0, (last - start).total_seconds() / 86400)
        return int(per_day * days + 40 * (1 - math.exp(-days / 3)))

    return value


def constant(value: Any) -> Signal:
    return lambda at: value


def drift(key: str, base: float, amplitude: float, period_s: int, digits: int) -> Signal:
    """A value wandering slowly around `base` (a raw sensor reading)."""
    return lambda at: round(base + amplitude * smooth_noise(key, at, period_s), digits)


# -- values derived from another signal at the same time ---------------------------------------------------


def occupied_share(free: Signal, total: int) -> Signal:
    return lambda at: round(1 - int(free(at)) / total, 2)


def car_park_status(free: Signal, total: int) -> Signal:
    def value(at: datetime) -> list[str]:
        spots = int(free(at))
        return ["full"] if spots == 0 else ["almostFull"] if spots < total * 0.05 else ["spacesAvailable"]

    return value


def remaining(total: int, used: Signal) -> Signal:
    return lambda at: total - int(used(at))


def station_status(available: Signal, capacity: int) -> Signal:
    """A docking or charging station: "empty", "full" or "working" (the Smart Data Models enum)."""

    def value(at: datetime) -> str:
        count = int(available(at))
        return "empty" if count == 0 else "full" if count == capacity else "working"

    return value


def charger_status(free: Signal) -> Signal:
    return lambda at: "full" if int(free(at)) == 0 else "working"


def air_quality_index(no2: Signal) -> Signal:
    return lambda at: max(1, round(float(no2(at)) * 1.2))


def air_quality_level(no2: Signal) -> Signal:
    def value(at: datetime) -> str:
        level = float(no2(at))
        return "good" if level < 40 else "moderate" if level < 90 else "poor"

    return value


def collected_weight(key: str, base_kg: float) -> Signal:
    return lambda at: round(base_kg + 40 * noise(key, at, 86400))

