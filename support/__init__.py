"""The cross-channel inbox: conversations, messages, inbound webhooks, assignment, SLA, CSAT."""
