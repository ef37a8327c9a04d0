// The collector's live map in a real browser (Debian's headless Chromium, driven by
// playwright-core), while tracelet-demo replays the bundled traces through the real core.
// The demo's --map-style points at a loopback port where nothing listens, so the map runs on
// its fallback: no streets, the same tracks and markers on a blank background.
//
// Run: npm install && node --test live-map.test.mjs   (scripts/test-all.sh does both)
// Environment: TRACELET_DEMO_BIN (default target/release/tracelet-demo, else target/debug),
// CHROMIUM_PATH (default /usr/bin/chromium), TRACELET_DEMO_SPEED (default 120).
//
// Nothing here sleeps for a fixed time and then asserts: every wait polls a condition
// against a deadline.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import path from "node:path";
import {
  DEADLINE_MS, binary, closedPort, eventually, launchChromium, offLoopback, outDir, recordRequests, root,
} from "./support.mjs";

const speed = process.env.TRACELET_DEMO_SPEED ?? "120";
/// The bearer token of the collector that tracelet-demo starts.
const DEMO_TOKEN = "tracelet-demo-token";

let demo;
let demoExit;
let mapUrl;
let base;
/** The read token the demo's collector drew; the map URL carries it. */
let readAuth;
let browser;
let page;
/** Every URL the page requested. */
let requested;
/** Uncaught exceptions in the page. */
const pageErrors = [];

/** Starts the demo slowly enough to watch and resolves with the map URL it prints. */
async function startDemo() {
  mkdirSync(outDir, { recursive: true });
  const log = createWriteStream(path.join(outDir, "demo.log"));
  const unreachableTiles = `http://127.0.0.1:${await closedPort()}/{z}/{x}/{y}.png`;
  demo = spawn(binary("tracelet-demo"), ["--speed", speed, "--port", "0", "--map-style", unreachableTiles], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  demoExit = new Promise((resolve) => demo.on("exit", (code, signal) => resolve({ code, signal })));
  demo.stderr.pipe(log);
  return new Promise((resolve, reject) => {
    let buffered = "";
    const timer = setTimeout(() => reject(new Error("the demo printed no map URL")), DEADLINE_MS);
    demo.on("error", reject);
    demo.on("exit", (code) => reject(new Error(`the demo exited early (${code})`)));
    demo.stdout.on("data", (chunk) => {
      log.write(chunk);
      buffered += chunk.toString();
      const match = buffered.match(/^live map: (http:\/\/\S+)$/m);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
}

/** Points drawn per device: { device: data-points }. */
async function drawnPoints() {
  return page.$$eval("#map path.track", (lines) =>
    Object.fromEntries(lines.map((l) => [l.dataset.device, Number(l.dataset.points)])),
  );
}

describe("live map", () => {
  before(async () => {
    mapUrl = await startDemo();
    base = new URL(mapUrl).origin;
    readAuth = { headers: { Authorization: `Bearer ${new URL(mapUrl).searchParams.get("access_token")}` } };
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on("pageerror", (e) => {
      pageErrors.push(e.message);
      console.error(`page error: ${e.message}`);
    });
    requested = recordRequests(page);
    await page.goto(mapUrl);
  });

  after(async () => {
    if (page) {
      await page.screenshot({ path: path.join(outDir, "live-map.png") }).catch(() => {});
    }
    await browser?.close();
    if (demo && demo.exitCode === null) {
      demo.kill("SIGINT");
      const killer = setTimeout(() => demo.kill("SIGKILL"), 10_000);
      await demoExit;
      clearTimeout(killer);
    }
  });

  it("draws a track that grows while the replay runs", async () => {
    const first = await eventually("a first drawn track", async () => {
      const counts = await drawnPoints();
      return Object.values(counts).some((n) => n > 0) && counts;
    });
    const grown = await eventually("the drawn track to grow", async () => {
      const now = await drawnPoints();
      return Object.entries(now).find(([device, n]) => n > (first[device] ?? 0));
    });
    console.log(`track of ${grown[0]} grew from ${first[grown[0]] ?? 0} to ${grown[1]} points`);
    assert.ok(demo.exitCode === null, "the replay was still running");
  });

  it("puts the latest-position marker where GET /v1/devices/{id}/latest says", async () => {
    // Both bundled traces are replayed, one device each; the first upload of each comes
    // once the core's batch trigger fires.
    // `<id>:raw` devices are the demo's raw layer, drawn under their device, without a marker.
    const devices = await eventually("both devices at the collector", async () => {
      const { devices: list } = await (await fetch(`${base}/v1/devices`, readAuth)).json();
      const tracked = list.filter(({ device }) => !device.endsWith(":raw"));
      return tracked.length >= 2 && tracked;
    });
    for (const { device } of devices) {
      let last;
      // The page and the API race new batches: poll until both show the same fix.
      await eventually(`the marker of ${device} to match the API`, async () => {
        const marker = await page.$eval(
          `#map path.latest[data-device="${device}"]`,
          (m) => ({ seq: Number(m.dataset.seq), la: Number(m.dataset.lat), lo: Number(m.dataset.lon) }),
        ).catch(() => null);
        const api = await (await fetch(`${base}/v1/devices/${encodeURIComponent(device)}/latest`, readAuth)).json();
        last = { marker, api: { seq: api.seq, la: api.la, lo: api.lo } };
        return marker && marker.seq === api.seq && marker.la === api.la && marker.lo === api.lo;
      }).catch((e) => {
        assert.fail(`${e.message}: last seen ${JSON.stringify(last)}`);
      });
    }
  });

  it("shows every fix as a dot in the raw view and only the track in the kept view", async () => {
    await page.check('input[name="mode"][value="raw"]');
    await eventually("fix dots in the raw view", async () => (await page.$$("#map path.fix")).length > 0);
    // The e-mission day has real bad fixes from its first trip on: the raw layer (uploaded by
    // the demo's filter-less twin tracker) shows them as discarded.
    await eventually(
      "discarded fixes in the raw view",
      async () => (await page.$$("#map path.fix.discarded")).length > 0,
    );
    await page.screenshot({ path: path.join(outDir, "live-map-raw.png") });
    await page.check('input[name="mode"][value="kept"]');
    await eventually("no fix dots in the kept view", async () => (await page.$$("#map path.fix")).length === 0);
  });

  it("draws geofence events as markers and lists trips and metadata", async () => {
    // The demo records no events: post a batch of them, beside two fixes, for a device of our
    // own, next to a replayed track so that the map's scale stays as it was.
    const here = await (await fetch(`${base}/v1/devices/gsdc-pixel4/latest`, readAuth)).json();
    const device = "browser-events";
    const at = (i) => ({ la: Math.round((here.la + i * 1e-4) * 1e7) / 1e7, lo: here.lo });
    const body = {
      v: 1, device, batch: "1-2.e1-6", first_seq: 1,
      fixes: [
        { t: here.t, ...at(0), ac: 5.0, tr: "trip-1" },
        { t: here.t + 60_000, ...at(1), ac: 5.0, tr: "trip-1", x: { driver: "ada" } },
      ],
      events: [
        { s: 1, t: here.t, k: "enter", id: "depot", ...at(0) },
        { s: 2, t: here.t + 30_000, k: "dwell", id: "depot", ...at(0) },
        { s: 3, t: here.t + 60_000, k: "exit", id: "depot", ...at(1) },
        { s: 4, t: here.t, k: "trip_start", id: "trip-1" },
        { s: 5, t: here.t + 60_000, k: "trip_end", id: "trip-1" },
        { s: 6, t: here.t, k: "device", m: { fleet: "north" } },
      ],
    };
    const response = await fetch(`${base}/v1/batches`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${DEMO_TOKEN}`,
        "Content-Type": "application/json",
        "Idempotency-Key": body.batch,
      },
      body: JSON.stringify(body),
    });
    assert.equal(response.status, 200, await response.text());
    const selector = `#map path.geofence-event[data-device="${device}"]`;
    const markers = await eventually("three geofence markers", async () => {
      const found = await page.$$eval(selector, (paths) =>
        paths.map((p) => ({
          kind: p.dataset.kind, id: p.dataset.id, fill: p.getAttribute("fill"),
          title: p.querySelector("title")?.textContent ?? "",
        })),
      );
      return found.length === 3 && found;
    });
    assert.deepEqual(markers.map((m) => m.kind), ["enter", "dwell", "exit"]);
    assert.deepEqual(markers.map((m) => m.fill), ["#1a9c4a", "#2563eb", "#e0661a"]);
    for (const m of markers) {
      assert.equal(m.id, "depot");
      assert.match(m.title, new RegExp(`${m.kind} geofence depot`));
    }
    const row = `aside .device[data-device="${device}"]`;
    const trip = await eventually("the trip in the device list", async () =>
      page.$eval(`${row} .trips li[data-trip="trip-1"]`, (li) => li.textContent).catch(() => null),
    );
    assert.match(trip, /^trip trip-1: .+ to .+Z$/);
    assert.equal(await page.$eval(`${row} .metadata`, (m) => m.textContent), "metadata: fleet=north");
    await page.screenshot({ path: path.join(outDir, "live-map-events.png") });
  });
  it("falls back to a blank background when the tiles cannot be reached", async () => {
    // The demo's --map-style names a loopback port where nothing listens.
    const basemap = await eventually("the fallback basemap", async () => {
      const state = await page.$eval("#map", (m) => m.dataset.basemap);
      return state === "fallback" && state;
    });
    assert.equal(basemap, "fallback");
    assert.match(await page.$eval("#basemap-note", (n) => n.textContent), /without streets/);
    assert.equal((await page.$$("#map img.leaflet-tile-loaded")).length, 0, "no tile was drawn");
    // Tracks and markers are drawn all the same (the other tests check them in this mode).
    assert.ok(Number(await page.$eval("#map", (m) => m.dataset.totalPoints)) > 0);
    assert.ok((await page.$$("#map path.latest")).length >= 2);
  });

  it("updates over the live stream, without reloading", async () => {
    const batches = async () => Number(await page.$eval("#map", (m) => m.dataset.liveBatches));
    const before = await batches();
    await eventually("another batch over /v1/stream", async () => (await batches()) > before);
  });

  it("shows every device's latest position in the fleet view", async () => {
    await page.check('input[name="view"][value="fleet"]');
    const { devices: list } = await (await fetch(`${base}/v1/devices`, readAuth)).json();
    const withFixes = list.filter(({ device, fixes }) => !device.endsWith(":raw") && fixes > 0).map((d) => d.device);
    const shown = await eventually("a fleet marker for each device", async () => {
      const count = Number(await page.$eval("#map", (m) => m.dataset.fleetDevices));
      const markers = await page.$$eval("#map .fleet-marker", (ms) => ms.map((m) => m.dataset.device));
      const clustered = await page.$$eval("#map .marker-cluster span", (cs) =>
        cs.reduce((sum, c) => sum + Number(c.textContent), 0));
      return count >= withFixes.length && markers.length + clustered === count && { count, markers };
    });
    for (const device of shown.markers) assert.ok(!device.endsWith(":raw"), `${device} is a raw layer`);
    // Find each device (zooming it out of its cluster): its marker sits where GET /latest
    // says (fetched after, so it may be newer: then wait for the stream to bring it).
    for (const device of withFixes) {
      await page.fill("#find-device", device);
      await page.press("#find-device", "Enter");
      let last;
      let misses = 0;
      await eventually(`the fleet marker of ${device} to match /latest`, async () => {
        const marker = await page.$eval(`#map .fleet-marker[data-device="${device}"]`,
          (m) => ({ la: Number(m.dataset.lat), lo: Number(m.dataset.lon), seq: Number(m.dataset.seq) }))
          .catch(() => null);
        // Find it (again, now and then: a replayed device may drive out of the view; the
        // map's pan to it takes a moment, so not on every miss).
        if (!marker && ++misses % 3 === 0) {
          await page.fill("#find-device", device);
          await page.press("#find-device", "Enter");
        }
        const api = await (await fetch(`${base}/v1/devices/${encodeURIComponent(device)}/latest`, readAuth)).json();
        last = { marker, api: { la: api.la, lo: api.lo, seq: api.seq } };
        return marker && marker.la === api.la && marker.lo === api.lo && marker.seq === api.seq;
      }).catch((e) => assert.fail(`${e.message}: last seen ${JSON.stringify(last)}`));
      assert.match(await page.$eval("#find-result", (r) => r.textContent), new RegExp(`^${device}: latest fix `));
    }
    await page.screenshot({ path: path.join(outDir, "live-map-fleet.png") });
    await page.check('input[name="view"][value="tracks"]');
    await eventually("the tracks view back", async () => (await page.$$("#map path.track")).length > 0);
  });

  it("requests nothing outside loopback: libraries are embedded, tiles only from --map-style", () => {
    assert.ok(requested.some((url) => url.includes("/map/vendor/leaflet/leaflet.js")));
    assert.deepEqual(offLoopback(requested), []);
  });

  it("raised no script error in the page", () => {
    assert.deepEqual(pageErrors, []);
  });
});
