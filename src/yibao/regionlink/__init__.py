"""The region link: yibao instances (one per pooling region) talking over NATS JetStream.

An adapter like the gateway: it carries messages (``messages``) over durable streams (``link``)
and hands each one to the service layer (``services.regionlink``), never to another adapter.
"""
