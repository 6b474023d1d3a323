"""The HTTP API end to end, on SQLite and PostgreSQL: planning, storage, exports, bad input,
idempotency, networks, capacity, policy and tokens."""

from __future__ import annotations

import json
import threading

import pytest
import sqlalchemy as sa

from .conftest import Service, demo_application

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _submit(svc: Service, who: str = "designer", **kw) -> dict:
    r = svc.client.post("/v1/applications", json=demo_application(**kw), headers=svc.h(who))
    assert r.status_code == 201, r.text
    return r.json()


def test_submit_plans_stores_and_reads_back(service: Service) -> None:
    from api.plan_cli import DEMO_NETWORK
    from api.store.models import Scheme as SchemeRow
    from grid_models.io import read_network
    from scheme_engine.engine import Planner

    doc = _submit(service, requested_kva=800, tier="普通")
    res = doc["result"]
    assert doc["n_schemes"] == len(res["schemes"]) >= 2
    assert [s["rank"] for s in res["schemes"]] == list(range(1, doc["n_schemes"] + 1))
    active = service.client.get("/v1/networks", headers=service.h("admin")).json()["active_version"]
    assert doc["network_version"] == res["network_version"] == active
    assert doc["policy_id"] == res["policy_id"] and res["policy_id"].startswith("default@")
    # the service answers what the engine answers for the same application
    direct = Planner(read_network(DEMO_NETWORK)).plan(demo_application(requested_kva=800, tier="普通"))
    assert [s.cost_cny["total"] for s in direct.schemes] == [s["cost_cny"]["total"] for s in res["schemes"]]
    got = service.client.get(f"/v1/applications/{doc['id']}", headers=service.h("designer"))
    assert got.status_code == 200 and got.json() == doc
    # every stored scheme row records the network version and policy it was computed with
    with service.db.read() as s:
        rows = s.execute(sa.select(SchemeRow.rank, SchemeRow.network_version, SchemeRow.policy_id,
                                   SchemeRow.cost_total_cny)
                         .where(SchemeRow.application_id == doc["id"]).order_by(SchemeRow.rank)).all()
    assert [r.rank for r in rows] == [1, 2][: len(rows)] and len(rows) == doc["n_schemes"]
    assert {(r.network_version, r.policy_id) for r in rows} == {(active, doc["policy_id"])}
    assert rows[0].cost_total_cny == res["schemes"][0]["cost_cny"]["total"]


def test_schemes_compare_and_list(service: Service) -> None:
    doc = _submit(service, requested_kva=800, tier="普通")
    aid = doc["id"]
    h = service.h("designer")
    s2 = service.client.get(f"/v1/applications/{aid}/schemes/2", headers=h)
    assert s2.status_code == 200 and s2.json()["scheme"]["rank"] == 2
    assert service.client.get(f"/v1/applications/{aid}/schemes/9", headers=h).json()["error"]["field"] == "rank"
    allsch = service.client.get(f"/v1/applications/{aid}/schemes", headers=h).json()
    assert len(allsch["schemes"]) == doc["n_schemes"]
    cmp = service.client.get(f"/v1/applications/{aid}/compare", headers=h).json()
    assert cmp["ranks"] == [1, 2]
    rows = {r["key"]: r["values"] for r in cmp["rows"]}
    assert rows["cost_total_cny"] == [s["cost_cny"]["total"] for s in doc["result"]["schemes"]]
    assert rows["cost_total_cny"][0] <= rows["cost_total_cny"][1]
    assert len(rows["connection_points"]) == 2
    sc1 = doc["result"]["schemes"][0]["circuits"][0]["short_circuit"]
    assert rows["short_circuit_customer_ka"][0] == sc1["customer"]["ikss_max_ka"]
    assert rows["switchgear_rating_ka"][0] == [sc1["switchgear_rating_ka"]]
    assert rows["conductor_sized_by_thermal_withstand"][0] == [
        sc1["thermal"]["sized_by_thermal_withstand"]]
    one = service.client.get(f"/v1/applications/{aid}/compare?ranks=2", headers=h).json()
    assert one["ranks"] == [2]
    bad = service.client.get(f"/v1/applications/{aid}/compare?ranks=7", headers=h)
    assert bad.status_code == 404 and bad.json()["error"]["field"] == "ranks"
    lst = service.client.get("/v1/applications?limit=200", headers=h).json()
    assert aid in [i["id"] for i in lst["items"]] and lst["total"] >= 1


def test_exports_geojson_and_map(service: Service) -> None:
    doc = _submit(service, requested_kva=800, tier="普通")
    aid = doc["id"]
    g = service.client.get(f"/v1/applications/{aid}/exports/geojson?scheme=1", headers=service.h("designer"))
    assert g.status_code == 200 and g.headers["content-type"].startswith("application/geo+json")
    fc = g.json()
    roles = [f["properties"]["role"] for f in fc["features"]]
    assert roles[0] == "customer_site" and "route" in roles and "connection_point" in roles
    assert {f["properties"].get("rank") for f in fc["features"][1:]} == {1}
    route = next(f for f in fc["features"] if f["properties"]["role"] == "route")
    assert route["geometry"] == doc["result"]["schemes"][0]["circuits"][0]["route"]
    m = service.client.get(f"/v1/applications/{aid}/exports/map?lang=en", headers=service.h("designer"))
    assert m.status_code == 200 and m.headers["content-type"].startswith("text/html")
    assert "sandbox" in m.headers["content-security-policy"]
    assert b"leaflet" in m.content.lower()
    pt = doc["result"]["schemes"][0]["circuits"][0]["connection"]["point_id"]
    assert pt.encode() in m.content
    unknown = service.client.get(f"/v1/applications/{aid}/exports/kml", headers=service.h("designer"))
    assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "fmt"
    assert "geojson" in unknown.json()["error"]["message"]


@pytest.mark.parametrize(("body", "field"), [
    ({"lon": 106.82, "lat": 39.67}, "requested_kva"),
    ({"lon": 106.82, "lat": 39.67, "requested_kva": -5}, "requested_kva"),
    ({"lon": 106.82, "lat": 39.67, "requested_kva": 800, "tier": "五级"}, "tier"),
    ({"lon": 0.0, "lat": 0.0, "requested_kva": 800}, "lon"),
    ({"lon": 106.82, "lat": 39.67, "requested_kva": 800, "colour": "red"}, "colour"),
    ({"lon": 106.82, "lat": 39.67, "requested_kva": 800, "load": {"pv_export_kw": "x"}},
     "load.pv_export_kw"),
    ({"lon": 106.82, "lat": 39.67, "requested_kva": 800, "industry": "unobtainium"}, "industry"),
    ([1, 2, 3], "body"),
])
def test_bad_applications_name_the_field(service: Service, body: object, field: str) -> None:
    r = service.client.post("/v1/applications", json=body, headers=service.h("designer"))
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["field"] == field, err
    assert err["code"] in ("invalid_request", "invalid_application") and err["message"]


def test_bad_requests_are_4xx_with_a_body(service: Service) -> None:
    c, h = service.client, service.h("designer")
    hj = {**h, "content-type": "application/json"}
    cases = [
        (c.post("/v1/applications", content=b'{"lon": 1,', headers=hj), 422, "body"),
        (c.post("/v1/applications", content=b"[" * 50_000 + b"]" * 50_000, headers=hj), 422, "body"),
        (c.post("/v1/applications", content=b"\xff\xfe{", headers=hj), 422, "body"),
        (c.post("/v1/applications", content=b"x" * 1_200_000, headers=hj), 413, "body"),
        (c.post("/v1/applications?top_k=0", json=demo_application(), headers=h), 422, "top_k"),
        (c.get("/v1/applications/a_doesnotexist", headers=h), 404, "application_id"),
        (c.get("/v1/applications/bad id!", headers=h), 422, "application_id"),
        (c.get("/v1/applications?limit=100000", headers=h), 422, "limit"),
        (c.post("/v1/applications", json=demo_application(), headers={**h, "Idempotency-Key": "has spaces in it"}), 422,
         "Idempotency-Key"),
        (c.get("/v1/jobs/j_nope", headers=h), 404, "job_id"),
        (c.post("/v1/jobs", json={"kind": "bake_bread"}, headers=h), 422, None),
        (c.post("/v1/jobs", json={"kind": "plan_batch", "applications": []}, headers=h), 422,
         "applications"),
    ]
    for r, status, field in cases:
        assert r.status_code == status, (r.request.url, r.text[:300])
        err = r.json()["error"]
        assert err["status"] == status and err["code"] and err["message"]
        if field is not None:
            assert err["field"] == field, (r.request.url, err)
    # a declared Content-Length over the limit is refused before the body is read
    r = c.post("/v1/applications", content=b"{}", headers={**hj, "content-length": "5000000"})
    assert r.status_code == 413


def test_idempotency_key(service: Service) -> None:
    from api.store.models import Application as AppRow

    c, h = service.client, service.h("cust_a")
    key = "order-7f3e-" + service.backend
    body = demo_application(customer_name="幂等客户")
    first = c.post("/v1/applications", json=body, headers={**h, "Idempotency-Key": key})
    again = c.post("/v1/applications", json=body, headers={**h, "Idempotency-Key": key})
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    other = c.post("/v1/applications", json=demo_application(customer_name="别的"),
                   headers={**h, "Idempotency-Key": key})
    assert other.status_code == 409 and other.json()["error"]["field"] == "Idempotency-Key"
    # another customer's identical key is their own, unrelated submission
    b = c.post("/v1/applications", json=body, headers={**service.h("cust_b"), "Idempotency-Key": key})
    assert b.status_code == 201 and b.json()["id"] != first.json()["id"]
    # concurrent duplicates: exactly one stored
    key2 = key + "-race"
    out: list[int] = []

    def post() -> None:
        r = c.post("/v1/applications", json=body, headers={**h, "Idempotency-Key": key2})
        out.append(r.status_code)

    ts = [threading.Thread(target=post) for _ in range(4)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    assert sorted(out)[0] in (200, 201) and set(out) <= {200, 201} and out.count(201) >= 1
    with service.db.read() as s:
        n = s.scalar(sa.select(sa.func.count()).select_from(AppRow)
                     .where(AppRow.owner == "cust-A", AppRow.idempotency_key.in_([key, key2])))
    assert n == 2


def test_capacity_heat_map(service: Service) -> None:
    from api.plan_cli import DEMO_NETWORK
    from grid_models.io import read_network
    from grid_models.policy import load_policy

    r = service.client.get("/v1/capacity", headers=service.h("designer"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    net = read_network(DEMO_NETWORK)
    assert len(fc["features"]) == len(net.feeders)
    limits = load_policy().table("load_rate_limits").set_index("connection_mode")["max_load_rate"]
    f = net.feeders.iloc[3]
    p = next(x["properties"] for x in fc["features"] if x["id"] == f["id"])
    rated = 3 ** 0.5 * f["vn_kv"] * f["rated_i_ka"]
    assert p["rated_mva"] == pytest.approx(rated, abs=1e-3)
    assert p["n1_load_rate_limit"] == limits[f["connection_mode"]]
    assert p["headroom_mva"] == pytest.approx(limits[f["connection_mode"]] * rated
                                              - p["peak_mw"] / p["power_factor"], abs=1e-3)
    assert all(x["geometry"]["type"] == "MultiLineString" for x in fc["features"] if x["geometry"])
    assert service.client.get("/v1/capacity", headers=service.h("cust_a")).status_code == 403


def _invalid_network_bytes(tmp_path) -> bytes:
    from api.plan_cli import DEMO_NETWORK
    from grid_models.io import read_network, write_network

    net = read_network(DEMO_NETWORK)
    seg = net.layers["segments"]
    seg.loc[seg.index[5], "to_node"] = "NO_SUCH_NODE"
    p = tmp_path / "broken.gpkg"
    write_network(net, p)
    return p.read_bytes()


def test_network_upload_validate_activate(service: Service, tmp_path) -> None:
    from api.plan_cli import DEMO_NETWORK

    c, h = service.client, service.h("admin")
    before = c.get("/v1/networks", headers=h).json()
    same = c.post("/v1/networks?name=demo-again", content=DEMO_NETWORK.read_bytes(), headers=h)
    assert same.status_code == 200 and same.json()["version_id"] == before["active_version"]
    bad = c.post("/v1/networks", content=_invalid_network_bytes(tmp_path), headers=h)
    assert bad.status_code == 422, bad.text
    err = bad.json()["error"]
    assert err["code"] == "invalid_network" and err["field"] == "body"
    assert any("NO_SUCH_NODE" in p["message"] or p["element_id"] for p in err["problems"])
    assert any(p["severity"] == "error" for p in err["problems"])
    garbage = c.post("/v1/networks", content=b"not a geopackage" * 10, headers=h)
    assert garbage.status_code == 422 and garbage.json()["error"]["problems"][0]["code"] == "unreadable"
    empty = c.post("/v1/networks", content=b"", headers=h)
    assert empty.status_code == 422 and empty.json()["error"]["field"] == "body"
    after = c.get("/v1/networks", headers=h).json()
    assert [n["version_id"] for n in after["items"]] == [n["version_id"] for n in before["items"]]
    v = before["active_version"]
    act = c.post(f"/v1/networks/{v}/activate", headers=h)
    assert act.status_code == 200 and act.json()["active"] is True
    assert c.post("/v1/networks/0123456789abcdef/activate", headers=h).status_code == 404
    one = c.get(f"/v1/networks/{v}", headers=service.h("designer")).json()
    assert one["summary"]["n_feeders"] > 0 and one["size_bytes"] == DEMO_NETWORK.stat().st_size


def test_new_network_version_is_planned_on_after_activation(service: Service, tmp_path) -> None:
    from api.plan_cli import DEMO_NETWORK
    from grid_models.io import read_network, write_network

    c, h = service.client, service.h("admin")
    old = c.get("/v1/networks", headers=h).json()["active_version"]
    net = read_network(DEMO_NETWORK)
    f = net.layers["feeders"]
    f.loc[f.index[0], "name"] = "renamed feeder"  # a new version: same physics, new content hash
    p = tmp_path / "v2.gpkg"
    write_network(net, p)
    up = c.post("/v1/networks?name=v2", content=p.read_bytes(), headers=h)
    assert up.status_code == 201 and up.json()["active"] is False
    new = up.json()["version_id"]
    assert new != old
    try:
        assert c.post(f"/v1/networks/{new}/activate", headers=h).status_code == 200
        doc = _submit(service)
        assert doc["network_version"] == new and doc["result"]["network_version"] == new
    finally:
        assert c.post(f"/v1/networks/{old}/activate", headers=h).status_code == 200
    assert _submit(service)["network_version"] == old


def test_policy_tokens_me_and_probes(service: Service) -> None:
    c = service.client
    pol = c.get("/v1/policy", headers=service.h("designer")).json()
    assert pol["active"] == "default" and "default" in pol["available"]
    assert c.put("/v1/policy", json={"name": "default"}, headers=service.h("admin")).status_code == 200
    bad = c.put("/v1/policy", json={"name": "nope"}, headers=service.h("admin"))
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "name"
    made = c.post("/v1/tokens", json={"role": "customer", "principal": "cust-T", "name": "t"},
                  headers=service.h("admin"))
    assert made.status_code == 201
    tok = made.json()["token"]
    me = c.get("/v1/me", headers={"Authorization": f"Bearer {tok}"})
    assert me.json()["principal"] == "cust-T" and me.json()["role"] == "customer"
    listed = c.get("/v1/tokens", headers=service.h("admin")).json()["items"]
    assert tok not in json.dumps(listed) and made.json()["id"] in [t["id"] for t in listed]
    assert c.delete(f"/v1/tokens/{made.json()['id']}", headers=service.h("admin")).status_code == 200
    assert c.get("/v1/me", headers={"Authorization": f"Bearer {tok}"}).status_code == 401
    assert c.delete(f"/v1/tokens/{made.json()['id']}", headers=service.h("admin")).status_code == 404
    nocust = c.post("/v1/tokens", json={"role": "customer"}, headers=service.h("admin"))
    assert nocust.status_code == 422 and nocust.json()["error"]["field"] == "principal"
    assert c.get("/healthz").json() == {"status": "ok"}
    ready = c.get("/readyz")
    assert ready.status_code == 200 and ready.json()["planner_warm"] and ready.json()["worker"], ready.text
    r = c.get("/v1/me", headers={"Authorization": "Bearer gs_forged"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert "server-timing" in r.headers and r.headers["x-content-type-options"] == "nosniff"


def test_an_engine_failure_is_not_a_server_error(service: Service, monkeypatch) -> None:
    """Whatever the engine raises on one application, the answer is a 4xx with a reference."""
    c = service.client
    version, policy = service.app.state.ctx.active()
    wp = service.app.state.ctx.warm(version, policy)

    def broken(*_a, **_k):
        raise FloatingPointError("simulated engine failure")

    monkeypatch.setattr(wp.planner, "plan", broken)
    r = c.post("/v1/applications", json=demo_application(), headers=service.h("designer"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "cannot_plan"
    assert "reference" in r.json()["error"]["message"] and "FloatingPoint" not in r.text
