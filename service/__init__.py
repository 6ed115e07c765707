"""Pinwatch: certificate pinning telemetry and rotation readiness."""
