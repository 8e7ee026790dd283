#!/usr/bin/env bash
# Vendor MathJax 3 from the npm registry into the book's static files, so rendered math works
# offline and needs no CDN. Idempotent: Make calls this only when the bundle is missing.
set -eu
version="$1"; dest="$2"
if ! command -v npm >/dev/null 2>&1; then
  echo "WARNING: npm not found; math will not render. Install Node.js/npm (Debian: sudo apt-get install npm) and rerun." >&2
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "mathjax@${version}" >/dev/null)
tar -xzf "$tmp"/mathjax-*.tgz -C "$tmp"
test -s "$tmp/package/es5/tex-chtml-full.js" || { echo "mathjax@${version} has no es5/tex-chtml-full.js" >&2; exit 1; }
mkdir -p "$(dirname "$dest")"
rm -rf "$dest.partial" && mv "$tmp/package/es5" "$dest.partial"
rm -rf "$dest" && mv "$dest.partial" "$dest"   # atomic enough: a half copy is never named $dest
echo "mathjax ${version} vendored into $dest ($(du -sh "$dest" | cut -f1))"
