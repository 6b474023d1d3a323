"""Authorization matrix: every endpoint x {no token, customer A, customer B, designer, admin},
on SQLite and PostgreSQL; and what customers' answers may contain (nothing of other customers,
no network elements but their own connection points)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from .conftest import Service, demo_application

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

WHO = (None, "cust_a", "cust_b", "designer", "admin")


@dataclass
class World:
    svc: Service
    app_a: str
    app_b: str
    job_a: str
    job_b: str
    version: str


def _wait_job(svc: Service, jid: str, who: str) -> dict:
    for _ in range(300):
        j = svc.client.get(f"/v1/jobs/{jid}", headers=svc.h(who)).json()
        if j["status"] in ("completed", "failed", "cancelled"):
            return j
        time.sleep(0.1)
    raise AssertionError(f"job {jid} did not finish: {j}")


@pytest.fixture(scope="module")
def world(service: Service) -> World:
    c = service.client
    a = c.post("/v1/applications", json=demo_application(customer_name="客户A", requested_kva=800,
                                                          tier="普通"), headers=service.h("cust_a"))
    b = c.post("/v1/applications", json=demo_application(customer_name="客户B-机密", requested_kva=9000,
                                                          tier="一级"), headers=service.h("cust_b"))
    ja = c.post("/v1/jobs", json={"kind": "plan_batch", "applications": [
        demo_application(customer_name="批量A", requested_kva=630, tier="普通")]},
        headers=service.h("cust_a"))
    jb = c.post("/v1/jobs", json={"kind": "plan_batch", "applications": [
        demo_application(customer_name="批量B-机密", requested_kva=1250, tier="普通")]},
        headers=service.h("cust_b"))
    assert a.status_code == b.status_code == 201 and ja.status_code == jb.status_code == 202
    _wait_job(service, ja.json()["id"], "cust_a")
    _wait_job(service, jb.json()["id"], "cust_b")
    v = c.get("/v1/networks", headers=service.h("admin")).json()["active_version"]
    return World(service, a.json()["id"], b.json()["id"], ja.json()["id"], jb.json()["id"], v)


def _codes(none: int = 401, a: int = 200, b: int = 200, d: int = 200, ad: int = 200) -> dict:
    return dict(zip(WHO, (none, a, b, d, ad), strict=True))


ANY = _codes()
OWN_A = _codes(b=404)                  # a resource of customer A
STAFF = _codes(a=403, b=403)
ADMIN = _codes(a=403, b=403, d=403)
PUBLIC = _codes(none=200)


def _fresh_token(w: World) -> str:
    r = w.svc.client.post("/v1/tokens", json={"role": "designer", "name": "to-revoke"},
                          headers=w.svc.h("admin"))
    return r.json()["id"]


# (method, route template as in the app, concrete path, request kwargs, expected codes)
Case = tuple[str, str, Callable[[World], str], Callable[[World], dict[str, Any]], dict]
CASES: list[Case] = [
    ("GET", "/healthz", lambda w: "/healthz", lambda w: {}, PUBLIC),
    ("GET", "/readyz", lambda w: "/readyz", lambda w: {}, PUBLIC),
    ("GET", "/v1/me", lambda w: "/v1/me", lambda w: {}, ANY),
    ("POST", "/v1/applications", lambda w: "/v1/applications",
     lambda w: {"json": demo_application(requested_kva=500, tier="普通")},
     _codes(a=201, b=201, d=201, ad=201)),
    ("GET", "/v1/applications", lambda w: "/v1/applications", lambda w: {}, ANY),
    ("GET", "/v1/applications/{application_id}", lambda w: f"/v1/applications/{w.app_a}",
     lambda w: {}, OWN_A),
    ("GET", "/v1/applications/{application_id}/schemes",
     lambda w: f"/v1/applications/{w.app_a}/schemes", lambda w: {}, OWN_A),
    ("GET", "/v1/applications/{application_id}/schemes/{rank}",
     lambda w: f"/v1/applications/{w.app_a}/schemes/1", lambda w: {}, OWN_A),
    ("GET", "/v1/applications/{application_id}/compare",
     lambda w: f"/v1/applications/{w.app_a}/compare", lambda w: {}, OWN_A),
    ("GET", "/v1/applications/{application_id}/exports/{fmt}",
     lambda w: f"/v1/applications/{w.app_a}/exports/geojson", lambda w: {}, OWN_A),
    ("GET", "/v1/applications/{application_id}/exports/{fmt}",
     lambda w: f"/v1/applications/{w.app_a}/exports/map", lambda w: {}, OWN_A),
    *[("GET", "/v1/applications/{application_id}/exports/{fmt}",
       lambda w, f=f: f"/v1/applications/{w.app_a}/exports/{f}", lambda w: {}, OWN_A)
      for f in ("preview3d", "view", "letter_pdf", "letter_docx")],
    ("GET", "/v1/roads", lambda w: "/v1/roads", lambda w: {}, ANY),
    ("POST", "/v1/jobs", lambda w: "/v1/jobs",
     lambda w: {"json": {"kind": "plan_batch", "applications": [demo_application(requested_kva=400)]}},
     _codes(a=202, b=202, d=202, ad=202)),
    ("GET", "/v1/jobs", lambda w: "/v1/jobs", lambda w: {}, ANY),
    ("GET", "/v1/jobs/{job_id}", lambda w: f"/v1/jobs/{w.job_a}", lambda w: {}, OWN_A),
    ("GET", "/v1/jobs/{job_id}/items", lambda w: f"/v1/jobs/{w.job_a}/items", lambda w: {}, OWN_A),
    # A's job has finished: those allowed to touch it learn that (409), B learns nothing (404)
    ("POST", "/v1/jobs/{job_id}/cancel", lambda w: f"/v1/jobs/{w.job_a}/cancel", lambda w: {},
     _codes(a=409, b=404, d=409, ad=409)),
    ("POST", "/v1/networks", lambda w: "/v1/networks",
     lambda w: {"content": _demo_bytes()}, ADMIN),
    ("GET", "/v1/networks", lambda w: "/v1/networks", lambda w: {}, STAFF),
    ("GET", "/v1/networks/{version_id}", lambda w: f"/v1/networks/{w.version}", lambda w: {}, STAFF),
    ("POST", "/v1/networks/{version_id}/activate",
     lambda w: f"/v1/networks/{w.version}/activate", lambda w: {}, ADMIN),
    ("GET", "/v1/networks/{version_id}/capacity",
     lambda w: f"/v1/networks/{w.version}/capacity", lambda w: {}, STAFF),
    ("GET", "/v1/capacity", lambda w: "/v1/capacity", lambda w: {}, STAFF),
    ("GET", "/v1/policy", lambda w: "/v1/policy", lambda w: {}, STAFF),
    ("PUT", "/v1/policy", lambda w: "/v1/policy", lambda w: {"json": {"name": "default"}}, ADMIN),
    ("POST", "/v1/tokens", lambda w: "/v1/tokens",
     lambda w: {"json": {"role": "customer", "principal": "cust-Z"}}, _codes(a=403, b=403, d=403, ad=201)),
    ("GET", "/v1/tokens", lambda w: "/v1/tokens", lambda w: {}, ADMIN),
    ("DELETE", "/v1/tokens/{token_id}", lambda w: f"/v1/tokens/{_fresh_token(w)}", lambda w: {}, ADMIN),
]


def _demo_bytes() -> bytes:
    from api.plan_cli import DEMO_NETWORK

    return DEMO_NETWORK.read_bytes()


def test_matrix_covers_every_endpoint(service: Service) -> None:
    paths = service.app.openapi()["paths"]
    routes = {(m.upper(), p) for p, ops in paths.items() for m in ops}
    assert routes == {(m, p) for m, p, *_ in CASES}


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]} {c[1]}" for c in CASES])
def test_authorization_matrix(world: World, case: Case) -> None:
    method, _route, path, kwargs, expected = case
    svc = world.svc
    got = {}
    for who in WHO:
        r = svc.client.request(method, path(world), headers=svc.h(who), **kwargs(world))
        got[who] = r.status_code
        if r.status_code >= 400:
            err = r.json()["error"]
            assert err["status"] == r.status_code and err["code"]
            if r.status_code == 404:
                # a 404 never says whose the resource is
                assert "cust-A" not in r.text and "客户A" not in r.text
        if r.status_code == 401:
            assert r.headers["www-authenticate"] == "Bearer"
    assert got == expected


def test_b_cannot_read_or_change_a(world: World) -> None:
    svc, c = world.svc, world.svc.client
    hb = svc.h("cust_b")
    for path in (f"/v1/applications/{world.app_a}", f"/v1/applications/{world.app_a}/schemes/1",
                 f"/v1/applications/{world.app_a}/exports/geojson", f"/v1/jobs/{world.job_a}",
                 f"/v1/jobs/{world.job_a}/items"):
        r = c.get(path, headers=hb)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert c.post(f"/v1/jobs/{world.job_a}/cancel", headers=hb).status_code == 404
    # B cannot list A's things, not even by asking for A's owner
    lst = c.get("/v1/applications?owner=cust-A&limit=200", headers=hb).json()
    assert lst["items"] == [] and lst["total"] == 0
    mine = c.get("/v1/applications?limit=200", headers=hb).json()["items"]
    assert mine and {i["owner"] for i in mine} == {"cust-B"}
    jobs = c.get("/v1/jobs?limit=200", headers=hb).json()["items"]
    assert jobs and {j["owner"] for j in jobs} == {"cust-B"}
    # the same Idempotency-Key as A used does not reach A's application
    r = c.post("/v1/applications", json=demo_application(), headers={**hb, "Idempotency-Key": "k1"})
    r2 = c.post("/v1/applications", json=demo_application(),
                headers={**svc.h("cust_a"), "Idempotency-Key": "k1"})
    assert r.json()["id"] != r2.json()["id"] and r2.json()["owner"] == "cust-A"


# --------------------------------------------------------------------------- no network leaks
def _network_ids() -> set[str]:
    from api.plan_cli import DEMO_NETWORK
    from grid_models.io import read_network

    net = read_network(DEMO_NETWORK)
    ids: set[str] = set()
    for layer in ("substations", "bus_sections", "feeders", "nodes", "segments", "switches"):
        ids |= set(net.layers[layer]["id"].astype(str))
    return ids


def _own_ids(doc: dict) -> set[str]:
    own = set()
    for s in doc["schemes"]:
        for c in s["circuits"]:
            conn = c["connection"]
            own |= {str(conn[k]) for k in ("point_id", "feeder_id", "bus_section_id",
                                           "substation_id", "line_id") if conn.get(k)}
    return own


def _export_text(path: str, body: bytes) -> str:
    """The text a person or program reads in an answer (the letter's PDF/DOCX text; the 3D
    page without the vendored three.js and viewer code)."""
    import io

    if path.endswith("letter_pdf"):
        from pypdf import PdfReader

        return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
    if path.endswith("letter_docx"):
        import docx

        d = docx.Document(io.BytesIO(body))
        return "\n".join([p.text for p in d.paragraphs]
                         + [c.text for t in d.tables for r in t.rows for c in r.cells])
    text = body.decode("utf-8")
    if path.endswith("preview3d"):
        from viz.assets import THREE_JS, VIEWER_JS, asset_text

        assert asset_text(THREE_JS) in text  # what is cut is the bundle, nothing else
        text = text.replace(asset_text(THREE_JS), "").replace(asset_text(VIEWER_JS), "")
    return text


def _ids_in(text: str, ids: set[str]) -> set[str]:
    return {t for t in re.findall(r"[A-Za-z0-9_\-]+", text) if t in ids}


@pytest.mark.parametrize("kw", [dict(requested_kva=800, tier="普通"),
                                dict(requested_kva=9000, tier="一级")], ids=["feasible", "remedy"])
def test_customer_answers_hold_no_network_elements(service: Service, kw: dict) -> None:
    ids = _network_ids()
    c = service.client
    r = c.post("/v1/applications", json=demo_application(customer_name="泄露检查", **kw),
               headers=service.h("cust_a"))
    assert r.status_code == 201
    doc = r.json()
    aid = doc["id"]
    own = _own_ids(doc["result"])
    assert own, "the test needs schemes with connection points"
    texts = {"submit": r.text}
    for p in ("", "/schemes", "/schemes/1", "/compare", "/exports/geojson", "/exports/map",
              "/exports/preview3d", "/exports/view", "/exports/letter_pdf", "/exports/letter_docx"):
        resp = c.get(f"/v1/applications/{aid}{p}", headers=service.h("cust_a"))
        assert resp.status_code == 200
        texts[p or "get"] = _export_text(p, resp.content)
    for name, text in texts.items():
        leaked = _ids_in(text, ids) - own
        assert not leaked, (name, sorted(leaked)[:10])
    assert doc["result"]["rejected"] == []
    assert all(c_["connection"]["source_ref"] == "" for s in doc["result"]["schemes"]
               for c_ in s["circuits"])
    # the check is not vacuous: a designer sees the nearby rejected candidates of the same result
    staff = c.get(f"/v1/applications/{aid}", headers=service.h("designer"))
    assert _ids_in(staff.text, ids) - own
    # the customer's job items are redacted the same way
    j = c.post("/v1/jobs", json={"kind": "plan_batch", "applications": [demo_application(**kw)]},
               headers=service.h("cust_a")).json()
    _wait_job(service, j["id"], "cust_a")
    items = c.get(f"/v1/jobs/{j['id']}/items", headers=service.h("cust_a"))
    res = items.json()["items"][0]["result"]
    assert not (_ids_in(items.text, ids) - _own_ids(res))


def test_redaction_of_a_load_transfer_remedy() -> None:
    from api.auth import Principal
    from api.service.views import for_viewer

    scheme = {"rank": 1, "circuits": [{"connection": {"point_id": "N1", "source_ref": "GIS-77",
                                                      "line_source_ref": "L-9"}}],
              "remedy": {"type": "load_transfer", "order": 0, "from_feeder": "F0001",
                         "to_feeder": "F0042", "zh": "由馈线 F0001 转供至 F0042",
                         "en": "Transfer from F0001 to F0042"},
              "explanation": {"zh": "F0042", "en": "F0042"}}
    doc = {"schemes": [scheme], "rejected": [{"point_id": "N7"}]}
    cust = for_viewer(doc, Principal("t", "customer", "c"))
    text = repr(cust)
    assert "F0042" not in text and "GIS-77" not in text and "L-9" not in text and "N7" not in text
    assert cust["schemes"][0]["remedy"]["type"] == "load_transfer"
    assert for_viewer(doc, Principal("t", "designer", "d")) is doc
