#!/usr/bin/env bash
# `make demo`: JupyterLab on the demo notebook, reachable from this machine only
# (127.0.0.1), with a fresh random token. The token goes to Jupyter in its environment
# (JUPYTER_TOKEN), not on the command line, where any local user could read it with `ps`.
# Widget state is saved with the notebook (JupyterLab's "Save Widget State Automatically"),
# so a demo notebook reopened without a kernel still shows its last view: the script owns
# an app-settings dir (build/demo/lab-settings) whose overrides.d turns that default on,
# and never writes the user's ~/.jupyter (their own settings still win over a default).
# Usage: BIN=.venv/bin PORT=8888 scripts/demo.sh [notebook]
set -euo pipefail
BIN=${BIN:-.venv/bin}
PORT=${PORT:-8888}
NOTEBOOK=${1:-notebooks/01_grad_cam.ipynb}
JUPYTER_TOKEN=$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(32))')
export JUPYTER_TOKEN
SETTINGS="$(pwd)/build/demo/lab-settings"
DEFAULT_SETTINGS=$("$BIN/python" -c 'import sys, os; print(os.path.join(sys.prefix, "share", "jupyter", "lab", "settings"))')
rm -rf "$SETTINGS" && mkdir -p "$SETTINGS/overrides.d"
if [ -d "$DEFAULT_SETTINGS" ]; then cp -R "$DEFAULT_SETTINGS/." "$SETTINGS/"; fi  # keep the site's own
cat > "$SETTINGS/overrides.d/cam_widgets_demo.json" <<'JSON'
{"@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": true}}
JSON
cat <<TEXT
JupyterLab, for this machine only, with token authentication. Open:

    http://127.0.0.1:$PORT/lab/tree/$NOTEBOOK?token=$JUPYTER_TOKEN

From another machine, tunnel the port over SSH (do not open it), then open the same URL
there:    ssh -N -L $PORT:127.0.0.1:$PORT ${USER:-$(id -un)}@$(hostname)
Stop with Ctrl-C.
TEXT
exec "$BIN/jupyter" lab --no-browser --allow-root --ServerApp.ip=127.0.0.1 \
  --ServerApp.port="$PORT" --ServerApp.port_retries=0 \
  --LabApp.app_settings_dir="$SETTINGS" "$NOTEBOOK"
