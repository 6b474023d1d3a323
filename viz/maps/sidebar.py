"""The panel beside the map: customer block, comparison table, explanations and legend.

Pure functions from a ``PlanResult`` to HTML, every value escaped with
:func:`viz.escape.html_text`; the web page can reuse :func:`comparison_table_html` and
:func:`legend_html` as they are.
"""

from __future__ import annotations

from ..escape import html_text as h
from ..labels import Lang, check_value, money, num, t
from ..summary import comparison_rows, customer_name, scheme_title
from .context import class_legend


def comparison_table_html(result: dict, lang: Lang, colours: list[str],
                          layer_names: list[str] | None = None) -> str:
    """The schemes side by side (one column per scheme, one row per figure)."""
    heads, rows = comparison_rows(result, lang)
    if not heads:
        return f'<p class="gs-empty">{h(t("no_scheme", lang))}</p>'
    ths = []
    for i, title in enumerate(heads):
        layer = f' data-layer="{h(layer_names[i])}"' if layer_names else ""
        ths.append(f'<th class="gs-col"{layer}><span class="gs-swatch" '
                   f'style="background:{h(colours[i])}"></span>{h(title)}</th>')
    body = []
    for label, cells in rows:
        tds = "".join("<td>" + "<br>".join(h(x) for x in cell) + "</td>" for cell in cells)
        body.append(f"<tr><th scope=\"row\">{h(label)}</th>{tds}</tr>")
    return (f'<table class="gs-table"><thead><tr><th></th>{"".join(ths)}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def legend_html(lang: Lang, colours: list[str], ranks: list[int], designer: bool,
                has_parcel: bool) -> str:
    """Legend: rank colours, line styles, markers, and the designer layers' classes."""
    items = [f'<li><span class="gs-line" style="border-color:{h(c)}"></span>'
             f'{h(t("scheme", lang))} {r}</li>' for c, r in zip(colours, ranks, strict=False)]
    items += [
        f'<li><span class="gs-line"></span>{h(t("cable", lang).capitalize())}</li>',
        f'<li><span class="gs-line gs-dashed"></span>{h(t("overhead", lang).capitalize())}</li>',
        f'<li><span class="gs-line gs-dotted"></span>{h(t("fallback_route", lang))}</li>',
        f'<li><span class="gs-pin gs-pin-customer"></span>{h(t("point_used", lang))}</li>',
        f'<li><span class="gs-pin">+</span>{h(t("connection", lang))} / '
        f'{h(t("new_equipment", lang))}</li>',
    ]
    if has_parcel:
        items.append(f'<li><span class="gs-area"></span>{h(t("parcel", lang))}</li>')
    if designer:
        for layer, key in (("feeder_load_rate", "feeders_layer"),
                           ("capacity_headroom_mva", "heatmap_layer")):
            sw = "".join(f'<span class="gs-swatch" style="background:{h(c)}" title="{h(lab)}">'
                         f'</span><small>{h(lab)}</small> ' for c, lab in class_legend(layer, lang))
            items.append(f'<li class="gs-classes"><b>{h(t(key, lang))}</b><br>{sw}</li>')
    return (f'<section class="gs-legend"><h3>{h(t("legend", lang))}</h3>'
            f'<ul>{"".join(items)}</ul></section>')


def sidebar_html(result: dict, lang: Lang, colours: list[str], layer_names: list[str],
                 designer: bool) -> str:
    """The whole side panel."""
    app = result.get("application") or {}
    dd = result.get("design_demand") or {}
    schemes = result.get("schemes") or []
    kva = num(app.get("requested_kva"))
    facts = [(t("requested", lang), f"{kva:,.0f} kVA" if kva is not None else "–")]
    if app.get("tier"):
        facts.append((t("tier", lang), str(app["tier"]) if lang == "zh" else
                      _tier_en(str(app["tier"]))))
    if num(dd.get("p_kw")) is not None:
        facts.append(("设计需量" if lang == "zh" else "Design demand", f"{num(dd['p_kw']):,.0f} kW"))
    for key in ("address", "customer_address"):
        if app.get(key):
            facts.append((t("customer_site", lang), str(app[key])))
            break
    dl = "".join(f"<dt>{h(k)}</dt><dd>{h(v)}</dd>" for k, v in facts)
    expl = "".join(
        f'<li><b>{h(scheme_title(s, lang))}</b>: '
        f'{h((s.get("explanation") or {}).get(lang, ""))}</li>' for s in schemes)
    parts = [
        f'<header><h1>{h(t("title_map", lang))}</h1>'
        f'<h2 class="gs-customer">{h(customer_name(result, lang))}</h2><dl>{dl}</dl></header>',
        f'<section><h3>{h(t("comparison", lang))}</h3>'
        f'{comparison_table_html(result, lang, colours, layer_names)}</section>',
        f'<section><h3>{h(t("explanation", lang))}</h3><ol class="gs-expl">{expl}</ol></section>'
        if schemes else "",
    ]
    if designer and result.get("rejected"):
        units = {lim.get("name"): lim.get("unit", "") for sc in schemes
                 for c in sc.get("circuits") or [] for lim in c.get("limits") or []}
        rows = "".join(
            f"<li>{h(r.get('point_id', ''))}"
            + (f" ({h(r['feeder_id'])})" if r.get("feeder_id") else "")
            + f": {h(r.get('label_zh' if lang == 'zh' else 'label_en', ''))} "
            f"{h(check_value(r.get('value'), units.get(r.get('binding'), '')))} / "
            f"{h(check_value(r.get('limit'), units.get(r.get('binding'), '')))}</li>"
            for r in result["rejected"][:12])
        title = "未采用的候选接入点" if lang == "zh" else "Candidates rejected"
        parts.append(f'<section class="gs-rejected"><h3>{h(title)}</h3><ul>{rows}</ul></section>')
    parts.append(legend_html(lang, colours, [s.get("rank", i + 1) for i, s in enumerate(schemes)],
                             designer, bool(app.get("parcel"))))
    foot = (f'{"网络版本" if lang == "zh" else "network"} {result.get("network_version", "")} · '
            f'{"策略" if lang == "zh" else "policy"} {result.get("policy_id", "")}')
    parts.append(f'<footer>{h(foot)}</footer>')
    return f'<aside class="gs-side" lang="{"zh-CN" if lang == "zh" else "en"}">{"".join(parts)}</aside>'


_TIERS_EN = {"特级": "special", "一级": "first", "二级": "second", "临时": "temporary",
             "普通": "ordinary"}


def _tier_en(tier: str) -> str:
    return _TIERS_EN.get(tier, tier)


def money_cell(v: float, lang: Lang) -> str:
    """Money for the layer names (kept short)."""
    return money(v, lang)
