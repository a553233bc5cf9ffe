#!/bin/sh
# Every hub container starts here: an empty metrics folder for this container's processes
# (prometheus_client's multiprocess mode keeps one file per process in it), then the command.
set -e
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
  rm -rf "$PROMETHEUS_MULTIPROC_DIR"
  mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
fi
exec "$@"
