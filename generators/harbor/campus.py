"""Campus networks: a residence hall behind one NAT range, students referring each other.

Students each have their own laptop or phone, their own debit card and often the school
mailbox; what they share is the dorm's handful of egress addresses, night-owl hours and
term-time rhythm (move-in week, then the cold snap before midterms). Some pairs refer
each other, one in each program.
"""

from __future__ import annotations

from dataclasses import dataclass

from generators.harbor.identities import Person
from generators.harbor.ledger import Referral, context
from generators.harbor.shop import DAY, PROGRAMS
from generators.harbor.world import Buying, World

NIGHT_OWL = (9, 7, 4, 2, 1, 0, 0, 0, 1, 2, 3, 4, 5, 5, 5, 5, 5, 6, 6, 7, 8, 9, 10, 10)
STUDENT = Buying(chance=0.6, median_hours=10.0, lean=0.8, top_up=0.85, repeat=0.08)
# Legacy campus /16s and the schools' mail domains.
CAMPUSES = (
    ("US", 5, "129.186", ("northlake.edu", "u.northlake.edu"), ("p3", "p1")),
    ("CA", 4, "142.157", ("mail.lakeshoreu.ca", "lakeshoreu.ca"), ("p2",)),
)


@dataclass
class Campus:
    country: str
    utc_offset: int
    programs: tuple[str, ...]
    dorm_nat: list[str]
    campus_wifi: list[str]
    students: list[Person]


def campus_networks(world: World, students_per_campus: int) -> None:
    for country, offset, prefix, domains, programs in CAMPUSES:
        campus = enrol_campus(
            world, country, offset, prefix, domains, programs, world.count(students_per_campus)
        )
        done = term_time_referrals(world, campus)
        if len(programs) > 1:
            mutual_pairs(world, campus, done)


def enrol_campus(
    world: World,
    country: str,
    offset: int,
    prefix: str,
    domains: tuple[str, ...],
    programs: tuple[str, ...],
    size: int,
) -> Campus:
    rng, ids = world.rng, world.ids
    dorm = f"{prefix}.{rng.randint(16, 250)}"
    campus = Campus(
        country,
        offset,
        programs,
        dorm_nat=[f"{dorm}.{host}" for host in rng.sample(range(2, 30), 4)],
        campus_wifi=[f"{prefix}.{rng.randint(1, 15)}.{rng.randint(2, 250)}" for _ in range(4)],
        students=[],
    )
    for _ in range(size):
        first, last = ids.name()
        if rng.random() < 0.55:
            local = f"{first[:2]}{last[:3]}{rng.randint(10, 9999)}"
            domain = rng.choice(domains)
        else:
            local, domain = ids.handle(first, last), rng.choice(("gmail.com", "icloud.com"))
        kind = rng.choices(("ios", "desktop", "android"), weights=(55, 35, 10))[0]
        student = ids.person(country, device=ids.device(kind), home_ip=rng.choice(campus.dorm_nat))
        student.first, student.last, student.utc_offset = first, last, offset
        student.email = ids.email_exact(f"{local}@{domain}") or student.email
        campus.students.append(student)
    return campus


def term_day(world: World) -> float:
    """Move-in week and the pre-midterm cold snap are when dorms go shopping."""
    days, roll = world.days, world.rng.random()
    if roll < 0.55:
        return world.rng.uniform(days * 0.08, days * 0.2)
    if roll < 0.85:
        return world.rng.uniform(days * 0.62, days * 0.75)
    return world.rng.uniform(0, days)


def dorm_context(world: World, campus: Campus, student: Person) -> dict:
    roll = world.rng.random()
    if roll < 0.72:
        ip = world.rng.choice(campus.dorm_nat)
    elif roll < 0.9:
        ip = world.rng.choice(campus.campus_wifi)
    else:
        ip = world.rng.choice(world.carrier[campus.country])
    return context(ip, student.device.device_id, student.device.user_agent, campus.country)


def term_time_referrals(world: World, campus: Campus) -> list[tuple[Person, Person, int]]:
    """Referrals spread through the hall: each referee may enrol and pass it on."""
    rng = world.rng
    program = campus.programs[0]
    slots = sorted(term_day(world) for _ in range(int(len(campus.students) * 0.9)))
    advocates: list[tuple[int, Person]] = []
    done: list[tuple[Person, Person, int]] = []
    unreferred = list(campus.students)
    rng.shuffle(unreferred)
    for day in slots:
        moment = world.clock.at(day, campus.utc_offset, NIGHT_OWL)
        ready = [student for since, student in advocates if since < moment]
        if not ready or rng.random() < 0.12:
            seed = unreferred.pop() if unreferred else rng.choice(campus.students)
            world.ledger.enrol(
                program, seed, moment - rng.randint(600, 2 * DAY), dorm_context(world, campus, seed)
            )
            advocates.append((moment, seed))
            ready = [seed]
        if not unreferred:
            break
        advocate, referee = rng.choice(ready), unreferred.pop()
        referral = refer(world, campus, program, advocate, referee, moment)
        if referral:
            done.append((advocate, referee, referral.at))
        if referral and rng.random() < 0.35:
            since = world.after(referral.at, 2.0, referee, NIGHT_OWL)
            world.ledger.enrol(program, referee, since, dorm_context(world, campus, referee))
            advocates.append((since, referee))
    return done


def refer(
    world: World, campus: Campus, program: str, advocate: Person, referee: Person, at: int
) -> Referral | None:
    ctx = dorm_context(world, campus, referee)
    referral = world.ledger.refer(program, advocate, referee, at, ctx, "legit", "campus_network")
    if referral is not None:
        world.buy(referral, PROGRAMS[program], referee.cards[0], STUDENT)
    return referral


def mutual_pairs(world: World, campus: Campus, done: list[tuple[Person, Person, int]]) -> None:
    """Roommates return the favour in the other program: A refers B here, B refers A there."""
    rng = world.rng
    second = campus.programs[1]
    wanted = max(2, len(campus.students) // 12)
    for advocate, referee, at in rng.sample(done, len(done)):
        if wanted == 0:
            return
        if world.ledger.is_enrolled(second, referee.customer_id):
            continue
        back = world.after(at, 1.5, referee, NIGHT_OWL)
        world.ledger.enrol(second, referee, back, dorm_context(world, campus, referee))
        if refer(world, campus, second, referee, advocate, back + rng.randint(300, 3 * DAY)):
            wanted -= 1
