"""Import every model, so that the metadata is complete for alembic and tests."""

from service.core.db import Base
from service.ingest.models import (
    AppDomain,
    Certificate,
    CheckCount,
    EventReceipt,
    FailureCount,
    FailureSignature,
    Install,
    PinFailure,
    QuarantinedReport,
    ServedKeyCount,
    SignatureInstall,
)
from service.registry.models import (
    ApiToken,
    App,
    AuditEntry,
    Domain,
    DomainPin,
    IngestKey,
    Release,
    ReleasePinset,
)

__all__ = [
    "ApiToken",
    "App",
    "AppDomain",
    "AuditEntry",
    "Base",
    "Certificate",
    "CheckCount",
    "Domain",
    "DomainPin",
    "EventReceipt",
    "FailureCount",
    "FailureSignature",
    "IngestKey",
    "Install",
    "PinFailure",
    "QuarantinedReport",
    "Release",
    "ReleasePinset",
    "ServedKeyCount",
    "SignatureInstall",
]
