#!/usr/bin/env bash
# Debian packages beyond Python and npm. For the tests: Chromium (Playwright drives
# /usr/bin/chromium; it never downloads a browser of its own) and an emoji font for screenshots.
# For the cohort grading sandbox (src/pymastery/core/sandbox/): bubblewrap, and libseccomp's
# Python binding, which imports into Debian's /usr/bin/python3 (util-linux's setpriv and prlimit
# come with the base system).
# With --bench, also what benchmarks/ compares against: nginx and wrk.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing+=(fonts-noto-color-emoji)
command -v bwrap >/dev/null || missing+=(bubblewrap)
/usr/bin/python3 -c "import seccomp" 2>/dev/null || missing+=(python3-seccomp)
command -v setpriv >/dev/null || missing+=(util-linux)
if [ "${1:-}" = "--bench" ]; then
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
  command -v wrk >/dev/null || missing+=(wrk)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "system packages missing: ${missing[*]}; install them with:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
