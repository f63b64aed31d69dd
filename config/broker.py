"""The Redis broker transport, made to outlive a broker that restarts under a running task.

kombu's Redis channel, when its connection is lost, closes and hands the messages of the
tasks still running back to the queue (``restore_unacked``); an ack after the loss does the
same bookkeeping. With the connection already torn down both fail with
``AttributeError: 'NoneType' object has no attribute 'hostname'``, and on the close path
that kills a prefork worker (an "Unrecoverable error") while its load goes on. Here both
give up with a warning instead: the message stays in Redis's unacked set (redelivered after
the visibility timeout, or lost with the broker's memory), which is harmless because the
batch row, not the message, says what is loaded. A redelivered message finds the batch's
live lease, or its end, and does nothing; a queued batch whose message was lost is sent
again by the sweeper (``ingestion.batches.dispatch``).

Used for ``redis://`` broker URLs (``CELERY_BROKER_TRANSPORT``).
"""

from __future__ import annotations

import logging

from kombu.transport import redis

logger = logging.getLogger(__name__)


class QoS(redis.QoS):
    def restore_unacked(self, client=None):
        try:
            return super().restore_unacked(client)
        except AttributeError:  # the channel's connection is already closed
            logger.warning(
                "broker connection gone: %s unacknowledged message(s) left to Redis", len(self._delivered)
            )
            self._delivered.clear()
            return None

    def ack(self, delivery_tag):
        try:
            super().ack(delivery_tag)
        except AttributeError:  # acked on a channel whose connection was lost meanwhile
            logger.warning("broker connection gone: could not acknowledge message %s", delivery_tag)
            self._delivered.pop(delivery_tag, None)


class Channel(redis.Channel):
    QoS = QoS


class Transport(redis.Transport):
    Channel = Channel
