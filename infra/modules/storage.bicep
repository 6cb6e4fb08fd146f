// The app's one storage account: the durable task hub, the host's own blobs, the videos, results and summaries, and
// the deployment package. Keys are off: every client reaches it with a Microsoft Entra identity (modules/access.bicep).
param name string
param location string
param tags object
param containers array
param resultsContainer string
param retentionDays int

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: the app runs without a virtual network, so storage must accept the platform's traffic; keys are off, every caller needs a Microsoft Entra identity and a role
  // checkov:skip=CKV_AZURE_59: as CKV_AZURE_35: reachable over the internet, but only with a Microsoft Entra identity and a role (no keys, no anonymous blobs)
  // checkov:skip=CKV_AZURE_206: locally redundant, the cheapest: results and summaries can be recomputed from the videos; choose Standard_ZRS or Standard_GRS here for videos you keep nowhere else
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }

  resource results 'managementPolicies' = {
    name: 'default'
    properties: {
      policy: {
        rules: [
          {
            enabled: true
            name: 'delete-old-analysis-results'
            type: 'Lifecycle'
            definition: {
              filters: { blobTypes: ['blockBlob'], prefixMatch: ['${resultsContainer}/'] }
              actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: retentionDays } } }
            }
          }
        ]
      }
    }
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: { enabled: true, days: 7 }
  }
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for containerName in containers: {
  parent: blobs
  name: containerName
  properties: { publicAccess: 'None' }
}]

output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
