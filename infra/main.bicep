// The whole deployment of the video analysis app (docs/deploy.md): `azd up` provisions this file, deploys the zip of
// `make package` and then subscribes the blob trigger to the storage account's events (hooks/postdeploy.sh).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name: names the resource group and seeds every resource name.')
param environmentName string

@minLength(1)
@description('Region of every resource; it must offer the Flex Consumption plan (az functionapp list-flexconsumption-locations).')
@metadata({ azd: { type: 'location' } })
param location string

@description('Object id of the person running azd (azd sets AZURE_PRINCIPAL_ID): may upload videos and read results. Empty: nobody.')
param principalId string = ''

@description('Memory of each Flex Consumption instance: 4096 MB has 2 cores for host.json\'s 2 chunk activities at once (docs/deploy.md, Plan).')
@allowed([2048, 4096])
param instanceMemoryMB int = 4096

@description('Most instances the app scales out to; each runs host.json\'s maxConcurrentActivityFunctions chunks at once.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Always-ready instances of the durable group (orchestrators and activities): an idle app starts an analysis without a cold start.')
@minValue(0)
param durableAlwaysReady int = 1

@description('MODEL_PATH: the YOLO26 weights in the package, relative to the app root. The default is the demo model.')
param modelPath string = 'models/demo-yolo26n-int8.onnx'

@description('VIDEO_CONTAINER: uploads here start an analysis.')
param videoContainerName string = 'videos'

@description('RESULTS_CONTAINER: job specs and per-chunk detections.')
param resultsContainerName string = 'results'

@description('SUMMARY_CONTAINER: summaries, charts and reports.')
param summaryContainerName string = 'summaries'

@description('HISTORY_RETENTION_DAYS: durable history and stored chunk results are deleted after this many days.')
@minValue(1)
param retentionDays int = 30

var token = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var appName = 'func-${token}'
var deploymentContainer = 'app-package'

resource group 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: group
  params: {
    name: 'st${token}'
    location: location
    tags: tags
    containers: [videoContainerName, resultsContainerName, summaryContainerName, deploymentContainer]
    resultsContainer: resultsContainerName
    retentionDays: retentionDays
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: group
  params: {
    workspaceName: 'log-${token}'
    insightsName: 'appi-${token}'
    location: location
    tags: tags
  }
}

module access 'modules/access.bicep' = {
  name: 'access'
  scope: group
  params: {
    identityName: 'id-${token}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    insightsName: monitoring.outputs.insightsName
    principalId: principalId
  }
}

module app 'modules/app.bicep' = {
  name: 'app'
  scope: group
  params: {
    name: appName
    planName: 'plan-${token}'
    location: location
    tags: tags
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    durableAlwaysReady: durableAlwaysReady
    identityId: access.outputs.identityId
    identityClientId: access.outputs.identityClientId
    storageAccountName: storage.outputs.name
    deploymentContainerUrl: '${storage.outputs.blobEndpoint}${deploymentContainer}'
    insightsConnectionString: monitoring.outputs.connectionString
    modelPath: modelPath
    videoContainer: videoContainerName
    resultsContainer: resultsContainerName
    summaryContainer: summaryContainerName
    retentionDays: retentionDays
  }
}

module events 'modules/events.bicep' = {
  name: 'events'
  scope: group
  params: {
    name: 'evgt-${token}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
  }
}

output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = group.name
output AZURE_FUNCTION_APP_NAME string = app.outputs.name
output API_BASE_URL string = app.outputs.apiBaseUrl
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output VIDEO_CONTAINER string = videoContainerName
output EVENT_GRID_TOPIC_NAME string = events.outputs.name
