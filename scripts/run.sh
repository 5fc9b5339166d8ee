#!/usr/bin/env bash
# `make run`'s server: the background worker (links, seals, reminders, retention, the outbox) beside
# gunicorn. The worker is stopped when gunicorn stops (Ctrl-C, SIGTERM or a crash).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-5000}
WORKERS=${WORKERS:-2}

"$BIN/forms-service" worker &
worker_pid=$!
stop_worker() {
  if kill -0 "$worker_pid" 2>/dev/null; then
    kill -TERM "$worker_pid" 2>/dev/null || true
    wait "$worker_pid" 2>/dev/null || true
  fi
}
trap stop_worker EXIT

echo "Serving on http://$HOST:$PORT (worker pid $worker_pid)"
"$BIN/gunicorn" --no-control-socket --workers "$WORKERS" --bind "$HOST:$PORT" \
  --access-logfile - --logger-class forms_service.gunicorn_logging.TokenMaskingLogger \
  "forms_service:create_app()" &
gunicorn_pid=$!
# SIGTERM/SIGINT to this script: pass it on to gunicorn, wait for it, then stop the worker.
trap 'kill -TERM "$gunicorn_pid" 2>/dev/null || true' TERM INT
status=0
while kill -0 "$gunicorn_pid" 2>/dev/null; do
  wait "$gunicorn_pid" && status=0 || status=$?
done
exit "$status"
