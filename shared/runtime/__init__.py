"""What a queue or scheduled function is given, as `shared.http.api.Api` is for HTTP."""
