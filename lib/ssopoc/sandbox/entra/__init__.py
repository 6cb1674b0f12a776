"""The Entra ID side of the sandbox: the provisioning service's own machinery."""
