# Things a reader cannot know without running the script: each one is reported at its line.
$connector = $env:AD_CONNECTOR_ID
$aad = 'b891884f-051e-4a83-95af-2544101c9083'

# 1. The connector comes from the environment: the rule is left out.
New-ADSyncRule -Name 'From the environment' -Identifier 'd0d0d0d0-0000-4000-8000-000000000001' `
    -Direction Inbound -Precedence 10 -SourceObjectType user -TargetObjectType person `
    -Connector $connector -LinkType Join -OutVariable syncRule
Add-ADSyncRule -SynchronizationRule $syncRule[0]

# 2. A value that depends on a run-time branch: its precedence is unknown.
if ((Get-Date).DayOfWeek -eq 'Monday') { $precedence = 20 } else { $precedence = 21 }
New-ADSyncRule -Name 'Depends on the day' -Identifier 'd0d0d0d0-0000-4000-8000-000000000002' `
    -Direction Outbound -Precedence $precedence -SourceObjectType person -TargetObjectType user `
    -Connector $aad -LinkType Join -OutVariable syncRule
# 3. An expression read from a file: the flow is left out, the rest of the rule is kept.
$expression = Get-Content -Path .\displayName.txt -Raw
Add-ADSyncAttributeFlowMapping -SynchronizationRule $syncRule[0] -Destination displayName `
    -FlowType Expression -ValueMergeType Update -Expression $expression -OutVariable syncRule
# 4. A flow type that does not exist, and a case sensitivity written as text.
Add-ADSyncAttributeFlowMapping -SynchronizationRule $syncRule[0] -Source @('sn') -Destination 'sn' `
    -FlowType 'Direkt' -ValueMergeType Update -OutVariable syncRule
Add-ADSyncAttributeFlowMapping -SynchronizationRule $syncRule[0] -Source @('mail') -Destination 'mail' `
    -FlowType 'Direct' -ValueMergeType Update -OutVariable syncRule
Add-ADSyncRule -SynchronizationRule $syncRule[0]

# 5. A scope value computed at run time: leaving the clause out would widen the scope.
New-ADSyncRule -Name 'Scoped at run time' -Identifier 'd0d0d0d0-0000-4000-8000-000000000003' `
    -Direction Inbound -Precedence 30 -SourceObjectType user -TargetObjectType person `
    -Connector $aad -LinkType Join -OutVariable syncRule
$ou = (Get-ADOrganizationalUnit -Identity 'OU=Contractors').DistinguishedName
New-Object -TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
    -ArgumentList 'dn', $ou, 'ENDSWITH' -OutVariable condition0
Add-ADSyncScopeConditionGroup -SynchronizationRule $syncRule[0] -ScopeConditions @($condition0[0]) -OutVariable syncRule
Add-ADSyncRule -SynchronizationRule $syncRule[0]

# 6. A join whose case sensitivity is text, not $true/$false.
New-ADSyncRule -Name 'Text for a boolean' -Identifier 'd0d0d0d0-0000-4000-8000-000000000004' `
    -Direction Inbound -Precedence 40 -SourceObjectType user -TargetObjectType person `
    -Connector $aad -LinkType Join -OutVariable syncRule
New-Object -TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.JoinCondition' `
    -ArgumentList 'cloudAnchor', 'cloudAnchor', 'false' -OutVariable condition0
Add-ADSyncJoinConditionGroup -SynchronizationRule $syncRule[0] -JoinConditions @($condition0[0]) -OutVariable syncRule
Add-ADSyncRule -SynchronizationRule $syncRule[0]

# 7. A new identifier on every run: imported, but without an id.
New-ADSyncRule -Name 'Fresh identifier' -Identifier ([guid]::NewGuid()) `
    -Direction Inbound -Precedence 50 -SourceObjectType user -TargetObjectType person `
    -Connector $aad -LinkType Join -OutVariable syncRule
Add-ADSyncAttributeFlowMapping -SynchronizationRule $syncRule[0] -Source @('Cloud') -Destination 'employeeType' `
    -FlowType Constant -ValueMergeType Update -OutVariable syncRule
Add-ADSyncRule -SynchronizationRule $syncRule[0]

# 8. Built but never added: the script does not create it.
New-ADSyncRule -Name 'Never added' -Identifier 'd0d0d0d0-0000-4000-8000-000000000006' `
    -Direction Inbound -Precedence 60 -SourceObjectType user -TargetObjectType person `
    -Connector $aad -LinkType Join -OutVariable syncRule

# 9. Commands and syntax the reader does not evaluate.
Remove-ADSyncRule -Identifier 'd0d0d0d0-0000-4000-8000-000000000099'
trap { Write-Warning $_ }
$broken = = 5
try {
    Invoke-Expression (Get-Content -Path .\more-rules.ps1 -Raw)
}
catch {
    Write-Warning 'could not enable the scheduler'
}
