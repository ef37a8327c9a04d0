// Tracelet live map, tracks view: every fix and event of the devices whose tracks are loaded,
// drawn as Leaflet layers (SVG): the track, stops, geofence events where the device was, the
// latest position, and in the raw view every fix. Each device is redrawn only when something
// of it changed. Ids and metadata come from apps: they reach the page as text only.

const STOP_RADIUS_M = 50;
const STOP_MIN_MS = 3 * 60 * 1000;
const PALETTE = ["#2f6fd6", "#e07b12", "#2a9d5b", "#a23fbf", "#c23b5a", "#1597a8"];
// Geofence events drawn on the map, by kind: enter green, exit orange, dwell blue.
export const GEOFENCE_KINDS = { enter: "#1a9c4a", exit: "#e0661a", dwell: "#2563eb" };
const DISCARDED_COLOR = "#d23c3c";
const SVG_NS = "http://www.w3.org/2000/svg";

// A device named `<id>:raw` carries every fix the phone produced (the demo uploads them from a
// second tracker with its filter off); it is drawn as the raw layer of `<id>`.
export const RAW_SUFFIX = ":raw";

export function fmtTime(ms) {
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function fmtDuration(ms) {
  const min = Math.round(ms / 60000);
  return min >= 60 ? `${Math.floor(min / 60)} h ${min % 60} min` : `${min} min`;
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

// Attributes (and a `<title>` child) put on a layer's element, again each time Leaflet
// creates the element anew (when the layer is added back to the map).
const tags = new WeakMap();

export function tag(layer, attrs) {
  const first = !tags.has(layer);
  tags.set(layer, attrs);
  if (first) layer.on("add", () => applyTag(layer));
  applyTag(layer);
}

function applyTag(layer) {
  const element = layer.getElement?.();
  const attrs = tags.get(layer);
  if (!element || !attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "title") {
      let title = element.querySelector(":scope > title");
      if (!title) title = element.appendChild(document.createElementNS(SVG_NS, "title"));
      title.textContent = v;
    } else {
      element.setAttribute(k, String(v));
    }
  }
}

// A diamond where a geofence event fired, as a small SVG in a marker.
function geofenceMarker(name, e) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("width", "12");
  svg.setAttribute("height", "12");
  const path = svg.appendChild(document.createElementNS(SVG_NS, "path"));
  const attrs = {
    class: `geofence-event ${e.k}`, fill: GEOFENCE_KINDS[e.k], d: "M6,0 l6,6 l-6,6 l-6,-6 z",
    "data-device": name, "data-kind": e.k, "data-id": e.id, "data-s": e.s, "data-t": e.t,
  };
  for (const [k, v] of Object.entries(attrs)) path.setAttribute(k, String(v));
  path.appendChild(document.createElementNS(SVG_NS, "title")).textContent =
    `${name}: ${e.k} geofence ${e.id}, ${fmtTime(e.t)}`;
  const icon = L.divIcon({ className: "geofence-icon", html: svg, iconSize: [12, 12], iconAnchor: [6, 6] });
  return L.marker([e.la, e.lo], { icon, keyboard: false, zIndexOffset: 500 });
}

/**
 * The tracks of loaded devices on `map`, with their rows in `panel`.
 * `onBounds(bounds)` hears of every point and event position drawn, to fit the view.
 */
export class Tracks {
  constructor(map, panel, onBounds) {
    this.map = map;
    this.panel = panel;
    this.onBounds = onBounds;
    this.layer = L.featureGroup();
    this.devices = new Map();
    this.dirty = new Set();
    this.mode = "kept";
  }

  device(name) {
    let d = this.devices.get(name);
    if (!d) {
      const color = PALETTE[this.devices.size % PALETTE.length];
      d = {
        name, color,
        byCursor: new Map(), sorted: null, rawByT: new Map(), rawSorted: null,
        events: new Map(), eventsSorted: null, listedMetadata: {},
        group: L.layerGroup().addTo(this.layer),
        track: L.polyline([], { className: "track", color, weight: 2.5, opacity: 0.9, interactive: false }),
        dots: L.layerGroup(), stops: L.layerGroup(), geofence: L.layerGroup(),
        halo: null, latest: null, row: document.createElement("div"),
        shownCount: 0, placedCount: 0,
      };
      d.group.addLayer(d.track).addLayer(d.dots).addLayer(d.stops).addLayer(d.geofence);
      d.row.className = "device";
      d.row.dataset.device = name;
      this.devices.set(name, d);
    }
    return d;
  }

  has(name) {
    return this.devices.has(name);
  }

  setMode(mode) {
    this.mode = mode;
    for (const name of this.devices.keys()) this.dirty.add(name);
  }

  setListedMetadata(name, metadata) {
    this.device(name).listedMetadata = metadata ?? {};
    this.dirty.add(name);
  }

  addPoints(name, points) {
    if (name.endsWith(RAW_SUFFIX)) {
      const d = this.device(name.slice(0, -RAW_SUFFIX.length));
      for (const p of points) d.rawByT.set(p.t, p);
      d.rawSorted = null;
      this.dirty.add(d.name);
    } else {
      const d = this.device(name);
      for (const p of points) d.byCursor.set(p.cursor, p);
      d.sorted = null;
      d.rawSorted = null; // kept flags of raw points depend on the kept ones
      this.dirty.add(name);
    }
    this.onBounds(points.map((p) => [p.la, p.lo]));
  }

  // Geofence, trip and device events of one device, kept by `cursor` (the live stream and
  // the read API may both deliver one). The raw layer's twin tracker has no events to show.
  addEvents(name, events) {
    if (name.endsWith(RAW_SUFFIX) || events.length === 0) return;
    const d = this.device(name);
    for (const e of events) d.events.set(e.cursor, e);
    d.eventsSorted = null;
    this.dirty.add(name);
    this.onBounds(events.filter((e) => e.la !== undefined && e.lo !== undefined).map((e) => [e.la, e.lo]));
  }

  sortedPoints(d) {
    if (!d.sorted) d.sorted = [...d.byCursor.values()].sort((a, b) => a.t - b.t || a.cursor - b.cursor);
    return d.sorted;
  }

  sortedEvents(d) {
    if (!d.eventsSorted) d.eventsSorted = [...d.events.values()].sort((a, b) => a.t - b.t || a.cursor - b.cursor);
    return d.eventsSorted;
  }

  // Every fix the phone produced, each marked kept if the SDK stored and uploaded it.
  // Without a raw layer, the kept points are all there is.
  rawPoints(d) {
    if (d.rawByT.size === 0) return this.sortedPoints(d);
    if (!d.rawSorted) {
      const kept = this.sortedPoints(d);
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

  shownPoints(d) {
    return this.mode === "kept" ? this.sortedPoints(d).filter((p) => p.kept) : this.rawPoints(d);
  }

  placedGeofenceEvents(d) {
    return this.sortedEvents(d).filter((e) => e.k in GEOFENCE_KINDS && e.la !== undefined && e.lo !== undefined);
  }

  // Trips from their start and end events, by trip id, in order of start.
  trips(d) {
    const byId = new Map();
    for (const e of this.sortedEvents(d)) {
      if (e.k !== "trip_start" && e.k !== "trip_end") continue;
      const trip = byId.get(e.id) ?? { id: e.id, start: null, end: null };
      if (e.k === "trip_start") trip.start = e.t; else trip.end = e.t;
      byId.set(e.id, trip);
    }
    return [...byId.values()].sort((a, b) => (a.start ?? a.end) - (b.start ?? b.end));
  }

  // The metadata of the most recently stored `device` event; before any, what /v1/devices said.
  metadata(d) {
    let latest = null;
    for (const e of d.events.values()) {
      if (e.k === "device" && (!latest || e.cursor > latest.cursor)) latest = e;
    }
    return latest ? (latest.m ?? {}) : d.listedMetadata;
  }

  latestPoint(d) {
    const all = this.sortedPoints(d);
    return all.length ? all[all.length - 1] : null;
  }

  /** Redraws the devices that changed; returns { points, events } drawn in all. */
  draw() {
    for (const name of this.dirty) this.drawDevice(this.devices.get(name));
    const changedRows = this.dirty.size > 0;
    this.dirty.clear();
    if (changedRows) {
      this.panel.replaceChildren(
        ...[...this.devices.values()].sort((a, b) => a.name.localeCompare(b.name)).map((d) => d.row),
      );
    }
    let points = 0, events = 0;
    for (const d of this.devices.values()) {
      points += d.shownCount;
      events += d.placedCount;
    }
    return { points, events };
  }

  drawDevice(d) {
    const shown = this.shownPoints(d);
    const stops = detectStops(shown);
    const placed = this.placedGeofenceEvents(d);
    const latest = this.latestPoint(d);
    d.shownCount = shown.length;
    d.placedCount = placed.length;
    d.track.setLatLngs(shown.map((p) => [p.la, p.lo]));
    tag(d.track, { "data-device": d.name, "data-points": shown.length });

    d.dots.clearLayers();
    if (this.mode === "raw") {
      for (const p of shown) {
        const dot = L.circleMarker([p.la, p.lo], {
          className: p.kept ? "fix" : "fix discarded", radius: 2, stroke: false,
          fillColor: p.kept ? d.color : DISCARDED_COLOR, fillOpacity: 0.75, interactive: false,
        });
        d.dots.addLayer(dot);
        tag(dot, { "data-seq": p.seq });
      }
    }

    d.stops.clearLayers();
    for (const s of stops) {
      const marker = L.circleMarker([s.la, s.lo], {
        className: "stop", radius: 6, color: "#222", weight: 2, fillColor: "#fff", fillOpacity: 1,
      });
      marker.bindTooltip(fmtDuration(s.to - s.from), {
        permanent: true, direction: "right", className: "stop-label", offset: [4, 0],
      });
      d.stops.addLayer(marker);
      tag(marker, {
        "data-device": d.name, "data-from-ms": s.from, "data-to-ms": s.to,
        title: `${d.name}: stop of ${fmtDuration(s.to - s.from)} from ${fmtTime(s.from)}`,
      });
    }

    d.geofence.clearLayers();
    for (const e of placed) d.geofence.addLayer(geofenceMarker(d.name, e));

    if (latest) {
      if (!d.latest) {
        d.halo = L.circleMarker([latest.la, latest.lo], {
          className: "latest-halo", radius: 13, color: d.color, weight: 2, opacity: 0.5, fill: false, interactive: false,
        });
        d.latest = L.circleMarker([latest.la, latest.lo], {
          className: "latest", radius: 7, color: "#fff", weight: 3, fillColor: d.color, fillOpacity: 1,
        });
        d.group.addLayer(d.halo).addLayer(d.latest);
      }
      d.halo.setLatLng([latest.la, latest.lo]);
      d.latest.setLatLng([latest.la, latest.lo]);
      if (this.map.hasLayer(d.latest)) d.latest.bringToFront();
      tag(d.latest, {
        "data-device": d.name, "data-seq": latest.seq, "data-t": latest.t,
        "data-lat": latest.la, "data-lon": latest.lo, title: `${d.name}: latest fix, ${fmtTime(latest.t)}`,
      });
    }
    this.drawRow(d, stops.length, latest);
  }

  drawRow(d, stopCount, latest) {
    const row = d.row;
    const all = this.rawPoints(d);
    const discarded = all.filter((p) => !p.kept).length;
    row.replaceChildren();
    const nameLine = row.appendChild(document.createElement("div"));
    nameLine.className = "name";
    const swatch = nameLine.appendChild(document.createElement("span"));
    swatch.className = "swatch";
    swatch.style.background = d.color;
    nameLine.append(d.name);
    fact(row, "", `${all.length} fixes (${all.length - discarded} kept, ${discarded} discarded), ${stopCount} stops` +
      (latest ? `; latest ${fmtTime(latest.t)}` : ""));
    const meta = Object.entries(this.metadata(d));
    if (meta.length) fact(row, "metadata", `metadata: ${meta.map(([k, v]) => `${k}=${v}`).join(", ")}`);
    const geofence = this.sortedEvents(d).filter((e) => e.k in GEOFENCE_KINDS);
    if (geofence.length) {
      const counts = Object.keys(GEOFENCE_KINDS)
        .map((k) => `${geofence.filter((e) => e.k === k).length} ${k}`)
        .join(", ");
      const unplaced = geofence.length - d.placedCount;
      fact(row, "geofence-events", `geofence events: ${counts}` + (unplaced ? ` (${unplaced} without position)` : ""));
    }
    const list = this.trips(d);
    if (list.length) {
      fact(row, "trips-title", "trips:");
      const ul = row.appendChild(document.createElement("ul"));
      ul.className = "trips";
      for (const trip of list) {
        const li = ul.appendChild(document.createElement("li"));
        li.dataset.trip = trip.id;
        const from = trip.start === null ? "?" : fmtTime(trip.start);
        const to = trip.end === null ? "running" : fmtTime(trip.end);
        li.textContent = `trip ${trip.id}: ${from} to ${to}`;
      }
    }
  }

  /** The latest-position marker of a loaded device, or null. */
  latestMarker(name) {
    return this.devices.get(name)?.latest ?? null;
  }
}

function fact(row, className, text) {
  const div = row.appendChild(document.createElement("div"));
  div.className = className ? `facts ${className}` : "facts";
  div.textContent = text;
  return div;
}
