// Tracelet live map: Leaflet (embedded in the collector) fed by the read API and /v1/stream.
// Streets come from the tiles of the collector's --map-style; without them, or when they
// cannot be reached, the same layers are drawn on a blank background with a scale bar. Two
// views share the stream: tracks (every fix and event of the loaded devices, map-tracks.js)
// and fleet (the latest position of every device, clustered, map-fleet.js).
import { Fleet } from "./map-fleet.js";
import { RAW_SUFFIX, Tracks, fmtTime } from "./map-tracks.js";

// Tracks are loaded for every device while the fleet has at most this many; beyond, only for
// the devices picked on the map, and the page opens on the fleet view.
const AUTO_TRACK_LIMIT = 50;
const FLEET_PAGE = 5000;
// Tiles that have not loaded by then count as unreachable.
const TILE_TIMEOUT_MS = 8000;

const mapElement = document.getElementById("map");
const note = document.getElementById("basemap-note");
// A fixed zoom range: the clusterer needs one even when no tile layer sets it.
const map = L.map(mapElement, { minZoom: 1, maxZoom: 19, worldCopyJump: true }).setView([20, 0], 2);
L.control.scale({ imperial: false }).addTo(map);

let view = "tracks";
let autoTrack = true;
let userMoved = false; // once the user pans or zooms, the view stops following the data
let liveBatches = 0;
let fleetLoaded = false;
const bounds = { tracks: L.latLngBounds([]), fleet: L.latLngBounds([]) };
const fitted = { tracks: null, fleet: null };

const tracks = new Tracks(map, document.getElementById("devices"), (latLngs) => {
  for (const ll of latLngs) bounds.tracks.extend(ll);
});
const fleet = new Fleet(map, showTrack, () => {
  if (fleetLoaded && !mapElement.dataset.fleetRenderedMs) {
    // After the next frame has been painted.
    requestAnimationFrame(() => setTimeout(() => {
      mapElement.dataset.fleetRenderedMs = String(Math.round(performance.now()));
    }));
  }
});
tracks.layer.addTo(map);

function meta(name) {
  return document.querySelector(`meta[name="${name}"]`)?.content ?? "";
}

// Leaflet shows attributions as HTML; the operator's text is shown as text.
function asText(text) {
  const span = document.createElement("span");
  span.textContent = text;
  return span.innerHTML;
}

function setBasemap(state, text) {
  mapElement.dataset.basemap = state;
  note.textContent = text;
}

function startBasemap() {
  const url = meta("tracelet-map-style");
  if (!url) {
    setBasemap("none", "No map tiles configured: drawn to scale without streets");
    return;
  }
  setBasemap("loading", "");
  let loaded = 0;
  const tiles = L.tileLayer(url, { attribution: asText(meta("tracelet-map-attribution")), maxZoom: 19 });
  const fallBack = () => {
    if (loaded > 0 || mapElement.dataset.basemap === "fallback") return;
    setBasemap("fallback", "Map tiles unreachable: drawn to scale without streets");
    // Not from inside the tile layer's own event: Leaflet still uses the layer's map after it.
    setTimeout(() => map.removeLayer(tiles));
  };
  tiles.on("tileload", () => {
    loaded++;
    if (mapElement.dataset.basemap !== "tiles") setBasemap("tiles", "");
  });
  // `load` fires once no tile is pending, including tiles that failed.
  tiles.on("load", () => { if (loaded === 0) fallBack(); });
  setTimeout(fallBack, TILE_TIMEOUT_MS);
  tiles.addTo(map);
}

for (const event of ["mousedown", "wheel", "touchstart", "keydown"]) {
  mapElement.addEventListener(event, () => { userMoved = true; }, { passive: true });
}
map.on("zoomend", () => { mapElement.dataset.zoom = String(map.getZoom()); });

let drawQueued = false;
function queueDraw() {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => {
    drawQueued = false;
    draw();
  });
}

function draw() {
  const drawn = tracks.draw();
  // The first fleet is clustered in one go, once all its pages are in.
  if (fleetLoaded) fleet.flush();
  mapElement.dataset.totalPoints = String(drawn.points);
  mapElement.dataset.totalEvents = String(drawn.events);
  mapElement.dataset.fleetDevices = String(fleet.size);
  mapElement.dataset.liveBatches = String(liveBatches);
  const shown = view === "tracks" ? drawn.points + drawn.events : fleet.size;
  document.getElementById("empty").style.display = shown ? "none" : "";
  document.getElementById("fleet-summary").textContent =
    `${fleet.size.toLocaleString("en")} devices with a position; tracks loaded for ${tracks.devices.size}` +
    (autoTrack ? "" : " (pick a device on the fleet view to load its track)");
  follow();
}

// Fits the view to everything shown, until the user moves the map.
function follow() {
  const box = bounds[view];
  if (userMoved || !box.isValid()) return;
  const key = box.toBBoxString();
  if (fitted[view] === key) return;
  fitted[view] = key;
  map.fitBounds(box, { padding: [40, 40], maxZoom: 17, animate: false });
}

function setView(next) {
  view = next;
  document.body.dataset.view = next;
  mapElement.dataset.view = next;
  for (const input of document.querySelectorAll('input[name="view"]')) input.checked = input.value === next;
  const [show, hide] = next === "fleet" ? [fleet.layer, tracks.layer] : [tracks.layer, fleet.layer];
  map.removeLayer(hide);
  show.addTo(map);
  fitted[next] = null;
  queueDraw();
}

function isTracked(name) {
  return tracks.has(name) || (autoTrack && fleet.size <= AUTO_TRACK_LIMIT);
}

function onFixes(name, points) {
  const base = name.endsWith(RAW_SUFFIX) ? name.slice(0, -RAW_SUFFIX.length) : name;
  const moved = base === name ? fleet.update(name, points) : null;
  if (moved) bounds.fleet.extend([moved.la, moved.lo]);
  if (isTracked(base)) tracks.addPoints(name, points);
  queueDraw();
}

function onEvents(name, events) {
  if (isTracked(name)) tracks.addEvents(name, events);
  queueDraw();
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

// The latest position of every device, in a few pages, clustered once all are in (clustering
// page by page costs more than waiting for the next page). `onFirstPage(more)` hears whether
// more pages follow.
async function loadFleet(onFirstPage) {
  let after = null;
  for (;;) {
    const q = after === null ? "" : `&after=${encodeURIComponent(after)}`;
    const page = await getJson(`/v1/fleet?limit=${FLEET_PAGE}${q}`);
    for (const entry of page.devices) {
      if (entry.device.endsWith(RAW_SUFFIX)) continue;
      const moved = fleet.update(entry.device, [entry]);
      if (moved) bounds.fleet.extend([moved.la, moved.lo]);
    }
    if (after === null) onFirstPage(Boolean(page.next));
    if (!page.next) return;
    after = page.next;
  }
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

// One device's stored fixes and events, page by page; the stream fills in what follows.
async function loadDevice(name) {
  if (!name.endsWith(RAW_SUFFIX)) await loadEvents(name);
  let from = null;
  for (;;) {
    const q = from === null ? "" : `?from_ms=${from}`;
    const page = await getJson(`/v1/devices/${encodeURIComponent(name)}/track${q}`);
    tracks.addPoints(name, page.points);
    queueDraw();
    if (!page.truncated || page.points.length === 0) break;
    const next = page.points[page.points.length - 1].t;
    if (next === from) break;
    from = next;
  }
}

async function loadEvents(name) {
  let since = null;
  for (;;) {
    const q = since === null ? "" : `?since=${since}`;
    const page = await getJson(`/v1/devices/${encodeURIComponent(name)}/events${q}`);
    tracks.addEvents(name, page.events);
    if (!page.truncated || page.events.length === 0) break;
    const next = page.events[page.events.length - 1].t;
    if (next === since) break;
    since = next;
  }
}

// The fleet first (a few requests, whatever its size); then the tracks of every device when
// the fleet is small, else of the devices already picked.
async function loadAll(first) {
  await loadFleet((more) => {
    if (more || fleet.size > AUTO_TRACK_LIMIT) autoTrack = false;
    if (first && !autoTrack) setView("fleet");
  });
  fleetLoaded = true;
  if (fleet.size > AUTO_TRACK_LIMIT) autoTrack = false;
  queueDraw();
  if (autoTrack) {
    for (const { device: name, metadata } of await allDevices()) {
      if (!name.endsWith(RAW_SUFFIX)) tracks.setListedMetadata(name, metadata);
      await loadDevice(name);
    }
  } else {
    for (const name of [...tracks.devices.keys()]) {
      await loadDevice(name);
      await loadDevice(name + RAW_SUFFIX);
    }
  }
}

async function showTrack(name) {
  tracks.device(name);
  map.closePopup();
  userMoved = false;
  setView("tracks");
  await loadDevice(name);
  await loadDevice(name + RAW_SUFFIX);
}

function connect() {
  const status = document.getElementById("connection");
  const stream = new EventSource("/v1/stream");
  let first = true;
  const load = () => {
    const wasFirst = first;
    first = false;
    loadAll(wasFirst).catch((e) => { status.textContent = `load failed: ${e.message}`; });
  };
  stream.addEventListener("ready", () => {
    status.textContent = "live";
    status.className = "live";
    load();
  });
  stream.addEventListener("fixes", (e) => {
    const batch = JSON.parse(e.data);
    liveBatches++;
    onFixes(batch.device, batch.points);
  });
  stream.addEventListener("events", (e) => {
    const batch = JSON.parse(e.data);
    onEvents(batch.device, batch.events);
  });
  stream.addEventListener("resync", load);
  stream.onerror = () => {
    status.textContent = "reconnecting…";
    status.className = "";
  };
}

document.getElementById("find").addEventListener("submit", (e) => {
  e.preventDefault();
  const name = document.getElementById("find-device").value.trim();
  const result = document.getElementById("find-result");
  if (view !== "fleet") setView("fleet");
  fleet.flush();
  userMoved = true;
  const point = fleet.reveal(name);
  result.textContent = point ? `${name}: latest fix ${fmtTime(point.t)}` : `no position stored for ${name}`;
});

for (const input of document.querySelectorAll('input[name="view"]')) {
  input.addEventListener("change", () => setView(input.value));
}
for (const input of document.querySelectorAll('input[name="mode"]')) {
  input.addEventListener("change", () => {
    tracks.setMode(input.value);
    mapElement.dataset.mode = input.value;
    queueDraw();
  });
}
mapElement.dataset.mode = "kept";
mapElement.dataset.view = view;
mapElement.dataset.zoom = String(map.getZoom());
startBasemap();
connect();
