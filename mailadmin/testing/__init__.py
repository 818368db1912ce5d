"""Private, real Postfix and Dovecot instances for tests (never the system's own)."""
