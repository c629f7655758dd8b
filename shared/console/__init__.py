"""The finance review console: static files served by the API at /console (no data inside;
the page calls the API with the bearer token the user pastes)."""
