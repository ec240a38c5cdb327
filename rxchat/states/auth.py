"""Staff sign-in: one base state every staff page and handler builds on.

The browser keeps only a random sign-in token; the server maps it to an agent
on every staff action, reading the database (`_require_agent`; a reply checks
it in the very statement that stores it), so signing out or deactivating an
agent takes effect at once. Any client can call any handler
and overwrite its own storage vars, so identity is never taken from a
frontend var: it lives in backend-only `_` fields set here.
"""

import reflex as rx

from rxchat import db
from rxchat.live.tabs import tabs
from rxchat.models import AgentPublic
from rxchat.services import agents
from rxchat.services.errors import ChatError

LOGIN_ROUTE = "/agent/login"
CONSOLE_ROUTE = "/agent"


class AgentAuthState(rx.State):
    auth_token: str = rx.LocalStorage(name="rxchat_agent_token")
    agent_name: str = ""
    login_error: str = ""

    _agent_id: int = 0
    _agent_email: str = ""
    _agent_name: str = ""

    async def _require_agent(self) -> AgentPublic | None:
        """The signed-in agent, checked against the database, or None."""
        token = self.auth_token
        if not token:
            return None
        async with db.session() as s:
            agent = await agents.agent_for_token(s, token=token)
        if agent is None:
            self._forget()
            return None
        self._agent_id, self._agent_email, self._agent_name = agent.id, agent.email, agent.display_name
        if self.agent_name != agent.display_name:  # every staff action checks: resend the name only on a change
            self.agent_name = agent.display_name
        return agent

    def _last_checked_agent(self) -> AgentPublic | None:
        """The agent this tab's last check found, for a write that checks the sign-in itself."""
        if not self._agent_id:
            return None
        return AgentPublic(id=self._agent_id, email=self._agent_email, display_name=self._agent_name)

    def _forget(self) -> None:
        self._agent_id, self._agent_email, self._agent_name, self.agent_name = 0, "", "", ""

    @rx.event
    async def login(self, form_data: dict):
        email, password = str(form_data.get("email", "")), str(form_data.get("password", ""))
        try:
            async with db.session() as s:
                agent, token = await agents.sign_in(
                    s, email=email, password=password, client_address=self.router.session.client_ip
                )
        except ChatError as refused:
            self.login_error = refused.sentence()  # in the console's language, RXCHAT_LOCALE
            return
        self.login_error = ""
        self.auth_token = token
        self._agent_id, self._agent_email, self._agent_name = agent.id, agent.email, agent.display_name
        self.agent_name = agent.display_name
        return rx.redirect(CONSOLE_ROUTE)

    @rx.event
    async def logout(self):
        if self.auth_token:
            async with db.session() as s:
                await agents.sign_out(s, token=self.auth_token)
        self.auth_token = ""
        self._forget()
        tabs.leave_console(self.router.session.client_token)
        return rx.redirect(LOGIN_ROUTE)

    @rx.event
    async def redirect_if_signed_in(self):
        self.login_error = ""
        tabs.leave_console(self.router.session.client_token)
        if await self._require_agent() is not None:
            return rx.redirect(CONSOLE_ROUTE)
