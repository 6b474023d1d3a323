"""Park pre-planning (电等客户): a reserved, jointly optimal scheme for every parcel of a park.

Public API: :func:`read_parcels_file`, :func:`check_parcels` (parcels, bad ones, demand),
:func:`plan_park` (options in one batch, the joint model, reservations), :class:`Ledger`
(reservations carried between parks), :func:`park_summary` and :func:`write_park_outputs`
(summary.json/md, GeoPackage, heat map), :func:`capacity_heatmap`.
"""

from .ledger import Ledger, Limits
from .parcels import ParkInput, check_parcels, read_parcels_file
from .plan import ParkResult, plan_park
from .settings import ParkSettings, park_settings

__all__ = ["Ledger", "Limits", "ParkInput", "ParkResult", "ParkSettings", "check_parcels",
           "park_settings", "plan_park", "read_parcels_file"]
