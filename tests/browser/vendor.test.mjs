// The map libraries compiled into the collector (examples/collector/src/web/vendor/) are the
// npm packages pinned in package.json, byte for byte, with their licences: a fresh clone
// builds the collector without npm, and this test keeps the committed copies honest.
// Refresh them with scripts/vendor-map-libs.sh after changing a pinned version.
//
// Run: npm install && node --test vendor.test.mjs   (scripts/test-all.sh does both)

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const vendor = path.join(root, "examples", "collector", "src", "web", "vendor");
const modules = path.join(here, "node_modules");
const pinned = JSON.parse(readFileSync(path.join(here, "package.json"), "utf8")).devDependencies;

/** Vendored name -> file inside the npm package, per package (as scripts/vendor-map-libs.sh copies). */
const FILES = {
  leaflet: {
    "leaflet.js": "dist/leaflet.js",
    "leaflet.css": "dist/leaflet.css",
    LICENSE: "LICENSE",
  },
  "leaflet.markercluster": {
    "leaflet.markercluster.js": "dist/leaflet.markercluster.js",
    "MarkerCluster.css": "dist/MarkerCluster.css",
    "MarkerCluster.Default.css": "dist/MarkerCluster.Default.css",
    "MIT-LICENCE.txt": "MIT-LICENCE.txt",
  },
};

const sha256 = (file) => createHash("sha256").update(readFileSync(file)).digest("hex");

describe("vendored map libraries", () => {
  for (const [pkg, files] of Object.entries(FILES)) {
    it(`${pkg} is pinned to an exact version and installed at it`, () => {
      assert.match(pinned[pkg] ?? "", /^\d+\.\d+\.\d+$/, `package.json pins ${pkg} exactly`);
      const installed = JSON.parse(readFileSync(path.join(modules, pkg, "package.json"), "utf8"));
      assert.equal(installed.version, pinned[pkg]);
    });

    it(`${pkg}: the committed copies equal the npm package's files`, () => {
      assert.deepEqual(readdirSync(path.join(vendor, pkg)).sort(), Object.keys(files).sort());
      for (const [name, inPackage] of Object.entries(files)) {
        assert.equal(
          sha256(path.join(vendor, pkg, name)),
          sha256(path.join(modules, pkg, inPackage)),
          `${pkg}/${name} differs from ${pkg}@${pinned[pkg]}/${inPackage}: run scripts/vendor-map-libs.sh`,
        );
      }
    });
  }
});
