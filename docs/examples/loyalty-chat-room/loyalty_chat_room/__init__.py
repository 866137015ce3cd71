"""A notification channel: what staff should know, posted to a chat room's incoming webhook as ``{"text": ...}``."""

import httpx
from marshmallow import fields

from loyalty.plugin_api import (
    ChannelConfigSchema,
    NotificationChannel,
    Outcome,
    Template,
    allow_private,
    check_public_url,
    errors,
    hookimpl,
)


class ChatRoomConfig(ChannelConfigSchema):
    url = fields.String(required=True)


class ChatRoom(NotificationChannel):
    """Posts the rendered text of each event it has words for; the program may reword them."""

    def refuses(self, config, settings):
        try:
            check_public_url(config["url"], allow_private=allow_private(settings))
        except errors.InvalidInput as exc:
            return exc.message
        return None

    def send(self, message):
        try:  # checked again at every send: DNS may have changed since the room was added
            check_public_url(message.destination["url"], allow_private=allow_private(message.settings))
        except errors.InvalidInput as exc:
            return Outcome.retry(f"not sent: {exc.message}")
        try:
            answer = httpx.post(
                message.destination["url"],
                json={"text": message.content["text"]},
                timeout=httpx.Timeout(10, connect=3),
                follow_redirects=False,
            )
        except httpx.TimeoutException:
            return Outcome.retry("the chat service did not answer within 10 s")
        except httpx.HTTPError as exc:
            return Outcome.retry(f"could not reach the chat service: {exc}")
        if answer.is_success:
            return Outcome.delivered(answer.status_code)
        if answer.status_code in (404, 410):  # the room's webhook was deleted: retrying cannot help
            return Outcome.failed(
                f"the chat service answered {answer.status_code}: the webhook is gone", answer.status_code
            )
        return Outcome.retry(f"the chat service answered {answer.status_code}", answer.status_code)


CHAT_ROOM = ChatRoom(
    name="chat_room",
    title="Chat room",
    schema=ChatRoomConfig,
    audience="program",
    templates={
        "referral.flagged": Template(
            "Referral held for review",
            "{{ program.name }}: a referral by {{ member.get('external_id') }} was held for review"
            " ({{ event.get('reason') or 'no reason given' }}). Approve or reject it in the admin.",
        ),
        "points.adjusted": Template(
            "Points adjusted",
            "{{ program.name }}: {{ points }} points adjusted by hand for {{ member.get('external_id') }}.",
        ),
    },
)


@hookimpl
def register_notification_channels(register):
    register(CHAT_ROOM)
