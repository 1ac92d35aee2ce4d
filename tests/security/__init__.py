"""Security properties: authentication, signed links, constant-time checks, secrets, SQL, injection."""
