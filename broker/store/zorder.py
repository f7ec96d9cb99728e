# SPDX-License-Identifier: EUPL-1.2
"""Z-order cells: a position as one integer, and a box as a few ranges of those integers.

The SQLite store indexes Points in an ordinary B-tree on their cell (as MongoDB's geohash and S2
indexes do) instead of an R*Tree, whose insert rewrites several 4 KiB node blobs and was the
costliest statement of an entity's creation. Longitude and latitude are quantised on a grid of
2^26 x 2^26 (about 0.6 x 0.3 m at the equator) and their bits interleaved (longitude in the even
bits), so that every aligned square of the grid is one contiguous range of cells. A box is covered by
the squares of a quadtree walk down to about a quarter of the box's size; the exact relation is
decided on the positions afterwards, so a range may hold a little more than the box.

Quantisation is monotonic (positions outside the valid range are clamped), so a position inside a
box always has its cell inside the box's ranges.
"""

from __future__ import annotations

BITS = 26  # per axis
_SIDE = 1 << BITS
_MAX = _SIDE - 1
_LON_SCALE = _SIDE / 360.0
_LAT_SCALE = _SIDE / 180.0


def _spread(v: int) -> int:
    """The bits of v (< 2^32) moved to the even positions."""
    v = (v | (v << 16)) & 0x0000FFFF0000FFFF
    v = (v | (v << 8)) & 0x00FF00FF00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v << 2)) & 0x3333333333333333
    return (v | (v << 1)) & 0x5555555555555555


def grid_x(lon: float) -> int:
    if not lon == lon:  # NaN (never indexed: broker.store.sqlite_writes keeps finite positions only)
        return 0
    return min(int((min(max(lon, -180.0), 180.0) + 180.0) * _LON_SCALE), _MAX)


def grid_y(lat: float) -> int:
    if not lat == lat:
        return 0
    return min(int((min(max(lat, -90.0), 90.0) + 90.0) * _LAT_SCALE), _MAX)


def cell_of(lon: float, lat: float) -> int:
    """The cell of a position (longitude, latitude in degrees)."""
    return _spread(grid_x(lon)) | (_spread(grid_y(lat)) << 1)


def cell_ranges(box: tuple[float, float, float, float]) -> list[tuple[int, int]]:
    """Inclusive, ascending, disjoint ranges of cells that hold every position in the box
    (min_lon, min_lat, max_lon, max_lat)."""
    x0, x1 = grid_x(box[0]), grid_x(box[2])
    y0, y1 = grid_y(box[1]), grid_y(box[3])
    if x0 > x1 or y0 > y1:
        return []
    smallest = max(0, max(x1 - x0, y1 - y0).bit_length() - 2)  # squares of about a quarter of the box
    ranges: list[tuple[int, int]] = []

    def visit(nx: int, ny: int, shift: int) -> None:
        low_x, low_y = nx << shift, ny << shift
        high_x, high_y = low_x + (1 << shift) - 1, low_y + (1 << shift) - 1
        if high_x < x0 or low_x > x1 or high_y < y0 or low_y > y1:
            return
        if shift == smallest or (x0 <= low_x and high_x <= x1 and y0 <= low_y and high_y <= y1):
            first = (_spread(nx) | (_spread(ny) << 1)) << (2 * shift)
            last = first + (1 << (2 * shift)) - 1
            if ranges and ranges[-1][1] + 1 == first:
                ranges[-1] = (ranges[-1][0], last)
            else:
                ranges.append((first, last))
            return
        for dy in (0, 1):  # children in Z order: (0, 0), (1, 0), (0, 1), (1, 1)
            for dx in (0, 1):
                visit(2 * nx + dx, 2 * ny + dy, shift - 1)

    visit(0, 0, BITS)
    return ranges


__all__ = ["BITS", "cell_of", "cell_ranges", "grid_x", "grid_y"]
