"""The BLISS scoring page's live panel: ROC curves, the score histogram, the lambda x K heat map
with the current cell, and the galleries of mistakes, drawn in the browser from compact numbers.

A slider move used to send four plotly figures and two tables (each converted, validated and
serialised by the server, then laid out by plotly.js); the panel receives one small JSON object
instead and draws plain SVG, so a move costs the server little more than the metrics and the
browser a few milliseconds. Everything that comes from data (class names, image ids) is set
with ``textContent`` or as an attribute, never as markup. Pictures travel once per session:
the server sends a thumbnail only for ids it has not sent before, and the page keeps them.
"""

from __future__ import annotations

import streamlit as st

_CSS = r"""
:host { display: block; }
.bl { --fs: 13px; --fs-small: 12px; --line: 2.2; font-family: Inter, "Segoe UI", Helvetica, Arial, sans-serif;
      font-size: var(--fs); color: #0f172a; }
.bl.presenter { --fs: 18px; --fs-small: 16px; --line: 3.4; color: #000; }
.bl-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 430px), 1fr)); gap: 14px; }
.bl-card { border: 1px solid #e2e8f0; border-radius: 8px; padding: 8px 10px; background: #fff; min-width: 0; }
.bl.presenter .bl-card { border: 2px solid #0f172a; }
.bl-title { font-weight: 600; margin: 0 0 4px 0; font-size: var(--fs); }
.bl-sub { color: #475569; font-size: var(--fs-small); margin: 0 0 6px 0; }
.bl.presenter .bl-sub { color: #111827; }
svg { width: 100%; height: auto; display: block; overflow: visible; }
svg text { font-size: var(--fs-small); fill: #334155; }
.bl.presenter svg text { fill: #000; }
.bl-legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: var(--fs-small); margin-top: 4px; }
.bl-key { display: inline-flex; align-items: center; gap: 6px; }
.bl-swatch { width: 18px; height: 4px; border-radius: 2px; display: inline-block; }
.bl-gal { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 10px; }
.bl-items { display: grid; grid-template-columns: repeat(auto-fill, minmax(88px, 1fr)); gap: 6px; }
.bl.presenter .bl-items { grid-template-columns: repeat(auto-fill, minmax(110px, 1fr)); }
.bl-item { font-size: var(--fs-small); min-width: 0; }
.bl-pic { width: 100%; aspect-ratio: 1 / 1; object-fit: cover; border-radius: 4px; background: #f1f5f9;
          display: flex; align-items: center; justify-content: center; color: #94a3b8; font-size: 11px; }
.bl-name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.bl-none { color: #64748b; }
"""

_JS = r"""
const NS = "http://www.w3.org/2000/svg";
const THUMBS = (window.__blissThumbs = window.__blissThumbs || new Map());

function svgEl(tag, attrs, parent) {
  const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, String(attrs[k]));
  if (parent) parent.appendChild(e);
  return e;
}
function svgText(parent, x, y, str, attrs) {
  const t = svgEl("text", Object.assign({ x: x, y: y }, attrs || {}), parent);
  t.textContent = String(str);
  return t;
}
function htmlEl(tag, cls, parent, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = String(text);
  if (parent) parent.appendChild(e);
  return e;
}
const fmt = (v, d) => (v === null || v === undefined || !isFinite(v) ? "–" : Number(v).toFixed(d));
const count = (v) => Number(v).toLocaleString("en-US");

// Left margin of the charts: presenter mode's larger type needs room between tick labels and axis title.
let LEFT = 52;

// One chart frame: axes with ticks, returns scales and the plot group.
function frame(svg, o) {
  const W = 460, H = o.h || 300, L = LEFT, R = 12, T = 10, B = 42;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const sx = (v) => L + ((v - o.x0) / (o.x1 - o.x0 || 1)) * (W - L - R);
  const sy = (v) => H - B - ((v - o.y0) / (o.y1 - o.y0 || 1)) * (H - T - B);
  const g = svgEl("g", {}, svg);
  svgEl("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#94a3b8" }, g);
  svgEl("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#94a3b8" }, g);
  for (const t of o.xt) {
    svgEl("line", { x1: sx(t), y1: H - B, x2: sx(t), y2: H - B + 4, stroke: "#94a3b8" }, g);
    svgText(g, sx(t), H - B + 16, o.fx(t), { "text-anchor": "middle" });
  }
  for (const t of o.yt) {
    svgEl("line", { x1: L - 4, y1: sy(t), x2: L, y2: sy(t), stroke: "#94a3b8" }, g);
    svgEl("line", { x1: L, y1: sy(t), x2: W - R, y2: sy(t), stroke: "#f1f5f9" }, g);
    svgText(g, L - 7, sy(t) + 4, o.fy(t), { "text-anchor": "end" });
  }
  svgText(g, (L + W - R) / 2, H - 6, o.xl, { "text-anchor": "middle" });
  svgText(g, 12, (T + H - B) / 2, o.yl, { "text-anchor": "middle", transform: `rotate(-90 12 ${(T + H - B) / 2})` });
  return { g: g, sx: sx, sy: sy, W: W, H: H, L: L, R: R, T: T, B: B };
}
function ticks(a, b, n) {
  const span = b - a || 1, raw = span / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => span / s <= n) || 10 * mag;
  const out = [];
  for (let v = Math.ceil(a / step) * step; v <= b + 1e-9; v += step) out.push(+v.toFixed(10));
  return out;
}

function drawRoc(card, d) {
  const svg = svgEl("svg", { role: "img", "aria-label": "ROC curves" }, card);
  const f = frame(svg, { x0: 0, x1: 1, y0: 0, y1: 1.02, xt: [0, 0.2, 0.4, 0.6, 0.8, 1], yt: [0, 0.2, 0.4, 0.6, 0.8, 1],
                         fx: (v) => v.toFixed(1), fy: (v) => v.toFixed(1), xl: "false-positive rate", yl: "true-positive rate" });
  svgEl("line", { x1: f.sx(0), y1: f.sy(0), x2: f.sx(1), y2: f.sy(1), stroke: "#cbd5e1", "stroke-dasharray": "3 3" }, f.g);
  const legend = htmlEl("div", "bl-legend", card);
  for (const c of d.curves) {
    const pts = c.fpr.map((x, i) => `${f.sx(x).toFixed(1)},${f.sy(c.tpr[i]).toFixed(1)}`).join(" ");
    const width = c.main ? 1.6 * d.line : d.line * 0.7;
    const p = svgEl("polyline", { points: pts, fill: "none", stroke: c.color, "stroke-width": width,
                                  "stroke-linejoin": "round" }, f.g);
    svgEl("title", {}, p).textContent = `${c.name}: AUROC ${fmt(c.auroc, 4)}`;
    const key = htmlEl("span", "bl-key", legend);
    const sw = htmlEl("span", "bl-swatch", key);
    sw.style.background = c.color;
    sw.style.height = c.main ? "5px" : "3px";
    htmlEl("span", "", key, `${c.name}: ${fmt(c.auroc, 3)}`);
  }
  if (d.op) {
    const x = f.sx(d.op[0]), y = f.sy(d.op[1]), r = 6;
    const m = svgEl("g", {}, f.g);
    svgEl("line", { x1: x - r, y1: y - r, x2: x + r, y2: y + r, stroke: "#000", "stroke-width": 2.5 }, m);
    svgEl("line", { x1: x - r, y1: y + r, x2: x + r, y2: y - r, stroke: "#000", "stroke-width": 2.5 }, m);
    svgEl("title", {}, m).textContent = `operating point: FPR ${fmt(d.op[0], 3)}, TPR ${fmt(d.op[1], 3)}`;
  }
}

function drawHist(card, d) {
  // Each group as a share of itself, so that 100 normal images show beside 9,000 anomalies.
  const svg = svgEl("svg", { role: "img", "aria-label": "score histogram" }, card);
  const e = d.edges, share = (a) => { const t = a.reduce((x, y) => x + y, 0) || 1; return a.map((c) => c / t); };
  const normal = share(d.normal), anomaly = share(d.anomaly), top = Math.max(0.01, ...normal, ...anomaly);
  const f = frame(svg, { h: 250, x0: e[0], x1: e[e.length - 1], y0: 0, y1: top * 1.08,
                         xt: ticks(e[0], e[e.length - 1], 6), yt: ticks(0, top, 4),
                         fx: (v) => String(+v.toFixed(2)), fy: (v) => `${+(100 * v).toFixed(1)}%`,
                         xl: "anomaly score (higher = more anomalous)", yl: "share of the group" });
  const series = [[normal, d.normal, d.colors.normal, "normal test images"], [anomaly, d.anomaly, d.colors.anomaly, "anomalies"]];
  for (const [shares, counts, color, name] of series) {
    shares.forEach((c, i) => {
      if (!c) return;
      const x0 = f.sx(e[i]), x1 = f.sx(e[i + 1]);
      const r = svgEl("rect", { x: x0, y: f.sy(c), width: Math.max(0.5, x1 - x0 - 0.3), height: f.sy(0) - f.sy(c),
                                fill: color, "fill-opacity": 0.55 }, f.g);
      svgEl("title", {}, r).textContent = `${name}: ${count(counts[i])} with score ${fmt(e[i], 2)} to ${fmt(e[i + 1], 2)}`;
    });
  }
  if (d.threshold !== null && isFinite(d.threshold)) {
    const x = f.sx(d.threshold);
    svgEl("line", { x1: x, y1: f.T, x2: x, y2: f.sy(0), stroke: "#000", "stroke-width": 2, "stroke-dasharray": "6 4" }, f.g);
    svgText(f.g, x + 4, f.T + 12, "threshold", {});
  }
  const legend = htmlEl("div", "bl-legend", card);
  for (const [, counts, color, name] of series) {
    const key = htmlEl("span", "bl-key", legend);
    htmlEl("span", "bl-swatch", key).style.background = color;
    htmlEl("span", "", key, `${name} (${count(counts.reduce((x, y) => x + y, 0))})`);
  }
}

function viridis(t) {
  const s = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  t = Math.min(1, Math.max(0, t)) * (s.length - 1);
  const i = Math.min(s.length - 2, Math.floor(t)), u = t - i;
  const c = s[i].map((a, k) => Math.round(a + (s[i + 1][k] - a) * u));
  return [`rgb(${c[0]},${c[1]},${c[2]})`, 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2] > 140 ? "#000" : "#fff"];
}

function drawHeat(card, d) {
  const svg = svgEl("svg", { role: "img", "aria-label": "AUROC over lambda and K" }, card);
  const nr = d.lams.length, nc = d.topks.length, W = 460, L = LEFT, T = 6, B = 40, cw = (W - L - 8) / nc, ch = 26;
  const H = T + nr * ch + B;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const flat = d.z.flat().filter((v) => isFinite(v));
  const lo = Math.min(...flat), hi = Math.max(...flat);
  for (let r = 0; r < nr; r++) {
    svgText(svg, L - 7, T + r * ch + ch / 2 + 4, String(d.lams[r]), { "text-anchor": "end" });
    for (let c = 0; c < nc; c++) {
      const v = d.z[r][c], [fill, ink] = viridis(hi > lo ? (v - lo) / (hi - lo) : 0.5);
      const x = L + c * cw, y = T + r * ch;
      const cell = svgEl("rect", { x: x, y: y, width: cw - 1, height: ch - 1, fill: fill }, svg);
      svgEl("title", {}, cell).textContent = `λ=${d.lams[r]}, K=${d.topks[c]}: AUROC ${fmt(v, 4)}`;
      svgText(svg, x + cw / 2, y + ch / 2 + 4, fmt(v, 3), { "text-anchor": "middle", fill: ink, style: `fill:${ink}` });
    }
  }
  for (let c = 0; c < nc; c++) svgText(svg, L + c * cw + cw / 2, T + nr * ch + 15, String(d.topks[c]), { "text-anchor": "middle" });
  svgText(svg, L + (W - L) / 2, H - 5, "K (dictionary entries per image)", { "text-anchor": "middle" });
  svgText(svg, 12, T + (nr * ch) / 2, "λ", { "text-anchor": "middle" });
  if (d.cur) {
    const [r, c] = d.cur;
    svgEl("rect", { x: L + c * cw - 1, y: T + r * ch - 1, width: cw + 1, height: ch + 1, fill: "none",
                    stroke: "#fff", "stroke-width": 3 }, svg);
    svgEl("rect", { x: L + c * cw - 3, y: T + r * ch - 3, width: cw + 5, height: ch + 5, fill: "none",
                    stroke: "#000", "stroke-width": 1.5 }, svg);
  }
}

function drawGallery(box, g, thumbsOn) {
  htmlEl("p", "bl-title", box, `${g.title} — ${count(g.total)} at this threshold`);
  htmlEl("p", "bl-sub", box, g.help);
  if (!g.items.length) { htmlEl("p", "bl-none", box, "None."); return; }
  const items = htmlEl("div", "bl-items", box);
  for (const it of g.items) {
    const cell = htmlEl("div", "bl-item", items);
    cell.title = `${it.id}\n${it.cls} · score ${fmt(it.score, 3)} · avg dictionary similarity ${fmt(it.sim, 4)}`;
    if (thumbsOn) {
      const src = it.thumb ? THUMBS.get(it.thumb) : null;
      if (src && String(src).startsWith("data:image/")) {
        const img = htmlEl("img", "bl-pic", cell);
        img.alt = "";
        img.src = src;
      } else {
        htmlEl("div", "bl-pic", cell, "no picture");
      }
    }
    htmlEl("div", "bl-name", cell, it.cls);
    htmlEl("div", "bl-name", cell, thumbsOn ? `score ${fmt(it.score, 2)}` : `${it.id} · ${fmt(it.score, 2)}`);
  }
}

function decode(raw) {
  // The server sends the numbers as UTF-8 JSON bytes (cheaper for it than a dict it would dump twice).
  if (raw instanceof ArrayBuffer || ArrayBuffer.isView(raw)) return JSON.parse(new TextDecoder().decode(raw));
  if (typeof raw === "string") return JSON.parse(raw);
  return raw;
}

export default function (component) {
  const { parentElement } = component;
  const message = decode(component.data);
  if (!message || !message.numbers) return;
  const data = Object.assign({}, message.numbers, { new_thumbs: message.new_thumbs, presenter: message.presenter });
  for (const [k, v] of Object.entries(data.new_thumbs || {})) THUMBS.set(k, v);
  let root = parentElement.querySelector(".bl");
  if (!root) { root = htmlEl("div", "bl", parentElement); root.setAttribute("data-testid", "blissLivePanel"); }
  root.classList.toggle("presenter", !!data.presenter);
  LEFT = data.presenter ? 70 : 52;
  root.style.setProperty("--line", String(data.presenter ? 3.4 : 2.2));
  const grid = document.createElement("div");
  grid.className = "bl-grid";
  const cards = [["roc", "ROC curves (anomalies = positive)", drawRoc], ["hist", "BLISS scores at this λ and K", drawHist],
                 ["heat", "BLISS AUROC over λ and K (the black box: the sliders' nearest cell; row λ = 0: no correction)", drawHeat]];
  const line = data.presenter ? 3.4 : 2.2;
  for (const [name, title, draw] of cards) {
    const card = htmlEl("div", "bl-card", grid);
    card.setAttribute("data-part", name);
    htmlEl("p", "bl-title", card, title);
    draw(card, Object.assign({ line: line }, data[name]));
  }
  const gal = htmlEl("div", "bl-card bl-gal", grid);
  gal.setAttribute("data-part", "galleries");
  for (const g of data.galleries) drawGallery(htmlEl("div", "", gal), g, !!data.thumbs_on);
  root.replaceChildren(grid);  // one swap: no flicker, nothing left from the previous move
}
"""

_component = st.components.v2.component("bliss_live_panel", js=_JS, css=_CSS)


def live_panel(data: bytes, key: str = "live_panel") -> None:
    """Draw the live panel from :func:`bliss_core.app.scoring_view.live_panel_data`'s JSON bytes
    (bytes travel as they are; a dict would be encoded twice on every move)."""
    _component(key=key, data=data)
