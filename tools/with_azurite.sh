#!/usr/bin/env bash
# Run a command with a throw-away Azurite (blob, queue, table; in memory) on free 127.0.0.1 ports.
# Exports AZURITE_CONNECTION_STRING for the command, always stops Azurite, and exits with the command's status.
set -euo pipefail
cd "$(dirname "$0")/.."
read -r BLOB QUEUE TABLE < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
for s in socks:
    s.close()')
LOG="$(mktemp -t azurite.XXXXXX.log)"
node_modules/.bin/azurite --silent --inMemoryPersistence --skipApiVersionCheck --disableProductStyleUrl \
  --blobHost 127.0.0.1 --blobPort "$BLOB" --queueHost 127.0.0.1 --queuePort "$QUEUE" \
  --tableHost 127.0.0.1 --tablePort "$TABLE" >"$LOG" 2>&1 &
AZURITE_PID=$!
# In-memory Azurite has nothing to flush, and a graceful stop takes it 20-110 s: kill it outright.
trap 'kill -KILL "$AZURITE_PID" 2>/dev/null || true; wait "$AZURITE_PID" 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$BLOB") 2>/dev/null; then break; fi
  if ! kill -0 "$AZURITE_PID" 2>/dev/null; then echo "Azurite failed to start:" >&2; cat "$LOG" >&2; exit 1; fi
  sleep 0.1
done
KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
export AZURITE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$KEY;\
BlobEndpoint=http://127.0.0.1:$BLOB/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$QUEUE/devstoreaccount1;\
TableEndpoint=http://127.0.0.1:$TABLE/devstoreaccount1;"
set +e
"$@"
STATUS=$?
set -e
exit "$STATUS"
