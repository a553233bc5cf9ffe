"""What left the hub, for those who run the network: the outbox's dead letters, and sending them again.

The outbox itself is ``federation.outbox``; who may see which deliveries is ``hub.access.notifications``.
"""
