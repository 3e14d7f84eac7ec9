"""The audit log: one hash-chained record per agent request (and, through `Auditor.record`, per LLM or A2A call)."""

from hub.governance.audit.auditor import Auditor
from hub.governance.audit.record import AuditEntry, AuditRecord, failure_of

__all__ = ["AuditEntry", "AuditRecord", "Auditor", "failure_of"]
