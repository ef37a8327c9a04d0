// The collector's live map in a real browser (Debian's headless Chromium, driven by
// playwright-core), while tracelet-demo replays the bundled traces through the real core.
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
import { createWriteStream, existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const outDir = path.join(root, "test-output", "browser");
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const speed = process.env.TRACELET_DEMO_SPEED ?? "120";
const DEADLINE_MS = 30_000;
/// The bearer token of the collector that tracelet-demo starts.
const DEMO_TOKEN = "tracelet-demo-token";

function demoBinary() {
  if (process.env.TRACELET_DEMO_BIN) return process.env.TRACELET_DEMO_BIN;
  const release = path.join(root, "target", "release", "tracelet-demo");
  return existsSync(release) ? release : path.join(root, "target", "debug", "tracelet-demo");
}

/** Polls `probe` until it returns a truthy value or the deadline passes. */
async function eventually(what, probe, deadlineMs = DEADLINE_MS) {
  const until = Date.now() + deadlineMs;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

let demo;
let demoExit;
let mapUrl;
let base;
/** The read token the demo's collector drew; the map URL carries it. */
let readAuth;
let browser;
let page;

/** Starts the demo slowly enough to watch and resolves with the map URL it prints. */
function startDemo() {
  mkdirSync(outDir, { recursive: true });
  const log = createWriteStream(path.join(outDir, "demo.log"));
  demo = spawn(demoBinary(), ["--speed", speed, "--port", "0"], {
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
  return page.$$eval("svg#map polyline.track", (lines) =>
    Object.fromEntries(lines.map((l) => [l.dataset.device, Number(l.dataset.points)])),
  );
}

describe("live map", () => {
  before(async () => {
    mapUrl = await startDemo();
    base = new URL(mapUrl).origin;
    readAuth = { headers: { Authorization: `Bearer ${new URL(mapUrl).searchParams.get("access_token")}` } };
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
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
          `svg#map circle.latest[data-device="${device}"]`,
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
    await eventually("fix dots in the raw view", async () => (await page.$$("svg#map circle.fix")).length > 0);
    // The e-mission day has real bad fixes from its first trip on: the raw layer (uploaded by
    // the demo's filter-less twin tracker) shows them as discarded.
    await eventually(
      "discarded fixes in the raw view",
      async () => (await page.$$("svg#map circle.fix.discarded")).length > 0,
    );
    await page.screenshot({ path: path.join(outDir, "live-map-raw.png") });
    await page.check('input[name="mode"][value="kept"]');
    await eventually("no fix dots in the kept view", async () => (await page.$$("svg#map circle.fix")).length === 0);
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
    const selector = `svg#map path.geofence-event[data-device="${device}"]`;
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
});
