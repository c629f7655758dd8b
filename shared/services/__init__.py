"""Use cases: each public method is one thing a client or a job asks for."""
