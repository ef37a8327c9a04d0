// Tracelet live map, fleet view: the latest position of every device, one marker each,
// clustered by Leaflet.markercluster so that ten thousand devices stay one map. Markers are
// created and moved in batches, once per frame, and clustered in chunks that leave the page
// free to answer in between.

import { fmtTime } from "./map-tracks.js";

const ICON = L.divIcon({ className: "fleet-marker", iconSize: [12, 12] });

export class Fleet {
  /**
   * `onShowTrack(name)` is called when the user asks for a device's track from its popup;
   * `onClustered()` each time every marker added so far is clustered on `map`.
   */
  constructor(map, onShowTrack, onClustered) {
    this.map = map;
    this.onShowTrack = onShowTrack;
    // Chunked additions still running; the clusterer reports progress only while on the map.
    this.clustering = 0;
    this.layer = L.markerClusterGroup({
      chunkedLoading: true,
      showCoverageOnHover: false,
      spiderfyOnMaxZoom: true,
      chunkProgress: (processed, total) => {
        if (processed !== total) return;
        this.clustering = Math.max(0, this.clustering - 1);
        if (this.clustering === 0 && this.pending.size === 0) onClustered();
      },
    });
    this.devices = new Map(); // name -> { name, point, marker }
    this.byMarker = new WeakMap(); // marker -> entry
    this.pending = new Set();
    // One listener and one popup for all markers, not one each: there may be 10,000.
    map.on("layeradd", (e) => {
      const entry = this.byMarker.get(e.layer);
      if (entry) this.tagElement(entry);
    });
    this.layer.on("click", (e) => {
      const entry = this.byMarker.get(e.layer);
      if (entry) this.openPopup(entry);
    });
  }

  get size() {
    return this.devices.size;
  }

  /**
   * Takes the newest of `points` (by time, then storage) as the device's position; returns it
   * when the position changed, else null.
   */
  update(name, points) {
    let newest = this.devices.get(name)?.point ?? null;
    for (const p of points) {
      if (!newest || p.t > newest.t || (p.t === newest.t && p.cursor > newest.cursor)) newest = p;
    }
    if (!newest) return null;
    const entry = this.devices.get(name) ?? { name, point: null, marker: null };
    if (entry.point === newest) return null;
    entry.point = newest;
    this.devices.set(name, entry);
    this.pending.add(name);
    return newest;
  }

  /** Creates and moves the markers of what changed since the last call. */
  flush() {
    if (this.pending.size === 0) return;
    const added = [];
    const moved = [];
    for (const name of this.pending) {
      const entry = this.devices.get(name);
      if (entry.marker) moved.push(entry); else added.push(entry);
    }
    this.pending.clear();
    if (moved.length) {
      const markers = moved.map((e) => e.marker);
      this.layer.removeLayers(markers);
      for (const e of moved) this.place(e);
      this.addLayers(markers);
    }
    if (added.length) {
      for (const e of added) {
        e.marker = L.marker([e.point.la, e.point.lo], { icon: ICON, keyboard: false, title: e.name });
        this.byMarker.set(e.marker, e);
      }
      this.addLayers(added.map((e) => e.marker));
    }
  }

  addLayers(markers) {
    if (this.map.hasLayer(this.layer)) this.clustering++;
    this.layer.addLayers(markers);
  }

  place(e) {
    e.marker.setLatLng([e.point.la, e.point.lo]);
    this.tagElement(e);
  }

  // The marker's element, while it is on the map, says which device it is and where.
  tagElement(e) {
    const element = e.marker.getElement();
    if (!element) return;
    element.dataset.device = e.name;
    element.dataset.seq = String(e.point.seq);
    element.dataset.t = String(e.point.t);
    element.dataset.lat = String(e.point.la);
    element.dataset.lon = String(e.point.lo);
  }

  openPopup(e) {
    L.popup({ offset: [0, -4] }).setLatLng(e.marker.getLatLng()).setContent(this.popupContent(e)).openOn(this.map);
  }

  popupContent(e) {
    const box = document.createElement("div");
    box.className = "fleet-popup";
    box.dataset.device = e.name;
    box.appendChild(document.createElement("strong")).textContent = e.name;
    box.appendChild(document.createElement("div")).textContent = `latest fix ${fmtTime(e.point.t)}`;
    const button = box.appendChild(document.createElement("button"));
    button.type = "button";
    button.textContent = "Show track";
    button.addEventListener("click", () => this.onShowTrack(e.name));
    return box;
  }

  /** Zooms until the device's marker is out of its cluster, then opens its popup. */
  reveal(name) {
    this.flush();
    const entry = this.devices.get(name);
    if (!entry) return null;
    const show = () => this.layer.zoomToShowLayer(entry.marker, () => this.openPopup(entry));
    try {
      show();
    } catch {
      // The marker is still waiting for its chunk to be clustered: try once more after it.
      setTimeout(show, 500);
    }
    return entry.point;
  }
}
