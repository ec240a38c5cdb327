"""Staff tools under /api/agent: canned replies (list, add, edit, delete) and the reports (JSON and CSV).

The same bearer-token guard as the rest of /api/agent (staff.py): every route depends on `current_agent`
before its own parameters, so a signed-out or forged caller learns nothing. Routes await
rxchat.services.canned and rxchat.services.reports and return their public shapes.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from rxchat.api.deps import API_PREFIX, DbDep, current_agent
from rxchat.api.errors import documented
from rxchat.models import CannedReplyPublic
from rxchat.services import canned, reports

router = APIRouter(prefix=f"{API_PREFIX}/agent", tags=["staff"], dependencies=[Depends(current_agent)])

CannedId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The canned reply's id, from the list.")]
# 7, 30 or 90: checked by the service, which refuses any other number with 422.
Days = Annotated[int, Query(description="The last 7, 30 or 90 days (UTC), today included.")]
NOT_FOUND = {404: "Unknown or deleted canned reply."}


class CannedReplyList(BaseModel):
    canned_replies: list[CannedReplyPublic]


class CannedReplyWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(description=f"1-{canned.MAX_TITLE_CHARS} characters, unique whatever the case.")
    body: str = Field(
        description="The text; `{product}` and `{shopper}` are filled from the conversation when an agent uses it.",
        examples=["Hi {shopper}, the {product} ships within two days."],
    )


@router.get("/canned-replies", response_model=CannedReplyList, responses=documented(401))
async def list_canned_replies(s: DbDep) -> CannedReplyList:
    """Every canned reply, by title."""
    return CannedReplyList(canned_replies=await canned.list_replies(s))


@router.post("/canned-replies", status_code=201, response_model=CannedReplyPublic, responses=documented(401, 409, 422))
async def create_canned_reply(payload: CannedReplyWrite, s: DbDep) -> CannedReplyPublic:
    """Add a canned reply; 409 when another has that title."""
    return await canned.create_reply(s, title=payload.title, body=payload.body)


@router.get(
    "/canned-replies/{reply_id}", response_model=CannedReplyPublic, responses=documented(401, 404, described=NOT_FOUND)
)
async def get_canned_reply(reply_id: CannedId, s: DbDep) -> CannedReplyPublic:
    return await canned.get_reply(s, reply_id=reply_id)


@router.put(
    "/canned-replies/{reply_id}",
    response_model=CannedReplyPublic,
    responses=documented(401, 404, 409, 422, described=NOT_FOUND),
)
async def update_canned_reply(reply_id: CannedId, payload: CannedReplyWrite, s: DbDep) -> CannedReplyPublic:
    """Change a canned reply's title and text."""
    return await canned.update_reply(s, reply_id=reply_id, title=payload.title, body=payload.body)


@router.delete(
    "/canned-replies/{reply_id}",
    status_code=204,
    response_class=Response,
    responses=documented(401, 404, described=NOT_FOUND),
)
async def delete_canned_reply(reply_id: CannedId, s: DbDep) -> Response:
    await canned.delete_reply(s, reply_id=reply_id)
    return Response(status_code=204)


@router.get("/reports", response_model=reports.Report, responses=documented(401, 422))
async def get_report(s: DbDep, days: Days = 30) -> reports.Report:
    """Conversations, first response times and messages per day, and a table per product (see the README)."""
    return await reports.build_report(s, days=days)


@router.get(
    "/reports.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The table per product."}, **documented(401, 422)},
)
async def get_report_csv(s: DbDep, days: Days = 30) -> Response:
    """The report's table per product as CSV (the /agent/reports page's export)."""
    report = await reports.build_report(s, days=days)
    return Response(
        reports.to_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{reports.csv_filename(report)}"'},
    )
