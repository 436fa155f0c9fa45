#!/usr/bin/env bash
# Real-world Rust sources for the parser robustness tests: Debian's librust-*-dev packages put
# crate sources in /usr/share/cargo/registry. Installs them when missing and we may (root or
# passwordless sudo); otherwise the tests that need them skip with a message.
set -u
PACKAGES="librust-regex-dev librust-serde-dev librust-syn-dev librust-nom-dev librust-itertools-dev"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
  echo "note: cannot install$missing (not root); parser robustness tests will skip" >&2; exit 0
fi
echo "installing test crates:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 || {
  $SUDO apt-get update -q >/dev/null 2>&1 && \
  $SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1
} || echo "note: apt-get could not install$missing; parser robustness tests will skip" >&2
exit 0
