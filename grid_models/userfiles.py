"""Writing the files a user asked for (maps, previews, letters, park results), in one place.

Every command that writes to a path a user gave refuses a folder where a file is wanted (and a
file where a folder is wanted) naming the flag, writes through a temporary file renamed into
place (an interrupted write never leaves half a page), and turns an operating-system failure
into an :class:`~grid_models.errors.InputError` naming the flag. It lives here, at the bottom of
the package order, because the engine (park results), viz (pages, letters) and the command line
all write such files.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError


def _flag(flag: str) -> str:
    return flag if flag.startswith("--") else f"--{flag}"


def write_text_file(path: str | os.PathLike, text: str, flag: str, example: str = "out.html"
                    ) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; ``flag`` names the option it came from."""
    p = Path(path)
    f = _flag(flag)
    if p.is_dir():
        raise InputError(f"{f} {p}: is a directory; give a file name such as {p / example}",
                         field=flag.lstrip("-"))
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(p)
    except OSError as exc:
        raise InputError(f"{f} {p}: cannot write ({exc.strerror or exc})",
                         field=flag.lstrip("-")) from None
    return p


def ensure_folder(path: str | os.PathLike, flag: str) -> Path:
    """The folder at ``path``, created when missing; a file there, or a folder that cannot be
    created or written, is refused naming ``flag``."""
    p = Path(path)
    f = _flag(flag)
    if p.exists() and not p.is_dir():
        raise InputError(f"{f} {p}: exists and is not a folder", field=flag.lstrip("-"))
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{f} {p}: cannot create the folder ({exc.strerror or exc})",
                         field=flag.lstrip("-")) from None
    if not os.access(p, os.W_OK):
        raise InputError(f"{f} {p}: cannot write into it", field=flag.lstrip("-"))
    return p
