"""The reply letter: sections, the scheme's numbers, embedded fonts, blanks, escaping, CLI."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

pypdf = pytest.importorskip("pypdf")
docx = pytest.importorskip("docx")
pytest.importorskip("reportlab")

from api.cli import main  # noqa: E402
from tests.viz_plans import HOSTILE, plan  # noqa: E402
from viz.letter import build_letter, write_letter  # noqa: E402
from viz.letter.content import BLANK  # noqa: E402
from viz.letter.docx import obfuscate  # noqa: E402

TITLES_ZH = ["一、客户及申请信息", "二、供电电源、接入点及线路", "三、核定容量、供电电压及供电方式",
             "四、计量方案", "五、受电工程技术要求", "六、产权分界及投资界面", "七、营业费用",
             "八、办理时限及方案有效期", "九、其他说明", "十、签章"]
TITLES_EN = ["1. Customer and application", "2. Supply sources, connection points and lines",
             "3. Approved capacity, voltage and supply mode", "4. Metering",
             "5. Requirements for the receiving installation",
             "6. Property boundary and investment split", "7. Charges",
             "8. Time limits and validity", "9. Notes", "10. Signatures"]


def _pdf_text(path: Path) -> str:
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(str(path)).pages)


def _docx_text(path: Path) -> str:
    d = docx.Document(str(path))
    parts = [p.text for p in d.paragraphs]
    for t in d.tables:
        for row in t.rows:
            parts += [c.text for c in row.cells]
    return "\n".join(parts)


@pytest.fixture(scope="module")
def dual_letter(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict[str, Path]]:
    doc = plan("dual")
    out = tmp_path_factory.mktemp("letter")
    info = {"account_no": "3100012345", "contact_name": "张工", "contact_phone": "0952-1234567",
            "sign_date": "2026-11-30"}
    return doc, write_letter(doc, 1, out, "zh", info=info)


def test_pdf_has_sections_and_the_schemes_numbers(dual_letter) -> None:
    doc, files = dual_letter
    text = _pdf_text(files["pdf"])
    flat = re.sub(r"\s+", "", text)
    for title in TITLES_ZH:
        assert re.sub(r"\s+", "", title) in flat, title
    s = doc["schemes"][0]
    cost = s["cost_cny"]
    for v in (cost["total"], cost["utility"], cost["customer"]):
        assert f"{v / 1e4:,.2f}万元" in flat
    for c in s["circuits"]:
        assert f"{c['route_length_m']['total']:,.0f}m" in flat
        assert c["conductor"]["type"] in flat
        assert c["connection"]["point_id"] in flat
    assert "10kV" in flat and "1,600kVA" in flat
    assert "3100012345" in flat and "0952-1234567" in flat and "2026-11-30" in flat
    assert "双回路" in flat and "主供" in flat and "备用" in flat
    # one metering row per circuit, CT ratio from the design current (1600 kVA at 10 kV: 92 A)
    assert "200/5" in flat
    # validity date = signing date + one year (policy data)
    assert "2027-11-30" in flat


def test_pdf_embeds_its_font(dual_letter) -> None:
    _, files = dual_letter
    reader = pypdf.PdfReader(str(files["pdf"]))
    fonts = {}
    for page in reader.pages:
        for f in page["/Resources"]["/Font"].values():
            f = f.get_object()
            fonts[f["/BaseFont"]] = f
    assert fonts and all("WenQuanYi" in str(n) for n in fonts)
    for f in fonts.values():
        desc = f["/FontDescriptor"].get_object()
        assert "/FontFile2" in desc  # TrueType program embedded


def test_docx_has_the_same_sections_and_an_embedded_font(dual_letter) -> None:
    doc, files = dual_letter
    text = _docx_text(files["docx"])
    for title in TITLES_ZH:
        assert title in text
    assert f"{doc['schemes'][0]['cost_cny']['total'] / 1e4:,.2f} 万元" in text
    with zipfile.ZipFile(files["docx"]) as z:
        names = z.namelist()
        assert "word/fonts/font1.odttf" in names
        table = z.read("word/fontTable.xml").decode()
        rels = z.read("word/_rels/fontTable.xml.rels").decode()
        settings = z.read("word/settings.xml").decode()
        ctypes = z.read("[Content_Types].xml").decode()
        blob = z.read("word/fonts/font1.odttf")
    key = re.search(r'w:fontKey="(\{[0-9A-F-]+\})"', table).group(1)
    assert "embedRegular" in table and "font1.odttf" in rels and "embedTrueTypeFonts" in settings
    assert "obfuscatedFont" in ctypes
    # de-obfuscated, the part is a TrueType font holding every character of the letter
    from io import BytesIO

    from fontTools.ttLib import TTFont

    font = TTFont(BytesIO(obfuscate(blob, key)))
    cmap = font.getBestCmap()
    missing = {ch for ch in text if not ch.isspace() and ord(ch) not in cmap}
    assert not missing
    assert len(blob) < 400_000  # a subset, not the 3 MB font


def test_blank_fields_and_no_invented_values(tmp_path: Path) -> None:
    letter = build_letter(plan("taps"), 1, "zh")
    fields = dict(f for s in letter.sections for b in s.blocks for f in b.fields)
    for label in ("户号", "申请编号", "用电地址", "联系人", "联系电话", "签订日期", "经办人"):
        assert fields[label] is None, label
    files = write_letter(plan("taps"), 1, tmp_path, "zh")
    assert BLANK in _pdf_text(files["pdf"]) and BLANK in _docx_text(files["docx"])
    # single source: no high-reliability fee
    assert "高可靠性供电费" not in _pdf_text(files["pdf"])


def test_english_letter_is_english(tmp_path: Path) -> None:
    doc = plan("taps")
    files = write_letter(doc, 2, tmp_path, "en")
    text = _pdf_text(files["pdf"])
    flat = re.sub(r"\s+", " ", text)
    for title in TITLES_EN:
        assert title in flat, title
    name = doc["application"]["customer_name"]
    leftover = re.sub(r"\s+", "", text).replace(name, "")
    # standards are cited by their Chinese titles/codes; nothing else in Chinese
    cites = "".join(re.findall(r"References:.*", flat, re.S))
    body = leftover.replace(re.sub(r"\s+", "", cites), "")
    assert not re.findall(r"[\u4e00-\u9fff]", body)
    s2 = doc["schemes"][1]
    assert f"CNY {s2['cost_cny']['total']:,.0f}" in flat


def test_hostile_name_is_literal_text_in_the_letter(tmp_path: Path) -> None:
    doc = plan("hostile")
    files = write_letter(doc, 1, tmp_path, "zh",
                         info={"address": "<b>粗体</b> & <font size=40>x</font>"})
    flat = re.sub(r"\s+", "", _pdf_text(files["pdf"]))
    assert re.sub(r"\s+", "", HOSTILE) in flat
    assert "<b>粗体</b>&<fontsize=40>x</font>" in flat
    assert HOSTILE in _docx_text(files["docx"])


def test_charges_for_dual_supply_come_from_the_charge_table() -> None:
    letter = build_letter(plan("dual"), 1, "zh")
    charges = next(s for s in letter.sections if s.title.startswith("七"))
    row = charges.blocks[0].rows[0]
    assert row[0] == "高可靠性供电费" and row[1] == "210 元/kVA" and row[2] == "1,600 kVA"
    assert row[3] == f"{210 * 1600 / 1e4:,.2f} 万元"


def test_remedy_scheme_without_circuits(tmp_path: Path) -> None:
    doc = plan("remedy")
    rank = next(s["rank"] for s in doc["schemes"] if not s["circuits"])
    files = write_letter(doc, rank, tmp_path, "zh")
    flat = re.sub(r"\s+", "", _pdf_text(files["pdf"]))
    assert "需电网工程" in flat and "前置措施" in flat


def test_cli_letter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "plan.json"
    p.write_text(json.dumps(plan("taps"), ensure_ascii=False), encoding="utf-8")
    assert main(["letter", "--plan", str(p), "--scheme", "2", "--out", str(tmp_path / "o"),
                 "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "reply_letter_scheme2_en.pdf" in out and "reply_letter_scheme2_en.docx" in out
    assert (tmp_path / "o" / "reply_letter_scheme2_en.pdf").stat().st_size > 5000
    # bad input: exit 2 with one line naming the flag, no traceback
    assert main(["letter", "--plan", str(p), "--scheme", "9", "--out", str(tmp_path / "o")]) == 2
    assert "--scheme 9" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    assert main(["letter", "--plan", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "--plan" in capsys.readouterr().err
    notplan = tmp_path / "np.json"
    notplan.write_text("[1, 2]")
    assert main(["letter", "--plan", str(notplan), "--out", str(tmp_path / "o")]) == 2
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["letter", "--plan", str(p), "--out", str(f)]) == 2
