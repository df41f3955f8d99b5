"""The Pulumi program's components.

`infra.spec` is plain Python (no Pulumi import): the local stack reads it too.
"""
