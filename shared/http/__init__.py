"""HTTP edge: problem+json, auth, idempotency and the route catalogue."""
