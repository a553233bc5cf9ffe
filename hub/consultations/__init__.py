"""Live consultation rooms: participants across sites, presence, chat, the shared record, video signalling.

Separate from ``hub.referrals`` (intake, routing, lifecycle): a room belongs to one referral or remote
consultation and lives while the consultation is held. Its state is in PostgreSQL (``models``), its writes
in ``services``, its reads in ``selectors``; ``consumers`` is the websocket (the room protocol and WebRTC
signalling) and publishes nothing itself: services publish through ``events`` after commit.
"""
