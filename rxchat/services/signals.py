"""What is announced live and never stored: someone typing."""

from rxchat.services import events
from rxchat.services.publish import publish


async def typing(*, conversation: str, side: str, agent_name: str = "") -> None:
    """Someone is typing: announced live, never stored."""
    await publish(events.Typing(conversation=conversation, side=side, agent_name=agent_name))
