#!/bin/sh
# azd's postdeploy hook: subscribe the blob trigger to uploads (infra/blob-events.bicep). The subscription's webhook
# needs the host's `blobs_extension` key, which exists only once the deployed app has started and indexed its Event
# Grid blob trigger, so it cannot be part of `azd provision`. Needs the Azure CLI, logged in (`az login`).
set -eu
cd "$(dirname "$0")/../.."
: "${AZURE_RESOURCE_GROUP:?run through azd (azd up / azd deploy), which sets the template outputs}"
attempt=1
until [ -n "$(az functionapp keys list -g "$AZURE_RESOURCE_GROUP" -n "$AZURE_FUNCTION_APP_NAME" \
    --query systemKeys.blobs_extension -o tsv 2>/dev/null)" ]; do
  if [ "$attempt" -ge 30 ]; then
    echo "postdeploy: the app has no blobs_extension key after 5 minutes: is it running? Rerun: azd hooks run postdeploy" >&2
    exit 1
  fi
  echo "postdeploy: waiting for the app to start and create its blobs_extension key ($attempt/30) ..."
  curl -s -o /dev/null "$API_BASE_URL/videos/warm-up.mp4/summary" || true  # any request starts an instance
  attempt=$((attempt + 1))
  sleep 10
done
az deployment group create -g "$AZURE_RESOURCE_GROUP" -n blob-events -f infra/blob-events.bicep -o none \
  -p appName="$AZURE_FUNCTION_APP_NAME" topicName="$EVENT_GRID_TOPIC_NAME" videoContainer="$VIDEO_CONTAINER"
echo "postdeploy: uploads to $VIDEO_CONTAINER in $AZURE_STORAGE_ACCOUNT_NAME now start analyses (Event Grid subscription video-uploads)"
