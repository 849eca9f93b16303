"""How each BPMN element of a diagram is drawn in SVG: the style sheet, arrow markers, label
wrapping (Chinese and Latin text), shapes of activities, events and gateways with their markers,
and flows. ``webui.diagram.render`` lays them out from the diagram interchange.
"""
from __future__ import annotations

import math

from lxml import etree

SVG = "http://www.w3.org/2000/svg"
CONTAINERS = {"participant", "lane"}
FONT = "'Noto Sans CJK SC','PingFang SC','Microsoft YaHei','Source Han Sans SC',sans-serif"
CSS = f"""
.bpmn-diagram {{ font-family: {FONT}; font-size: 12px; }}
.bpmn-diagram .shape {{ fill: #fff; stroke: #3c4650; stroke-width: 1.5; }}
.bpmn-diagram .container {{ fill: none; stroke: #9aa5b1; stroke-width: 1; }}
.bpmn-diagram .header {{ fill: #f3f5f7; stroke: #9aa5b1; stroke-width: 1; }}
.bpmn-diagram .mark {{ fill: none; stroke: #3c4650; stroke-width: 1.5; }}
.bpmn-diagram .mark.fill {{ fill: #3c4650; }}
.bpmn-diagram .flow {{ fill: none; stroke: #6b7785; stroke-width: 1.3; }}
.bpmn-diagram .flow.message {{ stroke-dasharray: 6 4; }}
.bpmn-diagram .flow.association {{ stroke-dasharray: 2 3; }}
.bpmn-diagram .flow.taken {{ stroke: #2e7d32; stroke-width: 2.4; }}
.bpmn-diagram text {{ fill: #1f2933; }}
.bpmn-diagram .lane-name {{ font-weight: 600; }}
.bpmn-diagram .completed .shape {{ fill: #e3f4e4; stroke: #2e7d32; stroke-width: 2.2; }}
.bpmn-diagram .active .shape {{ fill: #fff1cc; stroke: #d97a00; stroke-width: 3.5; }}
.bpmn-diagram .failed .shape {{ fill: #fde2e1; stroke: #c62828; stroke-width: 3.5; }}
.bpmn-diagram .dashed {{ stroke-dasharray: 5 3; }}
.bpmn-diagram .shape.end {{ stroke-width: 4; }}
.bpmn-diagram .count-badge rect {{ fill: #1f2933; }}
.bpmn-diagram .count-badge text {{ fill: #fff; font-size: 11px; font-weight: 600; }}
"""
MARKERS = [
    f'<marker xmlns="{SVG}" id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
    'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#6b7785"/></marker>',
    f'<marker xmlns="{SVG}" id="arrow-taken" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
    'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#2e7d32"/></marker>',
    f'<marker xmlns="{SVG}" id="arrow-open" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
    'markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#fff" stroke="#6b7785"/></marker>',
    f'<marker xmlns="{SVG}" id="dot-open" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="7" markerHeight="7">'
    '<circle cx="5" cy="5" r="4" fill="#fff" stroke="#6b7785"/></marker>',
]
CLOSING = set("）)，,。.、：:；;？?！!」》]")
ACTIVITIES = {"task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
              "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"}
GATEWAY_MARKS = {"exclusiveGateway": "x", "parallelGateway": "+", "inclusiveGateway": "o",
                 "complexGateway": "*", "eventBasedGateway": "e"}


def _el(parent, tag: str, css: str = "", **attrs) -> etree._Element:
    attrib = {k.replace("_", "-"): (f"{v:g}" if isinstance(v, float) else str(v)) for k, v in attrs.items()}
    if css:
        attrib["class"] = css
    return etree.SubElement(parent, f"{{{SVG}}}{tag}", attrib=attrib)


def _width(ch: str, size: float) -> float:
    return size if ord(ch) > 0x2E80 else size * (0.33 if ch in " .,:;'|!il" else 0.6)


def wrap(text: str, width: float, size: float = 12.0) -> list[str]:
    """Lines of ``text`` fitting ``width`` (CJK break anywhere, other words at spaces)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line, used, word = "", 0.0, ""
        tokens: list[str] = []
        for ch in paragraph:  # CJK characters are tokens of their own; latin words stay whole
            if ord(ch) > 0x2E80 or ch == " ":
                tokens += [word, ch] if word else [ch]
                word = ""
            else:
                word += ch
        tokens += [word] if word else []
        for token in tokens:
            w = sum(_width(c, size) for c in token)
            if used + w > width and line.strip() and token not in CLOSING:
                lines.append(line.rstrip())
                line, used = ("" if token == " " else token), (0.0 if token == " " else w)
            else:
                line, used = line + token, used + w
        lines.append(line.rstrip())
    return [ln for ln in lines if ln] or [""]


def text_block(parent, text: str, x: float, y: float, w: float, h: float, css: str = "label",
               size: float = 12.0, middle: bool = False) -> None:
    """``text`` wrapped into the box, centred horizontally (and vertically when ``middle``)."""
    lines = wrap(text, max(w - 4, size * 2), size)
    line_height = size * 1.25
    fit = max(1, int((h + (line_height if not middle else 0)) // line_height)) if middle else len(lines)
    if len(lines) > fit:
        lines = lines[:fit]
        lines[-1] = lines[-1][:-1] + "…"
    top = y + (h - len(lines) * line_height) / 2 if middle else y
    node = _el(parent, "text", css, x=x + w / 2, y=top + size, text_anchor="middle", font_size=f"{size:g}")
    for i, line in enumerate(lines):
        span = _el(node, "tspan", x=x + w / 2, dy="0" if i == 0 else f"{line_height:g}")
        span.text = line


def draw_shape(layer, kind: str, element, bounds, name: str, state: str) -> None:
    x, y, w, h = bounds
    group = _el(layer, "g", f"el {kind} {state}".strip(), data_element_id=element.get("id") or "")
    tip = _el(group, "title")
    tip.text = f"{name} ({element.get('id')})" if name else element.get("id") or ""
    if kind in CONTAINERS:
        _el(group, "rect", "container", x=x, y=y, width=w, height=h)
        _el(group, "rect", "header", x=x, y=y, width=30.0, height=h)
        text = _el(group, "text", "lane-name", x=x + 15, y=y + h / 2, text_anchor="middle",
                   dominant_baseline="central", transform=f"rotate(-90 {x + 15:g} {y + h / 2:g})")
        text.text = name
    elif kind in ACTIVITIES:
        _el(group, "rect", "shape", x=x, y=y, width=w, height=h, rx=10.0)
        _activity_marker(group, kind, x, y)
        if kind in ("subProcess", "transaction", "adHocSubProcess") and h > 120:
            text_block(group, name, x + 4, y + 4, w - 8, 20, css="name")
        else:
            text_block(group, name, x + 4, y + 14, w - 8, h - 18, css="name", middle=True)
    elif kind.endswith("Gateway"):
        cx, cy = x + w / 2, y + h / 2
        _el(group, "polygon", "shape", points=f"{cx:g},{y:g} {x + w:g},{cy:g} {cx:g},{y + h:g} {x:g},{cy:g}")
        _gateway_marker(group, GATEWAY_MARKS.get(kind, ""), cx, cy, w)
    elif kind.endswith("Event"):
        cx, cy, r = x + w / 2, y + h / 2, w / 2
        dashed = " dashed" if element.get("cancelActivity") == "false" else ""
        _el(group, "circle", "shape" + dashed + (" end" if kind == "endEvent" else ""), cx=cx, cy=cy, r=r)
        if kind in ("intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"):
            _el(group, "circle", "mark" + dashed, cx=cx, cy=cy, r=r - 3)
        _event_marker(group, element, cx, cy, r)
    elif kind == "textAnnotation":
        _el(group, "path", "mark", d=f"M{x + 10:g},{y:g} L{x:g},{y:g} L{x:g},{y + h:g} L{x + 10:g},{y + h:g}")
        text_block(group, name, x + 4, y + 2, w - 4, h - 2, css="name")
    else:  # data objects, stores and anything else: a plain box
        _el(group, "rect", "shape", x=x, y=y, width=w, height=h)


def _activity_marker(group, kind: str, x: float, y: float) -> None:
    if kind in ("userTask", "manualTask"):
        _el(group, "circle", "mark", cx=x + 14, cy=y + 11, r=3.5)
        _el(group, "path", "mark", d=f"M{x + 7:g},{y + 22:g} q7,-9 14,0")
    elif kind == "scriptTask":
        for i in range(3):
            _el(group, "line", "mark", x1=x + 8, y1=y + 8 + 4 * i, x2=x + 18, y2=y + 8 + 4 * i)
    elif kind == "serviceTask":
        _el(group, "circle", "mark", cx=x + 13, cy=y + 13, r=5.5, stroke_dasharray="2.5 1.8", stroke_width="3")
    elif kind in ("sendTask", "receiveTask"):
        _el(group, "rect", "mark fill" if kind == "sendTask" else "mark", x=x + 7, y=y + 8, width=14.0, height=10.0)


def _gateway_marker(group, mark: str, cx: float, cy: float, w: float) -> None:
    s = w * 0.2
    if mark == "x":
        _el(group, "path", "mark", d=f"M{cx - s:g},{cy - s:g} L{cx + s:g},{cy + s:g} M{cx + s:g},{cy - s:g} "
            f"L{cx - s:g},{cy + s:g}", stroke_width="3")
    elif mark in ("+", "*"):
        d = f"M{cx:g},{cy - s * 1.2:g} V{cy + s * 1.2:g} M{cx - s * 1.2:g},{cy:g} H{cx + s * 1.2:g}"
        _el(group, "path", "mark", d=d, stroke_width="3")
    elif mark == "o":
        _el(group, "circle", "mark", cx=cx, cy=cy, r=s * 1.2, stroke_width="2.5")
    elif mark == "e":
        _el(group, "circle", "mark", cx=cx, cy=cy, r=s * 1.5)
        _el(group, "circle", "mark", cx=cx, cy=cy, r=s * 1.2)
        pts = " ".join(f"{cx + s * 0.8 * math.sin(a):g},{cy - s * 0.8 * math.cos(a):g}"
                       for a in (i * 2 * math.pi / 5 for i in range(5)))
        _el(group, "polygon", "mark", points=pts)


def _event_marker(group, element, cx: float, cy: float, r: float) -> None:
    definitions = {etree.QName(d).localname for d in element if isinstance(d.tag, str)}
    if "timerEventDefinition" in definitions:
        _el(group, "circle", "mark", cx=cx, cy=cy, r=r * 0.55)
        _el(group, "path", "mark", d=f"M{cx:g},{cy - r * 0.4:g} L{cx:g},{cy:g} L{cx + r * 0.3:g},{cy:g}")
    elif "messageEventDefinition" in definitions:
        throw = etree.QName(element).localname in ("endEvent", "intermediateThrowEvent")
        w, h = r * 0.95, r * 0.65
        _el(group, "rect", "mark fill" if throw else "mark", x=cx - w / 2, y=cy - h / 2, width=w, height=h)
        _el(group, "path", "mark", d=f"M{cx - w / 2:g},{cy - h / 2:g} L{cx:g},{cy:g} L{cx + w / 2:g},{cy - h / 2:g}",
            stroke=("#fff" if throw else "#3c4650"))
    elif "terminateEventDefinition" in definitions:
        _el(group, "circle", "mark fill", cx=cx, cy=cy, r=r * 0.55)
    elif "errorEventDefinition" in definitions:
        _el(group, "path", "mark", d=f"M{cx - r * .4:g},{cy + r * .4:g} L{cx - r * .15:g},{cy - r * .4:g} "
            f"L{cx + r * .15:g},{cy + r * .1:g} L{cx + r * .4:g},{cy - r * .4:g}")
    elif "signalEventDefinition" in definitions:
        _el(group, "polygon", "mark", points=f"{cx:g},{cy - r * .5:g} {cx + r * .45:g},{cy + r * .35:g} "
            f"{cx - r * .45:g},{cy + r * .35:g}")


def draw_edge(layer, kind: str, element, points: list[tuple[float, float]], taken: bool) -> None:
    css = "flow" + {"messageFlow": " message", "association": " association"}.get(kind, "")
    attrs = {}
    if kind == "sequenceFlow":
        attrs["marker_end"] = "url(#arrow-taken)" if taken else "url(#arrow)"
    elif kind == "messageFlow":
        attrs.update(marker_start="url(#dot-open)", marker_end="url(#arrow-open)")
    group = _el(layer, "g", "edge" + (" taken" if taken else ""), data_element_id=element.get("id") or "")
    if element.get("name"):
        _el(group, "title").text = element.get("name")
    _el(group, "polyline", css + (" taken" if taken else ""),
        points=" ".join(f"{x:g},{y:g}" for x, y in points), **attrs)


def draw_count(layer, element_id: str, bounds, count: int) -> None:
    """A dark badge "×3" on the top right corner of an element that ran ``count`` times."""
    x, y, w, _h = bounds
    label = f"×{count}"
    width = 10.0 + 7.0 * len(label)
    group = _el(layer, "g", "count-badge", data_count_of=element_id, data_count=count)
    _el(group, "rect", x=x + w - width / 2, y=y - 9, width=width, height=18.0, rx=9.0)
    _el(group, "text", x=x + w, y=y + 4, text_anchor="middle").text = label

