"""Import Azure AD Connect / Entra Connect Sync configurations.

``xml_config`` reads a ``Get-ADSyncServerConfiguration`` export into the neutral ``model``;
``convert`` maps the model onto the syncrules AST; ``writer`` lays out and prints the project;
``cli`` ties them together for ``syncrules import aadconnect``. See docs/import.md.
"""
