"""Offline folium maps of an application's schemes (customer and designer variants)."""

from .basemap import Basemap, parse_basemap
from .gcj02 import gcj02_to_wgs84, wgs84_to_gcj02
from .scheme_map import map_html, scheme_map, write_scheme_map

__all__ = ["Basemap", "gcj02_to_wgs84", "map_html", "parse_basemap", "scheme_map",
           "wgs84_to_gcj02", "write_scheme_map"]
