#!/usr/bin/env bash
# The local AWS: moto in server mode on a free 127.0.0.1 port.
#   tools/moto.sh start   starts it (if not running) and prints `export ...` lines for eval
#   tools/moto.sh stop    stops it
#   tools/moto.sh env     prints the export lines of the running server
# State lives in .local/moto/ (pid, port, log).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/.local/moto"
venv=${SUITE_VENV:-$root/.venv}
mkdir -p "$state"

env_lines() {
  local port; port=$(cat "$state/port")
  cat <<ENV
export AWS_ENDPOINT_URL=http://127.0.0.1:$port
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=\${AWS_REGION:-us-east-1}
export AWS_DEFAULT_REGION=\${AWS_REGION:-us-east-1}
export AWS_EC2_METADATA_DISABLED=true
ENV
}

running() {
  [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null
}

case "${1:-}" in
  start)
    if running; then env_lines; exit 0; fi
    "$root/tools/bootstrap.sh"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    echo "$port" > "$state/port"
    # setsid: the server outlives the shell that started it, and `stop` ends its whole group.
    setsid "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" > "$state/log" 2>&1 < /dev/null &
    echo $! > "$state/pid"
    for _ in $(seq 1 100); do
      if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "http://127.0.0.1:$port/moto-api/" > /dev/null 2>&1; then
        echo "local AWS (moto) listening on 127.0.0.1:$port" >&2
        env_lines
        exit 0
      fi
      running || { cat "$state/log" >&2; echo "moto failed to start" >&2; exit 1; }
      sleep 0.2
    done
    echo "moto did not answer on port $port within 20 s; log: $state/log" >&2
    exit 1
    ;;
  stop)
    if running; then
      pid=$(cat "$state/pid")
      kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
      echo "local AWS stopped" >&2
    fi
    rm -f "$state/pid"
    ;;
  env)
    running || { echo "local AWS is not running: tools/moto.sh start" >&2; exit 1; }
    env_lines
    ;;
  *)
    echo "usage: tools/moto.sh start|stop|env" >&2
    exit 2
    ;;
esac
