// The function app on a Flex Consumption plan: Linux, Python 3.11, the package from the deployment container, the
// storage reached with the user-assigned identity (no connection string), and the app settings the code reads.
param name string
param planName string
param location string
param tags object
param instanceMemoryMB int
param maximumInstanceCount int
param durableAlwaysReady int
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerUrl string
param insightsConnectionString string
param modelPath string
param videoContainer string
param resultsContainer string
param summaryContainer string
param retentionDays int

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: Flex Consumption offers zone redundancy in some regions only, and the template must deploy to any Flex region; an interrupted analysis resumes from its stored chunk results (set zoneRedundant: true here where your region has it)
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222: public by design: Event Grid delivers uploads to the blob trigger's webhook and users call the HTTP API, both with keys
  // checkov:skip=CKV_AZURE_17: callers authenticate with function keys; client certificates would be a second credential every caller must hold
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales out by itself; the durable group's always-ready instance is the minimum
  // checkov:skip=CKV_AZURE_213: Flex Consumption does not support App Service health checks; the platform restarts unhealthy instances
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      http20Enabled: true
      ftpsState: 'Disabled'
      appSettings: [
        { name: 'AzureWebJobsStorage__accountName', value: storageAccountName }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insightsConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
        { name: 'BLOB_TRIGGER_SOURCE', value: 'EventGrid' }
        { name: 'MODEL_PATH', value: modelPath }
        { name: 'VIDEO_CONTAINER', value: videoContainer }
        { name: 'RESULTS_CONTAINER', value: resultsContainer }
        { name: 'SUMMARY_CONTAINER', value: summaryContainer }
        { name: 'HISTORY_RETENTION_DAYS', value: string(retentionDays) }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identityId }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        // The durable group (orchestrators, activities, entities) keeps an instance warm, as the Durable Functions
        // guidance for Flex Consumption recommends: an upload is picked up without waiting for a cold start.
        alwaysReady: [{ name: 'durable', instanceCount: durableAlwaysReady }]
      }
      runtime: { name: 'python', version: '3.11' }
    }
  }

}

output name string = app.name
output apiBaseUrl string = 'https://${app.properties.defaultHostName}/api'
