"""A synthetic OneRoster 1.2 district of any size, written in constant memory.

Per 1,000 students: about 60 educators, 200 classes, 5,000 student enrollments, 200
teacher enrollments, 400 class-product links and 500 product-setting values. Everything
about a person or a class is a pure function of (seed, index), so nothing is held in
memory and the same arguments always write the same files.

Day 1 is the district as it starts; day d applies d - 1 daily changes, each touching 1% of
people (a changed field), removing 0.5% and adding 0.5% new students: the "next day" of the
same district for the change benchmarks.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from rollbook.sync.binding import COLUMNS

FIRST = (
    "Aaliyah Aiden Amara Amelia Andre Aria Ava Benjamin Brianna Camila Carlos Chloe Daniel "
    "Diego Elena Elijah Emily Emma Ethan Fatima Gabriel Grace Hannah Hiroshi Isabella Jacob "
    "Jamal Jasmine Javier Jayden Kai Keisha Layla Leo Liam Lucas Lucia Luis Maya Mia Minh "
    "Mohammed Naomi Noah Nora Olivia Omar Priya Rafael Riley Samuel Santiago Sofia Tariq "
    "Timothy Valentina Wei William Ximena Yusuf Zara Zoe"
).split()
LAST = (
    "Adams Ahmed Alvarez Baker Bennett Brown Chen Clark Cruz Davis Diaz Evans Fernandez "
    "Flores Garcia Gonzalez Gupta Hall Harris Hernandez Hill Huang Jackson Johnson Jones Kim "
    "Lee Lewis Lopez Martin Martinez Miller Moore Morales Nguyen Okafor Ortiz Patel Perez "
    "Ramirez Reyes Rivera Robinson Rodriguez Sanchez Scott Singh Smith Taylor Thomas Thompson "
    "Torres Walker White Williams Wilson Wright Young Zhang"
).split()
GRADES = ("KG", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12")
SUBJECTS = ("Mathematics", "English Language Arts", "Science", "Social Studies", "Reading", "Art")
PRODUCTS = (
    "ill",
    "espanol",
    "reading",
    "lectura",
    "galileo",
    "mypath_reading",
    "mypath_math",
    "science",
    "purpose",
)
LANGUAGES = (
    "English",
    "English",
    "English",
    "Spanish",
    "Spanish",
    "Vietnamese",
    "Arabic",
    "Mandarin",
)
SETTING_COLUMNS = ("metadata.ill.language_support", "metadata.reading.session_minutes")

STUDENTS_PER_SCHOOL = 500
CLASSES_PER_1000 = 200
EDUCATORS_PER_1000 = 60
CLASSES_PER_STUDENT = 5
PRODUCTS_PER_CLASS = 2
CHANGED, GONE, NEW = 0.01, 0.005, 0.005


def _unit(seed: int, *parts: object) -> float:
    """A uniform number in [0, 1) from (seed, parts): the same inputs, the same number."""
    digest = hashlib.blake2b(repr((seed, *parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _pick(seed: int, options: tuple[str, ...] | list[str], *parts: object) -> str:
    return options[int(_unit(seed, *parts) * len(options))]


@dataclass(frozen=True)
class District:
    """The shape of a generated district."""

    students: int
    seed: int = 1
    day: int = 1

    @property
    def schools(self) -> int:
        return max(1, self.students // STUDENTS_PER_SCHOOL)

    @property
    def classes(self) -> int:
        return max(self.schools, self.students * CLASSES_PER_1000 // 1000)

    @property
    def educators(self) -> int:
        return max(self.schools, self.students * EDUCATORS_PER_1000 // 1000)

    def new_students(self) -> int:
        """Students added by the days after day 1."""
        return round(self.students * NEW) * (self.day - 1)

    def gone(self, index: int) -> bool:
        return any(_unit(self.seed, "gone", index, d) < GONE for d in range(2, self.day + 1))

    def changed_on(self, index: int) -> int:
        """The latest day that changed this person (0: never)."""
        days = [
            d for d in range(2, self.day + 1) if _unit(self.seed, "changed", index, d) < CHANGED
        ]
        return max(days, default=0)

    def student_indexes(self) -> Iterator[int]:
        for index in range(self.students + self.new_students()):
            if not self.gone(index):
                yield index

    def school_of(self, index: int) -> int:
        return index % self.schools

    def classes_of_school(self, school: int) -> range:
        per = self.classes // self.schools
        start = school * per
        end = self.classes if school == self.schools - 1 else start + per
        return range(start, end)


def _person(district: District, index: int, kind: str) -> dict[str, str]:
    seed = district.seed
    first = _pick(seed, FIRST, kind, "first", index)
    last = _pick(seed, LAST, kind, "last", index)
    day = district.changed_on(index) if kind == "s" else 0
    if day:
        last = _pick(seed, LAST, kind, "last", index, day)
    prefix = "stu" if kind == "s" else "edu"
    username = f"{first}.{last}.{prefix}{index}".lower()
    return {
        "sourcedId": f"{prefix}-{index}",
        "username": username,
        "givenName": first,
        "familyName": last,
        "identifier": f"{prefix.upper()}{index:08d}",
        "email": f"{username}@district.example.org",
    }


def _writer(handle: IO[str], header: list[str]) -> csv.DictWriter[str]:
    writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    return writer


def write_district(out: Path, district: District) -> dict[str, int]:
    """Write the district's CSV files and manifest into `out`; returns the row counts."""
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    _manifest(out)
    counts["orgs"] = _orgs(out, district)
    counts["users"], counts["roles"] = _users(out, district)
    counts["classes"] = _classes(out, district)
    counts["enrollments"] = _enrollments(out, district)
    counts["resources"], counts["classResources"] = _products(out, district)
    return counts


def _manifest(out: Path) -> None:
    rows = [("manifest.version", "1.0"), ("oneroster.version", "1.2")]
    for name in (
        "academicSessions",
        "categories",
        "courses",
        "demographics",
        "lineItems",
        "results",
        "scoreScales",
        "userProfiles",
        "userResources",
        "courseResources",
    ):
        rows.append((f"file.{name}", "absent"))
    for name in ("orgs", "users", "roles", "classes", "enrollments", "resources", "classResources"):
        rows.append((f"file.{name}", "bulk"))
    rows += [("source.systemName", "rollbook generate"), ("source.systemCode", "generated")]
    with (out / "manifest.csv").open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("propertyName", "value"))
        writer.writerows(rows)


def _orgs(out: Path, district: District) -> int:
    header = list(COLUMNS["orgs"])
    with (out / "orgs.csv").open("w", newline="") as handle:
        writer = _writer(handle, header)
        writer.writerow(
            {
                "sourcedId": "district",
                "name": "Generated Unified School District",
                "type": "district",
                "identifier": "GUSD",
            }
        )
        for school in range(district.schools):
            writer.writerow(
                {
                    "sourcedId": f"sch-{school}",
                    "name": f"School {school + 1}",
                    "type": "school",
                    "identifier": f"S{school:04d}",
                    "parentSourcedId": "district",
                }
            )
    return district.schools + 1


def _users(out: Path, district: District) -> tuple[int, int]:
    header = [*COLUMNS["users"], *SETTING_COLUMNS]
    roles_header = [*COLUMNS["roles"]]
    users = roles = 0
    seed = district.seed
    with (
        (out / "users.csv").open("w", newline="") as u,
        (out / "roles.csv").open("w", newline="") as r,
    ):
        user_writer, role_writer = _writer(u, header), _writer(r, roles_header)
        for index in range(district.educators):
            person = _person(district, index, "e")
            school = index % district.schools
            admin = index < district.schools // 10 + 1 and index % 10 == 0
            person.update(
                enabledUser="true", primaryOrgSourcedId="district" if admin else f"sch-{school}"
            )
            user_writer.writerow(person)
            role_writer.writerow(
                {
                    "sourcedId": f"role-{person['sourcedId']}",
                    "userSourcedId": person["sourcedId"],
                    "roleType": "primary",
                    "role": "districtAdministrator" if admin else "teacher",
                    "orgSourcedId": "district" if admin else f"sch-{school}",
                }
            )
            users += 1
            roles += 1
        for index in district.student_indexes():
            person = _person(district, index, "s")
            person.update(
                enabledUser="true",
                grades=_pick(seed, GRADES, "grade", index),
                primaryOrgSourcedId=f"sch-{district.school_of(index)}",
            )
            if _unit(seed, "setting", index) < 0.5:
                column = SETTING_COLUMNS[int(_unit(seed, "which", index) * len(SETTING_COLUMNS))]
                if column.endswith("language_support"):
                    person[column] = _pick(seed, LANGUAGES, "language", index)
                else:
                    person[column] = str(10 + 5 * int(_unit(seed, "minutes", index) * 10))
            user_writer.writerow(person)
            role_writer.writerow(
                {
                    "sourcedId": f"role-{person['sourcedId']}",
                    "userSourcedId": person["sourcedId"],
                    "roleType": "primary",
                    "role": "student",
                    "orgSourcedId": f"sch-{district.school_of(index)}",
                }
            )
            users += 1
            roles += 1
    return users, roles


def _classes(out: Path, district: District) -> int:
    header = list(COLUMNS["classes"])
    seed = district.seed
    with (out / "classes.csv").open("w", newline="") as handle:
        writer = _writer(handle, header)
        for school in range(district.schools):
            for number in district.classes_of_school(school):
                subject = _pick(seed, SUBJECTS, "subject", number)
                grade = _pick(seed, GRADES, "class-grade", number)
                writer.writerow(
                    {
                        "sourcedId": f"cls-{number}",
                        "title": f"{subject} {grade} ({number})",
                        "grades": grade,
                        "classCode": f"C{number:07d}",
                        "classType": "scheduled",
                        "schoolSourcedId": f"sch-{school}",
                        "termSourcedIds": "term-1",
                        "subjects": subject,
                        "periods": str(1 + number % 7),
                    }
                )
    return district.classes


def _enrollments(out: Path, district: District) -> int:
    header = list(COLUMNS["enrollments"])
    count = 0
    with (out / "enrollments.csv").open("w", newline="") as handle:
        writer = _writer(handle, header)
        for number in range(district.classes):
            teacher = number % district.educators
            school = _school_of_class(district, number)
            writer.writerow(
                {
                    "sourcedId": f"enr-t-{number}",
                    "classSourcedId": f"cls-{number}",
                    "schoolSourcedId": f"sch-{school}",
                    "userSourcedId": f"edu-{teacher}",
                    "role": "teacher",
                    "primary": "true",
                }
            )
            count += 1
        for index in district.student_indexes():
            school = district.school_of(index)
            options = district.classes_of_school(school)
            chosen = {
                options[int(_unit(district.seed, "enrol", index, k) * len(options))]
                for k in range(CLASSES_PER_STUDENT)
            }
            for number in sorted(chosen):
                writer.writerow(
                    {
                        "sourcedId": f"enr-{index}-{number}",
                        "classSourcedId": f"cls-{number}",
                        "schoolSourcedId": f"sch-{school}",
                        "userSourcedId": f"stu-{index}",
                        "role": "student",
                        "primary": "false",
                    }
                )
                count += 1
    return count


def _school_of_class(district: District, number: int) -> int:
    per = district.classes // district.schools
    return min(number // per, district.schools - 1)


def _products(out: Path, district: District) -> tuple[int, int]:
    with (out / "resources.csv").open("w", newline="") as handle:
        writer = _writer(handle, list(COLUMNS["resources"]))
        for code in PRODUCTS:
            writer.writerow({"sourcedId": f"res-{code}", "vendorResourceId": code, "title": code})
    links = 0
    with (out / "classResources.csv").open("w", newline="") as handle:
        writer = _writer(handle, list(COLUMNS["classResources"]))
        for number in range(district.classes):
            chosen = {
                _pick(district.seed, PRODUCTS, "product", number, k)
                for k in range(PRODUCTS_PER_CLASS)
            }
            for code in sorted(chosen):
                writer.writerow(
                    {
                        "sourcedId": f"cr-{number}-{code}",
                        "title": code,
                        "classSourcedId": f"cls-{number}",
                        "resourceSourcedId": f"res-{code}",
                    }
                )
                links += 1
    return len(PRODUCTS), links
