"""Thermal checks: the new line and every existing segment on the path to the source."""

from __future__ import annotations

import numpy as np

from .base import register
from .inputs import CheckInputs


@register("ampacity", "kA", "新建线路载流量", "new line ampacity", "le")
def ampacity(x: CheckInputs) -> tuple[np.ndarray, np.ndarray]:
    """Current of the new line against its rating x ``line_loading_limit`` (IEC 60287)."""
    return x.flow.i_abs, x.line.max_i_ka * x.params.line_loading_limit


@register("path_headroom", "kA", "电源路径剩余载流量", "headroom along the feeder path", "le")
def path_headroom(x: CheckInputs) -> tuple[np.ndarray, np.ndarray]:
    """The customer's current against the smallest spare rating on the path to the busbar
    (infinite for a new feeder straight from the busbar)."""
    return x.flow.i_abs, x.site.headroom_ka
