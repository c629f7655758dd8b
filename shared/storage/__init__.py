"""A key-value table port with DynamoDB semantics, and its adapters."""
