// Charts (uPlot) and the entity graph (cytoscape), both bundled: nothing is fetched.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import cytoscape from 'cytoscape';
import { h } from './dom.js';

const PALETTE = ['#e4572e', '#4a90d9', '#76b041', '#f2a541', '#9b5de5', '#17bebb', '#d81159', '#8f7f6f'];

function secs(t) {
  return Math.floor(new Date(t).getTime() / 1000);
}

// Breaches and weak signals of an incident over time: one series per entity, y = score.
// Weak signals are drawn hollow and grey so the eye goes to the breaches.
export function timelineChart(breaches, width = 900) {
  const el = h('div', { class: 'chart', 'data-chart': 'timeline' });
  if (!breaches.length) return el;
  const entities = [...new Set(breaches.map((b) => b.entity?.id || '?'))];
  const times = [...new Set(breaches.map((b) => secs(b.time)))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const data = [times];
  const series = [{}];
  entities.forEach((id, n) => {
    for (const weak of [false, true]) {
      const ys = new Array(times.length).fill(null);
      let any = false;
      for (const b of breaches) {
        if ((b.entity?.id || '?') !== id || !!b.weak !== weak) continue;
        ys[index.get(secs(b.time))] = Math.max(ys[index.get(secs(b.time))] || 0, b.score);
        any = true;
      }
      if (!any) continue;
      data.push(ys);
      const color = weak ? '#9aa3ad' : PALETTE[n % PALETTE.length];
      series.push({
        label: (breaches.find((b) => b.entity?.id === id)?.entity?.name || id) + (weak ? ' (weak)' : ''),
        stroke: color,
        fill: weak ? 'transparent' : color,
        width: 0,
        paths: () => null,
        points: { show: true, size: weak ? 8 : 11, stroke: color, fill: weak ? '#fff' : color, width: 2 },
      });
    }
  });
  const opts = {
    width,
    height: 260,
    scales: { x: { time: true }, y: { range: [0, 100] } },
    axes: [{}, { label: 'score' }],
    series,
    legend: { show: true },
  };
  requestAnimationFrame(() => new uPlot(opts, data, el));
  return el;
}

// Events per time bucket (bars) as GET /api/v1/devices/ID/activity gives them.
export function countsChart(activity, label, width = 900) {
  const el = h('div', { class: 'chart', 'data-chart': 'activity' });
  const items = activity.items || [];
  if (!items.length) return el;
  const bucket = activity.bucket_s || 3600;
  const start = secs(items[0].time);
  const n = Math.floor((secs(items[items.length - 1].time) - start) / bucket) + 1;
  const xs = Array.from({ length: n }, (_, i) => start + i * bucket);
  const ys = new Array(n).fill(0);
  for (const it of items) ys[Math.floor((secs(it.time) - start) / bucket)] = it.events;
  const opts = {
    width,
    height: 180,
    scales: { x: { time: true } },
    series: [{}, { label, stroke: '#4a90d9', fill: 'rgba(74,144,217,0.45)', paths: uPlot.paths.bars({ size: [0.8, 40] }) }],
  };
  requestAnimationFrame(() => new uPlot(opts, [xs, ys], el));
  return el;
}

// Counts per time bucket (bars) of a list of times (breach times when there is no event log).
export function activityChart(times, label, width = 900) {
  if (!times.length) return countsChart({ items: [] }, label, width);
  const ts = times.map(secs).sort((a, b) => a - b);
  const span = Math.max(ts[ts.length - 1] - ts[0], 3600);
  const bucket = span > 14 * 86400 ? 86400 : span > 2 * 86400 ? 3600 * 6 : span > 6 * 3600 ? 3600 : 600;
  const counts = new Map();
  for (const t of ts) {
    const b = Math.floor(t / bucket) * bucket;
    counts.set(b, (counts.get(b) || 0) + 1);
  }
  const items = [...counts].map(([t, n]) => ({ time: new Date(t * 1000).toISOString(), events: n }));
  return countsChart({ items, bucket_s: bucket }, label, width);
}

// The map: who talks to whom (GET /api/v1/map). Devices, external endpoints and
// identities; node size follows activity (events, log scale), edge width the events between
// the two; entities with breaches are red, and so are the links a breach names.
export function talkGraph(container, map, onOpen) {
  const nodes = (map.nodes || []).map((n) => ({
    data: {
      id: n.id,
      label: n.name && n.name !== n.id ? n.name : n.id,
      type: n.type || (/^[0-9.:a-f]+$/i.test(n.id) ? 'external' : 'identity'),
      size: 18 + Math.min(42, 6 * Math.log10(1 + (n.events || 0))),
      breaching: n.breach_score > 0 ? 1 : 0,
    },
  }));
  const edges = (map.edges || []).map((e) => ({
    data: { id: e.source + '→' + e.target, source: e.source, target: e.target, weight: Math.log10(1 + (e.events || 0)), breach: e.breached ? 1 : 0 },
  }));
  const cy = cytoscape({
    container,
    elements: [...nodes, ...edges],
    layout: { name: 'cose', animate: false, randomize: false, nodeRepulsion: 9000, idealEdgeLength: 90 },
    wheelSensitivity: 0.3,
    style: [
      { selector: 'node', style: { label: 'data(label)', width: 'data(size)', height: 'data(size)', 'font-size': 10, color: '#243040', 'text-valign': 'bottom', 'text-margin-y': 3, 'background-color': '#4a90d9', 'border-width': 1, 'border-color': '#1d3b5c' } },
      { selector: 'node[type = "external"]', style: { 'background-color': '#a9b4c2', shape: 'round-rectangle' } },
      { selector: 'node[type = "identity"]', style: { 'background-color': '#9b5de5', shape: 'diamond' } },
      { selector: 'node[breaching = 1]', style: { 'border-width': 4, 'border-color': '#e4572e', 'background-color': '#f08a6c' } },
      { selector: 'edge', style: { width: 'mapData(weight, 0, 4, 1, 6)', 'line-color': '#c3ccd6', 'curve-style': 'bezier', 'target-arrow-shape': 'triangle', 'target-arrow-color': '#c3ccd6' } },
      { selector: 'edge[breach = 1]', style: { 'line-color': '#e4572e', 'target-arrow-color': '#e4572e' } },
    ],
  });
  cy.on('tap', 'node', (ev) => onOpen(ev.target.id()));
  return cy;
}
