New-ADSyncRule  `
-Name 'In from AD - Contractor Join' `
-Identifier '5b1e9c2a-7d4f-4a63-9b0e-2f6c8d1a3e01' `
-Description 'Projects contractors; the HR feed''s "employeeType" decides' `
-Direction 'Inbound' `
-Precedence 20 `
-PrecedenceAfter '00000000-0000-0000-0000-000000000000' `
-PrecedenceBefore '00000000-0000-0000-0000-000000000000' `
-SourceObjectType 'user' `
-TargetObjectType 'person' `
-Connector '0a7d4c1e-2b3f-4e5a-8c9d-1e2f3a4b5c6d' `
-LinkType 'Provision' `
-SoftDeleteExpiryInterval 0 `
-ImmutableTag 'Contoso.InfromADContractorJoin.001' `
-EnablePasswordSync  `
-OutVariable syncRule


Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('sAMAccountName') `
-Destination 'accountName' `
-FlowType 'Direct' `
-ValueMergeType 'Update' `
-OutVariable syncRule


Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('Contractor') `
-Destination 'employeeType' `
-FlowType 'Constant' `
-ValueMergeType 'Replace' `
-OutVariable syncRule


Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('objectGUID') `
-Destination 'sourceAnchor' `
-FlowType 'Expression' `
-ValueMergeType 'Update' `
-ExecuteOnce  `
-Expression 'ConvertToBase64([objectGUID])' `
-OutVariable syncRule


Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('proxyAddresses') `
-Destination 'proxyAddresses' `
-FlowType 'Direct' `
-ValueMergeType 'MergeCaseInsensitive' `
-OutVariable syncRule


Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('otherMailbox','mail') `
-Destination 'otherMail' `
-FlowType 'Direct' `
-ValueMergeType 'Merge' `
-OutVariable syncRule


Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('userAccountControl') `
-Destination 'accountEnabled' `
-FlowType 'Expression' `
-ValueMergeType 'Update' `
-Expression 'IIF(BitAnd([userAccountControl],2)=0,"True","False")' `
-OutVariable syncRule


Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('givenName','sn') `
-Destination 'displayName' `
-FlowType 'Expression' `
-ValueMergeType 'Update' `
-Expression 'IIF(IsPresent([givenName]),
  Trim([givenName]) & " " & [sn],
  [sn])' `
-OutVariable syncRule


New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'employeeType','Contractor','EQUAL' `
-OutVariable condition0


New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'userAccountControl','2','ISBITNOTSET' `
-OutVariable condition1


Add-ADSyncScopeConditionGroup  `
-SynchronizationRule $syncRule[0] `
-ScopeConditions @($condition0[0],$condition1[0]) `
-OutVariable syncRule


New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'adminDescription','User_','NOTSTARTSWITH' `
-OutVariable condition0


New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'mail','','ISNOTNULL' `
-OutVariable condition1


Add-ADSyncScopeConditionGroup  `
-SynchronizationRule $syncRule[0] `
-ScopeConditions @($condition0[0],$condition1[0]) `
-OutVariable syncRule


New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.JoinCondition' `
-ArgumentList 'employeeID','employeeID',$true `
-OutVariable condition0


New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.JoinCondition' `
-ArgumentList 'sAMAccountName','accountName',$false `
-OutVariable condition1


Add-ADSyncJoinConditionGroup  `
-SynchronizationRule $syncRule[0] `
-JoinConditions @($condition0[0],$condition1[0]) `
-OutVariable syncRule


New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.JoinCondition' `
-ArgumentList 'mail','mail',$false `
-OutVariable condition0


Add-ADSyncJoinConditionGroup  `
-SynchronizationRule $syncRule[0] `
-JoinConditions @($condition0[0]) `
-OutVariable syncRule


Add-ADSyncRule  `
-SynchronizationRule $syncRule[0]


Get-ADSyncRule  `
-Identifier '5b1e9c2a-7d4f-4a63-9b0e-2f6c8d1a3e01'


New-ADSyncRule  `
-Name 'Out to AAD - Contractor NoFlow' `
-Identifier '5b1e9c2a-7d4f-4a63-9b0e-2f6c8d1a3e02' `
-Description '' `
-Direction 'Outbound' `
-Precedence 0 `
-PrecedenceAfter '00000000-0000-0000-0000-000000000000' `
-PrecedenceBefore '5b1e9c2a-7d4f-4a63-9b0e-2f6c8d1a3e01' `
-SourceObjectType 'person' `
-TargetObjectType 'user' `
-Connector 'b891884f-051e-4a83-95af-2544101c9083' `
-LinkType 'JoinNoFlow' `
-SoftDeleteExpiryInterval 0 `
-ImmutableTag '' `
-Disabled  `
-OutVariable syncRule


Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('displayName') `
-Destination 'displayName' `
-FlowType 'Direct' `
-ValueMergeType 'Update' `
-OutVariable syncRule


New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'cloudNoFlow','True','EQUAL' `
-OutVariable condition0


Add-ADSyncScopeConditionGroup  `
-SynchronizationRule $syncRule[0] `
-ScopeConditions @($condition0[0]) `
-OutVariable syncRule


New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.JoinCondition' `
-ArgumentList 'sourceAnchor','sourceAnchor',$true `
-OutVariable condition0


Add-ADSyncJoinConditionGroup  `
-SynchronizationRule $syncRule[0] `
-JoinConditions @($condition0[0]) `
-OutVariable syncRule


Add-ADSyncRule  `
-SynchronizationRule $syncRule[0]


Get-ADSyncRule  `
-Identifier '5b1e9c2a-7d4f-4a63-9b0e-2f6c8d1a3e02'


New-ADSyncRule  `
-Name 'In from AAD - Contractor StickyJoin' `
-Identifier '5b1e9c2a-7d4f-4a63-9b0e-2f6c8d1a3e03' `
-Description 'Keeps cloud-created contractors' `
-Direction 'Inbound' `
-Precedence 0 `
-PrecedenceAfter '5b1e9c2a-7d4f-4a63-9b0e-2f6c8d1a3e01' `
-PrecedenceBefore '00000000-0000-0000-0000-000000000000' `
-SourceObjectType 'user' `
-TargetObjectType 'person' `
-Connector 'b891884f-051e-4a83-95af-2544101c9083' `
-LinkType 'StickyJoin' `
-SoftDeleteExpiryInterval 864000000000 `
-ImmutableTag '' `
-OutVariable syncRule


Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('cloudAnchor') `
-Destination 'cloudAnchor' `
-FlowType 'Direct' `
-ValueMergeType 'Update' `
-OutVariable syncRule


Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @() `
-Destination 'cloudSourceAnchor' `
-FlowType 'Expression' `
-ValueMergeType 'Update' `
-Expression 'ImportedValue("sourceAnchor")' `
-OutVariable syncRule


New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.JoinCondition' `
-ArgumentList 'sourceAnchor','sourceAnchor',$true `
-OutVariable condition0


Add-ADSyncJoinConditionGroup  `
-SynchronizationRule $syncRule[0] `
-JoinConditions @($condition0[0]) `
-OutVariable syncRule


Add-ADSyncRule  `
-SynchronizationRule $syncRule[0]


Get-ADSyncRule  `
-Identifier '5b1e9c2a-7d4f-4a63-9b0e-2f6c8d1a3e03'
