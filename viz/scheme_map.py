"""Compatibility import: the map moved to :mod:`viz.maps` (``viz.maps.scheme_map``)."""

from .maps.scheme_map import map_html, scheme_map, write_scheme_map

__all__ = ["map_html", "scheme_map", "write_scheme_map"]
