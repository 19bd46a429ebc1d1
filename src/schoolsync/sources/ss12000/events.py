"""SS 12000 calendar events (lessons) as dated lessons.

A calendar event's groups, teachers and subject come from its activity; ``teacherExceptions``
replace teachers for that one lesson (a substitute takes part, the absent teacher does not);
``rooms`` give the room. Times are turned into Swedish wall-clock time.
"""

from __future__ import annotations

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


def calendar_lessons(
    snap: RegisterSnapshot,
    events: list[tuple[m.CalendarEvent, RecordRef]],
    rooms: dict[str, str],
) -> ScheduleSnapshot:
    """Dated lessons from calendar events, one per group of each event's activity."""
    out = ScheduleSnapshot(source="ss12000", path=f"{snap.source}/calendarEvents.json")
    activities = {a.id: a for a in snap.activities}
    missing: dict[str, int] = {}
    for event, ref in events:
        out.rows += 1
        activity = activities.get(event.activity.id.lower())
        if activity is None:
            missing[event.activity.id.lower()] = missing.get(event.activity.id.lower(), 0) + 1
            continue
        duties = [t.duty_id for t in activity.teachers]
        for exception in event.teacherExceptions or ():
            duty = exception.duty.id.lower()
            if exception.participates and duty not in duties:
                duties.append(duty)
            elif not exception.participates and duty in duties:
                duties.remove(duty)
        syllabus = snap.syllabuses.get(activity.syllabus_id or "")
        room_names = [rooms.get(r.id.lower(), r.id) for r in event.rooms or ()]
        for group_id in activity.group_ids:
            out.lessons.append(
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
            )
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
    return out
