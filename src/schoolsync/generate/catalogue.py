"""Subjects, courses and programmes the generated schools teach.

Grundskola subject codes are Skolverket's (e.g. ``GRGRMAT01``/``MA``); gymnasium course codes are
those of GY2011 (e.g. ``MATMAT01c``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Subject:
    """A subject or course as taught.

    Attributes:
        key: Designation (grundskola, e.g. ``MA``) or course code (gymnasium, e.g. ``SVESVE01``).
        code: Skolverket subject code (``GRGRMAT01``; ``MAT`` for gymnasium courses).
        name: Subject name.
        short: Prefix used in group names, e.g. ``Ma`` or ``Sv1``.
        area: The teaching competence needed, used to match teachers.
        load: Share of a full-time post that teaching one group takes.
        course_name: Course name (gymnasium only).
        points: Gymnasiepoäng (gymnasium only).
        language: ISO 639-3 code for language courses.
    """

    key: str
    code: str
    name: str
    short: str
    area: str
    load: float
    course_name: str | None = None
    points: int | None = None
    language: str | None = None


def _gr(key: str, code: str, name: str, short: str, area: str, load: float) -> Subject:
    return Subject(key, code, name, short, area, load)


GR_SUBJECTS: dict[str, Subject] = {
    s.key: s
    for s in (
        _gr("BI", "GRGRBIO01", "Biologi", "Bi", "NO", 0.05),
        _gr("BL", "GRGRBIL01", "Bild", "Bl", "BL", 0.04),
        _gr("EN", "GRGRENG01", "Engelska", "Eng", "EN", 0.11),
        _gr("FY", "GRGRFYS01", "Fysik", "Fy", "NO", 0.05),
        _gr("GE", "GRGRGEO01", "Geografi", "Ge", "SO", 0.05),
        _gr("HKK", "GRGRHKK01", "Hem- och konsumentkunskap", "Hkk", "HKK", 0.04),
        _gr("HI", "GRGRHIS01", "Historia", "Hi", "SO", 0.05),
        _gr("IDH", "GRGRIDR01", "Idrott och hälsa", "Idh", "IDH", 0.07),
        _gr("KE", "GRGRKEM01", "Kemi", "Ke", "NO", 0.05),
        _gr("MA", "GRGRMAT01", "Matematik", "Ma", "MA", 0.15),
        _gr("MU", "GRGRMUS01", "Musik", "Mu", "MU", 0.04),
        _gr("RE", "GRGRREL01", "Religionskunskap", "Re", "SO", 0.04),
        _gr("SH", "GRGRSAM01", "Samhällskunskap", "Sh", "SO", 0.05),
        _gr("SL", "GRGRSLJ01", "Slöjd", "Sl", "SL", 0.04),
        _gr("SV", "GRGRSVE01", "Svenska", "Sv", "SV", 0.15),
        _gr("SVA", "GRGRSVA01", "Svenska som andraspråk", "Sva", "SVA", 0.12),
        _gr("TK", "GRGRTEK01", "Teknik", "Tk", "NO", 0.04),
        Subject("M2SPA", "GRGRMSP01", "Moderna språk", "Spa", "SPA", 0.08, language="spa"),
        Subject("M2TYS", "GRGRMSP01", "Moderna språk", "Ty", "TYS", 0.08, language="deu"),
        Subject("M2FRA", "GRGRMSP01", "Moderna språk", "Fr", "FRA", 0.08, language="fra"),
    )
}

LOW_CLASS_SUBJECTS = ("SV", "MA", "EN", "BI", "SH", "IDH", "MU", "BL")
"""Subjects år 1–3 are taught as whole classes (class-subject activities)."""

MID_CLASS_SUBJECTS = ("SV", "MA", "EN", "BI", "SH", "TK", "IDH", "MU", "BL")
"""Subjects år 4–6 are taught as whole classes; slöjd and sva have their own groups."""

CLASS_TEACHER_SUBJECTS = frozenset({"SV", "MA", "EN", "BI", "SH", "TK"})
"""Subjects the klasslärare of år 1–6 teaches in their own class."""

HIGH_CLASS_SUBJECTS = ("SV", "MA", "EN", "BI", "FY", "KE", "TK", "HI", "GE", "RE", "SH", "BL",
                       "MU", "HKK")  # fmt: skip
"""Subjects år 7–9 are taught in one teaching group per class."""

MODERN_LANGUAGES = (("M2SPA", 0.45), ("M2TYS", 0.2), ("M2FRA", 0.12))
"""Språkval in år 6–9 and the share of pupils that choose each language."""

GRS_SUBJECTS = ("SV", "MA", "IDH")
"""Subjects the anpassad grundskola classes have class-subject activities for."""

_SUBJECT_NAMES = {
    "SVE": "Svenska", "ENG": "Engelska", "MAT": "Matematik", "IDR": "Idrott och hälsa",
    "BIO": "Biologi", "KEM": "Kemi", "FYS": "Fysik", "NAK": "Naturkunskap",
    "SAM": "Samhällskunskap", "HIS": "Historia", "REL": "Religionskunskap", "GEO": "Geografi",
    "PSK": "Psykologi", "FIO": "Filosofi", "MOD": "Moderna språk", "TEK": "Teknik",
    "PRR": "Programmering", "FÖR": "Företagsekonomi", "JUR": "Juridik", "ELL": "Ellära",
    "DAO": "Dator- och kommunikationsteknik", "EST": "Estetisk kommunikation",
    "DIG": "Digitalt skapande",
}  # fmt: skip
_AREAS = {
    "SVE": "SV", "ENG": "EN", "MAT": "MA", "IDR": "IDH", "BIO": "NO", "KEM": "NO", "FYS": "NO",
    "NAK": "NO", "SAM": "SO", "HIS": "SO", "REL": "SO", "GEO": "SO", "PSK": "SO", "FIO": "SO",
    "MOD": "SPA", "TEK": "TE", "PRR": "TE", "FÖR": "EK", "JUR": "EK", "ELL": "EE", "DAO": "EE",
    "EST": "ES", "DIG": "ES",
}  # fmt: skip

_COURSES = """
SVESVE01 Sv1 100 Svenska 1|SVESVE02 Sv2 100 Svenska 2|SVESVE03 Sv3 100 Svenska 3
ENGENG05 En5 100 Engelska 5|ENGENG06 En6 100 Engelska 6
MATMAT01a Ma1a 100 Matematik 1a|MATMAT01b Ma1b 100 Matematik 1b|MATMAT01c Ma1c 100 Matematik 1c
MATMAT02b Ma2b 100 Matematik 2b|MATMAT02c Ma2c 100 Matematik 2c|MATMAT03c Ma3c 100 Matematik 3c
MATMAT04 Ma4 100 Matematik 4|IDRIDR01 Idh1 100 Idrott och hälsa 1
BIOBIO01 Bi1 100 Biologi 1|BIOBIO02 Bi2 100 Biologi 2|KEMKEM01 Ke1 100 Kemi 1
KEMKEM02 Ke2 100 Kemi 2|FYSFYS01a Fy1a 150 Fysik 1a|FYSFYS02 Fy2 100 Fysik 2
NAKNAK01a1 Nk1a1 50 Naturkunskap 1a1|NAKNAK01b Nk1b 100 Naturkunskap 1b
SAMSAM01a1 Sh1a1 50 Samhällskunskap 1a1|SAMSAM01b Sh1b 100 Samhällskunskap 1b
SAMSAM02 Sh2 100 Samhällskunskap 2|SAMSAM03 Sh3 100 Samhällskunskap 3
HISHIS01a1 Hi1a1 50 Historia 1a1|HISHIS01b Hi1b 100 Historia 1b|HISHIS02a Hi2a 100 Historia 2a
RELREL01 Re1 50 Religionskunskap 1|GEOGEO01 Ge1 100 Geografi 1|PSKPSY01 Ps1 50 Psykologi 1
PSKPSY02a Ps2a 50 Psykologi 2a|FIOFIO01 Fi1 50 Filosofi 1
MODSPA03 Spa3 100 Moderna språk 3|TEKTEK01 Tek1 150 Teknik 1
PRRPRR01 Prr1 100 Programmering 1|PRRPRR02 Prr2 100 Programmering 2
FÖRFÖR01 Fek1 100 Företagsekonomi 1|FÖRFÖR02 Fek2 100 Företagsekonomi 2
JURPRI0 Prj 100 Privatjuridik|ELLELL01 Ell1 100 Ellära 1|ELLELL02 Ell2 100 Ellära 2
DAODAT01a Dat1a 100 Datorteknik 1a|ESTEST01 Est1 100 Estetisk kommunikation 1
ESTEST02 Est2 100 Estetisk kommunikation 2|DIGDIG01 Dig1 100 Digitalt skapande 1
"""


def _parse_courses(text: str) -> dict[str, Subject]:
    courses: dict[str, Subject] = {}
    for entry in text.replace("\n", "|").split("|"):
        if not entry.strip():
            continue
        code, short, points, course_name = entry.strip().split(" ", 3)
        stem = code[:3]
        language = "spa" if stem == "MOD" else None
        load = int(points) / 100 * 0.12
        courses[code] = Subject(
            code,
            stem,
            _SUBJECT_NAMES[stem],
            short,
            _AREAS[stem],
            load,
            course_name,
            int(points),
            language,
        )
    return courses


GY_COURSES: dict[str, Subject] = _parse_courses(_COURSES)


@dataclass(frozen=True)
class Programme:
    """A national gymnasium programme.

    Attributes:
        code: Programme code used in class names, e.g. ``NA``.
        name: Programme name.
        small: Whether its classes are small (15–16 pupils) and share common courses.
        years: Course codes per year (år 1, 2, 3).
    """

    code: str
    name: str
    small: bool
    years: tuple[tuple[str, ...], ...]


def _years(*rows: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(row.split()) for row in rows)


PROGRAMMES: dict[str, Programme] = {
    p.code: p
    for p in (
        Programme("NA", "Naturvetenskapsprogrammet", False, _years(
            "SVESVE01 ENGENG05 MATMAT01c IDRIDR01 BIOBIO01 KEMKEM01 SAMSAM01b",
            "SVESVE02 ENGENG06 MATMAT02c FYSFYS01a KEMKEM02 HISHIS01b MODSPA03",
            "SVESVE03 MATMAT03c BIOBIO02 RELREL01 FYSFYS02 MATMAT04")),
        Programme("SA", "Samhällsvetenskapsprogrammet", False, _years(
            "SVESVE01 ENGENG05 MATMAT01b IDRIDR01 SAMSAM01b HISHIS01b PSKPSY01 GEOGEO01",
            "SVESVE02 ENGENG06 MATMAT02b NAKNAK01b MODSPA03 FIOFIO01 SAMSAM02",
            "SVESVE03 RELREL01 SAMSAM03 HISHIS02a PSKPSY02a")),
        Programme("EK", "Ekonomiprogrammet", False, _years(
            "SVESVE01 ENGENG05 MATMAT01b IDRIDR01 FÖRFÖR01 SAMSAM01b PSKPSY01",
            "SVESVE02 ENGENG06 MATMAT02b HISHIS01b JURPRI0 NAKNAK01b MODSPA03",
            "SVESVE03 RELREL01 FÖRFÖR02 FIOFIO01 SAMSAM02")),
        Programme("TE", "Teknikprogrammet", True, _years(
            "SVESVE01 ENGENG05 MATMAT01c IDRIDR01 TEKTEK01 FYSFYS01a",
            "SVESVE02 ENGENG06 MATMAT02c PRRPRR01 KEMKEM01 HISHIS01b SAMSAM01b",
            "SVESVE03 MATMAT03c RELREL01 PRRPRR02 MATMAT04")),
        Programme("EE", "El- och energiprogrammet", True, _years(
            "SVESVE01 ENGENG05 MATMAT01a IDRIDR01 ELLELL01 DAODAT01a",
            "ELLELL02 SAMSAM01a1 NAKNAK01a1 HISHIS01a1",
            "RELREL01 DAODAT01a")),
        Programme("ES", "Estetiska programmet", True, _years(
            "SVESVE01 ENGENG05 MATMAT01b IDRIDR01 ESTEST01 HISHIS01b SAMSAM01b",
            "SVESVE02 ENGENG06 NAKNAK01b ESTEST02 MODSPA03",
            "SVESVE03 RELREL01 FIOFIO01 PSKPSY01 DIGDIG01")),
    )
}  # fmt: skip

TEACHER_PROFILES: dict[str, tuple[str, ...]] = {
    "MA": ("NO", "NO", "TE"), "NO": ("MA",), "SV": ("SO", "EN", "SVA"), "SO": ("SV", "EN"),
    "EN": ("SV", "SPA", "TYS", "FRA", "SO"), "SVA": ("SV",), "BL": ("SL",), "SL": ("BL",),
    "SPA": ("EN", "SV"), "TYS": ("EN", "SV"), "FRA": ("EN", "SV"), "TE": ("MA",), "EK": ("SO",),
}  # fmt: skip
"""Second competence areas a teacher with the given first area may also have."""
