<#
    Contoso: custom rules for contractors, kept in version control.
    Started from the Synchronization Rules Editor's Export, then tidied up by hand.
#>
#Requires -Modules ADSync
Import-Module ADSync

# Connector identifiers (Get-ADSyncConnector | Select-Object Name, Identifier)
$adConnector  = 'ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d'
$aadConnector = "b891884f-051e-4a83-95af-2544101c9083"
$prefix = 'Contoso'
$basePrecedence = 50
$createCloudRule = $true
$joinRuleId = 'c0ffee00-0000-4000-8000-000000000001'

# Adds one attribute flow; every flow of these rules goes through here.
function Add-Flow {
    param(
        [Parameter(Mandatory = $true)] $Rule,
        [string] $Target,
        [string[]] $Sources = @(),
        [ValidateSet('Direct', 'Constant', 'Expression')]
        [string] $Type = 'Direct',
        [string] $Merge = 'Update',
        [string] $Expression,
        [switch] $Once
    )
    if ($Type -eq 'Expression') {
        Add-ADSyncAttributeFlowMapping -SynchronizationRule $Rule -Source $Sources -Destination $Target `
            -FlowType $Type -ValueMergeType $Merge -Expression $Expression -ExecuteOnce:$Once `
            -OutVariable syncRule | Out-Null
    }
    else {
        Add-ADSyncAttributeFlowMapping -SynchronizationRule $Rule -Source $Sources -Destination $Target `
            -FlowType $Type -ValueMergeType $Merge -ExecuteOnce:$Once -OutVariable syncRule | Out-Null
    }
}

# Only create the join rule if the server does not have it yet (a run-time decision).
if (-not (Get-ADSyncRule -Identifier $joinRuleId)) {
    $joinParams = @{
        Name             = "In from AD - $prefix Contractor Join"
        Identifier       = $joinRuleId
        Description      = "Joins ${prefix} contractors on their employee ID"
        Direction        = 'Inbound'
        Precedence       = $basePrecedence
        PrecedenceAfter  = [guid]::Empty
        PrecedenceBefore = '00000000-0000-0000-0000-000000000000'
        SourceObjectType = 'user'
        TargetObjectType = 'person'
        Connector        = $adConnector
        LinkType         = 'Join'
        SoftDeleteExpiryInterval = [TimeSpan]::Zero
        ImmutableTag     = ''
    }
    $rule = New-ADSyncRule @joinParams

    # Scope: contractors only (property style, as in the ADSync blogs)
    $scope = New-Object -TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition'
    $scope.Attribute = 'employeeType'
    $scope.ComparisonValue = 'Contractor'
    $scope.ComparisonOperator = [Microsoft.IdentityManagement.PowerShell.ObjectModel.ComparisonOperator]::EQUAL
    Add-ADSyncScopeConditionGroup -SynchronizationRule $rule -ScopeConditions @($scope) | Out-Null

    $byId = New-Object Microsoft.IdentityManagement.PowerShell.ObjectModel.JoinCondition('employeeID', 'employeeID', $true)
    Add-ADSyncJoinConditionGroup -SynchronizationRule $rule -JoinConditions $byId | Out-Null

    foreach ($attribute in @('givenName', 'sn', 'department')) {
        Add-Flow -Rule $rule -Target $attribute -Sources @($attribute)
    }
    Add-Flow -Rule $rule -Target 'employeeType' -Sources 'Contractor' -Type Constant -Once
    Add-Flow -Rule $rule -Target 'mail' -Sources 'mail', 'userPrincipalName' -Type Expression -Expression @'
IIF(IsPresent([mail]),
    LCase([mail]),
    LCase([userPrincipalName]))
'@
    Add-ADSyncRule -SynchronizationRule $rule
}

if ($createCloudRule) {
    New-ADSyncRule  `
    -Name "Out to AAD - $prefix Contractor" `
    -Identifier 'c0ffee00-0000-4000-8000-000000000002' `
    -Description 'Contractors'' cloud copy' `
    -Direction 'Outbound' `
    -Precedence ($basePrecedence + 1) `
    -PrecedenceBefore $joinRuleId `
    -SourceObjectType 'person' `
    -TargetObjectType 'user' `
    -Connector $aadConnector `
    -LinkType 'Provision' `
    -ImmutableTag '' `
    -EnablePasswordSync `
    -OutVariable syncRule | Out-Null

    # a 'Contractor' in the cloud: merged addresses, fixed usage location
    Add-Flow -Rule $syncRule[0] -Target 'proxyAddresses' -Sources proxyAddresses -Merge MergeCaseInsensitive
    Add-Flow -Rule $syncRule[0] -Target 'usageLocation' -Sources 'NL' -Type Constant -Merge Replace
    Add-Flow -Rule $syncRule[0] -Target 'displayName' -Type Expression `
        -Expression "[givenName] & `" `" & [sn] & `" (`" & `"$prefix`" & `")`""

    $conditions = @(
        (New-Object -TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' -ArgumentList 'employeeType', 'Contractor', 'EQUAL'),
        (New-Object -TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' -ArgumentList 'cloudFiltered', '', 'ISNULL')
    )
    Add-ADSyncScopeConditionGroup -SynchronizationRule $syncRule[0] -ScopeConditions $conditions -OutVariable syncRule | Out-Null
    New-Object -TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.JoinCondition' `
        -ArgumentList 'sourceAnchor', 'sourceAnchor', $true -OutVariable condition0 | Out-Null
    Add-ADSyncJoinConditionGroup -SynchronizationRule $syncRule[0] -JoinConditions @($condition0[0]) -OutVariable syncRule | Out-Null
    Add-ADSyncRule -SynchronizationRule $syncRule[0]
}
else {
    Write-Host 'Cloud rule skipped'
}

Write-Host "Done: rules for $prefix are in place." -ForegroundColor Green
