#!/usr/bin/env bash
# Quick start: install what berthd needs, build it, and run it in the
# foreground on its defaults (socket unix:///run/berth.sock, data root
# /var/lib/berth, exec root /run/berth, config /etc/berth/daemon.json).
# Must run as root, like dockerd. Extra arguments go to berthd.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-os-packages.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build
exec bin/berthd "$@"
