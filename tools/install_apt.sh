#!/usr/bin/env bash
# Install the Debian packages nlpbook reads data from, if they are missing.
# Idempotent: installed packages are only checked. Where apt is unavailable (macOS, no root),
# say exactly what is missing and how to get it, and carry on: everything that does not
# need those packages still works, and nlpbook's loaders name the package when asked for it.
set -u
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && { echo "apt: all ${#} packages present"; exit 0; }

if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo="none"; fi
  if [ "$sudo" != "none" ]; then
    echo "apt: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Update the lists only when a package is unknown to them.
    if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then $sudo apt-get update -q >/dev/null; fi
    if $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/nlpbook-apt.log 2>&1; then
      echo "apt: installed ${missing[*]}"; exit 0
    fi
    echo "apt: install failed; see /tmp/nlpbook-apt.log" >&2
    tail -n 5 /tmp/nlpbook-apt.log >&2
  fi
fi
cat >&2 <<MSG
WARNING: these packages are missing and could not be installed here:
    ${missing[*]}
  On Debian/Ubuntu:  sudo apt-get install ${missing[*]}
  Without apt (e.g. macOS): the chapters and tests that read these sources will stop with an
  error naming the package; everything else still works.
MSG
exit 0
