"""The reply letter (供电方案答复单) as PDF and DOCX with an embedded CJK font."""

from __future__ import annotations

from pathlib import Path

from grid_models.userfiles import ensure_folder

from ..labels import Lang
from .content import Letter, build_letter, scheme_by_rank


def write_letter(result: dict, rank: int, out_dir: str | Path, lang: Lang = "zh",
                 info: dict | None = None, stem: str | None = None) -> dict[str, Path]:
    """Write ``<stem>.pdf`` and ``<stem>.docx`` for the scheme of ``rank`` into ``out_dir``.

    Parameters
    ----------
    result : dict
        ``PlanResult`` document.
    rank : int
        Scheme rank (``schemes[].rank``).
    out_dir : path
        Folder (created).
    lang : {"zh", "en"}
    info : dict, optional
        Customer fields the application lacks (see :func:`build_letter`).
    stem : str, optional
        File name without suffix (default ``reply_letter_scheme<rank>_<lang>``).

    Returns
    -------
    dict
        ``{"pdf": Path, "docx": Path}``.
    """
    from grid_models.errors import GridSchemeError

    try:
        import docx  # noqa: F401
        import fontTools  # noqa: F401
        import reportlab  # noqa: F401
    except ImportError as exc:
        raise GridSchemeError(f"the reply letter needs the 'viz' extra ({exc.name} is missing): "
                              "pip install 'gridscheme[viz]'") from None
    from .docx import write_docx
    from .pdf import write_pdf

    letter = build_letter(result, rank, lang, info)
    out = ensure_folder(out_dir, "out")
    name = stem or f"reply_letter_scheme{rank}_{lang}"
    return {"pdf": write_pdf(letter, out / f"{name}.pdf"),
            "docx": write_docx(letter, out / f"{name}.docx")}


__all__ = ["Letter", "build_letter", "scheme_by_rank", "write_letter"]
