"""The seminar's support code: self-checking exercises, interactive exact figures, the students' export.

The lectures live in ``docs/seminar/`` as MyST-markdown notebooks; each exercise's checker is in
``sharpsim.seminar.lecture<L>``. See :func:`check`, :func:`interactive` and :func:`export`.
"""

from sharpsim.seminar._core import (
           CheckResult,
           Exercise,
           check,
           exercise,
           exercises,
           interactive,
           widgets_available,
)
from sharpsim.seminar.export import export, lecture_files

__all__ = ["CheckResult", "Exercise", "check", "exercise", "exercises", "export", "interactive", "lecture_files",
           "widgets_available"]
