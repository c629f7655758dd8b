"""The local stack: the template's resources on a moto server in a child process, the handlers
called in-process behind an API Gateway-like HTTP gateway, SQS pollers and a scheduler.

Development only: nothing here ships to Lambda.
"""
