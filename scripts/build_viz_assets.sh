#!/usr/bin/env bash
# Re-vendor the offline assets of viz/ (run by a developer, never at run/test time).
#   npm registry: leaflet, three (bundled with esbuild into one IIFE exposing window.GS3)
#   Debian:       fonts-wqy-microhei (subset with fontTools)
# Versions are pinned in scripts/viz_assets/package.json; provenance in viz/assets/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cp scripts/viz_assets/package.json scripts/viz_assets/three-entry.js "$TMP/"
(cd "$TMP" && npm install --no-audit --no-fund >/dev/null)
N=$TMP/node_modules
cp "$N/leaflet/dist/leaflet.js" "$N/leaflet/dist/leaflet.css" viz/assets/leaflet/
cp "$N"/leaflet/dist/images/* viz/assets/leaflet/images/
cp "$N/leaflet/LICENSE" viz/assets/leaflet/LICENSE
cp "$N/three/LICENSE" viz/assets/three/LICENSE
(cd "$TMP" && ./node_modules/.bin/esbuild three-entry.js --bundle --minify --format=iife \
  --legal-comments=none --target=es2018 --outfile="$ROOT/viz/assets/three/gs3.min.js")
if [ ! -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
  apt-get install -y fonts-wqy-microhei >/dev/null
fi
"${PYTHON:-.venv/bin/python}" scripts/viz_assets/subset_font.py \
  /usr/share/fonts/truetype/wqy/wqy-microhei.ttc viz/assets/fonts/WenQuanYiMicroHei-GS.ttf
rm -f viz/assets/fonts/WenQuanYiMicroHei-GS.ttf.full.ttf
cp /usr/share/common-licenses/Apache-2.0 viz/assets/fonts/LICENSE-Apache-2.0.txt
cp /usr/share/doc/fonts-wqy-microhei/copyright viz/assets/fonts/COPYRIGHT-debian.txt
echo "vendored into viz/assets"
