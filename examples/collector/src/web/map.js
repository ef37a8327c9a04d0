// Tracelet live map: plain JS drawing SVG, fed by the collector's read API and /v1/stream.
// No tile server and no external resources: positions are projected to scale
// (equirectangular around the centre of everything shown). Geofence events are drawn where
// the device was when they fired; trips and device metadata are listed beside the map.
// Ids and metadata come from apps: they only ever reach the page as text, never as HTML.
"use strict";

const STOP_RADIUS_M = 50;
const STOP_MIN_MS = 3 * 60 * 1000;
const PALETTE = ["#2f6fd6", "#e07b12", "#2a9d5b", "#a23fbf", "#c23b5a", "#1597a8"];
const SVG_NS = "http://www.w3.org/2000/svg";
// Geofence events drawn on the map, by kind: enter green, exit orange, dwell blue.
const GEOFENCE_KINDS = { enter: "#1a9c4a", exit: "#e0661a", dwell: "#2563eb" };

// A device named `<id>:raw` carries every fix the phone produced (the demo uploads them from a
// second tracker with its filter off); it is drawn as the raw layer of `<id>`.
const RAW_SUFFIX = ":raw";
// name -> { name, color, byCursor, sorted, rawByT: Map(t -> point), events: Map(cursor -> event) }
const devices = new Map();
let mode = "kept";
let drawQueued = false;

function device(name) {
  let d = devices.get(name);
  if (!d) {
    d = {
      name, color: PALETTE[devices.size % PALETTE.length],
      byCursor: new Map(), sorted: null, rawByT: new Map(), rawSorted: null,
      events: new Map(), eventsSorted: null, listedMetadata: {},
    };
    devices.set(name, d);
  }
  return d;
}

function addPoints(name, points) {
  if (name.endsWith(RAW_SUFFIX)) {
    const d = device(name.slice(0, -RAW_SUFFIX.length));
    for (const p of points) d.rawByT.set(p.t, p);
    d.rawSorted = null;
  } else {
    const d = device(name);
    for (const p of points) d.byCursor.set(p.cursor, p);
    d.sorted = null;
    d.rawSorted = null; // kept flags of raw points depend on the kept ones
  }
  queueDraw();
}

// Geofence, trip and device events of one device, kept by `cursor` (the live stream and the
// read API may both deliver one; `s` alone repeats across the device's queue streams). The raw layer's twin tracker has no events of its own to show.
function addEvents(name, events) {
  if (name.endsWith(RAW_SUFFIX) || events.length === 0) return;
  const d = device(name);
  for (const e of events) d.events.set(e.cursor, e);
  d.eventsSorted = null;
  queueDraw();
}

function sortedEvents(d) {
  if (!d.eventsSorted) d.eventsSorted = [...d.events.values()].sort((a, b) => a.t - b.t || a.cursor - b.cursor);
  return d.eventsSorted;
}

// Geofence events with the position of the fix that decided them.
function placedGeofenceEvents(d) {
  return sortedEvents(d).filter((e) => e.k in GEOFENCE_KINDS && e.la !== undefined && e.lo !== undefined);
}

// Trips from their start and end events, by trip id, in order of start.
function trips(d) {
  const byId = new Map();
  for (const e of sortedEvents(d)) {
    if (e.k !== "trip_start" && e.k !== "trip_end") continue;
    const trip = byId.get(e.id) ?? { id: e.id, start: null, end: null };
    if (e.k === "trip_start") trip.start = e.t; else trip.end = e.t;
    byId.set(e.id, trip);
  }
  return [...byId.values()].sort((a, b) => (a.start ?? a.end) - (b.start ?? b.end));
}

// The metadata of the most recently stored `device` event; before any is loaded, what
// /v1/devices said.
function metadata(d) {
  let latest = null;
  for (const e of d.events.values()) {
    if (e.k === "device" && (!latest || e.cursor > latest.cursor)) latest = e;
  }
  return latest ? (latest.m ?? {}) : d.listedMetadata;
}

// Every fix the phone produced, each marked kept if the SDK stored and uploaded it. Without
// a raw layer, the kept points are all there is.
function rawPoints(d) {
  if (d.rawByT.size === 0) return sortedPoints(d);
  if (!d.rawSorted) {
    const kept = sortedPoints(d);
    const keptTimes = new Set(kept.map((p) => p.t));
    // The two layers upload separately: a raw fix newer than the newest kept one may simply
    // not have arrived yet, so only older ones can be known to be discarded.
    const keptUpTo = kept.length ? kept[kept.length - 1].t : -Infinity;
    d.rawSorted = [...d.rawByT.values()]
      .map((p) => ({ ...p, kept: keptTimes.has(p.t) || p.t > keptUpTo }))
      .sort((a, b) => a.t - b.t || a.cursor - b.cursor);
  }
  return d.rawSorted;
}

function sortedPoints(d) {
  if (!d.sorted) d.sorted = [...d.byCursor.values()].sort((a, b) => a.t - b.t || a.cursor - b.cursor);
  return d.sorted;
}

function shownPoints(d) {
  return mode === "kept" ? sortedPoints(d).filter((p) => p.kept) : rawPoints(d);
}

function distanceM(a, b) {
  const rad = Math.PI / 180;
  const x = (b.lo - a.lo) * rad * Math.cos(((a.la + b.la) / 2) * rad);
  const y = (b.la - a.la) * rad;
  return Math.hypot(x, y) * 6371000;
}

// A stop: consecutive fixes that stay within STOP_RADIUS_M of the first one for at least
// STOP_MIN_MS. Sparse traces count too: one fix before a gap and one after at the same place.
function detectStops(points) {
  const stops = [];
  let i = 0;
  while (i < points.length) {
    let j = i + 1;
    while (j < points.length && distanceM(points[i], points[j]) <= STOP_RADIUS_M) j++;
    const last = points[j - 1];
    if (last.t - points[i].t >= STOP_MIN_MS) {
      const run = points.slice(i, j);
      stops.push({
        la: run.reduce((s, p) => s + p.la, 0) / run.length,
        lo: run.reduce((s, p) => s + p.lo, 0) / run.length,
        from: points[i].t,
        to: last.t,
      });
      i = j;
    } else {
      i++;
    }
  }
  return stops;
}

function latestPoint(d) {
  const all = sortedPoints(d);
  return all.length ? all[all.length - 1] : null;
}

function queueDraw() {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => {
    drawQueued = false;
    draw();
  });
}

function el(tag, attrs, parent) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (parent) parent.appendChild(node);
  return node;
}

function projection(width, height) {
  let minLa = Infinity, maxLa = -Infinity, minLo = Infinity, maxLo = -Infinity;
  for (const d of devices.values()) {
    for (const p of [...sortedPoints(d), ...placedGeofenceEvents(d)]) {
      minLa = Math.min(minLa, p.la); maxLa = Math.max(maxLa, p.la);
      minLo = Math.min(minLo, p.lo); maxLo = Math.max(maxLo, p.lo);
    }
  }
  if (minLa === Infinity) return null;
  const rad = Math.PI / 180;
  const k = Math.cos(((minLa + maxLa) / 2) * rad);
  const spanX = Math.max((maxLo - minLo) * k, 1e-5);
  const spanY = Math.max(maxLa - minLa, 1e-5);
  const pad = 40;
  const scale = Math.min((width - 2 * pad) / spanX, (height - 2 * pad) / spanY);
  const offX = (width - spanX * scale) / 2;
  const offY = (height - spanY * scale) / 2;
  const metresPerPx = (rad * 6371000) / scale;
  return {
    x: (lo) => offX + (lo - minLo) * k * scale,
    y: (la) => height - offY - (la - minLa) * scale,
    metresPerPx,
  };
}

function drawScale(svg, proj, height) {
  const target = proj.metresPerPx * 120;
  const steps = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000];
  const metres = steps.filter((s) => s <= target).pop() || steps[0];
  const px = metres / proj.metresPerPx;
  const g = el("g", { class: "scale" }, svg);
  el("line", { x1: 16, y1: height - 16, x2: 16 + px, y2: height - 16 }, g);
  const label = el("text", { x: 16, y: height - 22 }, g);
  label.textContent = metres >= 1000 ? `${metres / 1000} km` : `${metres} m`;
}

function fmtTime(ms) {
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function fmtDuration(ms) {
  const min = Math.round(ms / 60000);
  return min >= 60 ? `${Math.floor(min / 60)} h ${min % 60} min` : `${min} min`;
}

function draw() {
  const svg = document.getElementById("map");
  const width = svg.clientWidth || 800;
  const height = svg.clientHeight || 600;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.replaceChildren();
  const proj = projection(width, height);
  let total = 0;
  let totalEvents = 0;
  const panel = document.getElementById("devices");
  panel.replaceChildren();
  for (const d of [...devices.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    const shown = shownPoints(d);
    const stops = detectStops(shown);
    const latest = latestPoint(d);
    const placed = placedGeofenceEvents(d);
    total += shown.length;
    if (proj) {
      const g = el("g", { class: "device-layer", "data-device": d.name }, svg);
      el("polyline", {
        class: "track",
        stroke: d.color,
        "data-device": d.name,
        "data-points": shown.length,
        points: shown.map((p) => `${proj.x(p.lo).toFixed(1)},${proj.y(p.la).toFixed(1)}`).join(" "),
      }, g);
      if (mode === "raw") {
        for (const p of shown) {
          el("circle", {
            class: p.kept ? "fix" : "fix discarded",
            fill: d.color, r: 2, cx: proj.x(p.lo).toFixed(1), cy: proj.y(p.la).toFixed(1),
            "data-seq": p.seq,
          }, g);
        }
      }
      for (const s of stops) {
        const c = el("circle", {
          class: "stop", r: 6, cx: proj.x(s.lo), cy: proj.y(s.la),
          "data-device": d.name, "data-from-ms": s.from, "data-to-ms": s.to,
        }, g);
        el("title", {}, c).textContent = `${d.name}: stop of ${fmtDuration(s.to - s.from)} from ${fmtTime(s.from)}`;
        const label = el("text", { class: "stop-label", x: proj.x(s.lo) + 9, y: proj.y(s.la) + 4 }, g);
        label.textContent = fmtDuration(s.to - s.from);
      }
      for (const e of placed) {
        const x = proj.x(e.lo), y = proj.y(e.la), r = 6;
        const marker = el("path", {
          class: `geofence-event ${e.k}`, fill: GEOFENCE_KINDS[e.k],
          d: `M${x.toFixed(1)},${(y - r).toFixed(1)} l${r},${r} l${-r},${r} l${-r},${-r} z`,
          "data-device": d.name, "data-kind": e.k, "data-id": e.id, "data-s": e.s, "data-t": e.t,
        }, g);
        el("title", {}, marker).textContent = `${d.name}: ${e.k} geofence ${e.id}, ${fmtTime(e.t)}`;
        totalEvents++;
      }
      if (latest) {
        const cx = proj.x(latest.lo), cy = proj.y(latest.la);
        el("circle", { class: "latest-halo", stroke: d.color, r: 13, cx, cy }, g);
        const m = el("circle", {
          class: "latest", id: `latest-${d.name}`, fill: d.color, r: 7, cx, cy,
          "data-device": d.name, "data-seq": latest.seq, "data-t": latest.t,
          "data-lat": latest.la, "data-lon": latest.lo,
        }, g);
        el("title", {}, m).textContent = `${d.name}: latest fix, ${fmtTime(latest.t)}`;
      }
    }
    const row = document.createElement("div");
    row.className = "device";
    row.dataset.device = d.name;
    const all = rawPoints(d);
    const discarded = all.filter((p) => !p.kept).length;
    row.innerHTML = `<div class="name"><span class="swatch"></span></div><div class="facts"></div>`;
    row.querySelector(".swatch").style.background = d.color;
    row.querySelector(".name").append(d.name);
    row.querySelector(".facts").textContent =
      `${all.length} fixes (${all.length - discarded} kept, ${discarded} discarded), ${stops.length} stops` +
      (latest ? `; latest ${fmtTime(latest.t)}` : "");
    appendEventFacts(row, d, placed.length);
    panel.appendChild(row);
  }
  if (proj) drawScale(svg, proj, height);
  svg.setAttribute("data-total-points", total);
  svg.setAttribute("data-total-events", totalEvents);
  document.getElementById("empty").style.display = total || totalEvents ? "none" : "";
}

function fact(row, className, text) {
  const div = document.createElement("div");
  div.className = `facts ${className}`;
  div.textContent = text;
  row.appendChild(div);
  return div;
}

// Under a device's name: its metadata, its geofence events and its trips, all as text.
function appendEventFacts(row, d, placedCount) {
  const meta = Object.entries(metadata(d));
  if (meta.length) {
    fact(row, "metadata", `metadata: ${meta.map(([k, v]) => `${k}=${v}`).join(", ")}`);
  }
  const geofence = sortedEvents(d).filter((e) => e.k in GEOFENCE_KINDS);
  if (geofence.length) {
    const counts = Object.keys(GEOFENCE_KINDS)
      .map((k) => `${geofence.filter((e) => e.k === k).length} ${k}`)
      .join(", ");
    const unplaced = geofence.length - placedCount;
    fact(row, "geofence-events",
      `geofence events: ${counts}` + (unplaced ? ` (${unplaced} without position)` : ""));
  }
  const list = trips(d);
  if (list.length) {
    const ul = document.createElement("ul");
    ul.className = "trips";
    for (const trip of list) {
      const li = document.createElement("li");
      li.dataset.trip = trip.id;
      const from = trip.start === null ? "?" : fmtTime(trip.start);
      const to = trip.end === null ? "running" : fmtTime(trip.end);
      li.textContent = `trip ${trip.id}: ${from} to ${to}`;
      ul.appendChild(li);
    }
    fact(row, "trips-title", "trips:");
    row.appendChild(ul);
  }
}

async function getJson(url) {
  // The session cookie set when the page was opened with ?access_token= goes along.
  const response = await fetch(url, { credentials: "same-origin" });
  if (response.status === 401) {
    throw new Error("the read session ended: open the map again with ?access_token=<read token>");
  }
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

// Every device, following the list's pages.
async function allDevices() {
  const list = [];
  let after = null;
  for (;;) {
    const q = after === null ? "" : `?after=${encodeURIComponent(after)}`;
    const page = await getJson(`/v1/devices${q}`);
    list.push(...page.devices);
    if (!page.next) return list;
    after = page.next;
  }
}

// Loads every stored fix and event of every device, page by page; the stream fills in what
// follows.
async function loadAll() {
  const list = await allDevices();
  for (const { device: name, metadata: listed } of list) {
    if (!name.endsWith(RAW_SUFFIX)) device(name).listedMetadata = listed ?? {};
    await loadEvents(name);
    let from = null;
    for (;;) {
      const q = from === null ? "" : `?from_ms=${from}`;
      const page = await getJson(`/v1/devices/${encodeURIComponent(name)}/track${q}`);
      addPoints(name, page.points);
      if (!page.truncated || page.points.length === 0) break;
      const next = page.points[page.points.length - 1].t;
      if (next === from) break;
      from = next;
    }
  }
}

async function loadEvents(name) {
  if (name.endsWith(RAW_SUFFIX)) return;
  let since = null;
  for (;;) {
    const q = since === null ? "" : `?since=${since}`;
    const page = await getJson(`/v1/devices/${encodeURIComponent(name)}/events${q}`);
    addEvents(name, page.events);
    if (!page.truncated || page.events.length === 0) break;
    const next = page.events[page.events.length - 1].t;
    if (next === since) break;
    since = next;
  }
}

function connect() {
  const status = document.getElementById("connection");
  const stream = new EventSource("/v1/stream");
  stream.addEventListener("ready", () => {
    status.textContent = "live";
    status.className = "live";
    loadAll().catch((e) => { status.textContent = `load failed: ${e.message}`; });
  });
  stream.addEventListener("fixes", (e) => {
    const batch = JSON.parse(e.data);
    addPoints(batch.device, batch.points);
  });
  stream.addEventListener("events", (e) => {
    const batch = JSON.parse(e.data);
    addEvents(batch.device, batch.events);
  });
  stream.addEventListener("resync", () => {
    loadAll().catch((e) => { status.textContent = `load failed: ${e.message}`; });
  });
  stream.onerror = () => {
    status.textContent = "reconnecting…";
    status.className = "";
  };
}

for (const input of document.querySelectorAll('input[name="mode"]')) {
  input.addEventListener("change", () => {
    mode = input.value;
    document.getElementById("map").dataset.mode = mode;
    queueDraw();
  });
}
document.getElementById("map").dataset.mode = mode;
window.addEventListener("resize", queueDraw);
connect();
