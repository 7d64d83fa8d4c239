"""Support's domain errors; core's API handler renders them as {"error": {...}}."""

from core.api.errors import DomainError


class SupportError(DomainError):
    code = "support_error"
    status_code = 400


class UnknownChannel(SupportError):
    code = "unknown_channel"
    status_code = 404


class InvalidSignature(SupportError):
    """A webhook whose signature does not match the channel's inbound secret."""

    code = "invalid_signature"
    status_code = 401


class InvalidIdentifierHash(SupportError):
    """A web chat message whose identifier_hash is not the HMAC of its identifier under the
    channel's identity secret: someone claims to be a signed-in customer without proof."""

    code = "invalid_identifier_hash"
    status_code = 401


class InvalidPayload(SupportError):
    code = "invalid_payload"
    status_code = 400


class ChannelNotReachable(SupportError):
    """The customer cannot be messaged on this channel (no address, or it cannot send)."""

    code = "channel_not_reachable"
    status_code = 409


class IllegalTransition(SupportError):
    code = "illegal_transition"
    status_code = 409


class CannotMerge(SupportError):
    code = "cannot_merge"
    status_code = 409


class CannotSplit(SupportError):
    code = "cannot_split"
    status_code = 409


class NotATeamMember(SupportError):
    code = "not_a_team_member"
    status_code = 409
