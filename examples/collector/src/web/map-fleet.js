// Tracelet live map, fleet view: the latest position of every device, one marker each,
// clustered by Leaflet.markercluster so that ten thousand devices stay one map. Markers are
// created and moved in batches, once per frame, and clustered in chunks that leave the page
// free to answer in between.

import { fmtTime, tag } from "./map-tracks.js";

const ICON = L.divIcon({ className: "fleet-marker", iconSize: [12, 12] });

export class Fleet {
  /**
   * `onShowTrack(name)` is called when the user asks for a device's track from its popup;
   * `onClustered()` once every marker added so far is clustered.
   */
  constructor(onShowTrack, onClustered) {
    this.onShowTrack = onShowTrack;
    this.layer = L.markerClusterGroup({
      chunkedLoading: true,
      showCoverageOnHover: false,
      spiderfyOnMaxZoom: true,
      chunkProgress: (processed, total) => {
        if (processed === total) onClustered();
      },
    });
    this.devices = new Map(); // name -> { name, point, marker }
    this.pending = new Set();
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
      this.layer.addLayers(markers);
    }
    if (added.length) {
      for (const e of added) {
        e.marker = L.marker([e.point.la, e.point.lo], { icon: ICON, keyboard: false, title: e.name });
        e.marker.bindPopup(() => this.popup(e));
        this.place(e);
      }
      this.layer.addLayers(added.map((e) => e.marker));
    }
  }

  place(e) {
    e.marker.setLatLng([e.point.la, e.point.lo]);
    tag(e.marker, {
      "data-device": e.name, "data-seq": e.point.seq, "data-t": e.point.t,
      "data-lat": e.point.la, "data-lon": e.point.lo,
    });
  }

  popup(e) {
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
    const show = () => this.layer.zoomToShowLayer(entry.marker, () => entry.marker.openPopup());
    try {
      show();
    } catch {
      // The marker is still waiting for its chunk to be clustered: try once more after it.
      setTimeout(show, 500);
    }
    return entry.point;
  }
}
