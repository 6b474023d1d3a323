"""Views of supply schemes: offline maps, 3D preview and the reply letter (供电方案答复单).

Every function takes a ``PlanResult`` JSON document (dict) and reads it defensively.
"""

from .maps import Basemap, map_html, parse_basemap, scheme_map, write_scheme_map
from .preview3d import preview3d_html, write_preview3d

__all__ = ["Basemap", "map_html", "parse_basemap", "preview3d_html", "scheme_map",
           "write_preview3d", "write_scheme_map"]
