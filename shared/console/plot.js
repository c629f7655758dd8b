// Per-variant conversion rate with its interval, drawn as inline SVG (no plotting library).
// Pure: geometry() computes the figure from the stats' `variants`; render() builds the SVG
// with the given document (text only through textContent). Loaded by the page as a plain
// script (window.ConsolePlot) and by the unit tests under Node (module.exports).
"use strict";

(function (root) {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const LAYOUT = { width: 560, row: 28, top: 24, bottom: 28, labelWidth: 140, right: 56 };

  function clamp(value) {
    const number = Number(value);
    if (!Number.isFinite(number)) return 0;
    return Math.min(1, Math.max(0, number));
  }

  function percent(value) {
    return `${Math.round(clamp(value) * 1000) / 10}%`;
  }

  function usable(variants) {
    return Array.isArray(variants) ? variants.filter((v) => v && typeof v === "object") : [];
  }

  // The figure as numbers: one row per variant, x positions in SVG units for rate 0..1.
  function geometry(variants) {
    const rows = usable(variants);
    if (!rows.length) return null;
    const plotLeft = LAYOUT.labelWidth;
    const plotWidth = LAYOUT.width - LAYOUT.labelWidth - LAYOUT.right;
    const x = (rate) => plotLeft + clamp(rate) * plotWidth;
    const height = LAYOUT.top + rows.length * LAYOUT.row + LAYOUT.bottom;
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) => ({ x: x(t), label: percent(t) }));
    return {
      width: LAYOUT.width,
      height,
      plotLeft,
      plotRight: plotLeft + plotWidth,
      axisY: height - LAYOUT.bottom,
      ticks,
      rows: rows.map((variant, index) => {
        const interval = Array.isArray(variant.conversion_rate_interval)
          ? variant.conversion_rate_interval
          : [variant.conversion_rate, variant.conversion_rate];
        const low = Math.min(clamp(interval[0]), clamp(interval[1]));
        const high = Math.max(clamp(interval[0]), clamp(interval[1]));
        return {
          name: String(variant.name ?? ""),
          y: LAYOUT.top + index * LAYOUT.row + LAYOUT.row / 2,
          x: x(variant.conversion_rate),
          low: x(low),
          high: x(high),
          label: `${percent(variant.conversion_rate)} (${percent(low)} to ${percent(high)})`,
        };
      }),
    };
  }

  function node(doc, tag, attributes, text) {
    const element = doc.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      element.setAttribute(name, String(value));
    }
    if (text !== undefined) element.textContent = String(text);
    return element;
  }

  function axis(doc, svg, figure) {
    const y = figure.axisY;
    svg.appendChild(node(doc, "line", { class: "axis", x1: figure.plotLeft, x2: figure.plotRight, y1: y, y2: y }));
    for (const tick of figure.ticks) {
      svg.appendChild(node(doc, "line", { class: "grid", x1: tick.x, x2: tick.x, y1: 8, y2: y }));
      svg.appendChild(node(doc, "text", { class: "tick", x: tick.x, y: y + 16, "text-anchor": "middle" }, tick.label));
    }
  }

  function variantRow(doc, row) {
    const group = node(doc, "g", { class: "variant", "data-variant": row.name });
    group.appendChild(node(doc, "title", {}, `${row.name}: ${row.label}`));
    group.appendChild(node(doc, "text", { class: "name", x: 4, y: row.y + 4 }, row.name));
    group.appendChild(node(doc, "line", { class: "interval", x1: row.low, x2: row.high, y1: row.y, y2: row.y }));
    for (const end of [row.low, row.high]) {
      group.appendChild(node(doc, "line", { class: "whisker", x1: end, x2: end, y1: row.y - 6, y2: row.y + 6 }));
    }
    group.appendChild(node(doc, "circle", { class: "rate", cx: row.x, cy: row.y, r: 4 }));
    group.appendChild(node(doc, "text", { class: "value", x: row.high + 6, y: row.y + 4 }, percentOnly(row.label)));
    return group;
  }

  function percentOnly(label) {
    return label.split(" ")[0];
  }

  // The SVG element, or null when the stats carry no variants (the section then stays hidden).
  function render(variants, doc) {
    const figure = geometry(variants);
    if (!figure) return null;
    const svg = node(doc, "svg", {
      xmlns: SVG_NS,
      class: "variant-plot",
      viewBox: `0 0 ${figure.width} ${figure.height}`,
      role: "img",
      "aria-label": "Conversion rate by variant, with its interval",
    });
    axis(doc, svg, figure);
    for (const row of figure.rows) svg.appendChild(variantRow(doc, row));
    return svg;
  }

  const api = { geometry, render };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else root.ConsolePlot = api;
})(typeof window !== "undefined" ? window : this);
