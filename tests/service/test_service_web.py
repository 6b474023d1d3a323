"""The service's side of the web page: page files, ``/v1/roads``, and the viz exports
(3D preview, reply letter, the page's view), over HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json

import pytest

from .conftest import Service, demo_application

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def planned(service: Service) -> dict:
    r = service.client.post("/v1/applications",
                            json=demo_application(customer_name="网页客户", lon=106.80, lat=39.66,
                                                  requested_kva=800, tier="普通"),
                            headers=service.h("cust_a"))
    assert r.status_code == 201
    return r.json()


def test_page_files_need_no_token_and_hold_no_data(service: Service) -> None:
    c = service.client
    r = c.get("/", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/app/"
    page = c.get("/app/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    for path, kind in (("/app/app.js", "javascript"), ("/app/app.css", "text/css"),
                       ("/static/viz/leaflet/leaflet.js", "javascript"),
                       ("/static/viz/leaflet/images/layers.png", "image/png")):
        r = c.get(path)
        assert r.status_code == 200 and kind in r.headers["content-type"], path
    for path in ("/app/missing.js", "/static/viz/../labels.py", "/static/viz/data/letter_texts.csv",
                 "/static/viz/fonts/WenQuanYiMicroHei-GS.ttf",
                 "/app/%2e%2e/view.py"):
        r = c.get(path)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", path
    cfg = c.get("/app/config.json").json()
    assert set(cfg["text"]) == {"zh", "en"} and cfg["text"]["zh"]["app_title"] == "供电方案比选"
    assert {t["value"] for t in cfg["tiers"]} >= {"特级", "一级", "二级", "普通"}
    assert any(i["value"] == "data_centre" and i["zh"] == "数据中心" for i in cfg["industries"])
    # texts and choices only: nothing of any customer, token or network version
    assert set(cfg) == {"text", "tiers", "industries", "rank_colours", "classes"}


def test_roads_whole_area_box_and_cap(service: Service) -> None:
    c, h = service.client, service.h("cust_a")
    from api.plan_cli import DEMO_NETWORK
    from grid_models.io import read_network

    roads = read_network(DEMO_NETWORK).roads
    full = c.get("/v1/roads", headers=h)
    assert full.status_code == 200
    fc = full.json()
    assert fc["type"] == "FeatureCollection" and not fc["truncated"]
    assert len(fc["features"]) == len(roads)
    b = roads.to_crs("EPSG:4326").total_bounds
    assert fc["bbox"] == pytest.approx(list(b), abs=2e-6)
    f0 = fc["features"][0]
    assert set(f0["properties"]) == {"road_class", "name"}  # never ids
    assert f0["geometry"]["type"] in ("LineString", "MultiLineString")
    # a box: only the streets meeting it
    box = (106.800, 39.655, 106.806, 39.660)
    part = c.get("/v1/roads", params={"bbox": ",".join(map(str, box))}, headers=h).json()
    assert 0 < len(part["features"]) < len(fc["features"])
    import shapely
    from shapely.geometry import shape

    for f in part["features"]:
        assert shape(f["geometry"]).intersects(shapely.box(*box))
    # a cap keeps the streets nearest the box's centre and says so
    capped = c.get("/v1/roads", params={"limit": 5}, headers=h).json()
    assert len(capped["features"]) == 5 and capped["truncated"]
    for bad in ("1,2,3", "106.9,39.6,106.8,39.7", "200,0,201,1", "a,b,c,d"):
        r = c.get("/v1/roads", params={"bbox": bad}, headers=h)
        assert r.status_code == 422 and r.json()["error"]["field"] == "bbox", bad
    assert c.get("/v1/roads").status_code == 401


def test_letter_exports(service: Service, planned: dict) -> None:
    from pypdf import PdfReader

    c, h, aid = service.client, service.h("cust_a"), planned["id"]
    s2 = planned["result"]["schemes"][1]
    r = c.get(f"/v1/applications/{aid}/exports/letter_pdf?scheme=2", headers=h)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'attachment; filename="{aid}-scheme2.pdf"'
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    flat = text.replace(" ", "").replace("\n", "")
    assert "供电方案答复单" in flat
    assert aid in flat  # the application id is the letter's 申请编号
    assert f"{s2['cost_cny']['total'] / 1e4:,.2f}" in flat or f"{s2['cost_cny']['total']:,.0f}" in flat
    assert s2["circuits"][0]["connection"]["point_id"] in flat
    en = c.get(f"/v1/applications/{aid}/exports/letter_pdf?lang=en", headers=h)
    assert "Supply Scheme Reply" in "".join(p.extract_text() for p in
                                            PdfReader(io.BytesIO(en.content)).pages)
    d = c.get(f"/v1/applications/{aid}/exports/letter_docx", headers=h)
    import docx

    doc = docx.Document(io.BytesIO(d.content))
    assert any("供电方案答复单" in p.text for p in doc.paragraphs)
    assert d.headers["content-disposition"].startswith("attachment;")
    r = c.get(f"/v1/applications/{aid}/exports/letter_pdf?scheme=1&scheme=2", headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "scheme"
    r = c.get(f"/v1/applications/{aid}/exports/letter_pdf?scheme=9", headers=h)
    assert r.status_code == 404
    assert c.get(f"/v1/applications/{aid}/exports/letter_pdf",
                 headers=service.h("cust_b")).status_code == 404


def test_preview3d_export(service: Service, planned: dict) -> None:
    c, aid = service.client, planned["id"]
    r = c.get(f"/v1/applications/{aid}/exports/preview3d?scheme=1", headers=service.h("cust_a"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["content-security-policy"] == "sandbox allow-scripts allow-popups"
    html = r.text
    start = html.index('<script type="application/json" id="gs3d-data">')
    data = json.loads(html[html.index(">", start) + 1:html.index("</script>", start)])
    assert [s["rank"] for s in data["schemes"]] == [1]
    assert data["roads"], "the streets around the scheme are drawn"
    assert data["customer"]["name"] == "网页客户"
    assert "http://" not in html.replace("http://www.w3.org", "")  # nothing to fetch


def test_view_export_matches_the_result(service: Service, planned: dict) -> None:
    c, aid = service.client, planned["id"]
    schemes = planned["result"]["schemes"]
    cust = c.get(f"/v1/applications/{aid}/exports/view", headers=service.h("cust_a")).json()
    assert [s["rank"] for s in cust["schemes"]] == [s["rank"] for s in schemes]
    assert cust["comparison"]["heads"] == [f"方案 {s['rank']}" for s in schemes]
    assert "rejected" not in cust  # a designer's list of other candidates
    for sv, s in zip(cust["schemes"], schemes, strict=True):
        assert [cv["route"] for cv in sv["circuits"]] == [cc["route"] for cc in s["circuits"]]
        assert sv["cost"] == f"{s['cost_cny']['total'] / 1e4:,.1f} 万元"
    staff = c.get(f"/v1/applications/{aid}/exports/view?lang=en",
                  headers=service.h("designer")).json()
    assert staff["comparison"]["heads"][0] == "Scheme 1" and "rejected" in staff
    assert any(line.startswith("Substation") or line.startswith("Feeder")
               for sv in staff["schemes"] for cv in sv["circuits"] for line in cv["point_lines"])
