"""SS 12000 calendar events (lessons) as dated lessons.

A calendar event's groups, teachers and subject come from its activity; ``teacherExceptions``
replace teachers for that one lesson (a substitute takes part, the absent teacher does not);
``rooms`` give the room. Times are turned into Swedish wall-clock time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from schoolsync.domain.issues import issue
from schoolsync.domain.records import RecordRef, RegisterSnapshot
from schoolsync.domain.schedule import DatedLesson, ScheduleSnapshot
from schoolsync.sources.ss12000 import models as m

STOCKHOLM = ZoneInfo("Europe/Stockholm")
ROOM_LENGTH = 200  # lessons.room: several long room names are cut to fit


def local(moment: datetime) -> datetime:
    """A time as Swedish wall-clock time without offset (naive times are taken as Swedish)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(STOCKHOLM).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class EventLessons:
    """One calendar event as lessons (one per group of its activity).

    Attributes:
        id: The event's id (lower case).
        lessons: Its lessons; none when its activity is unknown.
        missing: The activity id it names when that activity is unknown, else None.
    """

    id: str
    lessons: tuple[DatedLesson, ...]
    missing: str | None = None


class LessonReader:
    """Turns calendar events into lessons one at a time, then makes the schedule of them."""

    def __init__(self, snap: RegisterSnapshot, rooms: dict[str, str]) -> None:
        self.snap = snap
        self.rooms = rooms
        self.activities = {a.id: a for a in snap.activities}

    def convert(self, _: object, event: m.CalendarEvent, ref: RecordRef) -> EventLessons:
        """:meth:`event`, as the reader calls it."""
        return self.event(event, ref)

    def event(self, event: m.CalendarEvent, ref: RecordRef) -> EventLessons:
        """One event's lessons (or the unknown activity it names)."""
        snap, rooms = self.snap, self.rooms
        activity = self.activities.get(event.activity.id.lower())
        if activity is None:
            return EventLessons(event.id.lower(), (), event.activity.id.lower())
        duties = [t.duty_id for t in activity.teachers]
        for exception in event.teacherExceptions or ():
            duty = exception.duty.id.lower()
            if exception.participates and duty not in duties:
                duties.append(duty)
            elif not exception.participates and duty in duties:
                duties.remove(duty)
        syllabus = snap.syllabuses.get(activity.syllabus_id or "")
        room_names = [rooms.get(r.id.lower(), r.id) for r in event.rooms or ()]
        return EventLessons(
            event.id.lower(),
            tuple(
                DatedLesson(
                    key=f"{event.id.lower()}|{group_id}",
                    group_name="",
                    subject=syllabus.code if syllabus else None,
                    teachers=(),
                    start=local(event.startTime),
                    end=local(event.endTime),
                    room=(", ".join(room_names) or None) and ", ".join(room_names)[:ROOM_LENGTH],
                    where=str(ref),
                    cancelled=bool(event.cancelled),
                    group_ids=(group_id,),
                    duty_ids=tuple(duties),
                    activity_id=activity.id,
                )
                for group_id in activity.group_ids
            ),
        )

    def snapshot(self, events: Iterable[EventLessons]) -> ScheduleSnapshot:
        """The schedule of the events read (duplicates left out), with an issue per unknown
        activity."""
        out = ScheduleSnapshot(source="ss12000", path=f"{self.snap.source}/calendarEvents.json")
        missing: dict[str, int] = {}
        for event in events:
            out.rows += 1
            if event.missing is not None:
                missing[event.missing] = missing.get(event.missing, 0) + 1
            else:
                out.lessons.extend(event.lessons)
        _report_missing(self.snap, out, missing)
        return out


def _report_missing(snap: RegisterSnapshot, out: ScheduleSnapshot, missing: dict[str, int]) -> None:
    unreadable = snap.unreadable_ids.get("activities", set())
    for activity_id, count in sorted(missing.items()):
        if activity_id in unreadable:
            text = (
                f"{count} calendar event(s) name the activity {activity_id}, which is in "
                f"activities.json but cannot be read (see its invalid-record issue), so they were "
                f"skipped. Correct the activity in the register and export again."
            )
        elif "activities" in snap.unidentified:
            text = (
                f"{count} calendar event(s) name the activity {activity_id}, which was not found "
                f"among the activities that could be read (activities.json has records that "
                f"cannot be read), so they were skipped. Correct those records and export again."
            )
        else:
            text = (
                f"{count} calendar event(s) name the activity {activity_id}, which is not in "
                f"activities.json, so they were skipped. Include every activity in the export."
            )
        out.issues.append(issue("unknown-reference", text, activity_id))
