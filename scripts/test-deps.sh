#!/usr/bin/env bash
# `npm test`'s pretest step: makes sure the Debian packages the test suite runs for real are here
# (real libtorrent nodes for the interop tests, later PostgreSQL and Chromium). As root it installs
# what is missing; otherwise it prints the one command to run and fails, so a fresh machine needs
# nothing but `npm ci && npm test`. .ci/run relies on the same step.
set -euo pipefail

# The list lives in test-deps.txt beside this script (BITSCRAPE_TEST_DEPS names another, for its own test).
list="${BITSCRAPE_TEST_DEPS:-$(dirname "$0")/test-deps.txt}"
DEPS=()
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue ;; esac
  DEPS+=("$line")
done < "$list"

missing=()
for dep in "${DEPS[@]}"; do
  pkg="${dep%%|*}"
  check="${dep#*|}"
  if ! bash -c "$check" >/dev/null 2>&1; then missing+=("$pkg"); fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "test-deps: the test suite needs Debian packages that are not installed: ${missing[*]}" >&2
  echo "test-deps: run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "test-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq "${missing[@]}" >&2

for dep in "${DEPS[@]}"; do
  pkg="${dep%%|*}"
  check="${dep#*|}"
  if ! bash -c "$check" >/dev/null 2>&1; then
    echo "test-deps: $pkg is installed but its check still fails: $check" >&2
    exit 1
  fi
done
