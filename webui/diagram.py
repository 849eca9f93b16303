"""A BPMN diagram as plain SVG, drawn on the server from the file's diagram interchange (DI).

``render(xml, highlight)`` reads the ``bpmndi`` shapes and edges with lxml and
draws pools, lanes, tasks, events, gateways, flows and labels; completed,
active and failed elements (and the flows taken) get CSS classes and colours, an element
that ran more than once a count badge ("×3"); the page's legend explains them (common/_diagram.html).
No script, no external asset: names are copied as text, never as markup. How each element
is drawn is ``diagram_shapes``'s; ``webui.pages.history.highlight_of`` works out the highlighted
sets from an instance's history.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional

from lxml import etree

from webui.diagram_shapes import CONTAINERS, CSS, MARKERS, SVG, draw_count, draw_edge, draw_shape, text_block, wrap

__all__ = ["CSS", "DiagramError", "Highlight", "render", "wrap"]


NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC", "di": "http://www.omg.org/spec/DD/20100524/DI"}
MARGIN = 12
EXPANDABLE = {"subProcess", "transaction", "adHocSubProcess"}


@dataclass
class Highlight:
    completed: set[str] = field(default_factory=set)
    active: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    flows: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)  # how often each element ran (a badge when > 1)

    def state(self, element_id: str) -> str:
        for name in ("failed", "active", "completed"):
            if element_id in getattr(self, name):
                return name
        return ""


class DiagramError(ValueError):
    """The document cannot be drawn (not XML, or no diagram interchange)."""


def _parse(xml: str | bytes):
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    try:
        return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False))
    except etree.XMLSyntaxError as exc:
        raise DiagramError(f"Not well-formed XML: {exc.msg}") from exc


def render(xml: str | bytes, highlight: Optional[Highlight] = None,
           lane_label: Callable[[str], str] = lambda name: name, title: str = "", scale: float = 1.0) -> str:
    """The SVG document (text) of the first diagram of ``xml``, ``scale`` times its drawn size."""
    root = _parse(xml)
    plane = root.find(".//bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    if plane is None:
        raise DiagramError("The file has no diagram interchange (bpmndi:BPMNDiagram); draw it in a modeler.")
    highlight = highlight or Highlight()
    index = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    shapes = plane.findall("bpmndi:BPMNShape", NS)
    edges = plane.findall("bpmndi:BPMNEdge", NS)
    box = _extent(shapes, edges)
    width, height = box[2] - box[0] + 2 * MARGIN, box[3] - box[1] + 2 * MARGIN
    svg = etree.Element(f"{{{SVG}}}svg", nsmap={None: SVG}, attrib={
        "viewBox": f"{box[0] - MARGIN:g} {box[1] - MARGIN:g} {width:g} {height:g}",
        "width": f"{width * scale:g}", "height": f"{height * scale:g}", "class": "bpmn-diagram", "role": "img"})
    if title:
        etree.SubElement(svg, f"{{{SVG}}}title").text = title
    style = etree.SubElement(svg, f"{{{SVG}}}style")
    style.text = CSS
    defs = etree.SubElement(svg, f"{{{SVG}}}defs")
    for marker in MARKERS:
        defs.append(etree.fromstring(marker))
    layers = {name: etree.SubElement(svg, f"{{{SVG}}}g", attrib={"class": f"layer-{name}"})
              for name in ("containers", "edges", "shapes", "labels")}
    for shape in sorted(shapes, key=lambda s: _local(index.get(s.get("bpmnElement"))) not in CONTAINERS):
        element = index.get(shape.get("bpmnElement"))
        bounds = shape.find("dc:Bounds", NS)
        if element is None or bounds is None:
            continue
        kind = _local(element)
        # pools, lanes and expanded subprocesses lie beneath the flows, which may run inside them
        beneath = kind in CONTAINERS or (kind in EXPANDABLE and shape.get("isExpanded") == "true")
        layer = layers["containers"] if beneath else layers["shapes"]
        name = element.get("name") or ""
        if kind == "lane":
            name = lane_label(name)
        elif kind == "textAnnotation":
            name = "".join(element.findtext("bpmn:text", default="", namespaces=NS))
        draw_shape(layer, kind, element, _bounds(bounds), name, highlight.state(element.get("id")))
        if highlight.counts.get(element.get("id"), 0) > 1 and kind not in CONTAINERS:
            draw_count(layers["labels"], element.get("id"), _bounds(bounds), highlight.counts[element.get("id")])
        label = shape.find("bpmndi:BPMNLabel/dc:Bounds", NS)
        if name and kind not in CONTAINERS | {"textAnnotation"} and not _inside_label(kind, shape):
            x, y, w, h = _bounds(label) if label is not None else _default_label(_bounds(bounds))
            text_block(layers["labels"], name, x, y, w, h, css="label")
    for edge in edges:
        element = index.get(edge.get("bpmnElement"))
        points = [(float(p.get("x")), float(p.get("y"))) for p in edge.findall("di:waypoint", NS)]
        if element is None or len(points) < 2:
            continue
        flow_id = element.get("id")
        done = flow_id in highlight.flows
        draw_edge(layers["edges"], _local(element), element, points, done)
        label = edge.find("bpmndi:BPMNLabel/dc:Bounds", NS)
        if element.get("name") and label is not None:
            text_block(layers["labels"], element.get("name"), *_bounds(label), css="label flow-label")
    return etree.tostring(svg, encoding="unicode")


def _local(element) -> str:
    return etree.QName(element).localname if element is not None else ""


def _bounds(node) -> tuple[float, float, float, float]:
    return tuple(float(node.get(k, "0")) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]


def _inside_label(kind: str, shape) -> bool:
    """Activities carry their name inside the box (unless an expanded subprocess)."""
    if kind.endswith("Task") or kind in ("task", "callActivity"):
        return True
    return kind in ("subProcess", "transaction")


def _default_label(bounds) -> tuple[float, float, float, float]:
    x, y, w, h = bounds
    return (x + w / 2 - 50, y + h + 4, 100, 28)


def _extent(shapes, edges) -> tuple[float, float, float, float]:
    xs, ys = [], []
    for shape in shapes:
        for bounds in shape.iter(f"{{{NS['dc']}}}Bounds"):
            x, y, w, h = _bounds(bounds)
            xs += [x, x + w]
            ys += [y, y + h]
    for edge in edges:
        for point in edge.findall("di:waypoint", NS):
            xs.append(float(point.get("x")))
            ys.append(float(point.get("y")))
    if not xs:
        raise DiagramError("The diagram interchange has no shapes.")
    return (math.floor(min(xs)), math.floor(min(ys)), math.ceil(max(xs)), math.ceil(max(ys)))
