"""The local stack: the template's resources on an in-process moto server, the handlers
called in-process behind an API Gateway-like HTTP gateway, SQS pollers and a scheduler.

Development only: nothing here ships to Lambda.
"""
