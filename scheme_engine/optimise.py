"""Choice of circuits and conductors with OR-Tools CP-SAT, and the top-k distinct alternatives.

Per voltage level the model has one Boolean per feasible (candidate, conductor) option. A
scheme takes ``n_circuits`` options at distinct candidates; dual supply adds the independence
rule (one circuit per substation for dual_source, per bus section for dual_circuit, never two
on one existing feeder) and forbids pairs whose routes share more corridor than policy allows.
The objective is the sum of option scores (cost + weighted time, losses, reliability).
Alternatives: after each solve a no-good cut forbids that set of feeders (policy
``alternatives_distinct_by_feeder``; else that set of connection points), so the k-th solution
is the best scheme that differs materially from the ones before it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from .evaluation import Options

SCORE_UNIT_CNY = 1.0  # CP-SAT needs integers: scores are rounded to whole yuan


class _CpModel(cp_model.CpModel):
    """CpModel without the per-instance camelCase aliases (~3 ms per model in ortools 9.15);
    this module uses only the snake_case API."""

    def _add_pre_pep8_methods(self) -> None:
        return None


@dataclass(frozen=True)
class Selection:
    """One solution: chosen (candidate, conductor) per circuit, and its objective."""

    candidates: tuple[int, ...]
    conductors: tuple[int, ...]
    score: float
    status: str


def select_topk(opts: Options, n_circuits: int, k: int, distinct_substations: bool,
                distinct_bus_sections: bool, corridor_conflict: np.ndarray | None = None,
                time_limit_s: float = 5.0, distinct_by_feeder: bool = True) -> list[Selection]:
    """Solve for the ``k`` best distinct schemes (fewer when fewer exist).

    Parameters
    ----------
    opts : Options
        Evaluated options; only feasible ones become variables.
    n_circuits : int
        1 (single source) or 2 (dual circuit / dual source).
    corridor_conflict : ndarray of bool, shape (C, C), optional
        Candidate pairs whose routes share too much corridor.
    distinct_by_feeder : bool
        Alternatives must differ in their set of feeders (a new feeder counts by its bus
        section) rather than only in their set of connection points.
    """
    cs, ts = np.nonzero(opts.feasible)
    if cs.size == 0:
        return []
    m = _CpModel()
    x = [m.new_bool_var(f"x{c}_{t}") for c, t in zip(cs, ts, strict=True)]
    cand_ids = np.unique(cs)
    u = {int(c): m.new_bool_var(f"u{c}") for c in cand_ids}
    for c in cand_ids:
        m.add(sum(x[j] for j in np.flatnonzero(cs == c)) == u[int(c)])
    m.add(sum(u.values()) == n_circuits)
    cand = opts.cand
    if n_circuits > 1:
        groups = [cand.feeder]
        if distinct_substations:
            groups.append(cand.substation)
        if distinct_bus_sections:
            groups.append(cand.bus_section)
        for g in groups:
            for val in np.unique(g[cand_ids]):
                if val < 0:
                    continue
                members = [u[int(c)] for c in cand_ids if g[c] == val]
                if len(members) > 1:
                    m.add(sum(members) <= 1)
        if corridor_conflict is not None:
            for a in cand_ids:
                for b in cand_ids:
                    if a < b and corridor_conflict[a, b]:
                        m.add(u[int(a)] + u[int(b)] <= 1)
    # what makes two alternatives different: their sets of feeders, or of points
    key = (np.where(cand.feeder >= 0, cand.feeder, -2 - cand.bus_section) if distinct_by_feeder
           else np.arange(len(cand)))
    groups: dict[int, object] = {}
    for g in np.unique(key[cand_ids]):
        members = [u[int(c)] for c in cand_ids if key[c] == g]
        if len(members) == 1:
            groups[int(g)] = members[0]
        else:
            gv = m.new_bool_var(f"g{g}")
            m.add_max_equality(gv, members)
            groups[int(g)] = gv
    coef = np.round(opts.score[cs, ts] / SCORE_UNIT_CNY).astype(np.int64)
    m.minimize(sum(int(w) * xi for w, xi in zip(coef, x, strict=True)))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # tiny models: parallel workers only add overhead
    solver.parameters.max_time_in_seconds = time_limit_s
    out: list[Selection] = []
    for _ in range(k):
        st = solver.solve(m)
        if st not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            break
        chosen = [j for j in range(len(x)) if solver.value(x[j])]
        cc = tuple(int(cs[j]) for j in chosen)
        tt = tuple(int(ts[j]) for j in chosen)
        order = np.argsort(cc)
        cc, tt = tuple(np.array(cc)[order].tolist()), tuple(np.array(tt)[order].tolist())
        out.append(Selection(cc, tt, float(opts.score[list(cc), list(tt)].sum()),
                             "optimal" if st == cp_model.OPTIMAL else "feasible"))
        chosen_groups = {int(key[c]) for c in cc}
        # no-good: the next alternative uses another set of feeders (or points)
        m.add(sum(groups[g] for g in chosen_groups) <= len(chosen_groups) - 1)
    return out
