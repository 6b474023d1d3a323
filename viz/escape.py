"""Escaping of user-supplied text for each context it reaches in a page.

Customer names, addresses and any text from an application reach HTML text and attributes,
JavaScript (inside ``<script>``), and, through folium's own templates, JavaScript template
literals. One function per context:

- :func:`html_text` for HTML text and quoted attribute values. It also turns the characters that
  are special inside a JavaScript template literal (backtick, ``$``, backslash) into HTML
  character references: they read the same once parsed as HTML, and cannot end or interpolate a
  template literal if some template (folium's popups do this) wraps the HTML in backticks.
- :func:`script_json` for data placed inside ``<script>`` (as a JS expression or as the body of a
  ``<script type="application/json">``): JSON with ``<``, ``>``, ``&``, U+2028 and U+2029
  escaped, so ``</script>`` and ``<!--`` cannot appear in it.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

_TEMPLATE_LITERAL = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})
_SCRIPT_JSON = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                              "\u2028": "\\u2028", "\u2029": "\\u2029"})


def html_text(value: Any) -> str:
    """Escape any value for HTML text or a quoted attribute (and template-literal safe).

    Parameters
    ----------
    value : Any
        Converted with ``str()``; ``None`` becomes the empty string.

    Returns
    -------
    str
        Text with ``& < > " '`` and `` ` $ \\ `` replaced by character references.
    """
    if value is None:
        return ""
    return html.escape(str(value), quote=True).translate(_TEMPLATE_LITERAL)


def script_json(obj: Any) -> str:
    """Serialise ``obj`` as JSON that is safe inside an HTML ``<script>`` element.

    Non-finite floats become ``null`` (JSON has no NaN/Infinity).

    Returns
    -------
    str
        A JSON text without the characters ``< > &`` and the JS line separators.
    """
    return json.dumps(_finite(obj), ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).translate(_SCRIPT_JSON)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj
