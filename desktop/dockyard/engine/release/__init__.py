"""The release room: promotion, approvals, deployments, rollback, retry, status and recovery."""
