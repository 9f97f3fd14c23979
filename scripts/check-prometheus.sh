#!/bin/sh
# `npm run check:prometheus`: Prometheus's own promtool over infra/prometheus/, as CI runs it
# (docs/operations.md#alerts). The scrape config names a token file that exists only inside the
# compose stack, so the config is checked for syntax alone; the rules are checked in full, and each
# alert's unit tests (infra/prometheus/tests/) are run against them.
set -eu
cd "$(dirname "$0")/.."
if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool not found. It comes with Prometheus: on Debian or Ubuntu, apt-get install --no-install-recommends prometheus." >&2
  exit 1
fi
promtool check config --syntax-only infra/prometheus/prometheus.yml
promtool check rules --lint-fatal infra/prometheus/alerts.yml
promtool test rules infra/prometheus/tests/*.yml
