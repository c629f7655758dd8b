"""The console's variant plot (shared/console/plot.js) under Node with a minimal document:
one row per variant, the rate and its interval placed on a 0..100% axis, names as text."""

from __future__ import annotations

import json
import shutil
import subprocess
from importlib import resources
from typing import Any

import pytest

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js runs the console's scripts")

# A document that records elements as plain objects, so the SVG can be read back as JSON.
HARNESS = """
const plot = require(process.argv[1]);
const doc = {
  createElementNS(ns, tag) {
    return {
      ns, tag, attributes: {}, children: [], textContent: undefined,
      setAttribute(name, value) { this.attributes[name] = value; },
      appendChild(child) { this.children.push(child); return child; },
    };
  },
};
const strip = (n) => ({ tag: n.tag, ns: n.ns, attributes: n.attributes,
  text: n.textContent, children: n.children.map(strip) });
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const svg = plot.render(input, doc);
process.stdout.write(JSON.stringify({
  svg: svg && strip(svg), geometry: plot.geometry(input) }));
"""

VARIANTS = [
    {"name": "default", "conversion_rate": 0.25, "conversion_rate_interval": [0.2, 0.3]},
    {"name": "double", "conversion_rate": 0.5, "conversion_rate_interval": [0.4, 0.6]},
]


def _run(variants: Any) -> dict[str, Any]:
    script = resources.files("shared.console").joinpath("plot.js")
    with resources.as_file(script) as path:
        done = subprocess.run(
            [str(NODE), "-e", HARNESS, str(path)],
            input=json.dumps(variants),
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _variant_groups(svg: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in svg["children"] if c["attributes"].get("class") == "variant"]


def _by_class(group: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [c for c in group["children"] if c["attributes"].get("class") == name]


@pytest.mark.parametrize("variants", [None, [], "default"])
def test_stats_without_variants_draw_no_plot(variants: Any) -> None:
    result = _run(variants)

    assert result["svg"] is None and result["geometry"] is None


def test_each_variant_is_one_row_named_as_text() -> None:
    svg = _run(VARIANTS)["svg"]

    groups = _variant_groups(svg)
    assert svg["tag"] == "svg" and svg["ns"] == "http://www.w3.org/2000/svg"
    assert [g["attributes"]["data-variant"] for g in groups] == ["default", "double"]
    assert [_by_class(g, "name")[0]["text"] for g in groups] == ["default", "double"]


def test_the_rate_sits_inside_its_interval_on_the_axis() -> None:
    figure = _run(VARIANTS)["geometry"]
    left, right = figure["plotLeft"], figure["plotRight"]
    width = right - left

    first, second = figure["rows"]
    assert first["low"] == pytest.approx(left + 0.2 * width)
    assert first["x"] == pytest.approx(left + 0.25 * width)
    assert first["high"] == pytest.approx(left + 0.3 * width)
    assert second["x"] == pytest.approx(left + 0.5 * width)
    assert first["y"] < second["y"] < figure["axisY"]


def test_the_interval_is_drawn_as_a_line_with_whiskers_and_a_dot() -> None:
    group = _variant_groups(_run(VARIANTS[:1])["svg"])[0]

    (interval,) = _by_class(group, "interval")
    whiskers = _by_class(group, "whisker")
    (dot,) = _by_class(group, "rate")
    assert float(interval["attributes"]["x1"]) < float(dot["attributes"]["cx"])
    assert float(dot["attributes"]["cx"]) < float(interval["attributes"]["x2"])
    assert sorted(float(w["attributes"]["x1"]) for w in whiskers) == [
        float(interval["attributes"]["x1"]),
        float(interval["attributes"]["x2"]),
    ]
    assert _by_class(group, "value")[0]["text"] == "25%"
    assert group["children"][0]["text"] == "default: 25% (20% to 30%)"


def test_rates_outside_zero_to_one_stay_on_the_axis() -> None:
    wild = [{"name": "odd", "conversion_rate": 1.7, "conversion_rate_interval": [-0.5, 2]}]

    figure = _run(wild)["geometry"]

    (row,) = figure["rows"]
    assert row["low"] == figure["plotLeft"]
    assert row["x"] == row["high"] == figure["plotRight"]


def test_a_name_that_looks_like_markup_stays_text() -> None:
    hostile = [
        {"name": "<img src=x>", "conversion_rate": 0.1, "conversion_rate_interval": [0, 0.2]}
    ]

    group = _variant_groups(_run(hostile)["svg"])[0]

    assert _by_class(group, "name")[0]["text"] == "<img src=x>"
    assert all(c["tag"] != "img" for c in group["children"])
