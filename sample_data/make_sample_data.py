"""Write the bundled SYNTHETIC sample portfolio: four files in the shapes real users hand over.

Every organisation, grant, identifier and amount here is invented, for demonstration only. The
script is seeded and deterministic: running it twice writes the same CSV bytes and the same
spreadsheet cell values, so the committed files can be checked against a fresh run.

    python sample_data/make_sample_data.py            # writes next to this script
    python sample_data/make_sample_data.py --out DIR  # writes elsewhere (tests use a temp dir)
    python sample_data/make_sample_data.py --labels labels.csv  # also the intended categories

Texts are composed from many parts (activities, populations, places, durations, boilerplate),
so wording differs from grant to grant while the intended category of each grant stays known.
The intended categories follow the codebook in docs (response / intervention /
resilience-building / structural-prevention / out-of-scope / unclassified). They are printed
as a table and written into README.md, never into the data files themselves.

Only the standard library and openpyxl are used.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

SEED = 20240917
YEARS = tuple(range(2018, 2026))

USASPENDING_FILE = "usaspending_awards.csv"
STATE_FILE = "state_allocations_FY2018-2025.xlsx"
FOUNDATION_FILE = "foundation_grants_2018-2025.csv"
GIVING360_FILE = "360giving_grants.csv"
DATA_FILES = (USASPENDING_FILE, STATE_FILE, FOUNDATION_FILE, GIVING360_FILE)

CATEGORIES = (
    "response",
    "intervention",
    "resilience-building",
    "structural-prevention",
    "out-of-scope",
    "unclassified",
)
#: A grant naming two distinct components; it carries a primary and a secondary category.
SPLIT = "split"

# --------------------------------------------------------------------------------------------
# Places. Real states and cities are used only as locations; organisations are invented, and
# government recipients are named after invented counties and towns.
# --------------------------------------------------------------------------------------------

STATES: dict[str, tuple[str, tuple[str, ...]]] = {
    "AL": ("Alabama", ("Birmingham", "Montgomery", "Mobile")),
    "AZ": ("Arizona", ("Phoenix", "Tucson", "Flagstaff")),
    "CA": ("California", ("Los Angeles", "Fresno", "Oakland", "San Diego")),
    "CO": ("Colorado", ("Denver", "Colorado Springs", "Pueblo", "Grand Junction")),
    "DC": ("District of Columbia", ("Washington",)),
    "FL": ("Florida", ("Miami", "Tampa", "Orlando", "Jacksonville")),
    "GA": ("Georgia", ("Atlanta", "Savannah", "Macon", "Augusta")),
    "IL": ("Illinois", ("Chicago", "Peoria", "Rockford")),
    "KY": ("Kentucky", ("Louisville", "Lexington")),
    "LA": ("Louisiana", ("New Orleans", "Baton Rouge", "Shreveport")),
    "MA": ("Massachusetts", ("Boston", "Worcester")),
    "MD": ("Maryland", ("Baltimore", "Silver Spring")),
    "MI": ("Michigan", ("Detroit", "Grand Rapids", "Flint", "Lansing")),
    "MN": ("Minnesota", ("Minneapolis", "St. Paul", "Duluth")),
    "MO": ("Missouri", ("St. Louis", "Kansas City")),
    "NC": ("North Carolina", ("Charlotte", "Raleigh", "Durham", "Greensboro")),
    "NJ": ("New Jersey", ("Newark", "Camden", "Trenton")),
    "NM": ("New Mexico", ("Albuquerque", "Las Cruces", "Gallup")),
    "NV": ("Nevada", ("Las Vegas", "Reno")),
    "NY": ("New York", ("Buffalo", "Rochester", "Bronx", "Albany")),
    "OH": ("Ohio", ("Columbus", "Cleveland", "Toledo", "Dayton")),
    "OK": ("Oklahoma", ("Tulsa", "Oklahoma City")),
    "OR": ("Oregon", ("Portland", "Eugene", "Salem")),
    "PA": ("Pennsylvania", ("Philadelphia", "Pittsburgh", "Erie")),
    "SC": ("South Carolina", ("Columbia", "Charleston", "Greenville")),
    "TN": ("Tennessee", ("Nashville", "Memphis", "Knoxville", "Chattanooga")),
    "TX": ("Texas", ("Houston", "San Antonio", "El Paso", "Austin")),
    "VA": ("Virginia", ("Richmond", "Norfolk", "Roanoke")),
    "WA": ("Washington", ("Seattle", "Spokane", "Tacoma", "Yakima")),
    "WI": ("Wisconsin", ("Milwaukee", "Madison")),
}

# fmt: off
PLACE_HEADS = (
    "Cedar", "Willow", "Maple", "Stone", "Iron", "Clear", "Silver", "Fox", "Heron", "Aspen",
    "Juniper", "Granite", "Copper", "Laurel", "Hazel", "Birch", "Otter", "Sparrow", "Quarry",
    "Thistle", "Alder", "Falcon", "Tamarack", "Bramble"
)
PLACE_TAILS = (
    "brook", "ridge", "ford", "haven", "dale", "crest", "mont", "wick", "field", "hollow",
    "bend", "stead", "gate", "moor", "vale", "port"
)
CONCEPTS = (
    "Bright Path", "Open Door", "Northstar", "Harborlight", "Kinship", "Lantern",
    "Compass Rose", "Bridgeway", "Sunrise", "Riverbend", "Mosaic", "Cornerstone", "Keystone",
    "Beacon Point", "Tidewater", "Evergreen", "Wayfinder", "Safe Passage", "Firefly",
    "Steady Ground", "Hearthstone", "Bluebird", "Morning Star", "Common Thread", "Anchor Point",
    "Open Sky", "Crossroads", "Trailhead", "Two Rivers", "Greenleaf", "Lighthouse Bay",
    "Sweetwater",
)
HISPANIC_NAMES = (
    "Fundación Esperanza", "Centro de la Niñez", "Asociación Familias Unidas", "Casa Aurora",
    "Fundación Sueños Compartidos", "Comunidad Mañana", "Niños Primero", "Hermanas Unidas",
    "Casa Refugio Amanecer", "Centro Juvenil Sembrando Raíces", "Fundación Corazón Abierto"
)
#: A national foundation's grantees, by state.
FOUNDATION_STATES = (
    "CA", "TX", "NY", "IL", "WA", "OR", "MN", "MI", "OH", "PA", "MA", "NM", "AZ", "LA", "DC",
    "MD", "NJ", "MO", "WI", "CO",
)
SURNAMES = (
    "Whitcombe", "Okafor", "Lindqvist", "Marchetti", "Abernathy", "Delacroix", "Haruna"
)
# fmt: on

CURRICULA = ("Safe Choices", "Strong Futures", "Worth It", "Real Talk", "Bright Lines")

# --------------------------------------------------------------------------------------------
# Vocabulary: every {name} in an activity text is replaced by one of these at random, so the
# same activity reads differently from grant to grant.
# --------------------------------------------------------------------------------------------

VOCAB: dict[str, tuple[str, ...]] = {
    "csec": (
        "commercial sexual exploitation of children (CSEC)",
        "child sex trafficking",
        "domestic minor sex trafficking (DMST)",
        "the commercial sexual exploitation of youth",
        "sex trafficking of minors",
        "CSEC",
        "the sexual exploitation and trafficking of children",
    ),
    "victims": (
        "minor victims of sex trafficking",
        "youth survivors of commercial sexual exploitation",
        "children identified as victims of sex trafficking",
        "commercially sexually exploited children",
        "child and youth survivors of trafficking",
        "youth who have experienced commercial sexual exploitation",
        "minors identified as trafficking victims",
        "CSEC-identified youth",
        "sexually exploited youth",
        "youth survivors of sex trafficking",
    ),
    "youth": ("youth", "young people", "adolescents", "children and youth", "teens"),
    "atrisk": (
        "at-risk youth",
        "youth at elevated risk of exploitation",
        "middle school students",
        "high school students",
        "youth in foster care",
        "girls ages 10-17",
        "youth in out-of-school time programs",
        "students in grades 6-12",
        "youth on probation",
        "boys and young men of color",
    ),
    "le": (
        "law enforcement",
        "local police",
        "sheriff's deputies",
        "patrol officers",
        "detectives",
    ),
    "n": ("two", "three", "four", "five", "six", "eight", "12"),
    "beds": ("four", "six", "eight", "10", "12"),
    "curriculum": CURRICULA,
    "families": (
        "low-income families with children",
        "families with young children",
        "parents and caregivers",
        "families living in deep poverty",
        "single-parent households",
    ),
}

# --------------------------------------------------------------------------------------------
# Activities, by intended category. `clauses` are noun phrases that follow a verb such as
# "support" or "expand"; `titles` are short programme names; `details` are extra sentences.
# Hard cases from the codebook are included on purpose and labelled as the codebook says.
# --------------------------------------------------------------------------------------------


VERBS = ("support", "expand", "sustain", "strengthen", "continue", "enhance", "establish")


@dataclass(frozen=True)
class Activity:
    key: str
    category: str
    kinds: tuple[str, ...]
    titles: tuple[str, ...]
    clauses: tuple[str, ...]
    details: tuple[str, ...]
    verbs: tuple[str, ...] = VERBS


def _acts(category: str, *rows: tuple) -> list[Activity]:
    return [Activity(row[0], category, *row[1:]) for row in rows]


RESPONSE = _acts(
    "response",
    (
        "task_force",
        ("sheriff", "police", "prosecutor"),
        (
            "Anti-Human Trafficking Task Force",
            "Enhanced Collaborative Model Task Force to Combat Human Trafficking",
            "Regional Child Exploitation Task Force",
            "HT Task Force Operations",
        ),
        (
            "a multidisciplinary anti-trafficking task force that brings together {le}, "
            "prosecutors and victim service providers to identify, investigate and prosecute "
            "cases of {csec}",
            "the regional human trafficking task force and its proactive investigations of {csec}",
            "an Enhanced Collaborative Model (ECM) task force that identifies victims and "
            "investigates {csec}",
        ),
        (
            "The task force will conduct proactive operations, including online investigations, "
            "and will report arrests, case referrals and victims identified.",
            "A full-time task force coordinator will manage case deconfliction and information "
            "sharing among partner agencies.",
            "Investigators will receive advanced training on trafficking investigations "
            "involving minors.",
            "Monthly case reviews will track the number of minors identified and referred.",
        ),
    ),
    (
        "online_investigations",
        ("sheriff", "police"),
        ("Online Child Exploitation Investigations", "Internet Crimes Against Children Unit"),
        (
            "online undercover investigations of adults who solicit minors for commercial sex",
            "a digital forensics and online investigations unit focused on the exploitation of "
            "children",
            "undercover operations targeting buyers who seek sex with minors",
        ),
        (
            "Funds support two investigator positions, forensic software licenses and overtime "
            "for operations.",
            "Demand-reduction operations will lead to arrests of buyers and referrals of "
            "identified minors.",
            "The unit will process digital evidence for partner agencies across the region.",
        ),
    ),
    (
        "prosecution",
        ("prosecutor",),
        ("Trafficking Prosecution Unit", "Vertical Prosecution of Child Sex Trafficking Cases"),
        (
            "a dedicated assistant district attorney to prosecute cases of {csec}",
            "vertical prosecution of trafficking cases involving child victims",
            "prosecutor training on trial strategies in cases of {csec}",
        ),
        (
            "The prosecutor will handle cases from charging through sentencing and coordinate "
            "with victim-witness staff.",
            "Training topics include corroborating evidence, jury selection and enhanced "
            "penalties for exploiters.",
        ),
    ),
    (
        "screening",
        ("county", "nonprofit_youth", "health", "university"),
        ("CSEC Screening & Identification", "Victim Identification Screening Tool"),
        (
            "a validated screening tool to identify youth experiencing {csec} at child welfare "
            "intake",
            "screening of all youth entering juvenile detention for indicators of trafficking",
            "universal screening for signs of exploitation in pediatric emergency departments",
        ),
        (
            "Staff will be trained to administer the tool and to make mandated reports when a "
            "youth screens positive.",
            "Screening results will be entered into a shared database to count identified victims.",
        ),
    ),
    (
        "hotline",
        ("survivor_org", "nonprofit_youth"),
        ("24/7 Trafficking Hotline", "Tip Line and Text Line"),
        (
            "a 24-hour hotline and text line for reporting suspected trafficking of minors",
            "a statewide tip line that routes reports of suspected {csec} to law enforcement",
        ),
        ("Hotline advocates will take tips, screen calls and relay reports to investigators.",),
    ),
    (
        "recognize_training",
        ("nonprofit_ta", "survivor_org", "university", "ta_forprofit"),
        ("Know the Signs Training", "Trafficking Identification Training for Professionals"),
        (
            "training for hotel and motel staff to recognize and report signs of child sex "
            "trafficking",
            "training for emergency department clinicians to identify and report {victims}",
            "training for teachers and school nurses to recognize and report suspected "
            "exploitation of students",
            "trafficking prevention training for patrol officers on identifying victims during "
            "traffic stops",
            "training for child welfare caseworkers to identify children who are being trafficked",
        ),
        (
            "Trainings will reach an estimated 1,200 professionals per year.",
            "Participants will learn red flags, reporting protocols and how to contact the "
            "task force.",
        ),
    ),
    (
        "awareness",
        ("survivor_org", "nonprofit_ta"),
        ("Know the Signs Public Awareness Campaign", "Human Trafficking Awareness Campaign"),
        (
            "a public awareness campaign on the signs of {csec}, including billboards and "
            "transit ads",
            "community awareness events teaching residents to spot and report trafficking",
        ),
        ("Campaign materials will direct the public to the national hotline.",),
    ),
    (
        "data_prevalence",
        ("university", "ta_forprofit", "county"),
        ("CSEC Prevalence Study", "Trafficking Case Data System"),
        (
            "a prevalence study estimating the number of children exploited in {statename}",
            "a data system to count and track identified victims of {csec} across agencies",
            "annual data collection on trafficking cases, arrests and victims identified",
        ),
        (
            "Findings will be published in an annual report to the legislature.",
            "The system will standardize how agencies record victim counts.",
        ),
    ),
    (
        "forensic",
        ("cac",),
        ("Forensic Interviews", "Child Advocacy Center Forensic Services"),
        (
            "forensic interviews for children suspected of being trafficked",
            "forensic interviewing and multidisciplinary case review for suspected exploitation",
        ),
        ("Interviews are recorded and shared with prosecutors under an MOU.",),
    ),
    (
        "mdt",
        ("county", "cac"),
        ("CSEC Multidisciplinary Team", "MDT Response Protocol"),
        (
            "a multidisciplinary team (MDT) protocol to coordinate the response to identified "
            "cases of {csec}",
            "a CSEC response protocol linking child welfare, probation and law enforcement",
        ),
        ("The MDT will meet twice monthly to staff identified cases.",),
    ),
    (
        "penalties",
        ("survivor_org",),
        ("Legislative Advocacy on Trafficking Penalties",),
        ("advocacy for legislation increasing penalties for buyers of sex with minors",),
        ("The campaign will brief legislators on enhanced sentencing for exploiters.",),
    ),
    (
        "missing",
        ("nonprofit_ta", "sheriff"),
        ("Missing Youth Recovery", "Locating Missing and Exploited Children"),
        (
            "efforts to locate missing and runaway children who may be exploited",
            "a missing-child recovery unit that searches for children missing from care and "
            "screens them for trafficking",
        ),
        ("Recovered youth are screened and referred to the task force.",),
    ),
)

INTERVENTION = _acts(
    "intervention",
    (
        "safe_home",
        ("shelter", "survivor_org"),
        ("Safe Home for Survivors", "Specialized Residential Program", "Emergency Shelter Beds"),
        (
            "a safe home for girls identified as victims of sex trafficking",
            "{beds} emergency shelter beds for {victims}",
            "a specialized residential program for {victims}",
        ),
        (
            "The home provides 24/7 staffing, on-site schooling and trauma-informed care.",
            "Residents stay an average of nine months before stepping down to family or "
            "foster placements.",
        ),
    ),
    (
        "case_management",
        ("survivor_org", "nonprofit_youth", "shelter"),
        ("Survivor Case Management", "Comprehensive Services for Minor Victims"),
        (
            "comprehensive case management for {victims}",
            "intensive case management and service coordination for {victims}",
            "comprehensive services for {victims}, including housing, case management, mental "
            "health care and legal assistance",
        ),
        (
            "Case managers will carry caseloads of no more than 10 youth.",
            "Services are available 24 hours a day and follow youth across placements.",
            "The program expects to serve 60 identified youth per year.",
        ),
    ),
    (
        "therapy",
        ("health", "survivor_org"),
        ("Trauma Therapy for Survivors", "Specialized Mental Health Treatment"),
        (
            "trauma-focused cognitive behavioral therapy (TF-CBT) for {victims}",
            "specialized mental health treatment for {victims}",
        ),
        ("Clinicians will be certified in TF-CBT and supervised weekly.",),
    ),
    (
        "medical",
        ("health",),
        ("Medical Care for Trafficked Youth", "Survivor Health Clinic"),
        (
            "medical and sexual health care for {victims}",
            "a specialized clinic providing medical care to trafficked youth",
        ),
        ("The clinic offers same-day appointments for youth referred by advocates.",),
    ),
    (
        "legal",
        ("legal",),
        ("Legal Services for Survivors", "Vacatur and Expungement Project"),
        (
            "legal advocacy, vacatur and record expungement for survivors of child trafficking",
            "legal representation for {victims} in dependency, delinquency and immigration "
            "proceedings",
        ),
        ("Attorneys will also help survivors obtain T visas and crime victim compensation.",),
    ),
    (
        "safe_harbor",
        ("court", "county", "nonprofit_youth"),
        ("Safe Harbor Diversion", "Specialized Trafficking Court Docket"),
        (
            "a safe harbor diversion program that directs exploited youth to services instead of "
            "detention",
            "a specialized court docket for youth with trafficking histories",
        ),
        ("A dedicated advocate will accompany each youth through the docket.",),
    ),
    (
        "mentors",
        ("survivor_org",),
        ("Survivor Mentor Program", "Peer Support for Survivors"),
        (
            "survivor mentors for {victims}",
            "peer support groups for {victims} led by adult survivors",
        ),
        ("Mentors have lived experience and receive ongoing clinical supervision.",),
    ),
    (
        "drop_in",
        ("shelter", "survivor_org"),
        ("Drop-In Center for Exploited Youth",),
        ("a drop-in center for sexually exploited youth offering meals, showers and advocacy",),
        ("The center is open evenings and weekends.",),
    ),
    (
        "aftercare",
        ("survivor_org", "nonprofit_youth"),
        ("Aftercare and Reintegration", "Survivor Education & Employment Support"),
        (
            "aftercare and reintegration services for {victims} returning to their communities",
            "education and employment support for {victims}",
        ),
        ("Youth receive tutoring, job coaching and help re-enrolling in school.",),
    ),
    (
        "survivor_housing",
        ("housing", "shelter"),
        ("Transitional Housing for Survivors",),
        (
            "transitional housing for {victims}",
            "rental assistance and housing navigation for young survivors of sex trafficking",
        ),
        ("Units are scattered-site apartments with on-call support staff.",),
    ),
    (
        "crisis_advocates",
        ("survivor_org", "cac"),
        ("24/7 Crisis Response Advocates",),
        (
            "crisis advocates who meet {victims} at hospitals and police stations",
            "round-the-clock advocacy for children recovered from trafficking situations",
        ),
        ("Advocates respond within 90 minutes of a call from law enforcement.",),
    ),
)

RESILIENCE = _acts(
    "resilience-building",
    (
        "curriculum",
        ("school", "nonprofit_youth", "survivor_org"),
        ("Prevention Education in Schools", "Exploitation Prevention Curriculum"),
        (
            "the {curriculum} exploitation prevention curriculum in {n} middle and high schools",
            "a trafficking prevention-education curriculum for {atrisk}",
            "classroom prevention education on exploitation and grooming for {atrisk}",
        ),
        (
            "Facilitators deliver eight weekly sessions and a parent night.",
            "Pre- and post-surveys measure changes in knowledge and help-seeking.",
        ),
    ),
    (
        "healthy_relationships",
        ("nonprofit_youth", "school", "family"),
        ("Healthy Relationships Workshops", "Teen Healthy Relationships Program"),
        (
            "healthy-relationships workshops for {atrisk}",
            "dating violence and grooming awareness workshops for teens",
        ),
        ("Workshops are co-facilitated by trained peer leaders.",),
    ),
    (
        "online_safety",
        ("nonprofit_youth", "school"),
        ("Online Safety Education",),
        (
            "online safety education teaching {youth} to recognize online grooming and sextortion",
            "digital safety workshops for {atrisk} on social media and online recruitment",
        ),
        ("Lessons cover privacy settings, sextortion and where to get help.",),
    ),
    (
        "mentoring",
        ("mentoring", "nonprofit_youth"),
        ("Mentoring Opportunities for Youth", "One-to-One Mentoring", "Group Mentoring"),
        (
            "one-to-one mentoring for {atrisk}",
            "group mentoring for {atrisk}",
            "a mentoring program matching {atrisk} with trained adult volunteers",
        ),
        (
            "Matches meet weekly for at least 12 months.",
            "Mentors complete background checks and 10 hours of training.",
        ),
    ),
    (
        "life_skills",
        ("nonprofit_youth", "family"),
        ("Girls Empowerment Groups", "Life Skills for Youth", "Youth Empowerment Program"),
        (
            "life-skills and self-esteem groups for {atrisk}",
            "youth empowerment groups that build confidence and leadership for {atrisk}",
        ),
        ("Groups meet after school and during the summer.",),
    ),
    (
        "peer_educators",
        ("nonprofit_youth", "school"),
        ("Peer Educator Program",),
        ("a peer educator program that trains high school students to lead prevention workshops",),
        ("Peer educators are paid a stipend and reach younger students in their district.",),
    ),
    (
        "parent_education",
        ("family", "nonprofit_youth"),
        ("Parent Education on Grooming & Recruitment",),
        (
            "parent education sessions on grooming, online recruitment and how to talk with "
            "children about exploitation",
        ),
        ("Sessions are offered in English and Spanish.",),
    ),
    (
        "prep",
        ("nonprofit_youth", "health"),
        ("Personal Responsibility Education Program (PREP)",),
        (
            "evidence-based sexual health and healthy relationships education for {atrisk}",
            "adolescent health education (PREP) for {atrisk}",
        ),
        ("Adulthood preparation topics include healthy relationships and financial literacy.",),
    ),
    (
        "skills_abused",
        ("nonprofit_youth", "cac"),
        ("Coping Skills Groups",),
        ("coping and safety-skills groups for children who have experienced abuse",),
        ("Groups teach emotional regulation, body safety and help-seeking.",),
    ),
    (
        "evaluate_mentoring",
        ("university",),
        ("Evaluation of Youth Mentoring",),
        ("a randomized evaluation of a mentoring program for {atrisk}",),
        ("The evaluation will measure school engagement and risk behaviors over two years.",),
    ),
)

STRUCTURAL = _acts(
    "structural-prevention",
    (
        "rhy_shelter",
        ("shelter", "nonprofit_youth"),
        ("Basic Center Program", "Runaway & Homeless Youth Shelter", "Youth Emergency Shelter"),
        (
            "emergency shelter, crisis counseling and family reunification for runaway and "
            "homeless youth",
            "a basic center providing shelter and family mediation for runaway youth ages 12-17",
        ),
        ("The shelter accepts any youth in crisis, 24 hours a day.",),
    ),
    (
        "tlp",
        ("housing", "shelter"),
        ("Transitional Living Program", "TLP for Homeless Youth", "Youth Housing Program"),
        (
            "a transitional living program for homeless youth ages 16-21",
            "supportive housing for youth aging out of foster care",
            "rental assistance for young people experiencing homelessness",
        ),
        ("Residents set education and employment goals with a housing coach.",),
    ),
    (
        "family_housing",
        ("housing", "family"),
        ("Family Homelessness Prevention", "Rental Assistance for Families"),
        (
            "rental assistance and eviction prevention for {families}",
            "rapid rehousing for {families}",
        ),
        ("Families receive up to six months of rent and utility assistance.",),
    ),
    (
        "cash",
        ("family", "county", "advocacy"),
        (
            "Guaranteed Income Pilot",
            "Family Cash Assistance",
            "Free Tax Preparation & EITC Outreach",
        ),
        (
            "monthly unconditional cash payments to {families}",
            "a guaranteed income pilot for youth aging out of foster care",
            "free tax preparation and EITC and child tax credit outreach for {families}",
        ),
        ("Participants receive $500 a month for 18 months.",),
    ),
    (
        "youth_jobs",
        ("nonprofit_youth", "county"),
        ("Summer Youth Employment", "Youth Workforce Program"),
        (
            "paid summer jobs and job training for youth in low-income neighborhoods",
            "workforce training and paid internships for parenting young adults",
        ),
        ("Youth earn wages while building work experience and credentials.",),
    ),
    (
        "health_access",
        ("health", "school"),
        ("School-Based Health Center", "Children's Health Access"),
        (
            "a school-based health center providing primary and mental health care to all students",
            "outreach to enroll eligible children in Medicaid and CHIP",
        ),
        ("The center sees students regardless of insurance status.",),
    ),
    (
        "parent_sud",
        ("health", "family"),
        ("Family-Centered Recovery",),
        (
            "family-centered substance use treatment for parents of young children",
            "residential treatment for mothers with substance use disorders and their children",
        ),
        ("Children stay with their parent during treatment.",),
    ),
    (
        "education_access",
        ("school", "nonprofit_youth"),
        ("Dropout Prevention", "Early Childhood Education", "Attendance & Re-Engagement"),
        (
            "dropout prevention and credit recovery for high school students",
            "early childhood education slots for {families}",
            "attendance outreach to re-engage chronically absent students",
        ),
        ("Graduation coaches work with students and families.",),
    ),
    (
        "food",
        ("family", "nonprofit_youth"),
        ("Weekend Meals for Kids", "Summer Meals"),
        (
            "weekend and summer meal programs for children",
            "school food pantries for {families}",
        ),
        ("Meals are distributed at schools and community sites.",),
    ),
    (
        "family_preservation",
        ("family", "county"),
        ("Family Preservation Services", "Kinship Caregiver Support", "Family Resource Center"),
        (
            "in-home family preservation services to prevent foster care entry",
            "support for kinship caregivers raising relatives' children",
            "a neighborhood family resource center offering parenting support and concrete help "
            "to {families}",
            "foster care placement stability and child welfare reform",
        ),
        ("Family advocates connect parents to childcare, benefits and housing.",),
    ),
    (
        "equity",
        ("advocacy", "nonprofit_youth"),
        ("LGBTQ+ Youth Affirming Services", "Racial Equity in Child Welfare"),
        (
            "affirming services and family acceptance programs for LGBTQ+ youth",
            "work to reduce racial disparities in child welfare removals",
        ),
        ("The project is guided by a youth and parent advisory board.",),
    ),
    (
        "community",
        ("nonprofit_youth", "county"),
        ("Safe Neighborhoods & Recreation", "Community Youth Spaces"),
        (
            "free recreation and safe after-school spaces in neighborhoods with high child poverty",
            "community development that improves parks, lighting and safe routes to school",
        ),
        ("Programming is free and open to all neighborhood children.",),
    ),
    (
        "policy_advocacy",
        ("advocacy",),
        ("Children's Budget Advocacy", "State Child Tax Credit Campaign"),
        (
            "rights-based advocacy for a refundable state child tax credit",
            "analysis of the state budget for children's health, housing and education",
        ),
        ("The coalition publishes an annual children's budget.",),
    ),
    (
        "youth_voice",
        ("advocacy", "nonprofit_youth"),
        ("Youth Policy Council",),
        ("a youth advisory council that shapes county policy on housing and schools",),
        ("Youth members are paid for their time.",),
    ),
    (
        "abused_treatment",
        ("health", "cac"),
        ("Trauma Treatment for Children Exposed to Violence",),
        (
            "trauma therapy for children exposed to domestic violence",
            "mental health treatment and family support for children who were abused",
        ),
        ("Caregivers join sessions to strengthen the family.",),
    ),
)

OUT_OF_SCOPE = _acts(
    "out-of-scope",
    (
        "arts",
        ("arts",),
        ("Summer Concert Series", "Community Theater Season", "Public Art Installation"),
        (
            "a free summer outdoor concert series",
            "community theater productions for general audiences",
            "a public sculpture installation in the downtown arts district",
            "the spring exhibition of regional landscape painting",
        ),
        ("Performances are free and open to the public.",),
    ),
    (
        "seniors",
        ("seniors",),
        ("Home-Delivered Meals", "Fall Prevention for Older Adults", "Caregiver Respite"),
        (
            "home-delivered meals for homebound seniors",
            "fall-prevention classes for older adults",
            "respite for caregivers of adults living with dementia",
            "rides to medical appointments for seniors",
        ),
        ("Most participants are over 75 and live alone.",),
    ),
    (
        "environment",
        ("environment",),
        ("Watershed Restoration", "Urban Tree Canopy", "Community Solar Study"),
        (
            "restoration of {n} acres of riparian habitat",
            "an urban tree-planting campaign",
            "water quality monitoring along the river",
            "a community solar feasibility study",
        ),
        ("Volunteers will plant native species.",),
        ("support", "fund", "continue"),
    ),
    (
        "adult_workforce",
        ("adult_ed",),
        ("Adult Job Training", "CDL Training", "Reentry Employment"),
        (
            "commercial driver's license training for unemployed adults",
            "welding and machining certification for adult job seekers",
            "employment services for adults returning from prison",
        ),
        ("Graduates are placed with regional employers.",),
    ),
    (
        "adult_trafficking",
        ("survivor_org", "legal"),
        ("Services for Adult Victims of Labor Trafficking",),
        (
            "services for adult survivors of labor trafficking in agriculture",
            "legal services for adult foreign-national survivors of labor trafficking",
        ),
        ("Clients are adult farmworkers and domestic workers.",),
    ),
    (
        "capital",
        ("arts", "library"),
        ("Capital Campaign", "Building Renovation"),
        (
            "a capital campaign for a new library branch",
            "renovation of the historic opera house",
            "roof replacement at the community arts center",
        ),
        ("Construction is scheduled to finish within 18 months.",),
        ("support", "fund", "complete"),
    ),
    (
        "animals",
        ("animals",),
        ("Spay/Neuter Clinic",),
        ("a low-cost spay and neuter clinic",),
        ("The clinic serves 3,000 animals a year.",),
    ),
    (
        "veterans",
        ("veterans",),
        ("Veterans Peer Support",),
        ("peer support for veterans living with PTSD",),
        ("Peer specialists are veterans themselves.",),
    ),
    (
        "adult_ed",
        ("adult_ed",),
        ("Adult ESL Classes", "Adult Literacy"),
        ("English classes for adult immigrants", "adult literacy tutoring"),
        ("Classes meet in the evenings at the public library.",),
    ),
    (
        "adult_health",
        ("health",),
        ("Cancer Screening for Adults",),
        ("free cancer screening for uninsured adults",),
        ("Screenings are offered at mobile clinics.",),
    ),
)

ACTIVITIES: dict[str, list[Activity]] = {
    "response": RESPONSE,
    "intervention": INTERVENTION,
    "resilience-building": RESILIENCE,
    "structural-prevention": STRUCTURAL,
    "out-of-scope": OUT_OF_SCOPE,
}

#: Kinds of recipient that may receive a grant with no programme content.
VAGUE_KINDS = (
    "nonprofit_youth",
    "survivor_org",
    "family",
    "shelter",
    "mentoring",
    "county",
    "advocacy",
)

#: Sentences with category-specific context, used in federal abstracts.
CONTEXT = {
    "response": (
        "Cases of {csec} in the region are under-identified and rarely prosecuted.",
        "Local agencies lack a coordinated way to find and investigate trafficking of minors.",
        "Tips about {csec} have tripled since 2016, outpacing investigative capacity.",
    ),
    "intervention": (
        "Survivors of {csec} in the service area wait months for specialized services.",
        "There are no specialized placements for identified child victims in the region.",
        "Identified {victims} are often placed in detention for lack of alternatives.",
    ),
    "resilience-building": (
        "Many {atrisk} in the service area have never received prevention education.",
        "Local youth report frequent contact with strangers online.",
        "Few {youth} in the region have access to a caring adult outside the home.",
    ),
    "structural-prevention": (
        "Family poverty, housing instability and school disengagement are high in the area.",
        "One in four children in the service area lives below the poverty line.",
        "Rents in the region have risen faster than wages for a decade.",
    ),
    "out-of-scope": ("Demand for these services has grown steadily.",),
}

PARTNERS = {
    "response": "{le}, the district attorney's office, the child advocacy center and victim "
    "service agencies",
    "intervention": "the county child welfare agency, juvenile probation and local healthcare "
    "providers",
    "resilience-building": "local school districts, after-school providers and youth-serving "
    "organizations",
    "structural-prevention": "the housing authority, workforce boards, community health centers "
    "and family resource centers",
    "out-of-scope": "community-based organizations",
}

FEDERAL_BOILERPLATE = (
    "Performance measures will be reported semiannually.",
    "An external evaluator will assess implementation fidelity and outcomes.",
    "The project will prioritize rural and underserved communities, including tribal communities.",
    "All activities will be trauma-informed, culturally responsive and developmentally "
    "appropriate.",
    "Project staff will participate in training and technical assistance (TTA) offered by the "
    "funding agency.",
    "Subawards will be made to community-based organizations with demonstrated experience.",
    "The project will leverage existing partnerships and memoranda of understanding (MOUs).",
    "A sustainability plan will be developed in year one.",
    "A project director (1.0 FTE) and a project coordinator (0.5 FTE) will lead the work.",
    "Goals, objectives and deliverables are described in the project narrative.",
    "The applicant has operated in the service area for more than 20 years.",
)
STATE_ABBREVIATIONS = (
    ("human trafficking", "HT"),
    ("case management", "CM"),
    ("commercial sexual exploitation of children", "CSEC"),
    ("services", "svcs"),
    (" and ", " & "),
    (" with ", " w/ "),
    ("multidisciplinary team", "MDT"),
    ("transitional living program", "TLP"),
    ("technical assistance", "TA"),
    ("youth", "yth"),
)

# --------------------------------------------------------------------------------------------
# Funders: how many grants each file holds and the mix of intended categories (by count).
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Funder:
    key: str
    name: str
    file: str
    count: int
    mix: dict[str, float]  # category (or SPLIT) -> weight by count
    states: tuple[str, ...]
    low: int  # amount range in dollars
    high: int
    #: category -> space-separated activity keys this funder plausibly funds (not listed: any).
    only: dict[str, str] = field(default_factory=dict)


DOJ = Funder(
    key="doj",
    name="Department of Justice",
    file=USASPENDING_FILE,
    count=150,
    mix={
        "response": 40,
        "intervention": 37,
        "resilience-building": 9,
        "structural-prevention": 3,
        SPLIT: 5,
        "unclassified": 3,
        "out-of-scope": 3,
    },
    states=tuple(STATES),
    low=150_000,
    high=2_000_000,
    only={
        "resilience-building": "mentoring curriculum life_skills online_safety peer_educators "
        "evaluate_mentoring skills_abused",
        "structural-prevention": "youth_jobs community education_access youth_voice "
        "abused_treatment family_preservation",
        "out-of-scope": "adult_trafficking",
    },
)
HHS = Funder(
    key="hhs",
    name="Department of Health and Human Services",
    file=USASPENDING_FILE,
    count=105,
    mix={
        "response": 8,
        "intervention": 26,
        "resilience-building": 30,
        "structural-prevention": 26,
        SPLIT: 5,
        "unclassified": 5,
    },
    states=tuple(STATES),
    low=150_000,
    high=1_200_000,
    only={
        "response": "recognize_training screening data_prevalence awareness",
        "resilience-building": "prep healthy_relationships mentoring life_skills online_safety "
        "curriculum parent_education",
        "structural-prevention": "rhy_shelter tlp family_preservation family_housing parent_sud "
        "health_access equity",
    },
)
STATE_DCF = Funder(
    key="dcf",
    name="Department of Children and Families",
    file=STATE_FILE,
    count=232,
    mix={
        "response": 26,
        "intervention": 44,
        "resilience-building": 14,
        "structural-prevention": 7,
        SPLIT: 4,
        "unclassified": 5,
    },
    states=("CO",),
    low=10_000,
    high=500_000,
)
FOUNDATION = Funder(
    key="harbor",
    name="Harbor & Pine Foundation",
    file=FOUNDATION_FILE,
    count=250,
    mix={
        "response": 7,
        "intervention": 16,
        "resilience-building": 13,
        "structural-prevention": 11,
        SPLIT: 3,
        "unclassified": 10,
        "out-of-scope": 40,
    },
    states=FOUNDATION_STATES,
    low=5_000,
    high=250_000,
)
MAGNOLIA = Funder(
    key="magnolia",
    name="Magnolia Children's Trust",
    file=GIVING360_FILE,
    count=150,
    mix={
        "response": 8,
        "intervention": 28,
        "resilience-building": 27,
        "structural-prevention": 18,
        SPLIT: 4,
        "unclassified": 9,
        "out-of-scope": 6,
    },
    states=("GA", "SC", "NC", "TN", "AL", "FL", "VA", "KY"),
    low=5_000,
    high=250_000,
    only={"out-of-scope": "arts environment capital adult_ed"},
)
FUNDERS = (DOJ, HHS, STATE_DCF, FOUNDATION, MAGNOLIA)

SPLIT_PAIRS = (
    ("intervention", "resilience-building"),
    ("response", "intervention"),
    ("intervention", "structural-prevention"),
    ("structural-prevention", "resilience-building"),
    ("response", "resilience-building"),
)

# --------------------------------------------------------------------------------------------
# Recipients
# --------------------------------------------------------------------------------------------


@dataclass
class Recipient:
    name: str
    kind: str
    state: str
    city: str
    county: str
    ein: str


def _place_name(rng: random.Random) -> str:
    return rng.choice(PLACE_HEADS) + rng.choice(PLACE_TAILS)


def _recipient_name(kind: str, place: str, rng: random.Random, spanish: bool) -> str:
    """An invented organisation name that says what kind of body it is (provider type)."""
    concept = rng.choice(CONCEPTS)
    if spanish and kind in ("nonprofit_youth", "family", "shelter", "survivor_org", "health"):
        return rng.choice(HISPANIC_NAMES) + rng.choice(("", f" de {place}"))
    names = {
        "sheriff": (f"{place} County Sheriff's Office",),
        "police": (f"City of {place} Police Department", f"{place} Police Department"),
        "prosecutor": (
            f"{place} County District Attorney's Office",
            f"Office of the {place} County Prosecutor",
        ),
        "county": (
            f"{place} County Department of Human Services",
            f"County of {place}",
            f"{place} County Juvenile Services",
        ),
        "court": (f"{place} County Juvenile Court", f"{place} Judicial District"),
        "cac": (f"{place} County Children's Advocacy Center", f"{concept} Child Advocacy Center"),
        "school": (f"{place} Unified School District", f"{place} County Public Schools"),
        "university": (f"{place} State University", f"University of {place}", f"{concept} College"),
        "shelter": (f"{concept} House", f"{concept} Youth Shelter", f"{place} Youth Shelter, Inc."),
        "nonprofit_youth": (
            f"{concept} Youth Services",
            f"{concept} Youth Alliance",
            f"{place} Youth Collaborative",
            f"{concept} Center for Youth, Inc.",
        ),
        "mentoring": (f"{concept} Mentoring Partnership", f"{place} Mentors, Inc."),
        "family": (
            f"{place} Family Resource Center",
            f"{concept} Family Services",
            f"{concept} Family Network",
        ),
        "housing": (f"{place} Housing Coalition", f"{concept} Housing Partners"),
        "health": (
            f"{place} Community Health Center",
            f"{concept} Behavioral Health",
            f"{concept} Health Clinic",
        ),
        "legal": (f"{concept} Legal Aid", f"{place} Youth Law Center"),
        "advocacy": (
            f"{concept} Children's Policy Institute",
            f"Kids First {place}",
            f"{place} Children's Budget Coalition",
        ),
        "survivor_org": (
            f"{concept} Anti-Trafficking Coalition",
            f"{concept} Survivor Network",
            f"{concept} Freedom Project",
        ),
        "nonprofit_ta": (f"{concept} Training Institute", f"National {concept} Center"),
        "ta_forprofit": (
            f"{rng.choice(SURNAMES)} & {rng.choice(SURNAMES)} Consulting Group, LLC",
            f"{concept} Research Associates, Inc.",
        ),
        "arts": (
            f"{place} Symphony Orchestra",
            f"{place} Community Theater",
            f"{concept} Arts Center",
            f"{place} Museum of Art",
        ),
        "seniors": (f"{place} Senior Center", f"{place} County Council on Aging"),
        "environment": (
            f"{place} Watershed Alliance",
            f"Friends of {concept} Preserve",
            f"{place} Parks Conservancy",
        ),
        "adult_ed": (f"{place} Adult Learning Center", f"{concept} Workforce Institute"),
        "library": (f"Friends of the {place} Public Library",),
        "animals": (f"{place} Humane Society",),
        "veterans": (f"{place} Veterans Alliance",),
    }
    return rng.choice(names[kind])


@dataclass
class RecipientPool:
    """Recipients are reused across years, as real portfolios fund the same grantees again."""

    rng: random.Random
    spanish_share: float = 0.0
    by_kind: dict[tuple[str, tuple[str, ...]], list[Recipient]] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)

    def get(self, kind: str, states: Sequence[str]) -> Recipient:
        known = self.by_kind.setdefault((kind, tuple(states)), [])
        if known and self.rng.random() < 0.45:
            return self.rng.choice(known)
        spanish = self.rng.random() < self.spanish_share
        place = _place_name(self.rng)
        name = _recipient_name(kind, place, self.rng, spanish)
        while name in self.names:
            place = _place_name(self.rng)
            name = _recipient_name(kind, place, self.rng, spanish)
        self.names.add(name)
        state = self.rng.choice(states)
        recipient = Recipient(
            name,
            kind,
            state,
            self.rng.choice(STATES[state][1]),
            f"{place} County",
            f"00{self.rng.randrange(10**6, 10**7)}",  # EIN prefix 00 is never issued
        )
        known.append(recipient)
        return recipient


# --------------------------------------------------------------------------------------------
# Grants
# --------------------------------------------------------------------------------------------


@dataclass
class Grant:
    funder: Funder
    year: int
    category: str  # intended primary category
    secondary: str | None
    activities: list[Activity]  # empty for a vague grant
    recipient: Recipient
    amount: Decimal
    # Filled by the writer: where a person finds the row (sheet, spreadsheet row number).
    sheet: str | None = None
    row: int | None = None


def fill(text: str, rng: random.Random, **known: str) -> str:
    """Replace each {name} by a random choice from VOCAB (or a given value)."""

    def pick(match: re.Match) -> str:
        name = match.group(1)
        return known[name] if name in known else rng.choice(VOCAB[name])

    return re.sub(r"\{(\w+)\}", pick, text)


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _pick_year(rng: random.Random) -> int:
    # Portfolios grow a little over the years.
    return rng.choices(YEARS, weights=(8, 9, 10, 10, 11, 12, 12, 11))[0]


def _activity(funder: Funder, category: str, rng: random.Random) -> Activity:
    allowed = funder.only.get(category)
    choices = [a for a in ACTIVITIES[category] if allowed is None or a.key in allowed.split()]
    return rng.choice(choices)


def _activities_for(
    funder: Funder, drawn: str, rng: random.Random
) -> tuple[list[Activity], str, str | None]:
    """The activities a grant funds, its primary and (for two components) secondary category."""
    if drawn == SPLIT:
        first, second = rng.choice(SPLIT_PAIRS)
        return [_activity(funder, first, rng), _activity(funder, second, rng)], first, second
    if drawn == "unclassified":
        return [], drawn, None
    return [_activity(funder, drawn, rng)], drawn, None


#: Skews amounts within a funder's range: an exponent below 1 favours larger grants.
AMOUNT_SKEW = {
    "response": 0.75,
    "intervention": 0.85,
    "resilience-building": 1.3,
    "structural-prevention": 1.4,
    "unclassified": 1.6,
    "out-of-scope": 1.2,
}


def _amount(funder: Funder, category: str, rng: random.Random) -> Decimal:
    """A log-scale amount in the funder's range; exact to the cent for most federal awards."""
    low, high = funder.low, funder.high
    value = low * (high / low) ** (rng.random() ** AMOUNT_SKEW[category])
    if funder.file == USASPENDING_FILE:
        if rng.random() < 0.6:
            return Decimal(int(value * 100)) / 100
        return Decimal(round(value / 1000) * 1000)
    if funder.file == STATE_FILE:
        step = rng.choice((1, 250, 500, 1000))
        cents = Decimal(rng.randrange(100)) / 100 if step == 1 and rng.random() < 0.5 else 0
        return Decimal(round(value / step) * step) + cents
    step = rng.choice((500, 1000, 2500, 5000))
    return Decimal(max(low, round(value / step) * step))


def build_grants(funder: Funder, pool: RecipientPool, rng: random.Random) -> list[Grant]:
    grants = []
    for _ in range(funder.count):
        drawn = _weighted(rng, funder.mix)
        activities, category, secondary = _activities_for(funder, drawn, rng)
        kind = rng.choice(activities[0].kinds) if activities else rng.choice(VAGUE_KINDS)
        recipient = pool.get(kind, funder.states)
        grants.append(
            Grant(
                funder,
                _pick_year(rng),
                category,
                secondary,
                activities,
                recipient,
                _amount(funder, category, rng),
            )
        )
    grants.sort(key=lambda g: (g.year, g.recipient.state, g.recipient.name))
    return grants


# --------------------------------------------------------------------------------------------
# Text styles
# --------------------------------------------------------------------------------------------


def _place_phrase(grant: Grant, rng: random.Random) -> str:
    r = grant.recipient
    state_name = STATES[r.state][0]
    options = (
        "",
        "",
        f" in {r.city}",
        f" across {state_name}",
        f" in rural {state_name}",
        f" in the greater {r.city} area",
        f" in {rng.choice(VOCAB['n'])} counties",
    )
    return rng.choice(options)


def _clause(activity: Activity, grant: Grant, rng: random.Random) -> str:
    return fill(rng.choice(activity.clauses), rng, statename=STATES[grant.recipient.state][0])


def _main_sentence(grant: Grant, rng: random.Random, subject: str) -> str:
    """'<subject> will <verb> <clause>[ and <clause 2>]<place>.' naming each component."""
    first = _clause(grant.activities[0], grant, rng)
    verb = rng.choice(grant.activities[0].verbs)
    place = _place_phrase(grant, rng)
    if STATES[grant.recipient.state][0] in first:  # the clause already names the state
        place = ""
    text = f"{subject} {verb} {first}{place}"
    if len(grant.activities) == 2:
        second = _clause(grant.activities[1], grant, rng)
        joiner = rng.choice(
            (
                f" and {second}",
                f". In addition, the project will {rng.choice(grant.activities[1].verbs)} {second}",
                f", as well as {second}",
            )
        )
        text += joiner
    return text + "."


def _split_amounts(grant: Grant, rng: random.Random) -> str:
    """A parenthesis naming each component's share, as some grant letters do."""
    share = Decimal(rng.choice((60, 65, 70, 75, 80))) / 100
    first = (grant.amount * share).quantize(Decimal(1))
    second = grant.amount.quantize(Decimal(1)) - first
    return f" (${first:,} for the first component and ${second:,} for the second)"


def _glue_words(text: str, rng: random.Random) -> str:
    """Drop one space between two words, a quirk of real federal abstracts ('AREASTO')."""
    spaces = [m.start() for m in re.finditer(r"(?<=[A-Z]) (?=[A-Z])", text)]
    if not spaces:
        return text
    at = rng.choice(spaces)
    return text[:at] + text[at + 1 :]


def _initials(name: str) -> str:
    """'TWO RIVERS YOUTH SERVICES' -> 'TRYS', as abstracts abbreviate the applicant."""
    words = re.findall(r"[A-Z][A-Z']*", name)
    return "".join(word[0] for word in words if word not in ("OF", "THE", "AND"))


def federal_description(grant: Grant, rng: random.Random) -> str:
    """An ALL-CAPS USAspending description: a short title for older awards, else an abstract."""
    name = grant.recipient.name.upper()
    if not grant.activities:
        return rng.choice(
            (
                f"FY {grant.year} NON-COMPETING CONTINUATION",
                "SUPPLEMENTAL FUNDING FOR PREVIOUSLY APPROVED PROJECT",
                f"{name} - PROGRAM SUPPORT",
                f"PROJECT {rng.choice(CONCEPTS).upper()}",
                "CONTINUATION OF PROJECT ACTIVITIES - YEAR 3",
            )
        )
    if grant.year <= 2020 and rng.random() < 0.6:
        titles = " AND ".join(rng.choice(a.titles) for a in grant.activities).upper()
        return rng.choice(
            (
                f"{name} - {titles}",
                f"FY {grant.year} {titles}",
                titles,
                f"{titles} ({grant.recipient.state})",
            )
        )
    primary = grant.activities[0]
    opener = rng.choice(
        (
            f"{name} WILL USE THIS AWARD TO",
            "THE PURPOSE OF THIS PROJECT IS TO",
            f"WITH THIS FUNDING, {name} WILL",
            f"{name} PROPOSES TO",
            f"{name} ({_initials(name)}) WILL",
            "THIS PROJECT WILL",
        )
    )
    paragraphs = []
    first = _main_sentence(grant, rng, opener)
    if rng.random() < 0.5:
        first = fill(rng.choice(CONTEXT[primary.category]), rng) + " " + first
    paragraphs.append(first)
    details = [d for a in grant.activities for d in a.details]
    paragraphs.append(" ".join(rng.sample(details, k=min(len(details), rng.randint(1, 3)))))
    closing = []
    if rng.random() < 0.7:
        lead = rng.choice(
            (
                "Partners include",
                "Project partners include",
                "The applicant will collaborate with",
                "Key partners are",
            )
        )
        closing.append(f"{lead} {fill(PARTNERS[primary.category], rng)}.")
    closing += rng.sample(FEDERAL_BOILERPLATE, k=rng.randint(1, 3))
    if rng.random() < 0.7:
        months = rng.choice((12, 24, 36, 36, 48))
        closing.append(
            rng.choice(
                (
                    f"Activities will be completed over the {months}-month project period.",
                    f"The period of performance is {months} months.",
                    f"Over {months} months, the project will track its performance measures.",
                )
            )
        )
    rng.shuffle(closing)
    paragraphs.append(" ".join(closing))
    separator = "\n\n" if rng.random() < 0.35 else " "
    text = separator.join(paragraphs).upper()
    if grant.funder is DOJ and rng.random() < 0.5:
        text += separator + "CA/NCF"
    if rng.random() < 0.2:
        text = _glue_words(text, rng)
    return text


def _sentence_case(text: str) -> str:
    """Upper-case the first letter only (str.capitalize would lower-case 'CSEC')."""
    return text[:1].upper() + text[1:]


def _abbreviate(text: str, rng: random.Random) -> str:
    for long, short in STATE_ABBREVIATIONS:
        chance = 0.08 if short == "yth" else 0.35
        if long in text and short not in text and rng.random() < chance:
            text = text.replace(long, short)
    return text


def state_description(grant: Grant, rng: random.Random) -> str:
    """A state workbook cell: terse, mixed case, abbreviations."""
    if not grant.activities:
        return rng.choice(
            (
                "Continuation - see contract",
                "Prevention",
                "Program support",
                "Year 3 renewal (no change in scope)",
                "Operating support",
                "Per legislative appropriation",
                "Youth programs",
            )
        )
    primary = grant.activities[0]
    forms: list[Callable[[], str]] = [
        lambda: _sentence_case(
            _main_sentence(grant, rng, "Funds will").removeprefix("Funds will ")
        ),
        lambda: f"{rng.choice(primary.titles)} - {grant.recipient.city}",
        lambda: f"{rng.choice(primary.titles)}: {_clause(primary, grant, rng)}",
        lambda: _main_sentence(grant, rng, "Contractor will") + " " + rng.choice(primary.details),
    ]
    if len(grant.activities) == 2:
        forms = [forms[0], forms[3]]
    text = _abbreviate(rng.choice(forms)(), rng)
    if grant.amount < 0:
        text = f"Recovery of unexpended FY{grant.year - 1} funds. {text}"
    return text


def foundation_purpose(grant: Grant, rng: random.Random) -> str:
    """A foundation grant list's purpose line: short, 'Support for ...'."""
    if not grant.activities:
        return rng.choice(
            (
                "General operating support.",
                "General support.",
                "Unrestricted operating support.",
                "Support for the organization's mission.",
                "Capacity-building support.",
                "Bridge funding.",
                "Support for ongoing work.",
            )
        )
    joined = " and ".join(_clause(a, grant, rng) for a in grant.activities)
    place = _place_phrase(grant, rng)
    forms = [
        f"Support for {joined}.",
        f"To {rng.choice(grant.activities[0].verbs)} {joined}{place}.",
        f"Support for {joined}{place}.",
    ]
    if len(grant.activities) == 1:
        forms.append(f"Support for the {rng.choice(grant.activities[0].titles)} program{place}.")
    text = rng.choice(forms)
    if len(text) > 150 and rng.random() < 0.15:
        text = text[:140].rstrip() + "…"  # as printed on the foundation's website
    return text


def giving360_title_and_description(grant: Grant, rng: random.Random) -> tuple[str, str]:
    name = grant.recipient.name
    amount = f"${grant.amount:,.0f}"
    if not grant.activities:
        return f"A grant to {name}", rng.choice(
            (
                f"An unrestricted grant of {amount} towards core costs.",
                "Core funding (year 2 of 3).",
                f"A grant of {amount} to support the organisation's work.",
                "Capacity building.",
            )
        )
    primary = grant.activities[0]
    title = rng.choice((f"A grant to {name}", rng.choice(primary.titles)))
    body = _main_sentence(grant, rng, f"{name} will")
    if len(grant.activities) == 2 and rng.random() < 0.5:
        body = body[:-1] + _split_amounts(grant, rng) + "."
    lead = rng.choice(
        (
            f"A restricted grant of {amount} towards this work.",
            f"A {rng.choice(('two', 'three'))}-year grant of {amount}.",
            "",
        )
    )
    detail = rng.choice(primary.details) if rng.random() < 0.6 else ""
    return title, " ".join(part for part in (lead, body, detail) if part)


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------

DOJ_CFDA = {
    "response": ("16.320", "16.543", "16.582"),
    "intervention": ("16.320", "16.582"),
    "resilience-building": ("16.726", "16.540"),
    "structural-prevention": ("16.540",),
    "out-of-scope": ("16.320",),
    "unclassified": ("16.320", "16.540", "16.726"),
}
HHS_CFDA = {
    "response": ("93.598",),
    "intervention": ("93.598",),
    "resilience-building": ("93.092",),
    "structural-prevention": ("93.623", "93.550", "93.557", "93.670"),
    "unclassified": ("93.623", "93.092", "93.598"),
}
HHS_PREFIX = {
    "93.598": "90ZV",
    "93.092": "90AP",
    "93.623": "90CY",
    "93.550": "90CX",
    "93.557": "90YO",
    "93.670": "90CA",
}


def _federal_award_id(grant: Grant, cfda: str, rng: random.Random) -> str:
    fy = grant.year
    if grant.funder is HHS:
        return f"{HHS_PREFIX[cfda]}{rng.randrange(1000, 10000)}"
    office = "VT" if cfda in ("16.320", "16.582") else ("MC" if cfda == "16.543" else "JU")
    if fy <= 2020:
        return (
            f"{fy}-{office}-{rng.choice(('BX', 'FX', 'GX'))}-{rng.choice(('K', '0'))}"
            f"{rng.randrange(1, 1000):03d}"
        )
    agency = "15POVC" if office == "VT" else "15PJDP"
    suffix = {"VT": "HT", "MC": "MECP", "JU": rng.choice(("MENT", "YB", "MU"))}[office]
    return f"{agency}-{fy % 100}-GG-{rng.randrange(1, 100000):05d}-{suffix}"


def _federal_dates(grant: Grant, rng: random.Random) -> tuple[dt.date, dt.date]:
    """A start date inside the federal fiscal year (Oct-Sep) and an end 1-4 years later."""
    fy = grant.year
    start = rng.choice((dt.date(fy - 1, 10, 1), dt.date(fy, 1, 1), dt.date(fy - 1, 10, 1)))
    if rng.random() < 0.25:
        start = dt.date(fy - 1, 10, 1) + dt.timedelta(days=rng.randrange(0, 360))
    years = rng.choice((1, 2, 3, 3, 4))
    end = dt.date(start.year + years, start.month, 1) - dt.timedelta(days=1)
    return start, end


def _federal_amount_text(amount: Decimal) -> str:
    """How the USAspending API download writes an amount: '750000.0', '1249652.37'."""
    text = f"{amount:.2f}"
    return text[:-1] if text.endswith("0") else text


def write_usaspending(grants: list[Grant], path: Path, rng: random.Random) -> None:
    """One row per award; a few zero and negative (de-obligated) totals."""
    header = [
        "internal_id",
        "Award ID",
        "Recipient Name",
        "Start Date",
        "End Date",
        "Award Amount",
        "Awarding Agency",
        "Awarding Sub Agency",
        "CFDA Number",
        "Description",
        "Place of Performance State Code",
        "agency_slug",
        "generated_internal_id",
    ]
    zero = set(rng.sample(range(len(grants)), k=6))
    negative = set(rng.sample(sorted(set(range(len(grants))) - zero), k=3))
    rows = []
    award_ids: set[str] = set()
    for index, grant in enumerate(grants):
        if index in zero:
            grant.amount = Decimal("0.00")
        elif index in negative:
            grant.amount = -Decimal(rng.randrange(50_000, 6_000_000)) / 100
        is_doj = grant.funder is DOJ
        cfda = rng.choice((DOJ_CFDA if is_doj else HHS_CFDA)[grant.category])
        award_id = _federal_award_id(grant, cfda, rng)
        while award_id in award_ids:
            award_id = _federal_award_id(grant, cfda, rng)
        award_ids.add(award_id)
        start, end = _federal_dates(grant, rng)
        rows.append(
            [
                str(rng.randrange(200_000_000, 240_000_000)),
                award_id,
                grant.recipient.name.upper(),
                start.isoformat(),
                end.isoformat(),
                _federal_amount_text(grant.amount),
                grant.funder.name,
                "Office of Justice Programs"
                if is_doj
                else "Administration for Children and Families",
                cfda,
                federal_description(grant, rng),
                grant.recipient.state,
                "department-of-justice" if is_doj else "department-of-health-and-human-services",
                f"ASST_NON_{award_id}_{'015' if is_doj else '075'}",
            ]
        )
    # USAspending sorts the download by amount, largest first.
    order = sorted(range(len(rows)), key=lambda i: (-grants[i].amount, rows[i][1]))
    for position, i in enumerate(order):
        grants[i].row = position + 2
    _write_csv(path, header, [rows[i] for i in order], newline="\n")


def _write_csv(
    path: Path, header: list[str], rows: list[list[str]], newline: str, bom: bool = False
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(("\ufeff" if bom else "").encode() + buffer.getvalue().encode("utf-8"))


def _money_text(amount: Decimal) -> str:
    return f"${amount:,.0f}" if amount == amount.to_integral() else f"${amount:,.2f}"


FOUNDATION_PROGRAMS = {
    "response": ("Safe Futures for Youth",),
    "intervention": ("Safe Futures for Youth",),
    "resilience-building": ("Youth Development", "Safe Futures for Youth"),
    "structural-prevention": ("Children & Families", "Education", "Community Vitality"),
    "unclassified": (
        "Discretionary",
        "Children & Families",
        "Safe Futures for Youth",
        "Community Vitality",
    ),
}
FOUNDATION_OOS_PROGRAMS = {
    "arts": "Arts & Culture",
    "capital": "Community Vitality",
    "seniors": "Healthy Aging",
    "environment": "Environment",
    "animals": "Community Vitality",
    "veterans": "Community Vitality",
    "adult_workforce": "Economic Opportunity",
    "adult_ed": "Economic Opportunity",
    "adult_trafficking": "Human Rights",
    "adult_health": "Healthy Aging",
}


def write_foundation_csv(grants: list[Grant], path: Path, rng: random.Random) -> None:
    """A foundation's whole grant history, newest first, as exported from its website."""
    header = [
        "Grant Year",
        "Grantee",
        "Location",
        "Program Area",
        "Purpose",
        "Amount",
        "Term",
        "Funder",
    ]
    ordered = sorted(grants, key=lambda g: (-g.year, g.recipient.name))
    rows = []
    for position, grant in enumerate(ordered):
        grant.row = position + 2
        if grant.category == "out-of-scope":
            program = FOUNDATION_OOS_PROGRAMS[grant.activities[0].key]
        else:
            program = rng.choice(FOUNDATION_PROGRAMS[grant.category])
        location = f"{grant.recipient.city}, {grant.recipient.state}" if rng.random() > 0.03 else ""
        rows.append(
            [
                str(grant.year),
                grant.recipient.name,
                location,
                program,
                foundation_purpose(grant, rng),
                _money_text(grant.amount),
                f"{rng.choice((12, 12, 12, 24, 24, 36))} months",
                grant.funder.name,
            ]
        )
    _write_csv(path, header, rows, newline="\r\n")


GIVING360_PROGRAMMES = {
    "response": ("Protecting Children from Exploitation",),
    "intervention": ("Protecting Children from Exploitation",),
    "resilience-building": ("Youth Voice & Leadership", "Protecting Children from Exploitation"),
    "structural-prevention": ("Thriving Families",),
    "unclassified": ("Responsive Grants", "Capacity Building"),
    "out-of-scope": ("Responsive Grants",),
}


def write_360giving(grants: list[Grant], path: Path, rng: random.Random) -> None:
    """360Giving flat format (the standard column titles), currency USD, UTF-8 with a BOM."""
    header = [
        "Identifier",
        "Title",
        "Description",
        "Currency",
        "Amount Awarded",
        "Award Date",
        "Planned Dates:Duration (months)",
        "Recipient Org:Identifier",
        "Recipient Org:Name",
        "Funding Org:Identifier",
        "Funding Org:Name",
        "Grant Programme:Title",
        "Beneficiary Location:Name",
    ]
    rows = []
    for position, grant in enumerate(grants):
        grant.row = position + 2
        title, description = giving360_title_and_description(grant, rng)
        # Published in autumn 2025: the last year stops at September.
        days = 273 if grant.year == YEARS[-1] else 365
        award_date = dt.date(grant.year, 1, 1) + dt.timedelta(days=rng.randrange(0, days))
        r = grant.recipient
        location = STATES[r.state][0] if rng.random() < 0.7 else f"{r.city}, {STATES[r.state][0]}"
        rows.append(
            [
                f"360G-MCT-{grant.year}-{position + 1:04d}",
                title,
                description,
                "USD",
                f"{grant.amount:.0f}"
                if grant.amount == grant.amount.to_integral()
                else f"{grant.amount:.2f}",
                award_date.isoformat(),
                str(rng.choice((12, 24, 36))),
                f"US-EIN-{r.ein}",
                r.name,
                "US-EIN-000417203",
                grant.funder.name,
                rng.choice(GIVING360_PROGRAMMES[grant.category]),
                location,
            ]
        )
    _write_csv(path, header, rows, newline="\r\n", bom=True)


# ---- the messy state workbook ---------------------------------------------------------------

STATE_PROGRAMS = {
    "response": ("CSEC Response & Identification",),
    "intervention": ("Safe Harbor Services",),
    "resilience-building": ("Prevention Education", "Youth Mentoring"),
    "structural-prevention": ("Runaway & Homeless Youth", "Family Support & Preservation"),
    "unclassified": ("Legislative Earmarks", "Safe Harbor Services", "Prevention Education"),
}
#: Programs that fund one kind of activity; other activities take their category's programs.
STATE_PROGRAM_BY_ACTIVITY = {
    "forensic": "Child Advocacy Centers",
    "mdt": "Child Advocacy Centers",
    "crisis_advocates": "Child Advocacy Centers",
    "rhy_shelter": "Runaway & Homeless Youth",
    "tlp": "Runaway & Homeless Youth",
    "mentoring": "Youth Mentoring",
    "life_skills": "Youth Mentoring",
    "safe_home": "Specialized Placements",
    "drop_in": "Specialized Placements",
    "survivor_housing": "Specialized Placements",
}


def _state_program(grant: Grant, rng: random.Random) -> str:
    """Most grants sit in their activity's program; some response and intervention grants are
    paid from the federal VOCA pass-through line instead."""
    if grant.category in ("response", "intervention") and rng.random() < 0.25:
        return "VOCA Pass-Through"
    if grant.activities and grant.activities[0].key in STATE_PROGRAM_BY_ACTIVITY:
        return STATE_PROGRAM_BY_ACTIVITY[grant.activities[0].key]
    return rng.choice(STATE_PROGRAMS[grant.category])


OLD_SHEETS = (("FY18-19", (2018, 2019)), ("FY20-21", (2020, 2021)))
NEW_SHEETS = tuple((f"FY{year}", (year,)) for year in range(2022, 2026))
OLD_HEADER = (
    "Fiscal Year",
    "Contract #",
    "Grantee",
    "State",
    "Program Area",
    "Project Description",
    "Awarding Agency",
    "Award Amount",
)
NEW_HEADER = (
    "FY",
    "Contract No.",
    "Subrecipient",
    "County",
    "State",
    "Program",
    "Description of Services",
    "Start Date",
    "End Date",
    "Awarding Agency",
    "Allocation",
)
MONEY_FORMAT = '"$"#,##0.00_);("$"#,##0.00)'
TITLE = "DEPARTMENT OF CHILDREN AND FAMILIES"
AGENCY = "Colorado Department of Children and Families (synthetic)"
OFFICE = "Office of Child & Youth Safety — Subrecipient Allocations"
NOTES = (
    "SYNTHETIC DEMONSTRATION DATA. The department, its office, every subrecipient, contract "
    "number and amount in this workbook are invented. They do not describe any real agency.",
    "",
    "About this workbook",
    "Allocations are listed by state fiscal year (July 1 - June 30). Sheets before FY2022 "
    "combine two fiscal years; from FY2022 each year has its own sheet with start and end "
    "dates.",
    "Subtotals are shown per fiscal year (older sheets) or per program (newer sheets), and "
    "each sheet ends with a TOTAL row. Do not add subtotal rows to totals.",
    "Negative amounts in parentheses are recoveries of unexpended funds from a prior award.",
    "Some amounts were pasted from the contracts system as text and may need to be converted.",
    "",
    "Questions: contact the grants unit of the Office of Child & Youth Safety.",
)


def _recovery_amount(rng: random.Random) -> Decimal:
    return -Decimal(rng.choice((2000, 1250, 4875, 350, 12000))) - Decimal(rng.choice((0, 50))) / 100


def write_state_workbook(grants: list[Grant], path: Path, rng: random.Random) -> None:
    """The messy state workbook: titles, a merged banner, blank rows, subtotals and TOTAL rows,
    sheets of one or two fiscal years, a Notes sheet, a few amounts typed in as text."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    recoveries = rng.sample(grants, k=4)
    for grant in recoveries:
        grant.amount = _recovery_amount(rng)
    # Three recoveries and seven other amounts were pasted in as text; one recovery is a number.
    others = [g for g in grants if g.amount > 0]
    text_amounts = {id(g) for g in recoveries[:3] + rng.sample(others, k=7)}

    workbook = Workbook()
    workbook.remove(workbook.active)
    bold = Font(bold=True)
    for sheet_name, years in OLD_SHEETS + NEW_SHEETS:
        sheet = workbook.create_sheet(sheet_name)
        header = OLD_HEADER if len(years) == 2 else NEW_HEADER
        width = len(header)
        last = get_column_letter(width)
        sheet["A1"] = TITLE
        sheet["A1"].font = Font(bold=True, size=14)
        span = f"State Fiscal Year{'s' if len(years) == 2 else ''} " + " and ".join(
            f"{y} (July 1, {y - 1} - June 30, {y})" for y in years
        )
        sheet["A2"] = span
        sheet["A3"] = OFFICE.upper()
        sheet["A3"].font = Font(bold=True, color="FFFFFF")
        sheet["A3"].fill = PatternFill("solid", fgColor="1F4E78")
        sheet["A3"].alignment = Alignment(horizontal="center")
        sheet.merge_cells(f"A3:{last}3")
        sheet.append([])  # row 4 blank
        sheet.append(list(header))
        for cell in sheet[5]:
            cell.font = bold
        sheet_grants = [g for g in grants if g.year in years]
        amount_col = width
        if len(years) == 2:
            _write_old_sections(sheet, sheet_grants, years, rng, text_amounts, bold, amount_col)
        else:
            _write_new_sections(sheet, sheet_grants, years[0], rng, text_amounts, bold, amount_col)
        for column, title in enumerate(header, start=1):
            wide = {
                "Grantee": 38,
                "Subrecipient": 38,
                "Project Description": 70,
                "Description of Services": 70,
            }
            sheet.column_dimensions[get_column_letter(column)].width = wide.get(title, 16)
    notes = workbook.create_sheet("Notes")
    for line in NOTES:
        notes.append([line])
    notes.column_dimensions["A"].width = 110
    workbook.properties.creator = "make_sample_data.py"
    workbook.properties.created = dt.datetime(2025, 1, 1)
    workbook.save(path)


def _contract(grant: Grant, rng: random.Random) -> str:
    return (
        f"DCF-{grant.year % 100:02d}-{rng.choice(('OCYS', 'CS', 'PRV'))}-{rng.randrange(100, 1000)}"
    )


def _put_amount(sheet, row: int, column: int, grant: Grant, text_amounts: set[int]) -> None:
    cell = sheet.cell(row=row, column=column)
    if id(grant) in text_amounts:
        cell.value = f"({-grant.amount:,.2f})" if grant.amount < 0 else f"${grant.amount:,.2f}"
    else:
        cell.value = grant.amount
        cell.number_format = MONEY_FORMAT


def _subtotal(sheet, label_col: int, label: str, amount_col: int, total: Decimal, font) -> None:
    row = sheet.max_row + 1
    sheet.cell(row=row, column=label_col, value=label).font = font
    cell = sheet.cell(row=row, column=amount_col, value=total)
    cell.number_format = MONEY_FORMAT
    cell.font = font


def _write_old_sections(sheet, grants, years, rng, text_amounts, font, amount_col) -> None:
    """FY18-19 style: one section per fiscal year, a subtotal after each, a TOTAL at the end."""
    grand = Decimal(0)
    for year in years:
        section = sorted((g for g in grants if g.year == year), key=lambda g: g.recipient.name)
        for grant in section:
            program = _state_program(grant, rng)
            row = sheet.max_row + 1
            grant.sheet, grant.row = sheet.title, row
            sheet.cell(row=row, column=1, value=f"FY{year}")
            sheet.cell(row=row, column=2, value=_contract(grant, rng))
            sheet.cell(row=row, column=3, value=grant.recipient.name)
            sheet.cell(row=row, column=4, value=grant.recipient.state)
            sheet.cell(row=row, column=5, value=program)
            sheet.cell(row=row, column=6, value=state_description(grant, rng))
            sheet.cell(row=row, column=7, value=AGENCY)
            _put_amount(sheet, row, amount_col, grant, text_amounts)
            if rng.random() < 0.05:
                sheet.append([])
        subtotal = sum((g.amount for g in section), Decimal(0))
        grand += subtotal
        _subtotal(sheet, 3, f"Subtotal FY{year}", amount_col, subtotal, font)
        sheet.append([])
    _subtotal(sheet, 1, f"TOTAL FY{years[0]}-{years[1]}", amount_col, grand, font)
    sheet.append([])
    sheet.append(["* Amounts as of close of the fiscal year; recoveries shown in parentheses."])


def _write_new_sections(sheet, grants, year, rng, text_amounts, font, amount_col) -> None:
    """FY2022+ style: one section per program, a subtotal after each, a TOTAL at the end."""
    by_program: dict[str, list[Grant]] = {}
    for grant in grants:
        by_program.setdefault(_state_program(grant, rng), []).append(grant)
    grand = Decimal(0)
    for program in sorted(by_program):
        section = sorted(by_program[program], key=lambda g: g.recipient.name)
        for grant in section:
            start = dt.date(year - 1, 7, 1) + dt.timedelta(days=rng.choice((0, 0, 0, 31, 92)))
            row = sheet.max_row + 1
            grant.sheet, grant.row = sheet.title, row
            values = (
                year,
                _contract(grant, rng),
                grant.recipient.name,
                grant.recipient.county,
                grant.recipient.state,
                program,
                state_description(grant, rng),
                start,
                dt.date(year, 6, 30),
                AGENCY,
            )
            for column, value in enumerate(values, start=1):
                cell = sheet.cell(row=row, column=column, value=value)
                if isinstance(value, dt.date):
                    cell.number_format = "mm/dd/yyyy"
            _put_amount(sheet, row, amount_col, grant, text_amounts)
        subtotal = sum((g.amount for g in section), Decimal(0))
        grand += subtotal
        _subtotal(sheet, 6, f"Subtotal - {program}", amount_col, subtotal, font)
        if rng.random() < 0.6:
            sheet.append([])
    _subtotal(sheet, 1, "TOTAL", amount_col, grand, font)


# --------------------------------------------------------------------------------------------
# Summary, labels and README
# --------------------------------------------------------------------------------------------


def intended_table(grants: list[Grant]) -> list[tuple[str, str, int, Decimal]]:
    """(file, category, grants, money) with the whole amount under the primary category."""
    table: dict[tuple[str, str], list] = {}
    for file in DATA_FILES:
        for category in CATEGORIES:
            table[(file, category)] = [0, Decimal(0)]
    for grant in grants:
        entry = table[(grant.funder.file, grant.category)]
        entry[0] += 1
        entry[1] += grant.amount
    return [(f, c, n, money) for (f, c), (n, money) in table.items()]


def _markdown_distribution(grants: list[Grant]) -> str:
    rows = intended_table(grants)
    lines = [
        "| category | grants | money (USD) | share of classified in-scope money |",
        "|---|---:|---:|---:|",
    ]
    in_scope = ("response", "intervention", "resilience-building", "structural-prevention")
    classified = sum((m for _, c, _, m in rows if c in in_scope), Decimal(0))
    for category in CATEGORIES:
        count = sum(n for _, c, n, _ in rows if c == category)
        money = sum((m for _, c, _, m in rows if c == category), Decimal(0))
        share = f"{money / classified:.1%}" if category in in_scope else "—"
        lines.append(f"| {category} | {count} | {money:,.2f} | {share} |")
    lines += [
        "",
        "By file (grants / money under the primary category):",
        "",
        "| file | " + " | ".join(CATEGORIES) + " |",
        "|---|" + "---:|" * len(CATEGORIES),
    ]
    for file in DATA_FILES:
        cells = [f"{n} / {m:,.0f}" for f, _, n, m in rows if f == file]
        lines.append(f"| `{file}` | " + " | ".join(cells) + " |")
    splits = [g for g in grants if g.secondary]
    pairs: dict[str, int] = {}
    for grant in splits:
        key = f"{grant.category} + {grant.secondary}"
        pairs[key] = pairs.get(key, 0) + 1
    lines += [
        "",
        f"{len(splits)} grants name two distinct components (counted above under the "
        "first): " + ", ".join(f"{k} ({v})" for k, v in sorted(pairs.items())) + ".",
    ]
    return "\n".join(lines)


def write_labels(grants: list[Grant], path: Path) -> None:
    """Intended categories per row, for comparing a classifier run (never bundled)."""
    header = [
        "source_file",
        "source_sheet",
        "source_row",
        "recipient",
        "amount",
        "intended_category",
        "intended_secondary",
    ]
    ordered = sorted(grants, key=lambda g: (g.funder.file, g.sheet or "", g.row or 0))
    rows = [
        [
            g.funder.file,
            g.sheet or "",
            str(g.row),
            g.recipient.name,
            f"{g.amount:.2f}",
            g.category,
            g.secondary or "",
        ]
        for g in ordered
    ]
    _write_csv(path, header, rows, newline="\n")


README = """# Sample data: a SYNTHETIC grant portfolio

**Everything in this folder is synthetic.** The funders' grant lists, every organisation,
identifier, contract number, description and amount were invented by
`make_sample_data.py` for demonstration and testing. No row describes a real grant. Real
US states and cities are used only as locations; government recipients are named after
invented counties and towns; organisation identifiers (EINs) start with `00`, a prefix the IRS
never issues. Any resemblance to a real organisation's name is a coincidence.

The two federal agencies named in the USAspending-style file are real agencies, but the awards,
award IDs and recipients attributed to them here are invented. The state agency ("Department of
Children and Families, Office of Child & Youth Safety") and the two foundations ("Harbor & Pine
Foundation", "Magnolia Children's Trust") are fictional.

## How it was generated

```
python sample_data/make_sample_data.py              # rewrites the files in this folder
python sample_data/make_sample_data.py --out DIR    # writes them elsewhere
python sample_data/make_sample_data.py --labels intended.csv   # also each row's intended category
```

The script is seeded (seed {seed}) and deterministic: it uses only the Python standard library
and openpyxl, and a second run writes identical CSV bytes and identical spreadsheet cell values
(`tests/test_sample_data.py` checks this and that the committed files equal a fresh run). Texts
are composed from many parts (activities, target populations, places, durations, partner lists,
boilerplate), so wording varies from grant to grant.

## Files

{total} grants from {funders} funders, fiscal years 2018-2025, {states} states.

### `{usaspending}`: a USAspending award download ({n_usaspending} awards)

- Human-titled columns as the USAspending award search writes them: `Award ID`,
  `Recipient Name`, `Start Date`, `End Date`, `Award Amount`, `Awarding Agency`,
  `Awarding Sub Agency`, `CFDA Number`, `Description`, `Place of Performance State Code`, plus
  `internal_id`, `agency_slug`, `generated_internal_id`. UTF-8, LF line endings.
- Two funders: Department of Justice / Office of Justice Programs (OVC, OJJDP programmes) and
  Department of Health and Human Services / Administration for Children and Families.
- ALL-CAPS descriptions: short titles for many older awards, long abstracts otherwise, some
  spread over several paragraphs (quoted multi-line fields), a few with two words run together
  as in real abstracts.
- Amounts exact to the cent, written as the API writes them (`750000.0`, `1249652.37`); 6
  awards of `0.0` and 3 negative (de-obligated) totals. Start dates fall in the federal fiscal
  year (October-September) of the award. Sorted by amount, largest first.

### `{state}`: a messy state agency workbook ({n_state} allocations)

- Sheets `FY18-19` and `FY20-21` hold two state fiscal years each (columns `Fiscal Year`,
  `Contract #`, `Grantee`, `State`, `Program Area`, `Project Description`, `Award Amount`; the
  year written as `FY2018`), with a `Subtotal FY...` row after each year, a `TOTAL FY...` row
  and a footnote line at the end.
- Sheets `FY2022` ... `FY2025` hold one year each (columns `FY`, `Contract No.`,
  `Subrecipient`, `County`, `State`, `Program`, `Description of Services`, `Start Date`,
  `End Date`, `Allocation`), grouped by program with a `Subtotal - <program>` row after each
  group and a `TOTAL` row at the end.
- Every data sheet: title row, subtitle, a merged banner (row 3), a blank row, the header on
  row 5, blank rows between some sections. A `Notes` sheet holds prose and no table.
- Amounts are numbers with a currency format, except a few typed in as text (`$12,500.00`)
  and recoveries of unexpended funds, negative, mostly written as text `(2,000.00)`.
- One state (CO); state fiscal year July-June. Subtotals and totals are plain numbers.

### `{foundation}`: a foundation's grant list ({n_foundation} grants)

- A foundation's whole grant history as exported from its website, newest first:
  `Grant Year`, `Grantee`, `Location` ("City, ST", a few blank), `Program Area`, `Purpose`,
  `Amount` as text (`$25,000`), `Term`, `Funder`. UTF-8 with accented names
  (`Fundación Esperanza`), CRLF line endings.
- Short purpose lines ("Support for ...", "General operating support."), a few cut off with
  "…" as on a website. Includes out-of-scope grants (arts, seniors, environment, adult
  workforce, adult labour trafficking) and general operating support.

### `{giving360}`: 360Giving flat format ({n_giving360} grants)

- A US foundation publishing in the 360Giving standard: `Identifier`, `Title`, `Description`,
  `Currency` (USD), `Amount Awarded`, `Award Date` (ISO date),
  `Planned Dates:Duration (months)`, `Recipient Org:Identifier` (`US-EIN-...`),
  `Recipient Org:Name`, `Funding Org:Identifier`, `Funding Org:Name`,
  `Grant Programme:Title`, `Beneficiary Location:Name` (a state name or "City, State").
  UTF-8 with a BOM (as Excel saves "CSV UTF-8"), CRLF line endings.
- Titles are either a programme name or "A grant to <recipient>"; some descriptions state
  the amount and, for two-component grants, each component's share.

`make_sample_data.py`, `README.md` and `__init__.py` live in the same folder: a tool reading
the folder should read only the `.csv` and `.xlsx` files.

## Intended classification

Each grant was written to belong to one category of the default codebook
(response, intervention, resilience-building, structural-prevention, out-of-scope,
unclassified). The mix is skewed the way the codebook's source paper (A. Duger, Health and
Human Rights 17/1, 2015) describes US funding against the commercial sexual exploitation of
children: most money to response and intervention, a thin slice to structural prevention.
Hard cases are included on purpose and labelled as the codebook says: "prevention" training
for police (response), housing for all homeless youth (structural-prevention) versus housing
for identified survivors (intervention), therapy for abused children (structural-prevention),
fall prevention for seniors (out-of-scope), general operating support from an anti-trafficking
organisation and a bare "Prevention" (unclassified).
A classifier is not expected to match this table exactly; it is the yardstick the data was built
against. Amounts include the zero, negative and recovery rows.

{distribution}
"""


def write_readme(grants: list[Grant], path: Path, seed: int) -> None:
    counts = {file: sum(1 for g in grants if g.funder.file == file) for file in DATA_FILES}
    states = sorted({g.recipient.state for g in grants})
    text = README.format(
        seed=seed,
        total=len(grants),
        funders=len(FUNDERS),
        states=len(states),
        usaspending=USASPENDING_FILE,
        state=STATE_FILE,
        foundation=FOUNDATION_FILE,
        giving360=GIVING360_FILE,
        n_usaspending=counts[USASPENDING_FILE],
        n_state=counts[STATE_FILE],
        n_foundation=counts[FOUNDATION_FILE],
        n_giving360=counts[GIVING360_FILE],
        distribution=_markdown_distribution(grants),
    )
    path.write_text(text, encoding="utf-8", newline="\n")


# --------------------------------------------------------------------------------------------


def generate(out_dir: Path, seed: int = SEED, labels: Path | None = None) -> list[Grant]:
    """Write the four data files and README.md into out_dir; return the grants written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    federal_pool = RecipientPool(random.Random(rng.randrange(2**32)))
    state_pool = RecipientPool(random.Random(rng.randrange(2**32)))
    foundation_pool = RecipientPool(random.Random(rng.randrange(2**32)), spanish_share=0.08)
    magnolia_pool = RecipientPool(random.Random(rng.randrange(2**32)), spanish_share=0.04)

    federal = build_grants(DOJ, federal_pool, rng) + build_grants(HHS, federal_pool, rng)
    state = build_grants(STATE_DCF, state_pool, rng)
    foundation = build_grants(FOUNDATION, foundation_pool, rng)
    magnolia = build_grants(MAGNOLIA, magnolia_pool, rng)

    write_usaspending(federal, out_dir / USASPENDING_FILE, random.Random(rng.randrange(2**32)))
    write_state_workbook(state, out_dir / STATE_FILE, random.Random(rng.randrange(2**32)))
    write_foundation_csv(foundation, out_dir / FOUNDATION_FILE, random.Random(rng.randrange(2**32)))
    write_360giving(magnolia, out_dir / GIVING360_FILE, random.Random(rng.randrange(2**32)))

    grants = federal + state + foundation + magnolia
    write_readme(grants, out_dir / "README.md", seed)
    if labels is not None:
        write_labels(grants, labels)
    return grants


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="folder to write into (default: next to this script)",
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--labels", type=Path, help="also write each row's intended category")
    args = parser.parse_args(argv)
    grants = generate(args.out, args.seed, args.labels)
    for file in DATA_FILES:
        size = (args.out / file).stat().st_size
        count = sum(1 for g in grants if g.funder.file == file)
        print(f"{file:40} {count:5d} grants {size:9,d} bytes")
    print(f"{'total':40} {len(grants):5d} grants")


if __name__ == "__main__":
    main()
