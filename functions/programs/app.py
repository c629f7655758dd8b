"""Programs: create, list, read, change; referral-code checks for checkout pages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.http.api import Api, Reply, Request
from shared.schemas.programs import (
    CodeCheckOut,
    ProgramCreate,
    ProgramOut,
    ProgramUpdate,
    RewardOut,
)

if TYPE_CHECKING:
    from shared.schemas.campaigns import CampaignCreate

api = Api(service="programs")


@api.route("POST", "/v1/programs")
def create_program(request: Request[ProgramCreate]) -> Reply:
    program = wiring.program_service().create(request.body.command())
    api.logger.info("program created", extra={"program_id": program.program_id})
    return Reply.of(201, ProgramOut.of(program))


@api.route("GET", "/v1/programs")
def list_programs(request: Request[Any]) -> Reply:
    query = request.list_query()
    programs, cursor = wiring.program_service().list(query.limit, query.cursor)
    return Reply.page([ProgramOut.of(p) for p in programs], cursor)


@api.route("GET", "/v1/programs/{program_id}")
def get_program(request: Request[Any]) -> Reply:
    program = wiring.program_service().get(request.path["program_id"])
    return Reply.of(200, ProgramOut.of(program))


@api.route("PATCH", "/v1/programs/{program_id}")
def update_program(request: Request[ProgramUpdate]) -> Reply:
    program = wiring.program_service().update(request.path["program_id"], request.body.command())
    api.logger.info("program changed", extra={"program_id": program.program_id})
    return Reply.of(200, ProgramOut.of(program))


@api.route("GET", "/v1/programs/{program_id}/codes/{code}")
def check_code(request: Request[Any]) -> Reply:
    check = wiring.program_service().check_code(request.path["program_id"], request.path["code"])
    reward = check.referee_reward
    return Reply.of(
        200,
        CodeCheckOut(
            program_id=check.program_id,
            code=check.code,
            valid=check.valid,
            reason=check.reason,
            referee_reward=RewardOut.of(reward, reward.currency) if reward else None,
        ),
    )


@api.route("GET", "/v1/programs/{program_id}/stats")
def program_stats(request: Request[Any]) -> Reply:
    # Imported here: the stats model brings the review and referral schemas with it, about
    # 15 ms of this function's cold import, for one of its six routes.
    from shared.schemas.reviews import ProgramStatsOut

    stats = wiring.stats_service().for_program(request.path["program_id"])
    return Reply.of(200, ProgramStatsOut.of(stats))


@api.route("POST", "/v1/programs/{program_id}/campaigns")
def create_campaign(request: Request[CampaignCreate]) -> Reply:
    # Imported here, like the stats model: two of this function's eight routes use it.
    from shared.schemas.campaigns import CampaignOut

    service = wiring.campaign_service()
    campaign = service.create(request.path["program_id"], request.body.command())
    api.logger.info("campaign created", extra={"campaign_id": campaign.campaign_id})
    return Reply.of(201, CampaignOut.of(campaign, service.now()))


@api.route("GET", "/v1/programs/{program_id}/campaigns/{campaign_id}")
def get_campaign(request: Request[Any]) -> Reply:
    from shared.schemas.campaigns import CampaignOut

    service = wiring.campaign_service()
    campaign = service.get(request.path["program_id"], request.path["campaign_id"])
    return Reply.of(200, CampaignOut.of(campaign, service.now()))


@api.logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handler(event, context)
