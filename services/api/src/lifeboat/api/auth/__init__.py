"""Authentication, authorization, sessions, API tokens and the audit trail."""
