"""How customers act, whatever their intent: sessions, baskets, first orders, reorders."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from decimal import Decimal

from generators.meridian.identities import Device, Forge, Person
from generators.meridian.world import CENT, PROGRAMS, SIGNUP_HOURS, Program, World, offset_of

# Share of legit referrals per program: the AU food app is the biggest market.
PROGRAM_WEIGHTS = (45, 25, 30)
# Median first basket by program kind and currency; sigma of the log-normal spread.
MEDIAN_ORDER = {("eats", "AUD"): 41.0, ("eats", "USD"): 38.0, ("rides", "USD"): 21.0}
ORDER_SIGMA = {"eats": 0.36, "rides": 0.34}
MOBILE_SHARE = 0.6  # app sessions on cellular data rather than home Wi-Fi


def pick_program(rng: random.Random, weights: tuple[int, ...] = PROGRAM_WEIGHTS) -> Program:
    return rng.choices(PROGRAMS, weights=weights)[0]


def scaled(count: float, scale: float) -> int:
    return max(1, round(count * scale))


def context(
    forge: Forge,
    person: Person,
    network: str = "auto",
    device: Device | None = None,
    ip: str | None = None,
    country: str | None = None,
) -> dict[str, str]:
    """What the app reports for one session of `person`."""
    rng = forge.rng
    device = device or person.device
    if ip is None:
        if network == "auto":
            mobile = MOBILE_SHARE if device.kind != "web" else 0.35
            network = "mobile" if rng.random() < mobile else "home"
        if network == "mobile":
            ip = forge.gateway(person.country, person.city, person.carrier)
        else:
            ip = person.home_ip
    agents = device.user_agents
    agent = agents[0] if len(agents) == 1 or rng.random() < 0.8 else rng.choice(agents[1:])
    out = {"ip": ip, "device_id": device.device_id, "user_agent": agent}
    if device.kind != "web" or rng.random() < 0.7:
        out["country"] = country or person.country
    return out


def basket(
    rng: random.Random, program: Program, near_min: float = 0.15, exact_min: float = 0.0
) -> Decimal:
    """A first order; it may fall under the program's minimum, as real baskets do."""
    minimum = program.min_order
    roll = rng.random()
    if roll < exact_min:
        return minimum
    if roll < exact_min + near_min:
        return minimum + Decimal(rng.randrange(0, 700)) * CENT
    median = MEDIAN_ORDER[(program.kind, program.currency)]
    value = rng.lognormvariate(math.log(median), ORDER_SIGMA[program.kind])
    return Decimal(str(round(max(value, 6.5), 2))).quantize(CENT)


def qualifying_basket(
    rng: random.Random, program: Program, near_min: float = 0.15, exact_min: float = 0.0
) -> Decimal:
    amount = basket(rng, program, near_min, exact_min)
    while amount < program.min_order:
        amount = basket(rng, program, near_min, exact_min)
    return amount


def local_day(world: World, at: datetime, offset: float) -> float:
    return (at + timedelta(hours=offset) - world.start).total_seconds() / 86400


def first_order_time(world: World, program: Program, person: Person, at: datetime) -> datetime:
    """Right away, in the next meal or commute slots, or weeks later (some past the window)."""
    rng = world.rng
    roll = rng.random()
    if roll < 0.3:
        return world.later(at, 180, 2700)
    offset = offset_of(person)
    today = local_day(world, at, offset)
    if roll < 0.72:
        day = today + rng.randrange(0, 4)
    else:
        day = today + rng.randrange(4, program.window_days + 6)
    moment = world.local_time(day, offset, program.hours)
    return moment if moment > at else world.later(at, 600, 6 * 3600)


def reorders(
    world: World, program: Program, person: Person, after: datetime, card: str | None = None
) -> None:
    """Repeat customers keep ordering; none of these matter to the referral."""
    rng = world.rng
    if rng.random() > 0.35:
        return
    at = after
    offset = offset_of(person)
    for _ in range(rng.randrange(1, 5)):
        day = local_day(world, at, offset) + rng.expovariate(1 / 6) + 0.5
        at = max(world.local_time(day, offset, program.hours), world.later(at, 3600, 7200))
        world.purchase(program, person, at, basket(rng, program), card)


def legit_orders(
    world: World,
    program: Program,
    referee: Person,
    at: datetime,
    attempt: float = 0.7,
    near_min: float = 0.15,
    exact_min: float = 0.0,
    card: str | None = None,
) -> tuple[str, datetime, Decimal] | None:
    """A genuine newcomer: orders or not; returns the first qualifying order."""
    rng = world.rng
    if rng.random() > attempt:
        return None
    when = first_order_time(world, program, referee, at)
    amount = basket(rng, program, near_min, exact_min)
    if amount < program.min_order:
        world.purchase(program, referee, when, amount, card)
        if rng.random() < 0.5:
            return None
        when = world.later(when, 86400, 9 * 86400)
        amount = qualifying_basket(rng, program)
    order_id = world.purchase(program, referee, when, amount, card)
    if order_id is None:
        return None
    if rng.random() < 0.03:  # a missing drink, a cold side: small partial refund
        world.refund(
            program,
            referee,
            order_id,
            world.later(when, 1800, 86400),
            amount * Decimal(rng.choice(("0.1", "0.15", "0.2"))),
        )
    world.graduates.append((program, referee, when))
    reorders(world, program, referee, when, card)
    return order_id, when, amount


def enrol_day(world: World, launch_share: float = 0.3) -> float:
    if world.rng.random() < launch_share:
        return world.day(0, 3)
    return world.day(0, max(world.days - 5, 1))


def enrol_advocate(
    world: World, program: Program, person: Person, day: float, network: str = "auto"
) -> datetime | None:
    at = world.local_time(day, offset_of(person), SIGNUP_HOURS)
    return world.enrol(program, person, at, context(world.forge, person, network))


def signup_after(
    world: World,
    person: Person,
    since: datetime,
    mean_days: float,
    hours: tuple[int, ...] = SIGNUP_HOURS,
) -> datetime:
    offset = offset_of(person)
    day = local_day(world, since, offset) + world.rng.expovariate(1 / mean_days)
    at = world.local_time(day, offset, hours)
    return at if at > since else world.later(since, 600, 86400)
