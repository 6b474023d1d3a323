"""The letter as PDF (reportlab), with the vendored CJK font embedded as a subset."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from ..assets import LETTER_FONT, asset_path
from .content import BLANK, Block, Letter

FONT = "GSWenQuanYi"


def _register() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        # reportlab embeds a subset of the glyphs used (TrueType outlines).
        pdfmetrics.registerFont(TTFont(FONT, str(asset_path(LETTER_FONT))))


def _p(text: str | None, style) -> object:
    from reportlab.platypus import Paragraph

    # reportlab's Paragraph reads a markup language: every text is XML-escaped.
    return Paragraph(escape(BLANK if text is None else str(text)), style)


def write_pdf(letter: Letter, path: Path) -> Path:
    """Render ``letter`` to ``path`` (A4)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, SimpleDocTemplate, Spacer, TableStyle

    _register()
    wrap = "CJK" if letter.lang == "zh" else None
    body = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=14, wordWrap=wrap)
    cell = ParagraphStyle("cell", parent=body, fontSize=8.5, leading=11.5)
    small = ParagraphStyle("small", parent=body, fontSize=7.5, leading=10, textColor=colors.grey)
    h1 = ParagraphStyle("h1", parent=body, fontSize=18, leading=24, alignment=1)
    h2 = ParagraphStyle("h2", parent=body, fontSize=11.5, leading=16, spaceBefore=8, spaceAfter=4)
    sub = ParagraphStyle("sub", parent=body, alignment=1, textColor=colors.grey)
    width = A4[0] - 36 * mm
    grid = TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey), ("FONTNAME", (0, 0), (-1, -1), FONT),
                       ("VALIGN", (0, 0), (-1, -1), "TOP"),
                       ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3)])
    story: list = [_p(letter.title, h1), _p(letter.subtitle, sub), Spacer(1, 4 * mm)]
    for sec in letter.sections:
        flow = [_p(sec.title, h2)]
        for b in sec.blocks:
            flow += [_block(b, width, body, cell, small, grid, colors), Spacer(1, 2 * mm)]
        # A heading never ends a page alone; short sections (signatures) stay in one piece.
        story.append(KeepTogether(flow) if len(flow) <= 5 else KeepTogether(flow[:2]))
        if len(flow) > 5:
            story += flow[2:]
    story.append(_p(("引用依据：" if letter.lang == "zh" else "References: ")
                    + "；".join(letter.references) if letter.lang == "zh"
                    else "References: " + "; ".join(letter.references), small))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    doc = SimpleDocTemplate(str(tmp), pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=16 * mm, bottomMargin=16 * mm, title=letter.title,
                            author="gridscheme", lang=letter.lang,
                            # the canvas' initial font is the embedded one: no unembedded
                            # Helvetica in the PDF
                            initialFontName=FONT, initialFontSize=9.5)
    doc.build(story)
    tmp.replace(path)
    return path


def _block(b: Block, width: float, body, cell, small, grid, colors) -> object:
    from reportlab.platypus import Table, TableStyle

    if b.kind == "text":
        return _p(b.text, small if b.small else body)
    if b.kind == "fields":
        # Two label/value pairs per row.
        pairs = b.fields
        rows = []
        for i in range(0, len(pairs), 2):
            row = []
            for label, val in pairs[i:i + 2]:
                row += [_p(label, cell), _p(val, cell)]
            while len(row) < 4:
                row += [_p("", cell)]
            rows.append(row)
        t = Table(rows, colWidths=[width * 0.17, width * 0.33, width * 0.17, width * 0.33])
        t.setStyle(grid)
        t.setStyle(TableStyle([("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
                               ("BACKGROUND", (2, 0), (2, -1), colors.whitesmoke)]))
        return t
    head = [_p(h, cell) for h in b.headers]
    rows = [head] + [[_p(c, cell) for c in r] for r in b.rows]
    t = Table(rows, colWidths=column_widths(b, width), repeatRows=1)
    t.setStyle(grid)
    t.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke)]))
    return t


def column_widths(b: Block, width: float, size: float = 8.5) -> list[float]:
    """Column widths: every column at least as wide as its longest unbreakable word (Latin
    words do not wrap inside), the rest shared in proportion to how much longer each column's
    longest text is."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    pad = 8.0

    def sw(text: str) -> float:
        return stringWidth(text, FONT, size)

    n = max(len(b.headers), 1)
    mins, wants = [], []
    for i in range(n):
        cells = [b.headers[i]] + [r[i] for r in b.rows if i < len(r)]
        texts = [BLANK if c is None else str(c) for c in cells]
        words = [w for t in texts for w in t.replace("/", "/ ").split() if w.isascii()]
        lo = max([sw(w) for w in words] + [sw("中中")]) + pad
        mins.append(lo)
        wants.append(max(lo, min(max(sw(t) for t in texts) + pad, 0.45 * width)))
    if sum(mins) >= width:
        return [width * m / sum(mins) for m in mins]
    extra = width - sum(mins)
    grow = [w - m for w, m in zip(wants, mins, strict=True)]
    if sum(grow) <= 0:
        return [m + extra / n for m in mins]
    return [m + extra * g / sum(grow) for m, g in zip(mins, grow, strict=True)]
