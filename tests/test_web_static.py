"""The web page's files and data without a browser: UI texts in both languages, no HTML built
from strings, nothing from another origin; the page's view of a plan result."""

from __future__ import annotations

import csv
import re

import pytest

from grid_models.errors import InputError
from tests.viz_plans import HOSTILE, plan
from viz.web import STATIC_DIR, page_config, page_view, ui_texts
from viz.web.config import UI_TEXT

APP_JS = (STATIC_DIR / "app.js").read_text(encoding="utf-8")
INDEX = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
CSS = (STATIC_DIR / "app.css").read_text(encoding="utf-8")
JS_CODE = re.sub(r"^\s*//.*$", "", APP_JS, flags=re.M)  # without whole-line comments


def _used_keys() -> set[str]:
    keys = set(re.findall(r'\b(?:t|fmt)\("([a-z0-9_]+)"[,)]', APP_JS))
    keys |= set(re.findall(r'data-i18n="([a-z0-9_]+)"', INDEX))
    # role labels are looked up as "role_" + the token's role
    assert 't("role_" + ME.role)' in APP_JS
    keys |= {"role_admin", "role_designer", "role_customer"}
    return keys


def test_every_ui_text_in_both_languages() -> None:
    texts = ui_texts()
    used = _used_keys()
    assert len(used) > 60
    missing = used - set(texts["zh"])
    assert not missing, f"keys used by the page but missing in {UI_TEXT.name}: {sorted(missing)}"
    unused = set(texts["zh"]) - used
    assert not unused, f"keys in {UI_TEXT.name} the page never uses: {sorted(unused)}"
    with open(UI_TEXT, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        assert r["zh"].strip() and r["en"].strip(), r["key"]
        # one language per text: no Han characters in English (but the switch's own label)
        if r["key"] != "switch_lang":
            assert not re.search(r"[\u4e00-\u9fff]", r["en"]), r["key"]
        # placeholders agree between the languages
        assert sorted(re.findall(r"\{\d\}", r["zh"])) == sorted(re.findall(r"\{\d\}", r["en"]))


def test_page_builds_no_html_from_strings_and_loads_nothing_remote() -> None:
    for bad in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                "new Function", "setTimeout(\"", "javascript:"):
        assert bad not in JS_CODE, bad
    # Leaflet would set a string popup/tooltip/icon as HTML: the page hands it DOM nodes only
    for call in re.findall(r"\.bind(?:Popup|Tooltip)\(([^,)]+)", APP_JS):
        assert call.strip().startswith(("popupTable(", "lines(", "el(", "tip(")), call
    assert "html: pin" in APP_JS and re.search(r"var pin = el\(", APP_JS)
    for text in (APP_JS, INDEX, CSS):
        assert not re.search(r"https?://", text)
    # the token goes into a header, and only from sessionStorage
    assert "localStorage.setItem(TOKEN_KEY" not in APP_JS and "sessionStorage.setItem(TOKEN_KEY" in APP_JS
    assert re.search(r'headers\.Authorization = "Bearer " \+ tok', APP_JS)
    assert "?token=" not in APP_JS and "&token=" not in APP_JS
    # inputs of the sign-in form have no name: a native submission could carry no token
    assert 'id="gs-token" name=' not in INDEX and 'name="' not in INDEX.split("gs-signin-form")[1].split("</form>")[0]


def test_config_choices_come_from_the_data() -> None:
    import pandas as pd

    cfg = page_config(pd.DataFrame({"tier": ["一级", "普通"], "en": ["first", "ordinary"]}))
    assert cfg["tiers"] == [{"value": "一级", "zh": "一级", "en": "first"},
                            {"value": "普通", "zh": "普通", "en": "ordinary"}]
    assert cfg["rank_colours"][0].startswith("#")
    lr = cfg["classes"]["feeder_load_rate"]
    assert lr[0]["lower"] is None and lr[-1]["upper"] is None  # open bounds, JSON-able
    import json

    json.dumps(cfg, allow_nan=False)


def test_page_view_of_a_plan() -> None:
    doc = plan("taps")
    v = page_view(doc, "zh")
    assert [s["rank"] for s in v["schemes"]] == [s["rank"] for s in doc["schemes"]]
    assert v["comparison"]["heads"] == [f"方案 {s['rank']}" for s in doc["schemes"]]
    labels = [r["label"] for r in v["comparison"]["rows"]]
    assert "总投资" in labels and "最紧约束" in labels
    for r in v["comparison"]["rows"]:
        assert len(r["cells"]) == len(doc["schemes"])
    s0, c0 = v["schemes"][0], v["schemes"][0]["circuits"][0]
    assert c0["route"] == doc["schemes"][0]["circuits"][0]["route"]
    assert c0["construction"] == "overhead" and c0["point_kind"] == "tap"
    assert any(k == "总投资" for k, _ in c0["rows"])
    assert s0["colour"] != v["schemes"][1]["colour"]
    assert "rejected" not in v
    en = page_view(doc, "en", designer=True)
    assert en["schemes"][0]["title"] == "Scheme 1" and en["rejected"]
    assert any(line.startswith("Feeder: ") for line in en["schemes"][0]["circuits"][0]["point_lines"])
    assert not any(line.startswith(("Feeder: ", "馈线: ")) for line in c0["point_lines"])
    with pytest.raises(InputError):
        page_view(doc, "fr")  # type: ignore[arg-type]


def test_page_view_keeps_user_text_raw() -> None:
    # the page sets it with textContent: escaping here would show &lt; to the user
    v = page_view(plan("hostile"), "zh")
    assert v["customer"]["name"] == HOSTILE
    assert v["customer"]["parcel"] and v["customer"]["point"]
