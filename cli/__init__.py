"""pipeline-ctl: the operators' CLI and the local stack."""
