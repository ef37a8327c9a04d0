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
      const { devices: list } = await (await fetch(`${base}/v1/devices`)).json();
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
        const api = await (await fetch(`${base}/v1/devices/${encodeURIComponent(device)}/latest`)).json();
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
});
