#!/bin/sh
# The keel-agent container's entrypoint: keel-agent-entrypoint [config.yml]
#
# The agent reads its Patroni YAML (mounted read-only, default /etc/keel/keel.yml) and takes the
# passwords from Patroni's environment variables. The control-plane token is a secret too, but the
# agent has no environment variable for it: when KEEL_CONTROLPLANE_URL and KEEL_CONTROLPLANE_TOKEN
# are both set, keel-render-config writes a private copy of the file with a `controlplane:` section
# added, and the agent runs on that copy.
set -eu
config="${1:-/etc/keel/keel.yml}"
if [ -n "${KEEL_CONTROLPLANE_URL:-}" ] && [ -n "${KEEL_CONTROLPLANE_TOKEN:-}" ]; then
  rendered="$(mktemp /tmp/keel-agent-XXXXXX.yml)"
  keel-render-config "$config" "$rendered"
  config="$rendered"
fi
# The V8 flags of apps/agent/bin/keel-agent.js's #! line (ARCHITECTURE.md, "Footprint").
exec node --max-semi-space-size=1 --single-threaded --no-opt --no-sparkplug --max-lazy --optimize-for-size /opt/keel/apps/agent/bin/keel-agent.js "$config"
