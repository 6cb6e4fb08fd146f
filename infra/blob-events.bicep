// The blob trigger's Event Grid subscription, deployed by hooks/postdeploy.sh once the app runs: the webhook's key
// (the host's `blobs_extension` system key) exists only after the host has started with the Event Grid blob trigger.
// The key is read here, inside the deployment, so it never passes through a shell or a log.
param appName string
param topicName string
param videoContainer string

resource app 'Microsoft.Web/sites@2024-04-01' existing = {
  name: appName
}

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: topicName
}

var blobsKey = listKeys('${app.id}/host/default', '2024-04-01').systemKeys.blobs_extension

resource uploads 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: topic
  name: 'video-uploads'
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: 'https://${app.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.on_video_uploaded&code=${blobsKey}'
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: ['Microsoft.Storage.BlobCreated']
      subjectBeginsWith: '/blobServices/default/containers/${videoContainer}/'
      // One event per new blob: the APIs that create one. Uploads and copies can raise BlobCreated more than once
      // (e.g. a PutBlockList after the blocks, or the Data Lake API's FlushWithClose); duplicates start nothing anyway.
      advancedFilters: [
        {
          operatorType: 'StringIn'
          key: 'data.api'
          values: ['PutBlob', 'PutBlockList', 'CopyBlob', 'FlushWithClose']
        }
      ]
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}
