"""Delivery insights: the four DORA metrics, approval wait and the release timeline,
computed from the release ledger and git (see docs/insights.md)."""
