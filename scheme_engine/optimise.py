"""Choice of circuits and conductors with OR-Tools CP-SAT, and the top-k distinct alternatives.

Per voltage level the model has one Boolean per feasible (candidate, conductor) option. A
scheme takes ``n_circuits`` options at distinct candidates; dual supply adds the independence
rule (one circuit per substation for dual_source, per bus section for dual_circuit, never two
on one existing feeder) and forbids pairs whose routes share more corridor than policy allows.
The objective is the sum of option scores (cost + weighted time, losses, reliability).
Alternatives: after each solve a no-good cut forbids that set of connection points, so the
k-th solution is the best scheme using a different set of connection points.
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
                time_limit_s: float = 5.0) -> list[Selection]:
    """Solve for the ``k`` best distinct schemes (fewer when fewer exist).

    Parameters
    ----------
    opts : Options
        Evaluated options; only feasible ones become variables.
    n_circuits : int
        1 (single source) or 2 (dual circuit / dual source).
    corridor_conflict : ndarray of bool, shape (C, C), optional
        Candidate pairs whose routes share too much corridor.
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
        m.add(sum(u[c] for c in cc) <= len(cc) - 1)  # no-good: another set of points
    return out
