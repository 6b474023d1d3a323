"""Popups and tooltips whose content cannot run script.

folium's own ``Popup``/``Tooltip`` paste their HTML into a JavaScript template literal
(backticks), where ``${...}`` runs and a backtick ends the string. These elements pass the
content as a JSON string instead (``tojavascript`` escapes ``<``, ``>``, ``&`` and ``'``), and
the content itself is HTML built with :func:`viz.escape.html_text` around every value.
"""

from __future__ import annotations

from branca.element import MacroElement
from folium.template import Template


class SafePopup(MacroElement):
    """``layer.bindPopup(<escaped HTML string>)``.

    Parameters
    ----------
    html : str
        Trusted markup whose every dynamic part went through ``html_text``.
    max_width : int
        Popup width limit in pixels.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.bindPopup({{ this.html|tojavascript }},
            {{ this.options|tojavascript }});
        {% endmacro %}
    """)

    def __init__(self, html: str, max_width: int = 420) -> None:
        super().__init__()
        self._name = "SafePopup"
        self.html = html
        self.options = {"max_width": max_width, "class_name": "gs-popup"}


class SafeTooltip(MacroElement):
    """``layer.bindTooltip(<escaped HTML string>)`` (sticky for lines)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.bindTooltip({{ this.html|tojavascript }},
            {{ this.options|tojavascript }});
        {% endmacro %}
    """)

    def __init__(self, html: str, sticky: bool = True) -> None:
        super().__init__()
        self._name = "SafeTooltip"
        self.html = html
        self.options = {"sticky": sticky}
