# SPDX-License-Identifier: EUPL-1.2
"""Z-order cells (broker.store.zorder): every position inside a box has its cell in the box's ranges,
whatever the box (tiny, huge, at the edges of the world, beyond them); the ranges are few, ascending
and merged; and the cell is the interleaving of the grid coordinates."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from broker.store.zorder import BITS, cell_of, cell_ranges, grid_x, grid_y

longitudes = st.one_of(st.floats(-200.0, 200.0), st.floats(-1e308, 1e308))
latitudes = st.one_of(st.floats(-100.0, 100.0), st.floats(-1e308, 1e308))
spans = st.one_of(st.floats(0.0, 1e-6), st.floats(0.0, 0.05), st.floats(0.0, 400.0))


@st.composite
def boxes_and_positions(draw: st.DrawFn) -> tuple[tuple[float, float, float, float], list[tuple[float, float]]]:
    west, south = draw(longitudes), draw(latitudes)
    east, north = west + draw(spans), south + draw(spans)
    inside = st.tuples(st.floats(west, east), st.floats(south, north))
    corners = [(west, south), (east, north), (west, north), (east, south)]
    return (west, south, east, north), corners + draw(st.lists(inside, max_size=20))


@given(boxes_and_positions())
@example(((-180.0, -90.0, 180.0, 90.0), [(-180.0, -90.0), (180.0, 90.0), (0.0, 0.0)]))
@example(((7.8, 51.66, 7.8, 51.66), [(7.8, 51.66)]))
@example(((-1e308, -1e308, 1e308, 1e308), [(1e308, -1e308), (-1e308, 1e308), (0.0, 0.0)]))  # stored before validation
def test_every_position_in_the_box_has_its_cell_in_a_range(case: tuple[tuple[float, float, float, float], list[tuple[float, float]]]) -> None:
    box, inside = case
    ranges = cell_ranges(box)
    for lon, lat in inside:
        cell = cell_of(lon, lat)
        assert any(first <= cell <= last for first, last in ranges), (lon, lat, cell)


@given(boxes_and_positions())
def test_ranges_are_few_ascending_and_merged(case: tuple[tuple[float, float, float, float], list[tuple[float, float]]]) -> None:
    ranges = cell_ranges(case[0])
    assert 1 <= len(ranges) <= 40
    assert all(first <= last for first, last in ranges)
    assert all(ranges[n][1] + 1 < ranges[n + 1][0] for n in range(len(ranges) - 1))  # apart, not adjacent


def test_an_upside_down_box_holds_nothing() -> None:
    assert cell_ranges((8.0, 51.0, 7.0, 52.0)) == []


@given(longitudes, latitudes)
def test_the_cell_interleaves_the_grid_coordinates(lon: float, lat: float) -> None:
    cell, x, y = cell_of(lon, lat), grid_x(lon), grid_y(lat)
    assert 0 <= x < 1 << BITS and 0 <= y < 1 << BITS
    assert sum(((cell >> (2 * bit)) & 1) << bit for bit in range(BITS)) == x
    assert sum(((cell >> (2 * bit + 1)) & 1) << bit for bit in range(BITS)) == y
