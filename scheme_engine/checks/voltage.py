"""Voltage checks (GB/T 12325): at the point of supply, across the feeder, on the new line,
and the rise from exported PV."""

from __future__ import annotations

import numpy as np

from grid_models.compiled import SQRT3

from .base import fill, register
from .inputs import CheckInputs


@register("voltage_deviation", "%", "供电点电压偏差", "voltage deviation at the point of supply",
          "abs_le")
def voltage_deviation(x: CheckInputs) -> tuple[np.ndarray, np.ndarray]:
    """Deviation of the customer's voltage from nominal after connection."""
    dev = (np.abs(x.flow.v_kv) / x.site.u_kv - 1) * 100
    return dev, np.full(np.shape(dev), x.band_pct)


@register("network_voltage", "%", "馈线最低电压偏差", "lowest feeder voltage after connection",
          "abs_le")
def network_voltage(x: CheckInputs) -> tuple[np.ndarray, np.ndarray]:
    """Lowest voltage anywhere on the feeder / bus section afterwards. Conservative bound:
    every node of the feeder sees at most the full Thevenin drop of the connection point, and
    every node of the section the sag of the busbar."""
    s, i, u = x.site, x.flow.i_ka, x.site.u_kv
    sag = np.abs(SQRT3 * s.z_src * i) / u
    path = np.abs(SQRT3 * (s.z_th - s.z_src) * i) / u
    low = np.minimum(s.feeder_min_pu - sag - path, s.section_min_pu - sag)
    dev = (low - 1) * 100
    return dev, np.full(np.shape(dev), x.band_pct)


@register("new_line_drop", "%", "新建线路压降", "voltage drop on the new line", "le")
def new_line_drop(x: CheckInputs) -> tuple[np.ndarray, np.ndarray]:
    """Drop along the new line itself."""
    drop = np.abs(SQRT3 * x.flow.z_line * x.flow.i_ka) / x.site.u_kv * 100
    return drop, np.full(np.shape(drop), x.params.new_line_voltage_drop_limit_pct)


@register("pv_voltage_rise", "%", "光伏电压抬升", "PV voltage rise", "le", load_dependent=False)
def pv_voltage_rise(x: CheckInputs) -> tuple[np.ndarray, np.ndarray]:
    """Rise at the point of supply with the PV export at the feeder's minimum load (GB/T
    33593); zero without PV."""
    s = x.site
    shape = np.broadcast_shapes(np.shape(x.flow.z_line), np.shape(s.v0))
    lim = np.full(shape, x.params.pv_voltage_rise_limit_pct)
    if x.load.pv_export_mw <= 0:
        return np.zeros(shape), lim
    s_exp = -x.load.pv_export_mw * x.params.pv_midday_coincidence
    i_exp = np.conj(s_exp / (SQRT3 * s.v0))
    rise = (np.abs(s.v0 - SQRT3 * (s.z_th + x.flow.z_line) * i_exp) / s.u_kv - 1) * 100
    return fill(rise, shape), lim
