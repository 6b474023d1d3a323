"""Exports drawn by ``viz``: the 3D preview, the reply letter (PDF, DOCX) and the web page's view.

Registered in :mod:`api.service.exports` (imported at its end, so the formats are in the
OpenAPI document). Like every export, a renderer receives the plan result already reduced to
what the caller may see (:func:`api.service.views.for_viewer`), and is given no grid layer: the
3D preview draws the schemes' own routes and connection points on the streets (street data,
allowed for every audience), the letter is the customer's own reply.

- ``preview3d`` (HTML): every selected scheme, switchable; self-contained (three.js inlined).
- ``letter_pdf`` / ``letter_docx``: the reply letter (供电方案答复单) of one scheme: ``scheme=N``
  (default the best-ranked); the application id is its 申请编号.
- ``view`` (JSON): the texts and geometry the web page shows, formatted in ``lang``.
"""

from __future__ import annotations

import importlib.util
import json
import tempfile
from pathlib import Path
from typing import Any

from .errors import ApiError
from .exports import ExportFormat, ExportRequest, register_export

#: Streets kept around the schemes in the 3D preview (m beyond their bounding box).
_PREVIEW_MARGIN_M = 300.0


def _selected_doc(doc: dict[str, Any], req: ExportRequest) -> dict[str, Any]:
    d = dict(doc)
    d["schemes"] = [s for s in doc.get("schemes", []) if req.ranks is None or s["rank"] in req.ranks]
    return d


def _roads(doc: dict[str, Any], req: ExportRequest) -> dict | None:
    if req.roads is None:
        return None
    from viz.maps.scheme_map import _bbox
    from viz.summary import customer_point, parcel_rings

    box = _bbox(doc, customer_point(doc), parcel_rings(doc), _PREVIEW_MARGIN_M)
    return req.roads(box) if box else None


def _preview3d(doc: dict[str, Any], req: ExportRequest) -> bytes:
    from viz.preview3d import preview3d_html

    d = _selected_doc(doc, req)
    return preview3d_html(d, req.lang, roads=_roads(d, req)).encode("utf-8")


def _one_rank(doc: dict[str, Any], req: ExportRequest) -> int:
    if req.ranks is not None and len(req.ranks) > 1:
        raise ApiError(422, "invalid_request", "a reply letter answers with one scheme: give "
                       f"scheme=N once (got {req.ranks})", field="scheme")
    if req.ranks:
        return req.ranks[0]
    schemes = doc.get("schemes") or []
    if not schemes:
        raise ApiError(404, "not_found", "this application has no scheme to answer with",
                       field="scheme")
    return int(schemes[0]["rank"])


def _letter(kind: str) -> Any:
    def render(doc: dict[str, Any], req: ExportRequest) -> bytes:
        from viz.letter import build_letter

        info = {"application_id": req.application_id} if req.application_id else None
        letter = build_letter(doc, _one_rank(doc, req), req.lang, info)
        with tempfile.TemporaryDirectory() as d:
            if kind == "pdf":
                from viz.letter.pdf import write_pdf

                return Path(write_pdf(letter, Path(d) / "letter.pdf")).read_bytes()
            from viz.letter.docx import write_docx

            return Path(write_docx(letter, Path(d) / "letter.docx")).read_bytes()

    return render


def _view(doc: dict[str, Any], req: ExportRequest) -> bytes:
    from viz.web import page_view

    return json.dumps(page_view(_selected_doc(doc, req), req.lang, designer=req.staff),
                      ensure_ascii=False, allow_nan=False).encode("utf-8")


def letter_available() -> bool:
    """Whether the reply letter's libraries (the ``viz`` extra) are installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("reportlab", "docx", "fontTools"))


def register() -> None:
    """Register the viz export formats (the letter only when its libraries are installed)."""
    register_export(ExportFormat(
        "preview3d", "text/html", "html",
        "3D preview of the schemes (HTML, offline, three.js inlined)", _preview3d))
    register_export(ExportFormat(
        "view", "application/json", "json",
        "what the web page shows: texts in `lang`, routes and the comparison", _view))
    if letter_available():
        register_export(ExportFormat(
            "letter_pdf", "application/pdf", "pdf",
            "reply letter (供电方案答复单) of one scheme (`scheme=N`, default the best), PDF",
            _letter("pdf"), disposition="attachment"))
        register_export(ExportFormat(
            "letter_docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx",
            "reply letter of one scheme, DOCX", _letter("docx"), disposition="attachment"))
