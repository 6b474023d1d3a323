"""Solving the joint model: HiGHS (MIP), CP-SAT (polisher or alone) and the greedy baseline.

HiGHS runs through :func:`scipy.optimize.milp` (the sparse matrix goes in as it is, no model
built in Python; recipes.md measured HiGHS as the stronger solver for this shape of problem).
CP-SAT needs integers: continuous variables become integers in small units and each row is
scaled and rounded *conservatively* (coefficients up, right-hand sides down), so whatever
CP-SAT finds is feasible in the original model. The greedy reserves parcels one at a time in
their input order, each taking the cheapest option that still fits (building the park assets
it needs): what planning them one by one would give, and a feasible start.

Every result reports ``objective``, ``bound`` and ``gap = (objective - bound) / |objective|``;
the returned solution is never worse than the greedy one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .model import JointModel
from .options import K_PARK

TOL = 1e-7


@dataclass
class Solution:
    """A solution of a joint model."""

    v: np.ndarray
    objective: float
    bound: float
    status: str  # optimal, gap_reached, time_limit, heuristic
    solver: str
    seconds: float

    @property
    def gap(self) -> float:
        if not np.isfinite(self.bound):
            return float("inf")
        return max(0.0, (self.objective - self.bound)) / max(abs(self.objective), 1e-9)

    def as_dict(self) -> dict[str, object]:
        return {"solver": self.solver, "status": self.status, "objective": self.objective,
                "bound": self.bound, "gap": self.gap, "seconds": round(self.seconds, 3)}


def violation(m: JointModel, v: np.ndarray) -> float:
    """Largest violation of any row or bound (0 for a feasible point)."""
    act = m.A @ v
    rv = np.maximum(np.maximum(m.lo - act, act - m.hi), 0.0)
    bv = np.maximum(np.maximum(m.lb - v, v - m.ub), 0.0)
    iv = np.abs(v - np.round(v))[m.integer]
    return float(max(rv.max(initial=0.0), bv.max(initial=0.0), iv.max(initial=0.0)))


def _tidy(m: JointModel, v: np.ndarray) -> np.ndarray:
    """Round integers, then recompute the continuous totals from them (the smallest values the
    rows allow), so tiny solver tolerances never leak into reported numbers."""
    v = np.where(m.integer, np.round(v), v)
    v = np.clip(v, m.lb, m.ub)
    x = m.x_of(v)
    par = m.options.parcel
    served = np.bincount(par, weights=x, minlength=m.n_parcels)
    v[m.blocks["u"]] = np.clip(1.0 - served, 0.0, 1.0)
    return v


def solve_highs(m: JointModel, time_limit_s: float, gap: float) -> Solution:
    """HiGHS branch-and-cut (``scipy.optimize.milp``)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    t0 = time.perf_counter()
    res = milp(m.c, constraints=LinearConstraint(m.A, m.lo, m.hi),
               integrality=m.integer.astype(np.int8), bounds=Bounds(m.lb, m.ub),
               options={"time_limit": max(time_limit_s, 0.1), "mip_rel_gap": gap,
                        "disp": False, "presolve": True})
    dt = time.perf_counter() - t0
    raw = res.get("mip_dual_bound") if hasattr(res, "get") else None
    # HiGHS gives no MIP bound when presolve solves the model outright (then it is optimal)
    bound = float(raw) if raw is not None else np.nan
    if res.x is None:
        return Solution(np.full(m.n_vars, np.nan), float("inf"),
                        bound if np.isfinite(bound) else -np.inf, "no_solution", "highs", dt)
    v = _tidy(m, np.asarray(res.x, float))
    status = {0: "optimal", 1: "time_limit"}.get(res.status, str(res.message))
    obj = float(m.c @ v)
    if not np.isfinite(bound):
        bound = obj if res.status == 0 else -np.inf
    bound = min(bound, obj)
    if status == "optimal" and obj - bound > 1e-9 * max(1.0, abs(obj)):
        status = "gap_reached"
    return Solution(v, obj, bound, status, "highs", dt)


def solve_cpsat(m: JointModel, time_limit_s: float, gap: float,
                hint: np.ndarray | None = None, workers: int = 2) -> Solution:
    """CP-SAT on a conservatively integer-scaled copy of the model (see module notes)."""
    from ortools.sat.python import cp_model

    t0 = time.perf_counter()
    n = m.n_vars
    unit = np.where(m.integer, 1.0, 1e-6)  # continuous: micro-units (pu, MVA)
    # "unserved" is integral by its row (1 - sum of binaries) and carries the large penalties:
    # in whole units its cost is exact
    unit[m.blocks["u"]] = 1.0
    lb = np.ceil(m.lb / unit - 1e-9)
    ub = np.where(np.isfinite(m.ub), np.floor(m.ub / unit + 1e-9), 0)
    # continuous variables without a finite upper bound: bound them by the rows they appear in
    big = 10 ** 12
    ub = np.where(np.isfinite(m.ub), ub, big)
    model = cp_model.CpModel()
    vs = [model.new_int_var(int(lb[j]), int(ub[j]), f"v{j}") for j in range(n)]
    A = m.A.tocsr()
    A.sort_indices()
    for i in range(A.shape[0]):
        a, b = A.indptr[i], A.indptr[i + 1]
        cols = A.indices[a:b]
        vals = A.data[a:b] * unit[cols]
        if cols.size == 0:
            continue
        lo, hi = m.lo[i], m.hi[i]
        if np.all(vals == np.round(vals)) and (not np.isfinite(hi) or hi == np.round(hi)) \
                and (not np.isfinite(lo) or lo == np.round(lo)):
            ints, s = vals.astype(np.int64), 1.0
            lo_i = int(lo) if np.isfinite(lo) else None
            hi_i = int(hi) if np.isfinite(hi) else None
        else:
            s = 1e6 / max(float(np.abs(vals).max()), 1e-12)
            # <= rows only here (the model's other rows are integral): round conservatively
            ints = np.ceil(vals * s - 1e-9).astype(np.int64)
            lo_i = None
            hi_i = int(np.floor(hi * s + 1e-9)) if np.isfinite(hi) else None
        expr = sum(int(c) * vs[j] for c, j in zip(ints, cols, strict=True))
        if lo_i is not None and hi_i is not None and lo_i == hi_i:
            model.add(expr == lo_i)
        else:
            if hi_i is not None:
                model.add(expr <= hi_i)
            if lo_i is not None:
                model.add(expr >= lo_i)
    obj_c = np.round(m.c * unit).astype(np.int64)
    nz = np.flatnonzero(obj_c)
    model.minimize(sum(int(obj_c[j]) * vs[j] for j in nz))
    if hint is not None:
        for j in range(n):
            model.add_hint(vs[j], int(round(hint[j] / unit[j])))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(time_limit_s, 0.1)
    solver.parameters.num_workers = workers
    solver.parameters.relative_gap_limit = gap
    code = solver.solve(model)
    dt = time.perf_counter() - t0
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Solution(np.full(n, np.nan), float("inf"), -np.inf, "no_solution", "cpsat", dt)
    v = np.array([solver.value(x) for x in vs], float) * unit
    v = _tidy(m, v)
    obj = float(m.c @ v)
    bound = min(float(solver.best_objective_bound), obj)
    status = "optimal" if code == cp_model.OPTIMAL else "time_limit"
    if status == "optimal" and obj - bound > 1e-9 * max(1.0, abs(obj)):
        status = "gap_reached"
    return Solution(v, obj, bound, status, "cpsat", dt)


class _Greedy:
    """Sequential reservation on the model's rows (see the module notes)."""

    def __init__(self, m: JointModel) -> None:
        self.m = m
        A = m.A.tocsc()
        self.indptr, self.indices, self.data = A.indptr, A.indices, A.data
        self.v = np.zeros(m.n_vars)
        self.v[m.blocks["u"]] = 1.0
        self.act = m.A @ self.v
        self.site_used = np.zeros(m.assets.n_sites if m.assets is not None else 0)

    def _col(self, cols: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rs, vs = [], []
        for j, dj in zip(cols, d, strict=True):
            a, b = self.indptr[j], self.indptr[j + 1]
            rs.append(self.indices[a:b])
            vs.append(self.data[a:b] * dj)
        r = np.concatenate(rs) if rs else np.zeros(0, np.int64)
        val = np.concatenate(vs) if vs else np.zeros(0)
        ur, inv = np.unique(r, return_inverse=True)
        return ur, np.bincount(inv, weights=val, minlength=ur.size)

    def fits(self, cols: np.ndarray, d: np.ndarray) -> bool:
        if np.any(self.v[cols] + d < self.m.lb[cols] - TOL) or \
                np.any(self.v[cols] + d > self.m.ub[cols] + TOL):
            return False
        r, dv = self._col(cols, d)
        new = self.act[r] + dv
        return bool(np.all(new <= self.m.hi[r] + TOL) and np.all(new >= self.m.lo[r] - TOL))

    def apply(self, cols: np.ndarray, d: np.ndarray) -> None:
        r, dv = self._col(cols, d)
        self.act[r] += dv
        np.add.at(self.v, cols, d)


def greedy(m: JointModel) -> Solution:
    """Parcels in input order, each the cheapest option that still fits (module notes)."""
    t0 = time.perf_counter()
    g = _Greedy(m)
    opts = m.options
    circ = m.circuits
    b = m.blocks
    a = m.assets
    order = np.lexsort((opts.score, opts.parcel))
    starts = np.searchsorted(opts.parcel[order], np.arange(m.n_parcels))
    ends = np.searchsorted(opts.parcel[order], np.arange(m.n_parcels), side="right")
    sp_var = b["s_park"].start if a is not None else -1
    for p in range(m.n_parcels):
        best = None
        for o in order[starts[p]:ends[p]]:
            cols, d = m.opt_aux[o]
            cols = np.r_[b["x"].start + o, cols]
            d = np.r_[1.0, d]
            if circ.kind[opts.c1[o]] == K_PARK:
                extra = _park_delta(g, m, o)
                if extra is None:
                    continue
                cols = np.r_[cols, extra[0]]
                d = np.r_[d, extra[1]]
            elif a is not None:
                cols, d = _bump_s_park(g, m, cols, d, sp_var)
            inc_cost = float(m.c[cols] @ d)
            if best is not None and inc_cost >= best[0]:
                continue
            if g.fits(cols, d):
                best = (inc_cost, cols, d)
        if best is not None:
            g.apply(best[1], best[2])
            k = opts.c1[int(best[1][0]) - b["x"].start]
            if circ.kind[k] == K_PARK:
                g.site_used[circ.site[k]] += 1
    v = _tidy(m, g.v)
    obj = float(m.c @ v)
    return Solution(v, obj, -np.inf, "heuristic", "greedy", time.perf_counter() - t0)


def _bump_s_park(g: _Greedy, m: JointModel, cols: np.ndarray, d: np.ndarray, sp_var: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Raise S_park when a section feeding the park sags further."""
    a = m.assets
    if a is None:
        return cols, d
    qs = m.blocks["q"].start
    need = 0.0
    for i, bsec in enumerate(a.src_bs):
        if g.v[qs + i] < 0.5:
            continue
        sv = m.s_var_of_bs.get(int(bsec))
        if sv is None:
            continue
        ds = float(d[cols == sv].sum())
        need = max(need, g.v[sv] + ds + m.prior_sag.get(int(bsec), 0.0))
    if need > g.v[sp_var]:
        cols = np.r_[cols, sp_var]
        d = np.r_[d, need - g.v[sp_var]]
    return cols, d


def _park_delta(g: _Greedy, m: JointModel, o: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Asset changes a park option needs (the park rows of :mod:`.model`): an RMU unit at its
    site when its bays are taken (the site and the hub on the ring), the units the packing
    needs, and feeder capacity in packing weights (a new feeder from the cheapest source the
    circuit may be fed from when none has room; a ring has two feeders)."""
    from .assets import park_item_mva

    a = m.assets
    if a is None:
        return None
    b = m.blocks
    circ = m.circuits
    k = m.options.c1[o]
    site = int(circ.site[k])
    w_k = float(park_item_mva(np.array([circ.inc_mva[k]]), a)[0])
    s_w = a.item_max_mva
    cap = a.feeder_cap_mva - s_w
    bad = set(int(x) for x in (a.circuit_bad_src or {}).get((int(circ.parcel[k]), site), ()))
    dz: dict[int, float] = {}
    zs, ws, es = b["z"].start, b["w"].start, b["e"].start
    ys, gs, qs = b["y"].start, b["g"].start, b["q"].start

    def add(col: int, v: float) -> None:
        dz[col] = dz.get(col, 0.0) + v

    def unit_at(s_: int) -> bool:
        if g.v[zs + s_] + dz.get(zs + s_, 0.0) + 1 > a.site_max_units[s_] + TOL:
            return False
        add(zs + s_, 1.0)
        if g.v[ws + s_] + dz.get(ws + s_, 0.0) < 0.5:
            add(ws + s_, 1.0)
        return True

    n_site = g.site_used[site] + 1
    if n_site > a.bays_per_unit * g.v[zs + site] + TOL and not unit_at(site):
        return None
    if n_site > a.bays_per_unit * g.v[es + site] + TOL:
        add(es + site, 1.0)
    if site != a.hub and g.v[ws + a.hub] + dz.get(ws + a.hub, 0.0) < 0.5:
        add(ws + a.hub, 1.0)  # the hub joins the ring with one unit
        add(zs + a.hub, 1.0)
    y = g.v[ys:ys + a.n_sources].copy()
    gv = g.v[gs:gs + a.n_sources]
    used = g.v[qs:qs + a.n_sources] > 0.5
    if any(used[i] for i in bad):
        return None
    room = cap * y - gv
    ok_src = np.array([i not in bad for i in range(a.n_sources)])
    fit = np.flatnonzero(used & ok_src & (room >= w_k - TOL))
    new_y = np.zeros(a.n_sources)
    dgs: dict[int, float] = {}
    order = [int(x) for x in np.argsort(a.src_cost, kind="stable") if ok_src[x]]
    if fit.size:
        src = int(fit[np.argmin(a.src_sag_per_mva[fit])])
        dg = w_k
    else:
        src = -1
        for x in order:
            extra = w_k + (0.0 if used[x] else s_w)
            n_more = max(1, int(np.ceil((gv[x] + extra - cap * y[x]) / max(cap, 1e-9) - 1e-9)))
            if y[x] + n_more <= a.src_max[x]:
                src, dg = x, extra
                new_y[x] += n_more
                break
        if src < 0:
            return None
    total = y.sum() + new_y.sum()
    if total < 2:  # a ring needs two feeders
        for x in order:
            if y[x] + new_y[x] < a.src_max[x] and (x != src or a.src_max[x] >= 2):
                new_y[x] += 1
                if not used[x] and x != src:
                    dgs[x] = dgs.get(x, 0.0) + s_w  # a source in use keeps s_w of room
                break
        if y.sum() + new_y.sum() < 2:
            return None
    for grown in np.flatnonzero(new_y):
        add(ys + int(grown), float(new_y[grown]))
        if not used[grown]:
            add(qs + int(grown), 1.0)
    dgs[src] = dgs.get(src, 0.0) + dg
    # units: one more per new feeder beyond the first (a site may split at the boundary)
    need = (g.v[es:es + a.n_sites].sum() + sum(v for c, v in dz.items() if es <= c < es + a.n_sites)
            + y.sum() + new_y.sum() - 1
            - g.v[zs:zs + a.n_sites].sum() - sum(v for c, v in dz.items() if zs <= c < zs + a.n_sites))
    while need > TOL:
        placed = unit_at(site) or any(unit_at(int(s_)) for s_ in a.ring_order
                                      if g.v[ws + s_] + dz.get(ws + s_, 0.0) > 0.5)
        if not placed:
            return None
        need -= 1
    for x, dgx in dgs.items():  # park load on a source: its busbar sags (S_def rows)
        add(gs + x, dgx)
        add(m.s_var_of_bs[int(a.src_bs[x])], float(a.src_sag_per_mva[x] * dgx))
    # S_park >= S[b] + prior for every section feeding the park (after this option)
    sp = b["s_park"].start
    need_sp = g.v[sp]
    for i, bsec in enumerate(a.src_bs):
        if used[i] or new_y[i] > 0:
            svi = m.s_var_of_bs[int(bsec)]
            need_sp = max(need_sp, g.v[svi] + dz.get(svi, 0.0) + m.prior_sag.get(int(bsec), 0.0))
    if need_sp > g.v[sp]:
        add(sp, need_sp - g.v[sp])
    cols = np.array(list(dz), np.int64)
    return cols, np.array([dz[c] for c in cols])


def cost_gap_target(m: JointModel, base: Solution, gap: float) -> float:
    """The relative gap (on the whole objective) to stop at so that the gap of the *costs* is
    about ``gap``: the objective holds the unserved parcels' penalties, which would make a
    1 % gap on it worth far more than 1 % of what is built. The greedy solution's cost share
    of its objective scales it (``gap x cost / objective``; the reported ``gap_costs`` is
    exact afterwards). When the greedy serves nobody there is no scale: the model is solved to
    proven optimality within the time limit (0)."""
    u = m.blocks["u"]
    if not np.isfinite(base.objective) or base.objective <= 0:
        return gap
    cost = base.objective - float(m.c[u] @ base.v[u])
    return gap * min(1.0, cost / base.objective) if cost > 0 else 0.0


def solve(m: JointModel, time_limit_s: float, gap: float, solver: str = "highs",
          polish_s: float = 0.0) -> tuple[Solution, Solution]:
    """The joint solution (never worse than the greedy one) and the greedy baseline.

    Parameters
    ----------
    gap : float
        Relative gap of the costs to stop at (:func:`cost_gap_target`).
    solver : {"highs", "cpsat"}
    polish_s : float
        After HiGHS, CP-SAT hinted with its solution for this long (0: not run).
    """
    base = greedy(m)
    rel = cost_gap_target(m, base, gap)
    if solver == "cpsat":
        best = solve_cpsat(m, time_limit_s, rel, hint=base.v)
    else:
        best = solve_highs(m, time_limit_s, rel)
        if polish_s > 0 and np.isfinite(best.objective) and best.gap > rel:
            pol = solve_cpsat(m, polish_s, rel, hint=best.v)
            if pol.objective < best.objective - 1e-6 and violation(m, pol.v) <= 1e-6:
                pol.bound = max(pol.bound, best.bound)
                pol.solver = "highs+cpsat"
                best = pol
    if not np.isfinite(best.objective) or violation(m, best.v) > 1e-5 \
            or best.objective > base.objective + 1e-6:
        bound = best.bound if np.isfinite(best.bound) else -np.inf
        best = Solution(base.v, base.objective, min(bound, base.objective),
                        "greedy_kept", best.solver, best.seconds + base.seconds)
    return best, base
