// The explorer page's style sheet and script, embedded in every page (no external file, no network).
// The script reads the JSON of `explorerHTML` (Explorer.swift): arrays whose fields are named below.

/// The explorer page's CSS.
let explorerCSS = #"""
  :root { --ink: #212529; --muted: #6c757d; --line: #dee2e6; --accent: #1c7ed6; --pad: #f03e3e; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 "DejaVu Sans", Helvetica, Arial, sans-serif; color: var(--ink); }
  header { padding: 8px 14px 6px; border-bottom: 1px solid var(--line); position: relative; }
  h1 { font-size: 20px; margin: 0; }
  #zoo-subtitle { margin: 2px 0 6px; color: var(--muted); }
  #zoo-bar { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
  #zoo-search { width: 260px; padding: 4px 6px; font: inherit; }
  button { font: inherit; padding: 3px 9px; cursor: pointer; }
  .zoo-hint { color: var(--muted); font-size: 12px; }
  #zoo-results { position: absolute; z-index: 5; left: 14px; top: 100%; margin: 0; padding: 4px 0; list-style: none;
    background: #fff; border: 1px solid var(--line); box-shadow: 0 2px 8px rgba(0,0,0,.15); max-height: 60vh;
    overflow: auto; min-width: 320px; }
  #zoo-results li { padding: 2px 10px; cursor: pointer; white-space: nowrap; }
  #zoo-results li:hover, #zoo-results li.zoo-active { background: #e7f5ff; }
  #zoo-results .zoo-op { color: var(--muted); margin-left: 8px; font-size: 12px; }
  main { display: flex; height: calc(100vh - 112px); min-height: 400px; }
  #zoo-diagram { flex: 1; overflow: auto; }
  #zoo-panel { width: 380px; flex: none; overflow: auto; border-left: 1px solid var(--line); padding: 8px 14px; }
  #zoo-panel h2 { font-size: 16px; margin: 4px 0; word-break: break-all; }
  #zoo-panel h3 { font-size: 14px; margin: 12px 0 4px; }
  #zoo-panel table { border-collapse: collapse; font-size: 12px; width: 100%; }
  #zoo-panel td { padding: 1px 4px; vertical-align: top; }
  #zoo-panel td:first-child { color: var(--muted); white-space: nowrap; }
  #zoo-rf { display: grid; grid-template-columns: auto 1fr; gap: 1px 8px; font-size: 12px; margin: 4px 0; }
  #zoo-rf dt { color: var(--muted); }
  #zoo-rf dd { margin: 0; }
  .zoo-legend { font-size: 11px; color: var(--muted); }
  .zoo-legend span { display: inline-block; width: 10px; height: 10px; margin: 0 3px 0 8px; vertical-align: -1px;
    border: 1px solid #868e96; }
  #zoo-legend { margin-top: 4px; }
  svg text { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; }
  .zoo-node, .zoo-box, .zoo-flabel, .zoo-rtag { cursor: pointer; }
  .zoo-node:hover > :first-child, .zoo-box:hover > rect:last-of-type { stroke-width: 2.2; }
  .zoo-node.zoo-sel > :first-child { stroke: var(--pad); stroke-width: 3; }
  .zoo-node.zoo-hit > :first-child, .zoo-box.zoo-hit > rect:last-of-type { stroke: #f59f00; stroke-width: 4; }
  .zoo-flabel:hover, .zoo-rtag:hover { text-decoration: underline; }
  #zoo-tip { position: fixed; z-index: 10; max-width: 440px; background: #fff; border: 1px solid #adb5bd;
    box-shadow: 0 2px 10px rgba(0,0,0,.2); padding: 6px 9px; font-size: 12px; pointer-events: none; }
  #zoo-tip b { font-size: 13px; }
  #zoo-tip table { border-collapse: collapse; }
  #zoo-tip td { padding: 0 6px 0 0; vertical-align: top; }
  #zoo-tip td:first-child { color: var(--muted); }
  #zoo-tip hr { border: 0; border-top: 1px solid var(--line); margin: 4px 0; }
  #zoo-status { display: none; }
  """#

/// The explorer page's script.
let explorerJS = #"""
  (function () {
  'use strict';
  const NS = 'http://www.w3.org/2000/svg';
  const D = JSON.parse(document.getElementById('zoo-data').textContent);
  // Layers (graph nodes): path, op, op class, input layers, output shape, params, MACs, FLOPs, receptive field
  // [size H, stride H, padding H, size W, stride W, padding W, flags: 1 global, 2 upper bound].
  const L = D.layers.map((a, i) => ({ i, name: a[0], op: a[1], cls: a[2], inputs: a[3], shape: a[4], params: a[5],
    macs: a[6], flops: a[7], rf: D.rfs[a[8]] }));
  // Drawn nodes: [centre x, centre y, width, height], layers, text lines, innermost fold, kind (0 layer, 1 merge, 2 output).
  const N = D.drawn.map((a, i) => ({ i, x: a[0][0], y: a[0][1], w: a[0][2], h: a[0][3], layers: a[1], lines: a[2],
    fold: a[3], kind: a[4] }));
  // Modules drawn as clusters: path, kind, [left, top, right, bottom], label lines, last layer, counts, their fold.
  const M = D.modules.map((a, i) => ({ i, path: a[0], kind: a[1], bb: a[2], lines: a[3], last: a[4], params: a[5],
    macs: a[6], flops: a[7], fold: a[8] }));
  // Folds: run of identical modules?, enclosing fold, open at first, box over the members, box lines, member paths,
  // kind, last layer, counts, cluster (a module fold).
  const F = D.folds.map((a, i) => ({ i, run: a[0] === 1, parent: a[1], open0: a[2] === 1, bb: a[3], lines: a[4],
    members: a[5], kind: a[6], last: a[7], params: a[8], macs: a[9], flops: a[10], cluster: a[11] }));
  // Edges: from and to drawn node, the layer whose shape they carry, style (1 skip, 2 size only, 4 switches),
  // Graphviz's spline points and label centre.
  const E = D.edges.map(a => ({ from: a[0], to: a[1], layer: a[2], style: a[3], pts: a[4], lp: a[5] }));
  const warnings = {};
  D.warnings.forEach(w => { warnings[w[0]] = w[1]; });
  const layerNode = [];
  N.forEach(n => { if (n.kind !== 2) n.layers.forEach(l => { layerNode[l] = n.i; }); });
  const open = F.map(f => f.open0);
  let selected = -1, unit = null, hit = null;

  const svg = document.getElementById('zoo-svg');
  const tip = document.getElementById('zoo-tip');
  const panel = document.getElementById('zoo-panel');
  const status = document.getElementById('zoo-status');
  const measure = document.createElement('canvas').getContext('2d');

  // Formatting, as the command line prints.
  const grouped = n => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  function compact(n) {
    for (const [s, u] of [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']]) {
      if (n >= s) return (Math.round(n / s * 100) / 100).toFixed(2) + ' ' + u;
    }
    return String(n);
  }
  const shape = s => s.join('×');
  const esc = s => String(s).replace(/[&<>"]/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
  function pair(h, w) { return h === w ? String(h) : h + '×' + w; }
  function rfText(rf) {
    if (rf[6] & 1) return 'global' + (rf[6] & 2 ? ' (upper bound)' : '');
    return (rf[6] & 2 ? '≤ ' : '') + pair(rf[0], rf[3]) + ' px, stride ' + pair(rf[1], rf[4]) + ', padding ' +
      pair(rf[2], rf[5]);
  }

  // Folds: a fold's contents show when it and every fold around it are open.
  function chainOpen(f) { for (; f >= 0; f = F[f].parent) if (!open[f]) return false; return true; }
  function closedRep(f) { let r = -1; for (; f >= 0; f = F[f].parent) if (!open[f]) r = f; return r; }

  const LINE = 14, PAD = 9;
  function textWidth(lines, bold) {
    let w = 0;
    lines.forEach((t, k) => {
      measure.font = (k === 0 && bold ? 'bold 12px' : '11px') + ' "DejaVu Sans", Helvetica, Arial, sans-serif';
      w = Math.max(w, measure.measureText(t).width);
    });
    return w;
  }
  function boxSize(f) {
    const bw = f.bb[2] - f.bb[0], bh = f.bb[3] - f.bb[1];
    return { w: Math.max(textWidth(['▸ ' + f.lines[0]].concat(f.lines.slice(1)), true) + 24, Math.min(bw, 170)),
      h: Math.min(f.lines.length * LINE + 12, bh) };
  }

  // Bands of the full layout that only hidden things occupy are removed; y maps through what is left.
  let removed = [];
  function merge(list) {
    list.sort((a, b) => a[0] - b[0]);
    const out = [];
    for (const iv of list) {
      if (out.length && iv[0] <= out[out.length - 1][1]) out[out.length - 1][1] = Math.max(out[out.length - 1][1], iv[1]);
      else out.push([iv[0], iv[1]]);
    }
    return out;
  }
  function subtract(a, b) {
    const out = [];
    for (const [s0, e0] of a) {
      let s = s0;
      for (const [bs, be] of b) {
        if (be <= s || bs >= e0) continue;
        if (bs > s) out.push([s, bs]);
        s = Math.max(s, be);
      }
      if (s < e0) out.push([s, e0]);
    }
    return out;
  }
  function compactBands() {
    const vis = [], hid = [];
    N.forEach(n => (chainOpen(n.fold) ? vis : hid).push([n.y - n.h / 2, n.y + n.h / 2]));
    F.forEach(f => {
      if (open[f.i] || !chainOpen(f.parent)) return;
      const h = boxSize(f).h;
      vis.push([f.bb[1], f.bb[1] + h]);
      hid.push([f.bb[1] + h, f.bb[3]]);
    });
    M.forEach(m => {
      if (!chainOpen(m.fold)) return;
      vis.push([m.bb[1], m.bb[1] + m.lines.length * LINE + 6]);
      vis.push([m.bb[3] - 4, m.bb[3]]);
    });
    removed = subtract(merge(hid), merge(vis.map(v => [v[0] - PAD, v[1] + PAD])));
  }
  function Y(y) {
    let s = 0;
    for (const [a, b] of removed) { if (y <= a) break; s += Math.min(y, b) - a; }
    return y - s;
  }

  function el(tag, attrs, parent) {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function lines(g, list, x, top, anchor, boldFirst, prefix) {
    list.forEach((t, k) => {
      const e = el('text', { x, y: top + 11 + k * LINE, 'font-size': k === 0 ? 12 : 11, 'text-anchor': anchor }, g);
      if (k === 0 && boldFirst) e.setAttribute('font-weight', 'bold');
      e.textContent = (k === 0 && prefix ? prefix : '') + t;
    });
  }
  const classColor = c => D.classes[c][1];

  // The drawn representative of a drawn node: itself, or the outermost closed fold that holds it.
  function rep(d) {
    const r = closedRep(N[d].fold);
    return r < 0 ? { fold: -1, d } : { fold: r, d: -1 };
  }

  let boxes = {};
  function render() {
    compactBands();
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const defs = el('defs', {}, svg);
    const marker = el('marker', { id: 'zoo-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7,
      orient: 'auto-start-reverse' }, defs);
    el('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#495057' }, marker);
    const root = el('g', { transform: 'translate(12,12)' }, svg);
    const gClusters = el('g', { class: 'zoo-clusters' }, root);
    const gEdges = el('g', { class: 'zoo-edges' }, root);
    const gNodes = el('g', { class: 'zoo-nodes' }, root);
    let shown = { nodes: 0, boxes: 0, clusters: 0, edges: 0 };
    M.forEach(m => {
      if (!chainOpen(m.fold)) return;
      shown.clusters++;
      const depth = m.path.split('.').length;
      const g = el('g', { class: 'zoo-cluster', 'data-path': m.path }, gClusters);
      el('rect', { x: m.bb[0], y: Y(m.bb[1]), width: m.bb[2] - m.bb[0], height: Y(m.bb[3]) - Y(m.bb[1]), rx: 6,
        fill: depth % 2 ? '#f8f9fa' : '#ffffff', stroke: '#868e96' }, g);
      const label = el('g', { class: 'zoo-flabel' }, g);
      lines(label, m.lines, m.bb[0] + 8, Y(m.bb[1]) + 3, 'start', true, '▾ ');
      label.addEventListener('click', ev => { ev.stopPropagation(); open[m.fold] = false; render(); });
      hover(label, () => moduleTip(m.path, m.kind, 1, m, 'click to fold'));
    });
    F.forEach(f => {
      if (!f.run || !open[f.i] || !chainOpen(f.parent)) return;
      const g = el('g', { class: 'zoo-run', 'data-paths': f.members.join(' ') }, gClusters);
      el('rect', { x: f.bb[0] - 5, y: Y(f.bb[1]) - 5, width: f.bb[2] - f.bb[0] + 10, height: Y(f.bb[3]) - Y(f.bb[1]) + 10,
        rx: 8, fill: 'none', stroke: '#1c7ed6', 'stroke-dasharray': '6 4' }, g);
      const t = el('text', { x: f.bb[2] + 10, y: Y(f.bb[1]) + 8, 'font-size': 11, fill: '#1c7ed6', class: 'zoo-rtag' }, g);
      t.textContent = '▾ ' + f.lines[0] + ' · ' + f.kind + ' × ' + f.members.length;
      t.addEventListener('click', ev => { ev.stopPropagation(); open[f.i] = false; render(); });
    });
    // Boxes of closed folds.
    boxes = {};
    F.forEach(f => {
      if (open[f.i] || !chainOpen(f.parent)) return;
      shown.boxes++;
      const s = boxSize(f), cx = (f.bb[0] + f.bb[2]) / 2, top = Y(f.bb[1]);
      boxes[f.i] = { x0: cx - s.w / 2, x1: cx + s.w / 2, y0: top, y1: top + s.h };
      const g = el('g', { class: 'zoo-box', 'data-paths': f.members.join(' '), 'data-fold': f.i }, gNodes);
      if (f.run) for (const o of [6, 3]) {
        el('rect', { x: cx - s.w / 2 + o, y: top - o, width: s.w, height: s.h, fill: '#e9ecef', stroke: '#868e96' }, g);
      }
      el('rect', { x: cx - s.w / 2, y: top, width: s.w, height: s.h, rx: f.run ? 0 : 5, fill: '#f1f3f5',
        stroke: '#495057' }, g);
      lines(g, f.lines, cx, top + 5, 'middle', true, '▸ ');
      g.addEventListener('click', ev => { ev.stopPropagation(); open[f.i] = true; hideTip(); render(); });
      hover(g, () => moduleTip(f.lines[0], f.lines[1], 1, f, 'click to open'));
    });
    // Edges between what is shown, once per pair.
    const seen = new Set();
    E.forEach(e => {
      const a = e.from < N.length ? rep(e.from) : { fold: -1, d: e.from };
      const b = e.to < N.length ? rep(e.to) : { fold: -1, d: e.to };
      const ka = a.fold >= 0 ? 'f' + a.fold : 'n' + a.d, kb = b.fold >= 0 ? 'f' + b.fold : 'n' + b.d;
      if (ka === kb || seen.has(ka + '>' + kb)) return;
      seen.add(ka + '>' + kb);
      shown.edges++;
      let d, lx, ly;
      if (a.fold < 0 && b.fold < 0 && e.pts.length >= 4) {
        const p = [];
        for (let k = 0; k < e.pts.length; k += 2) p.push([e.pts[k], Y(e.pts[k + 1])]);
        const tipPoint = (p.length - 1) % 3 === 1 ? p.pop() : null;
        d = 'M' + p[0].join(',');
        for (let k = 1; k + 2 < p.length; k += 3) {
          d += ' C' + p[k].join(',') + ' ' + p[k + 1].join(',') + ' ' + p[k + 2].join(',');
        }
        if (tipPoint) d += ' L' + tipPoint.join(',');
        if (e.lp.length === 2) { lx = e.lp[0]; ly = Y(e.lp[1]); }
      } else {
        const s = a.fold >= 0 ? boxes[a.fold] : nodeBox(a.d), t = b.fold >= 0 ? boxes[b.fold] : nodeBox(b.d);
        const sx = (s.x0 + s.x1) / 2, sy = s.y1, tx = (t.x0 + t.x1) / 2, ty = t.y0;
        const dy = Math.max(18, (ty - sy) / 2);
        d = `M${sx},${sy} C${sx},${sy + dy} ${tx},${ty - dy} ${tx},${ty}`;
      }
      const style = e.style === 1 ? { stroke: '#1c7ed6', 'stroke-dasharray': '5 3', 'stroke-width': 1.4 }
        : e.style === 2 ? { stroke: '#999999', 'stroke-dasharray': '1 3' }
        : e.style === 4 ? { stroke: '#495057', 'stroke-dasharray': '5 3' } : { stroke: '#495057' };
      el('path', Object.assign({ d, fill: 'none', 'marker-end': 'url(#zoo-arrow)', class: 'zoo-edge' }, style), gEdges);
      if (lx !== undefined && e.layer >= 0) {
        const t = el('text', { x: lx, y: ly + 4, 'font-size': 10, fill: e.style === 1 ? '#1c7ed6' : '#495057',
          'text-anchor': 'middle' }, gEdges);
        t.textContent = e.style === 2 ? 'size' : e.style === 4 ? 'switches ' + shape(L[e.layer].shape)
          : shape(L[e.layer].shape);
      }
    });
    // Layers.
    N.forEach(n => {
      if (!chainOpen(n.fold)) return;
      shown.nodes++;
      const b = nodeBox(n.i);
      const names = n.kind === 2 ? '' : n.layers.map(l => L[l].name).join(' ');
      const g = el('g', { class: 'zoo-node' + (n.i === selected ? ' zoo-sel' : ''), 'data-node': n.i,
        'data-layers': names }, gNodes);
      const fill = n.kind === 2 ? '#ffffff' : classColor(L[n.layers[0]].cls);
      if (n.kind === 0) {
        el('rect', { x: b.x0, y: b.y0, width: n.w, height: n.h, rx: 5, fill, stroke: '#495057' }, g);
      } else {
        el('ellipse', { cx: n.x, cy: (b.y0 + b.y1) / 2, rx: n.w / 2, ry: n.h / 2, fill, stroke: '#495057' }, g);
      }
      lines(g, n.lines, n.x, (b.y0 + b.y1) / 2 - n.lines.length * LINE / 2 - 1, 'middle', true);
      if (n.kind !== 2) {
        g.addEventListener('click', ev => { ev.stopPropagation(); select(n.i); });
        hover(g, () => layerTip(n));
      }
    });
    const w = D.size[0] + 24, h = Y(D.size[1]) + 24;
    svg.setAttribute('width', w);
    svg.setAttribute('height', h);
    svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
    if (hit) {
      const e = svg.querySelector(hit);
      if (e) e.classList.add('zoo-hit');
    }
    report(shown);
  }
  function nodeBox(d) {
    const n = N[d], c = Y(n.y);
    return { x0: n.x - n.w / 2, x1: n.x + n.w / 2, y0: c - n.h / 2, y1: c + n.h / 2 };
  }

  // Tooltips.
  function hover(g, html) {
    g.addEventListener('mouseenter', ev => { tip.innerHTML = html(); tip.hidden = false; place(ev); });
    g.addEventListener('mousemove', place);
    g.addEventListener('mouseleave', hideTip);
  }
  function hideTip() { tip.hidden = true; }
  function place(ev) {
    if (ev.clientX === undefined) return;
    const r = tip.getBoundingClientRect();
    tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - r.width - 4) + 'px';
    tip.style.top = Math.min(ev.clientY + 14, window.innerHeight - r.height - 4) + 'px';
  }
  function rows(list) {
    return '<table>' + list.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('') + '</table>';
  }
  function layerFacts(l) {
    const x = L[l];
    const facts = [['op', x.op + ' (' + D.classes[x.cls][0] + ')'],
      ['input', x.inputs.map(i => shape(L[i].shape)).join(' + ') || shape(D.input)], ['output', shape(x.shape)],
      ['params', grouped(x.params)], ['MACs', grouped(x.macs)], ['FLOPs', grouped(x.flops)],
      ['receptive field', rfText(x.rf)]];
    if (warnings[l]) facts.push(['note', warnings[l]]);
    return facts;
  }
  function layerTip(n) {
    return n.layers.map(l => `<b>${esc(L[l].name || 'input')}</b>` + rows(layerFacts(l))).join('<hr>');
  }
  function moduleTip(title, kind, count, m, hint) {
    return `<b>${esc(title)}</b>` + rows([['module', kind + (count > 1 ? ' × ' + count + ', identical' : '')],
      ['output', shape(L[m.last].shape)], ['params', grouped(m.params)], ['MACs', grouped(m.macs)],
      ['FLOPs', grouped(m.flops)], ['receptive field', rfText(L[m.last].rf)]]) + `<i>${esc(hint)}</i>`;
  }

  // Selection: the layer's figures and its receptive field on the input grid.
  function select(d) {
    selected = d;
    unit = null;
    svg.querySelectorAll('.zoo-sel').forEach(e => e.classList.remove('zoo-sel'));
    const g = svg.querySelector(`.zoo-node[data-node="${d}"]`);
    if (g) g.classList.add('zoo-sel');
    showPanel();
  }
  function showPanel() {
    if (selected < 0) return;
    const n = N[selected];
    const last = n.layers[n.layers.length - 1];
    let html = `<h2>${esc(n.layers.map(l => L[l].name || 'input').join(', '))}</h2>`;
    n.layers.forEach(l => {
      if (n.layers.length > 1) html += `<h3>${esc(L[l].name)}</h3>`;
      html += rows(layerFacts(l));
    });
    html += '<h3>Receptive field of ' + esc(L[last].name || 'the input') + '</h3><div id="zoo-rf-box"></div>';
    panel.innerHTML = html;
    drawField(document.getElementById('zoo-rf-box'), L[last]);
  }
  function drawField(box, x) {
    const rf = x.rf, H = D.input[1], W = D.input[2];
    const spatial = x.shape.length === 3;
    if (rf[6] & 1 || !spatial) {
      box.innerHTML = '<dl id="zoo-rf"><dt>field</dt><dd>global: every output value depends on the whole ' +
        shape(D.input) + ' input' + (rf[6] & 2 ? ' (an upper bound)' : '') + '</dd></dl>';
      const s = el('svg', { id: 'zoo-rf-grid', width: 320, height: 320 * H / Math.max(H, W) + 4 }, box);
      el('rect', { x: 1, y: 1, width: 318 * W / Math.max(H, W), height: 318 * H / Math.max(H, W), fill: '#a5d8ff',
        stroke: '#1c7ed6', class: 'zoo-rf-field' }, s);
      return;
    }
    const oh = x.shape[1], ow = x.shape[2];
    if (!unit) unit = [Math.floor((oh - 1) / 2), Math.floor((ow - 1) / 2)];
    const [i, j] = unit;
    const [hs, hj, hp, ws, wj, wp] = rf;
    const r0 = i * hj - hp, r1 = r0 + hs - 1, c0 = j * wj - wp, c1 = c0 + ws - 1;
    const inRows = Math.max(0, Math.min(r1, H - 1) - Math.max(r0, 0) + 1);
    const inCols = Math.max(0, Math.min(c1, W - 1) - Math.max(c0, 0) + 1);
    const area = hs * ws, inside = inRows * inCols, padded = area - inside;
    const cy = i * hj + (hs - 1) / 2 - hp, cx = j * wj + (ws - 1) / 2 - wp;
    const facts = [['unit', `(${i}, ${j}) of the ${oh}×${ow} output map`], ['size', pair(hs, ws) + ' px'],
      ['stride (jump)', pair(hj, wj) + ' px'], ['padding P', pair(hp, wp) + ' px'],
      ['rows', `${r0} … ${r1}`], ['columns', `${c0} … ${c1}`], ['centre', `(${cy}, ${cx})`],
      ['in padding', `${grouped(padded)} of ${grouped(area)} pixels (${(100 * padded / area).toFixed(1)}%)`]];
    if (rf[6] & 2) facts.push(['note', 'an upper bound: ' + (warnings[x.i] || 'the field is an envelope')]);
    box.innerHTML = '<dl id="zoo-rf">' + facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('') +
      '</dl>';
    // The input grid, with as much padding around it as the field reaches.
    const y0 = Math.min(0, r0), y1 = Math.max(H, r1 + 1), x0 = Math.min(0, c0), x1 = Math.max(W, c1 + 1);
    const S = 320, k = S / Math.max(y1 - y0, x1 - x0);
    const s = el('svg', { id: 'zoo-rf-grid', width: (x1 - x0) * k + 2, height: (y1 - y0) * k + 2 }, box);
    const g = el('g', { transform: `translate(${1 - x0 * k},${1 - y0 * k})` }, s);
    const defs = el('defs', {}, s);
    const hatch = el('pattern', { id: 'zoo-hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse',
      patternTransform: 'rotate(45)' }, defs);
    el('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: '#ffc9c9', 'stroke-width': 3 }, hatch);
    let step = 1;
    while (step * k < 4) step *= 2;
    const grid = el('pattern', { id: 'zoo-grid', width: step * k, height: step * k, patternUnits: 'userSpaceOnUse',
      x: 1 - x0 * k, y: 1 - y0 * k }, defs);
    el('path', { d: `M${step * k},0 L0,0 L0,${step * k}`, fill: 'none', stroke: '#ced4da', 'stroke-width': 0.6 }, grid);
    el('rect', { x: x0 * k, y: y0 * k, width: (x1 - x0) * k, height: (y1 - y0) * k, fill: 'url(#zoo-hatch)',
      class: 'zoo-rf-padarea' }, g);
    el('rect', { x: 0, y: 0, width: W * k, height: H * k, fill: '#f1f3f5', stroke: '#495057', class: 'zoo-rf-input' }, g);
    el('rect', { x: 0, y: 0, width: W * k, height: H * k, fill: 'url(#zoo-grid)' }, g);
    el('rect', { x: c0 * k, y: r0 * k, width: ws * k, height: hs * k, fill: 'rgba(28,126,214,0.28)', stroke: '#1c7ed6',
      'stroke-width': 1.5, class: 'zoo-rf-field' }, g);
    // The part of the field outside the input: padding.
    const bands = [[c0, r0, c1 + 1, Math.min(r1 + 1, 0)], [c0, Math.max(r0, H), c1 + 1, r1 + 1],
      [c0, Math.max(r0, 0), Math.min(c1 + 1, 0), Math.min(r1 + 1, H)],
      [Math.max(c0, W), Math.max(r0, 0), c1 + 1, Math.min(r1 + 1, H)]];
    bands.forEach(([a, b, c, d]) => {
      if (c > a && d > b) el('rect', { x: a * k, y: b * k, width: (c - a) * k, height: (d - b) * k,
        fill: 'rgba(240,62,62,0.45)', class: 'zoo-rf-pad' }, g);
    });
    const cr = Math.max(3, k / 2);
    el('circle', { cx: (cx + 0.5) * k, cy: (cy + 0.5) * k, r: cr, fill: '#e03131', stroke: '#fff', class: 'zoo-rf-centre' },
      g);
    const legend = document.createElement('p');
    legend.className = 'zoo-legend';
    legend.innerHTML = `input ${H}×${W}, grid line every ${step} px` +
      '<span style="background:rgba(28,126,214,0.45)"></span>field<span style="background:#e03131"></span>centre' +
      '<span style="background:rgba(240,62,62,0.6)"></span>padding it reaches';
    box.appendChild(legend);
    // The output map: click a unit to choose it.
    const ok = 160 / Math.max(oh, ow);
    const p = document.createElement('p');
    p.className = 'zoo-legend';
    p.textContent = `Output map ${oh}×${ow}: click a unit.`;
    box.appendChild(p);
    const o = el('svg', { id: 'zoo-rf-output', width: ow * ok + 2, height: oh * ok + 2 }, box);
    el('rect', { x: 1, y: 1, width: ow * ok, height: oh * ok, fill: '#f8f9fa', stroke: '#495057' }, o);
    if (ok >= 4) {
      const og = el('pattern', { id: 'zoo-ogrid', width: ok, height: ok, patternUnits: 'userSpaceOnUse', x: 1, y: 1 },
        el('defs', {}, o));
      el('path', { d: `M${ok},0 L0,0 L0,${ok}`, fill: 'none', stroke: '#ced4da', 'stroke-width': 0.6 }, og);
      el('rect', { x: 1, y: 1, width: ow * ok, height: oh * ok, fill: 'url(#zoo-ogrid)' }, o);
    }
    el('rect', { x: 1 + j * ok, y: 1 + i * ok, width: Math.max(ok, 2), height: Math.max(ok, 2), fill: '#1c7ed6',
      class: 'zoo-rf-unit' }, o);
    o.addEventListener('click', ev => {
      const r = o.getBoundingClientRect();
      unit = [Math.min(oh - 1, Math.max(0, Math.floor((ev.clientY - r.top - 1) / ok))),
        Math.min(ow - 1, Math.max(0, Math.floor((ev.clientX - r.left - 1) / ok)))];
      drawField(box, x);
    });
    const buttons = document.createElement('p');
    for (const [label, u] of [['corner', [0, 0]], ['centre', [Math.floor((oh - 1) / 2), Math.floor((ow - 1) / 2)]]]) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = label + ' unit';
      b.addEventListener('click', () => { unit = u; drawField(box, x); });
      buttons.appendChild(b);
    }
    box.appendChild(buttons);
  }

  // Finding and revealing.
  function openAround(f) { for (; f >= 0; f = F[f].parent) open[f] = true; }
  function reveal(selector, f) {
    openAround(f);
    hit = selector;
    render();
    const e = svg.querySelector(selector);
    if (e) centre(e);
    return e;
  }
  // Scrolls the diagram (not the page) so that `e` is in the middle of it.
  function centre(e) {
    const pane = document.getElementById('zoo-diagram'), r = e.getBoundingClientRect(), p = pane.getBoundingClientRect();
    pane.scrollTop += r.top + r.height / 2 - (p.top + p.height / 2);
    pane.scrollLeft += r.left + r.width / 2 - (p.left + p.width / 2);
  }
  function revealLayer(l) {
    const d = layerNode[l];
    const e = reveal(`.zoo-node[data-node="${d}"]`, N[d].fold);
    select(d);
    return e;
  }
  function revealModule(path) {
    const m = M.find(x => x.path === path);
    if (m) return reveal(`.zoo-cluster[data-path="${path}"]`, m.fold);
    const f = F.find(x => x.members.includes(path));
    return f ? reveal(`.zoo-box[data-fold="${f.i}"]`, f.parent) : null;
  }
  const search = document.getElementById('zoo-search');
  const results = document.getElementById('zoo-results');
  const modulePaths = [...new Set(F.flatMap(f => f.members))];
  // Module paths and layer names that hold the text, then layers whose op does (`conv 3×3`); exact names first.
  function find(q) {
    q = q.trim().toLowerCase();
    if (!q) return [];
    const out = [];
    const rank = name => (name.toLowerCase() === q ? 0 : name.toLowerCase().includes(q) ? 1 : 2);
    for (const p of modulePaths) {
      if (p.toLowerCase().includes(q)) out.push({ text: p, note: 'module', rank: rank(p), go: () => revealModule(p) });
    }
    for (const x of L) {
      if (x.name && (x.name.toLowerCase().includes(q) || x.op.toLowerCase().includes(q))) {
        out.push({ text: x.name, note: x.op, rank: rank(x.name), go: () => revealLayer(x.i) });
      }
    }
    out.sort((a, b) => a.rank - b.rank);
    return out.slice(0, 60);
  }
  let found = [];
  search.addEventListener('input', () => {
    found = find(search.value);
    results.innerHTML = '';
    found.forEach((r, k) => {
      const li = document.createElement('li');
      li.innerHTML = `${esc(r.text)}<span class="zoo-op">${esc(r.note)}</span>`;
      if (k === 0) li.className = 'zoo-active';
      li.addEventListener('click', () => { results.hidden = true; r.go(); });
      results.appendChild(li);
    });
    results.hidden = found.length === 0;
  });
  search.addEventListener('keydown', ev => {
    if (ev.key === 'Enter' && found.length) { results.hidden = true; found[0].go(); }
    if (ev.key === 'Escape') results.hidden = true;
  });
  document.getElementById('zoo-open-all').addEventListener('click', () => { open.fill(true); render(); });
  document.getElementById('zoo-close-all').addEventListener('click', () => { open.fill(false); render(); });
  document.getElementById('zoo-reset').addEventListener('click', () => { F.forEach(f => { open[f.i] = f.open0; }); render(); });

  // What the page shows, for tests and for a reader of the DOM.
  let log = [];
  function report(shown) {
    status.textContent = JSON.stringify({ shown, open: open.filter(x => x).length, selected, log });
  }

  // Actions from the address's fragment, in order, done as a user does them (events on the drawn elements):
  // #open=layer3.1&close=layer3.1&select=layer3.0.conv2&unit=0,0&hover=fc&find=conv
  function fragment() {
    const h = decodeURIComponent(location.hash.replace(/^#/, ''));
    if (!h) return;
    const fire = (e, type) => e.dispatchEvent(new MouseEvent(type, { bubbles: true, clientX: 40, clientY: 40 }));
    for (const part of h.split('&')) {
      const at = part.indexOf('='), k = at < 0 ? part : part.slice(0, at), v = at < 0 ? '' : part.slice(at + 1);
      let done = false;
      if (k === 'open') {
        const e = [...svg.querySelectorAll('.zoo-box')].find(b => b.dataset.paths.split(' ').includes(v));
        if (e) { fire(e, 'click'); done = true; }
      } else if (k === 'close') {
        // The open run that holds the module, else the module's own cluster.
        const run = [...svg.querySelectorAll('.zoo-run')].find(b => b.dataset.paths.split(' ').includes(v));
        const e = run ? run.querySelector('.zoo-rtag') : svg.querySelector(`.zoo-cluster[data-path="${v}"] .zoo-flabel`);
        if (e) { fire(e, 'click'); done = true; }
      } else if (k === 'select' || k === 'hover') {
        const l = L.findIndex(x => x.name === v);
        if (l >= 0) {
          let e = svg.querySelector(`.zoo-node[data-node="${layerNode[l]}"]`);
          if (!e) e = revealLayer(l);
          if (e) {
          centre(e);
          fire(e, k === 'select' ? 'click' : 'mouseenter');
          done = true;
        }
        }
      } else if (k === 'unit' && selected >= 0) {
        unit = v.split(',').map(Number);
        showPanel();
        done = true;
      } else if (k === 'find') {
        search.value = v;
        search.dispatchEvent(new Event('input'));
        done = found.length > 0;
      }
      log.push(part + (done ? '' : ' (not found)'));
    }
    report(JSON.parse(status.textContent).shown);
  }
  // The colours of the op classes drawn, and the skip edges when there are any.
  (function legend() {
    const used = new Set(N.filter(n => n.kind !== 2).map(n => L[n.layers[0]].cls));
    const p = document.createElement('div');
    p.className = 'zoo-legend';
    p.id = 'zoo-legend';
    p.innerHTML = D.classes.map((c, k) => used.has(k) ? `<span style="background:${c[1]}"></span>${esc(c[0])}` : '')
      .join('') + (E.some(e => e.style === 1) ? ' <b style="color:#1c7ed6;margin-left:8px">- - →</b> skip connection' : '') +
      '<i style="margin-left:8px">edge labels: the tensor shape of one sample</i>';
    document.querySelector('header').appendChild(p);
  })();
  render();
  fragment();
  window.addEventListener('hashchange', () => { log = []; fragment(); });
  })();
  """#
