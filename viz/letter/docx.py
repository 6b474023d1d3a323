"""The letter as DOCX (python-docx), with the CJK font embedded.

Word documents carry embedded fonts as obfuscated parts (ECMA-376 Part 1, §17.8.1 "Font
Embedding"): ``word/fonts/fontN.odttf`` whose first 32 bytes are XOR-ed with a GUID key named
in ``fontTable.xml`` (``w:embedRegular w:fontKey``), plus ``w:embedTrueTypeFonts`` in the
settings. The embedded font is a subset of the vendored font holding the glyphs the letter uses.
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path

from ..assets import LETTER_FONT, asset_path
from .content import BLANK, Block, Letter

FONT_NAME = "WenQuanYi Micro Hei"
RT_FONT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/font"
CT_ODTTF = "application/vnd.openxmlformats-officedocument.obfuscatedFont"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def obfuscate(font: bytes, key: str) -> bytes:
    """XOR the first 32 bytes of ``font`` with the GUID ``key`` (bytes in reverse order).

    The same function de-obfuscates (XOR is its own inverse).
    """
    hexdigits = key.strip("{}").replace("-", "")
    k = bytes.fromhex(hexdigits)[::-1]
    out = bytearray(font)
    for i in range(min(32, len(out))):
        out[i] ^= k[i % 16]
    return bytes(out)


def subset_font(text: str) -> bytes:
    """The vendored font cut to the characters of ``text`` (plus ASCII), as TTF bytes."""
    from fontTools import subset

    opts = subset.Options()
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.notdef_outline = True
    opts.hinting = False
    font = subset.load_font(str(asset_path(LETTER_FONT)), opts)
    s = subset.Subsetter(opts)
    s.populate(text=text + "".join(chr(c) for c in range(0x20, 0x7F)) + BLANK)
    s.subset(font)
    buf = io.BytesIO()
    font.save(buf)
    return buf.getvalue()


def _set_run_font(run) -> None:
    from docx.oxml.ns import qn

    run.font.name = FONT_NAME
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), FONT_NAME)


def _embed_font(doc, text: str) -> None:
    """Add the subset font as an obfuscated part and declare it in the font table."""
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    from docx.oxml.ns import qn
    from lxml import etree

    ft_part = next(r.target_part for r in doc.part.rels.values()
                   if r.reltype.endswith("/fontTable"))
    key = "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, "gridscheme:" + text)).upper() + "}"
    font_part = Part(PackURI("/word/fonts/font1.odttf"), CT_ODTTF,
                     obfuscate(subset_font(text), key), doc.part.package)
    rid = ft_part.relate_to(font_part, RT_FONT)
    root = etree.fromstring(ft_part.blob)
    for old in root.findall(f"{{{W}}}font"):
        if old.get(f"{{{W}}}name") == FONT_NAME:
            root.remove(old)
    font = etree.SubElement(root, f"{{{W}}}font", {f"{{{W}}}name": FONT_NAME})
    etree.SubElement(font, f"{{{W}}}charset", {f"{{{W}}}val": "86"})  # GB2312 charset
    etree.SubElement(font, f"{{{W}}}family", {f"{{{W}}}val": "swiss"})
    etree.SubElement(font, f"{{{W}}}pitch", {f"{{{W}}}val": "variable"})
    etree.SubElement(font, f"{{{W}}}embedRegular", {f"{{{R}}}id": rid, f"{{{W}}}fontKey": key,
                                                   f"{{{W}}}subsetted": "1"})
    ft_part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    settings = doc.settings.element
    # CT_Settings order: embedTrueTypeFonts/saveSubsetFonts come right after w:zoom and the
    # privacy/display flags; inserting after w:zoom keeps the schema order Word checks.
    anchor = settings.find(qn("w:zoom"))
    pos = list(settings).index(anchor) + 1 if anchor is not None else 0
    for i, tag in enumerate(("w:embedTrueTypeFonts", "w:saveSubsetFonts")):
        if settings.find(qn(tag)) is None:
            settings.insert(pos + i, settings.makeelement(qn(tag), {}))


def write_docx(letter: Letter, path: Path) -> Path:
    """Render ``letter`` to ``path`` (A4, every run in the embedded CJK font)."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt, RGBColor

    doc = Document()
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.left_margin = sec.right_margin = Mm(18)
    normal = doc.styles["Normal"]
    normal.font.name = FONT_NAME
    normal.font.size = Pt(10)
    normal.element.get_or_add_rPr()
    rfonts = normal.element.rPr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = normal.element.rPr.makeelement(qn("w:rFonts"), {})
        normal.element.rPr.insert(0, rfonts)
    rfonts.set(qn("w:eastAsia"), FONT_NAME)
    texts: list[str] = []

    def para(text: str, size: float = 10, bold: bool = False, centre: bool = False,
             grey: bool = False, style: str | None = None):
        p = doc.add_paragraph(style=style)
        run = p.add_run(text)
        _set_run_font(run)
        run.font.size = Pt(size)
        run.bold = bold
        if grey:
            run.font.color.rgb = RGBColor(0x80, 0x80, 0x80)
        if centre:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        texts.append(text)
        return p

    def cell_text(c, text: str | None, bold: bool = False) -> None:
        c.text = ""
        run = c.paragraphs[0].add_run(BLANK if text is None else str(text))
        _set_run_font(run)
        run.font.size = Pt(8.5)
        run.bold = bold
        texts.append(run.text)

    para(letter.title, 18, bold=True, centre=True)
    para(letter.subtitle, 10, centre=True, grey=True)
    for s in letter.sections:
        h = doc.add_heading(level=2)
        run = h.add_run(s.title)
        _set_run_font(run)
        texts.append(s.title)
        for b in s.blocks:
            _docx_block(doc, b, para, cell_text)
    para(("引用依据：" + "；".join(letter.references)) if letter.lang == "zh"
         else "References: " + "; ".join(letter.references), 7.5, grey=True)
    _embed_font(doc, "".join(texts))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    doc.save(str(tmp))
    tmp.replace(path)
    return path


def _docx_block(doc, b: Block, para, cell_text) -> None:
    if b.kind == "text":
        para(b.text, 7.5 if b.small else 10, grey=b.small)
        return
    if b.kind == "fields":
        n = (len(b.fields) + 1) // 2
        t = doc.add_table(rows=n, cols=4)
        t.style = "Table Grid"
        for i, (label, val) in enumerate(b.fields):
            r, c = divmod(i, 2)
            cell_text(t.cell(r, 2 * c), label, bold=True)
            cell_text(t.cell(r, 2 * c + 1), val)
        return
    from docx.shared import Mm, Pt

    from .pdf import column_widths

    t = doc.add_table(rows=1 + len(b.rows), cols=len(b.headers))
    t.style = "Table Grid"
    t.autofit = False
    widths = column_widths(b, Mm(174).pt)  # same widths as the PDF (A4 less 2 x 18 mm)
    for j, head in enumerate(b.headers):
        cell_text(t.cell(0, j), head, bold=True)
    for i, row in enumerate(b.rows):
        for j, val in enumerate(row):
            cell_text(t.cell(i + 1, j), val)
    for j, w in enumerate(widths):
        t.columns[j].width = Pt(w)  # w:gridCol (LibreOffice reads this)
        for row in t.rows:  # w:tcW (Word reads this)
            row.cells[j].width = Pt(w)
