"""Choice of circuits and conductors, and the top-k distinct alternatives.

Conductors: the score of a circuit depends only on its own (candidate, conductor) option and no
constraint couples conductors across circuits, so each candidate's best feasible conductor is
chosen exactly by a vectorised argmin (:func:`scheme_engine.evaluation.best_conductor`) before
the circuits are chosen.

Circuits: a scheme takes ``n_circuits`` distinct candidates under the independence rule (one
circuit per substation for dual_source, per bus section for dual_circuit, never two on one
existing feeder), without pairs whose routes share more corridor than policy allows; the
objective is the sum of circuit scores (cost + weighted time, losses, reliability).

The model is an OR-Tools CP-SAT model (one Boolean per candidate; :func:`_cpsat`). For the
sizes a plan meets it is solved exactly by enumeration instead, which is what CP-SAT proves
at several times the cost: a single source is the smallest score (sorting), a pair the best
of at most C(C-1)/2 admissible pairs (one vectorised pass; 24 candidates give 276 pairs), in
CP-SAT's own objective (scores in whole yuan) so both pick the same optimum. Measured on the
L city: CP-SAT ~2 ms per dual plan (model, three solves), enumeration ~0.1 ms.
``use_cpsat=True`` solves every choice with CP-SAT, and the tests check that both agree;
CP-SAT also takes any ``n_circuits`` above 2.

Alternatives: after each solution a no-good cut forbids its set of feeders (policy
``alternatives_distinct_by_feeder``; else its set of connection points): a later solution may
not use all of them again, so the k-th solution is the best scheme that differs materially
from the ones before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from .evaluation import Options, best_conductor

SCORE_UNIT_CNY = 1.0  # CP-SAT needs integers: scores are rounded to whole yuan


@cache
def _cp() -> tuple[Any, type]:
    """OR-Tools' cp_model and a CpModel without the per-instance camelCase aliases (~3 ms per
    model in ortools 9.15; this module uses only the snake_case API). Imported on first use:
    single-source plans never need it."""
    from ortools.sat.python import cp_model

    class _CpModel(cp_model.CpModel):  # type: ignore[misc]
        def _add_pre_pep8_methods(self) -> None:
            return None

    return cp_model, _CpModel


@dataclass(frozen=True)
class Selection:
    """One solution: chosen (candidate, conductor) per circuit, and its objective."""

    candidates: tuple[int, ...]
    conductors: tuple[int, ...]
    score: float
    status: str


def alternative_key(opts: Options, distinct_by_feeder: bool) -> np.ndarray:
    """What makes two alternatives different, per candidate (feeder / bus section, or point)."""
    cand = opts.cand
    if distinct_by_feeder:
        return np.where(cand.feeder >= 0, cand.feeder, -2 - cand.bus_section)
    return np.arange(len(cand))


def select_topk(opts: Options, n_circuits: int, k: int, distinct_substations: bool,
                distinct_bus_sections: bool, corridor_conflict: np.ndarray | None = None,
                time_limit_s: float = 5.0, distinct_by_feeder: bool = True,
                use_cpsat: bool = False) -> list[Selection]:
    """The ``k`` best distinct schemes (fewer when fewer exist).

    Parameters
    ----------
    opts : Options
        Evaluated options; only feasible ones can be chosen.
    n_circuits : int
        1 (single source) or 2 (dual circuit / dual source).
    corridor_conflict : ndarray of bool, shape (C, C), optional
        Candidate pairs whose routes share too much corridor.
    distinct_by_feeder : bool
        Alternatives differ in their set of feeders (a new feeder counts by its bus section)
        rather than only in their set of connection points.
    use_cpsat : bool
        Solve with CP-SAT rather than by enumeration (same optimum, slower).
    """
    best_t, best_score = best_conductor(opts)
    cand_ids = np.flatnonzero(best_t >= 0)
    if cand_ids.size < n_circuits:
        return []
    key = alternative_key(opts, distinct_by_feeder)
    if n_circuits == 1 and not use_cpsat:
        order = cand_ids[np.lexsort((cand_ids, best_score[cand_ids]))]
        out, seen = [], set()
        for c in order:
            if int(key[c]) in seen:
                continue
            seen.add(int(key[c]))
            out.append(Selection((int(c),), (int(best_t[c]),), float(best_score[c]), "optimal"))
            if len(out) == k:
                break
        return out
    if n_circuits == 2 and not use_cpsat:
        return _pairs(opts, k, distinct_substations, distinct_bus_sections, corridor_conflict,
                      best_t, best_score, cand_ids, key)
    return _cpsat(opts, n_circuits, k, distinct_substations, distinct_bus_sections,
                  corridor_conflict, time_limit_s, best_t, best_score, cand_ids, key)


def _pairs(opts, k, distinct_substations, distinct_bus_sections, corridor_conflict, best_t,
           best_score, cand_ids, key) -> list[Selection]:
    """The CP-SAT model of two circuits, solved by enumerating every admissible pair."""
    cand = opts.cand
    a, b = np.triu_indices(cand_ids.size, 1)
    ca, cb = cand_ids[a], cand_ids[b]  # ca < cb: cand_ids is sorted

    def same(g: np.ndarray) -> np.ndarray:  # a rule only groups non-negative ids
        return (g[ca] >= 0) & (g[ca] == g[cb])

    ok = ~same(cand.feeder)
    if distinct_substations:
        ok &= ~same(cand.substation)
    if distinct_bus_sections:
        ok &= ~same(cand.bus_section)
    if corridor_conflict is not None:
        ok &= ~corridor_conflict[ca, cb]
    ca, cb = ca[ok], cb[ok]
    # CP-SAT's objective (whole yuan per option), ties by the exact sum, then by the points
    coef = np.round(best_score / SCORE_UNIT_CNY)
    exact = best_score[ca] + best_score[cb]
    order = np.lexsort((cb, ca, exact, coef[ca] + coef[cb]))
    ka, kb = key[ca].tolist(), key[cb].tolist()
    out: list[Selection] = []
    cuts: list[frozenset[int]] = []
    for i in order.tolist():
        used = frozenset((ka[i], kb[i]))
        if any(cut <= used for cut in cuts):  # the no-good cuts of the solutions before
            continue
        c0, c1 = int(ca[i]), int(cb[i])
        out.append(Selection((c0, c1), (int(best_t[c0]), int(best_t[c1])), float(exact[i]),
                             "optimal"))
        if len(out) == k:
            break
        cuts.append(used)
    return out


def _cpsat(opts, n_circuits, k, distinct_substations, distinct_bus_sections, corridor_conflict,
           time_limit_s, best_t, best_score, cand_ids, key) -> list[Selection]:
    cp_model, model_class = _cp()
    cand = opts.cand
    m = model_class()
    u = {int(c): m.new_bool_var(f"u{c}") for c in cand_ids}
    m.add(sum(u.values()) == n_circuits)
    if n_circuits > 1:
        rules = [cand.feeder]  # never two circuits on one existing feeder
        if distinct_substations:
            rules.append(cand.substation)
        if distinct_bus_sections:
            rules.append(cand.bus_section)
        for g in rules:
            gv = g[cand_ids]
            for val in np.unique(gv[gv >= 0]):
                members = [u[int(c)] for c in cand_ids[gv == val]]
                if len(members) > 1:
                    m.add(sum(members) <= 1)
        if corridor_conflict is not None:
            sub = corridor_conflict[np.ix_(cand_ids, cand_ids)]
            for a, b in zip(*np.nonzero(np.triu(sub, 1)), strict=True):
                m.add(u[int(cand_ids[a])] + u[int(cand_ids[b])] <= 1)
    groups: dict[int, object] = {}
    kv = key[cand_ids]
    for g in np.unique(kv):
        members = [u[int(c)] for c in cand_ids[kv == g]]
        if len(members) == 1:
            groups[int(g)] = members[0]
        else:
            gvar = m.new_bool_var(f"g{g}")
            m.add_max_equality(gvar, members)
            groups[int(g)] = gvar
    coef = np.round(best_score[cand_ids] / SCORE_UNIT_CNY).astype(np.int64)
    m.minimize(sum(int(w) * u[int(c)] for w, c in zip(coef, cand_ids, strict=True)))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # tiny models: parallel workers only add overhead
    solver.parameters.max_time_in_seconds = time_limit_s
    out: list[Selection] = []
    for _ in range(k):
        st = solver.solve(m)
        if st not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            break
        cc = tuple(sorted(int(c) for c in cand_ids if bool(solver.value(u[int(c)]))))
        tt = tuple(int(best_t[c]) for c in cc)
        out.append(Selection(cc, tt, float(best_score[list(cc)].sum()),
                             "optimal" if st == cp_model.OPTIMAL else "feasible"))
        chosen = {int(key[c]) for c in cc}
        # no-good: the next alternative uses another set of feeders (or points)
        m.add(sum(groups[g] for g in chosen) <= len(chosen) - 1)  # type: ignore[misc]
    return out
