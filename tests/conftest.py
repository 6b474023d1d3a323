"""Shared fixtures: the hand-made small network and its planner, the bundled demo city."""

from __future__ import annotations

import pytest

from grid_models.policy import Policy, load_policy
from tests.fixtures_small import small_network


@pytest.fixture(scope="session")
def default_policy() -> Policy:
    """The bundled default policy profile."""
    return load_policy()


@pytest.fixture(scope="session")
def small_planner():
    """A planner on the hand-made small network (tests/fixtures_small.py)."""
    from scheme_engine.engine import Planner

    return Planner(small_network())


@pytest.fixture(scope="session")
def demo_planner():
    """A planner on the bundled demo city (grid_models/demo/demo_city_S.gpkg)."""
    from api.plan_cli import DEMO_NETWORK
    from grid_models.io import read_network
    from scheme_engine.engine import Planner

    return Planner(read_network(DEMO_NETWORK))
