// The live map's fleet view with 10,000 devices, in Debian's headless Chromium: a real
// tracelet-collector is seeded through its ingest API (one batch per device), a loopback tile
// server stands in for --map-style, and the page must show every device's latest position
// clustered, stay responsive, and follow the live stream. The time to the first full render
// is printed as a figure; nothing here asserts on time.
//
// Run: npm install && node --test fleet-map.test.mjs   (scripts/test-all.sh does both)
// Environment: TRACELET_COLLECTOR_BIN (default target/release/tracelet-collector, else
// target/debug), CHROMIUM_PATH, TRACELET_FLEET_DEVICES (default 10000).

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { createServer } from "node:http";
import path from "node:path";
import {
  DEADLINE_MS, binary, eventually, launchChromium, offLoopback, outDir, recordRequests, root,
} from "./support.mjs";

const DEVICES = Number(process.env.TRACELET_FLEET_DEVICES ?? 10_000);
const INGEST_TOKEN = "fleet-test-ingest-token";
const READ_TOKEN = "fleet-test-read-token";
const SEED_CONCURRENCY = 16;
/// 2024-06-01T12:00:00Z.
const T0 = 1_717_243_200_000;
/// A 1×1 grey PNG: every tile the stand-in tile server serves.
const TILE_PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGO4AAAA0gDR29kOtwAAAABJRU5ErkJggg==",
  "base64",
);

let collector;
let collectorExit;
let base;
let tiles;
let tileRequests = 0;
let browser;
let page;
let requested;
/** Uncaught exceptions in the page. */
const pageErrors = [];
let seededPositions;

const deviceName = (i) => `fleet-${String(i).padStart(5, "0")}`;

/** Deterministic positions spread over a city-sized area (no randomness between runs). */
function position(i) {
  const golden = 0.6180339887498949;
  const u = (i * golden) % 1;
  const v = (i * golden * golden * 7.3) % 1;
  return { la: Math.round((47.30 + u * 0.15) * 1e7) / 1e7, lo: Math.round((8.45 + v * 0.25) * 1e7) / 1e7 };
}

async function postBatch(device, firstSeq, fixes) {
  const batch = `${firstSeq}-${firstSeq + fixes.length - 1}`;
  const response = await fetch(`${base}/v1/batches`, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${INGEST_TOKEN}`,
      "Content-Type": "application/json",
      "Idempotency-Key": batch,
    },
    body: JSON.stringify({ v: 1, device, batch, first_seq: firstSeq, fixes }),
  });
  assert.equal(response.status, 200, await response.text());
}

/** One batch of two fixes per device, through the real ingest API, a few at a time. */
async function seed() {
  seededPositions = Array.from({ length: DEVICES }, (_, i) => position(i));
  let next = 0;
  const worker = async () => {
    while (next < DEVICES) {
      const i = next++;
      const p = seededPositions[i];
      await postBatch(deviceName(i), 1, [
        { t: T0 + i, la: p.la, lo: p.lo, ac: 5.0 },
        { t: T0 + i - 60_000, la: p.la + 0.001, lo: p.lo, ac: 5.0 },
      ]);
    }
  };
  await Promise.all(Array.from({ length: SEED_CONCURRENCY }, worker));
}

function startTileServer() {
  tiles = createServer((request, response) => {
    tileRequests++;
    response.writeHead(200, { "Content-Type": "image/png", "Cache-Control": "no-store" });
    response.end(TILE_PNG);
  });
  return new Promise((resolve) => tiles.listen(0, "127.0.0.1", () => resolve(tiles.address().port)));
}

async function startCollector(tilePort) {
  mkdirSync(outDir, { recursive: true });
  const log = createWriteStream(path.join(outDir, "fleet-collector.log"));
  collector = spawn(binary("tracelet-collector"), [
    "--listen", "127.0.0.1:0",
    "--token", INGEST_TOKEN,
    "--read-token", READ_TOKEN,
    "--map-style", `http://127.0.0.1:${tilePort}/{z}/{x}/{y}.png`,
    "--map-attribution", "Stand-in tiles <test>",
  ], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  collectorExit = new Promise((resolve) => collector.on("exit", resolve));
  collector.stderr.pipe(log);
  return new Promise((resolve, reject) => {
    let buffered = "";
    const timer = setTimeout(() => reject(new Error("the collector printed no address")), DEADLINE_MS);
    collector.on("error", reject);
    collector.on("exit", (code) => reject(new Error(`the collector exited early (${code}); see fleet-collector.log`)));
    collector.stdout.on("data", (chunk) => {
      log.write(chunk);
      buffered += chunk.toString();
      const match = buffered.match(/listening on (http:\/\/\S+)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
}

/** Devices drawn: single markers and the counts of the clusters on the page. */
async function drawnFleet() {
  return page.evaluate(() => {
    const singles = document.querySelectorAll("#map .fleet-marker").length;
    const clusters = [...document.querySelectorAll("#map .marker-cluster span")].map((s) => Number(s.textContent));
    return { singles, clusters: clusters.length, inClusters: clusters.reduce((a, b) => a + b, 0) };
  });
}

describe(`fleet view with ${DEVICES} devices`, () => {
  before(async () => {
    const tilePort = await startTileServer();
    base = await startCollector(tilePort);
    const seedStart = Date.now();
    await seed();
    console.log(`seeded ${DEVICES} devices through POST /v1/batches in ${Date.now() - seedStart} ms`);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on("pageerror", (e) => {
      pageErrors.push(e.message);
      console.error(`page error: ${e.message}`);
    });
    requested = recordRequests(page);
    // Long tasks (main thread busy for more than 50 ms) from the first script on.
    await page.addInitScript(() => {
      window.longTasks = [];
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) window.longTasks.push(entry.duration);
      }).observe({ type: "longtask", buffered: true });
    });
  });

  after(async () => {
    if (page) await page.screenshot({ path: path.join(outDir, "fleet-map.png") }).catch(() => {});
    await browser?.close();
    if (collector && collector.exitCode === null) {
      collector.kill("SIGINT");
      const killer = setTimeout(() => collector.kill("SIGKILL"), 10_000);
      await collectorExit;
      clearTimeout(killer);
    }
    tiles?.close();
  });

  it("renders every device clustered, and reports the time to first render", async () => {
    const started = Date.now();
    await page.goto(`${base}/map?access_token=${READ_TOKEN}`);
    const renderedMs = await eventually("the fleet's first full render", () =>
      page.$eval("#map", (m) => m.dataset.fleetRenderedMs).catch(() => null), 60_000);
    const wallMs = Date.now() - started;
    assert.equal(await page.$eval("#map", (m) => m.dataset.view), "fleet", "a large fleet opens on the fleet view");
    assert.equal(Number(await page.$eval("#map", (m) => m.dataset.fleetDevices)), DEVICES);
    const drawn = await eventually("every device in a cluster or a marker", async () => {
      const now = await drawnFleet();
      return now.singles + now.inClusters === DEVICES && now;
    });
    assert.ok(drawn.clusters > 0, "devices are clustered");
    assert.ok(drawn.singles + drawn.clusters < DEVICES / 10, `few elements for ${DEVICES} devices: ${JSON.stringify(drawn)}`);
    const longTasks = await page.evaluate(() => window.longTasks);
    console.log(
      `fleet first render: ${DEVICES} devices in ${drawn.clusters} clusters + ${drawn.singles} markers; ` +
      `${renderedMs} ms after navigation start (page clock), ${wallMs} ms from goto (test clock); ` +
      `longest main-thread task ${Math.round(Math.max(0, ...longTasks))} ms, ${longTasks.length} tasks over 50 ms`,
    );
    assert.equal(await page.$eval("#fleet-summary", (s) => s.textContent.split(" ")[0]), DEVICES.toLocaleString("en"));
  });

  it("draws the --map-style tiles under the fleet, with the attribution as text", async () => {
    await eventually("tiles loaded", async () =>
      (await page.$eval("#map", (m) => m.dataset.basemap)) === "tiles" &&
      (await page.$$("#map img.leaflet-tile-loaded")).length > 0);
    assert.ok(tileRequests > 0, "the page asked the tile server");
    const attribution = await page.$eval(".leaflet-control-attribution", (a) => a.textContent);
    assert.match(attribution, /Stand-in tiles <test>/);
  });

  it("stays responsive: a click on a cluster zooms in and splits it", async () => {
    const zoom = async () => Number(await page.$eval("#map", (m) => m.dataset.zoom));
    const before = await zoom();
    const frameMs = await page.evaluate(() => new Promise((resolve) => {
      const t = performance.now();
      requestAnimationFrame(() => resolve(performance.now() - t));
    }));
    console.log(`fleet: one animation frame answered in ${frameMs.toFixed(1)} ms after the first render`);
    await page.click("#map .marker-cluster");
    await eventually("the map to zoom in", async () => (await zoom()) > before);
    await eventually("the clicked cluster's devices drawn at the new zoom", async () => {
      const now = await drawnFleet();
      return now.singles + now.inClusters > 0 && now.singles + now.inClusters < DEVICES;
    });
  });

  it("moves a device's marker and adds a new device as the live stream delivers them", async () => {
    const batches = async () => Number(await page.$eval("#map", (m) => m.dataset.liveBatches));
    const before = await batches();
    const moved = deviceName(Math.floor(DEVICES * 0.4321));
    const to = { la: 47.5123457, lo: 8.7654321 };
    await postBatch(moved, 3, [{ t: T0 + 3_600_000, ...to, ac: 5.0 }]);
    await postBatch("fleet-newcomer", 1, [{ t: T0 + 3_600_000, la: 47.35, lo: 8.55, ac: 5.0 }]);
    await eventually("both batches over /v1/stream", async () => (await batches()) >= before + 2);
    await eventually("the newcomer counted", async () =>
      Number(await page.$eval("#map", (m) => m.dataset.fleetDevices)) === DEVICES + 1);
    await page.fill("#find-device", moved);
    await page.press("#find-device", "Enter");
    const marker = await eventually(`the marker of ${moved} at its new position`, () =>
      page.$eval(`#map .fleet-marker[data-device="${moved}"]`,
        (m) => ({ la: Number(m.dataset.lat), lo: Number(m.dataset.lon), seq: Number(m.dataset.seq) }))
        .then((m) => m.la === to.la && m.lo === to.lo && m)
        .catch(() => null));
    assert.equal(marker.seq, 3);
    await page.screenshot({ path: path.join(outDir, "fleet-map-found.png") });
  });

  it("loads a picked device's track from its popup into the tracks view", async () => {
    const picked = deviceName(Math.floor(DEVICES * 0.4321));
    await page.click(`.fleet-popup[data-device="${picked}"] button`);
    const points = await eventually(`the track of ${picked}`, () =>
      page.$eval(`#map path.track[data-device="${picked}"]`, (t) => Number(t.dataset.points)).catch(() => null));
    assert.equal(points, 3, "the two seeded fixes and the one posted live");
    assert.equal(await page.$eval("#map", (m) => m.dataset.view), "tracks");
    assert.equal(await page.$eval(`#map path.latest[data-device="${picked}"]`, (m) => Number(m.dataset.seq)), 3);
    assert.equal((await page.$$("#map path.track")).length, 1, "only the picked device's track is loaded");
  });

  it("keeps the read API and the map behind the read token, and fetches nothing outside loopback", async () => {
    assert.equal((await fetch(`${base}/v1/fleet`)).status, 401);
    assert.equal((await fetch(`${base}/map`)).status, 401);
    assert.equal((await fetch(`${base}/map?access_token=wrong`, { redirect: "manual" })).status, 401);
    const answer = await fetch(`${base}/v1/fleet?limit=1`, { headers: { Authorization: `Bearer ${READ_TOKEN}` } });
    assert.equal(answer.status, 200);
    assert.deepEqual(offLoopback(requested), []);
  });

  it("raised no script error in the page", () => {
    assert.deepEqual(pageErrors, []);
  });
});
