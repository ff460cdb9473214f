"""Model-free helpers every layer may use, below the audit chain: who is acting (actor), errors, raw driver
cursors (rawdb), signed requests and key files (signing), rulebook loading, text files, view helpers
(viewkit, httperrors, csp), identifiers, password rules, role names and the permission mechanism. Nothing
here imports an app."""
