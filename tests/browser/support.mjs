// Shared by the browser tests: Debian's Chromium through playwright-core, the project's
// binaries, loopback ports, and waiting on conditions (never fixed sleeps before asserting).

import { existsSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const outDir = path.join(root, "test-output", "browser");
export const DEADLINE_MS = 30_000;

/** `TRACELET_<NAME>_BIN`, else the release build, else the debug build. */
export function binary(name) {
  const env = process.env[`TRACELET_${name.replace("tracelet-", "").toUpperCase()}_BIN`];
  if (env) return env;
  const release = path.join(root, "target", "release", name);
  return existsSync(release) ? release : path.join(root, "target", "debug", name);
}

/** Polls `probe` until it returns a truthy value or the deadline passes. */
export async function eventually(what, probe, deadlineMs = DEADLINE_MS) {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const last = await probe();
    if (last) return last;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A loopback port nothing listens on: bound, then released. */
export async function closedPort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
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
}

/** Records every URL the page requests, to check that none leaves loopback. */
export function recordRequests(page) {
  const urls = [];
  page.on("request", (request) => urls.push(request.url()));
  return urls;
}

export function offLoopback(urls) {
  return urls.filter((url) => {
    const { protocol, hostname } = new URL(url);
    if (protocol === "data:" || protocol === "blob:" || protocol === "about:") return false;
    return hostname !== "127.0.0.1" && hostname !== "localhost" && hostname !== "[::1]";
  });
}
