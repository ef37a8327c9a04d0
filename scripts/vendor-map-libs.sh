#!/usr/bin/env bash
# Copies the map libraries the collector embeds (Leaflet and Leaflet.markercluster, versions
# pinned in tests/browser/package.json) from the npm packages into
# examples/collector/src/web/vendor/, byte for byte, with their licences. The collector
# compiles these copies in (include_bytes!), so building it needs no npm;
# tests/browser/vendor.test.mjs checks that the copies still match the pinned packages.
# Run after changing a pinned version: scripts/vendor-map-libs.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/tests/browser"
npm ci --no-audit --no-fund >/dev/null
modules="$root/tests/browser/node_modules"
vendor="$root/examples/collector/src/web/vendor"
# Each line: package, file inside the package, name in the vendor directory.
while read -r package file name; do
    mkdir -p "$vendor/$package"
    cp "$modules/$package/$file" "$vendor/$package/$name"
done <<'LIST'
leaflet dist/leaflet.js leaflet.js
leaflet dist/leaflet.css leaflet.css
leaflet LICENSE LICENSE
leaflet.markercluster dist/leaflet.markercluster.js leaflet.markercluster.js
leaflet.markercluster dist/MarkerCluster.css MarkerCluster.css
leaflet.markercluster dist/MarkerCluster.Default.css MarkerCluster.Default.css
leaflet.markercluster MIT-LICENCE.txt MIT-LICENCE.txt
LIST
echo "vendored into $vendor:"
(cd "$vendor" && find . -type f | sort)
