"""The input boundary of the command line (and the checks the service shares).

Every document a user hands to a command (an application, a plan, letter fields) is read here:
a size limit, text in any common encoding (UTF-8 with or without BOM, UTF-16/32 with BOM,
GB 18030 as Chinese office software writes it) or a refusal naming the file, JSON with a
nesting limit, and an object where one is expected. Output paths are checked before any work:
a folder, a missing or read-only parent is refused naming the flag (the writing itself is
:mod:`grid_models.userfiles`). Every refusal is an
:class:`~grid_models.errors.InputError` (exit 2), never a traceback.

The limits below are software safety limits (a document a person writes is a few kB), not
utility rules, so they live here rather than in policy data.
"""

from __future__ import annotations

import codecs
import json
import os
from pathlib import Path
from typing import Any

from grid_models.errors import InputError

MAX_DOCUMENT_BYTES = 2_000_000  # an application with a detailed parcel is a few kB
MAX_DEPTH = 32  # nesting of JSON arrays/objects (a parcel polygon needs 4)

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


def read_text(path: str | os.PathLike, flag: str, max_bytes: int = MAX_DOCUMENT_BYTES) -> str:
    """The text of a user's file, decoded, or an :class:`InputError` naming ``flag``."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{flag}: {p} does not exist", field=flag)
    if p.is_dir():
        raise InputError(f"{flag}: {p} is a folder; give a file", field=flag)
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise InputError(f"{flag}: {p} is {size:,} bytes; documents of up to {max_bytes:,} "
                             "bytes are read", field=flag)
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"{flag}: cannot read {p} ({exc.strerror or exc})", field=flag) from None
    return decode(data, f"{flag}: {p}", flag)


def decode(data: bytes, where: str, field: str) -> str:
    """Decode bytes of a text document (see the module docstring) or refuse naming ``where``."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(enc)
            except UnicodeDecodeError:
                break
    else:
        if b"\x00" not in data:
            for enc in ("utf-8", "gb18030"):
                try:
                    text = data.decode(enc)
                except UnicodeDecodeError:
                    continue
                if not any(ord(ch) < 32 and ch not in "\t\r\n\f" for ch in text):
                    return text
    raise InputError(f"{where} is not a text document (binary data, or an encoding other than "
                     "UTF-8, UTF-16/32 with BOM or GB 18030)", field=field)


def parse_json(text: str, where: str, field: str, max_depth: int = MAX_DEPTH) -> Any:
    """JSON with a nesting limit (checked before parsing: no recursion on hostile input)."""
    depth = deepest = 0
    in_str = esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > max_depth:
                raise InputError(f"{where}: JSON nested deeper than {max_depth} levels",
                                 field=field)
        elif ch in "]}":
            depth -= 1
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not valid JSON at line {exc.lineno}, column {exc.colno} "
                         f"({exc.msg})", field=field) from None
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{where}: not valid JSON ({exc})", field=field) from None


def read_json_object(path: str | os.PathLike, flag: str, what: str) -> dict[str, Any]:
    """A JSON object from a user's file (``what`` says what it should hold)."""
    doc = parse_json(read_text(path, flag), f"{flag}: {path}", flag)
    if not isinstance(doc, dict):
        raise InputError(f"{flag}: {path} holds a JSON {type(doc).__name__}; {what} is a JSON "
                         "object {...}", field=flag)
    return doc


def output_file(path: str | os.PathLike, flag: str) -> Path:
    """A path a command may write a file to (refused before any work is done)."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{flag}: {p} is a folder; give a file name, e.g. {p / 'out.html'}",
                         field=flag)
    parent = p.parent if str(p.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise InputError(f"{flag}: {parent} is not a folder", field=flag)
    if parent.exists() and not os.access(parent, os.W_OK):
        raise InputError(f"{flag}: cannot write into {parent}", field=flag)
    if p.exists() and not os.access(p, os.W_OK):
        raise InputError(f"{flag}: {p} is not writable", field=flag)
    return p
