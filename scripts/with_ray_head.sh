#!/usr/bin/env bash
# Run a command beside a local Ray head, for the tests marked `ray`.
#
# When the venv holding the command's python has Ray and nothing listens on 127.0.0.1:6379, a
# head is started there (loopback kept as is, 2 CPUs, no dashboard, no usage statistics) and
# stopped when the command ends, failed or not. Without Ray the command runs alone and the
# cluster tests skip, saying why. Usage: scripts/with_ray_head.sh .venv/bin/python -m pytest -m ray
set -uo pipefail
ray_cli="$(dirname "$1")/ray"
if [[ -x "$ray_cli" ]] && ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  trap '"$ray_cli" stop >/dev/null 2>&1' EXIT
  RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 "$ray_cli" start --head --node-ip-address=127.0.0.1 \
    --num-cpus=2 --include-dashboard=false --disable-usage-stats >/dev/null \
    || echo "with_ray_head: the Ray head did not start; the cluster tests will skip" >&2
fi
"$@"
