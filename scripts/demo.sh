#!/usr/bin/env bash
# `make demo`: JupyterLab on the demo notebook, reachable from this machine only
# (127.0.0.1), with a fresh random token. The token goes to Jupyter in its environment
# (JUPYTER_TOKEN), not on the command line, where any local user could read it with `ps`.
# Usage: BIN=.venv/bin PORT=8888 scripts/demo.sh [notebook]
set -euo pipefail
BIN=${BIN:-.venv/bin}
PORT=${PORT:-8888}
NOTEBOOK=${1:-notebooks/01_grad_cam.ipynb}
JUPYTER_TOKEN=$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(32))')
export JUPYTER_TOKEN
cat <<TEXT
JupyterLab, for this machine only, with token authentication. Open:

    http://127.0.0.1:$PORT/lab/tree/$NOTEBOOK?token=$JUPYTER_TOKEN

From another machine, tunnel the port over SSH (do not open it), then open the same URL
there:    ssh -N -L $PORT:127.0.0.1:$PORT ${USER:-$(id -un)}@$(hostname)
Stop with Ctrl-C.
TEXT
exec "$BIN/jupyter" lab --no-browser --allow-root --ServerApp.ip=127.0.0.1 \
  --ServerApp.port="$PORT" --ServerApp.port_retries=0 "$NOTEBOOK"
