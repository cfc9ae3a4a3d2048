"""The storyboard PDF: six panels per A4 landscape page, one per shot in story order.

Each panel shows the shot's current keyframe (or an empty frame saying none exists yet),
its number, scene and duration, the scene heading, the camera (size, angle, motion: a line of
its own, never cut), the plot, the dialogue and the team's notes. Plot, dialogue and notes
that do not fit the panel are cut at a line end with an ellipsis.

Script text is Unicode, and the PDF core fonts only cover Latin-1, so a TrueType font is
embedded: the one given, else DejaVu Sans as shipped inside opencv-python (a requirement of
the studio). Without either the core font is used and unsupported characters become "?",
with a warning in the log.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import MethodReturnValue, XPos, YPos
from sqlmodel import Session

from studio.db import KeyframeVersion, RenderKind, RenderPublic
from studio.db import storyboard as storyboard_db
from studio.errors import StudioError
from studio.media import MediaStore
from studio.ownership import require_project
from studio.services.renders import store_render

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PanelLayout:
    """Millimetres on an A4 landscape page (297 x 210)."""

    page_width: float = 297.0
    page_height: float = 210.0
    margin: float = 10.0
    header: float = 12.0
    columns: int = 3
    rows: int = 2
    gutter: float = 6.0
    # Keyframes are 224x128 in the toy world (1.75:1); other aspect ratios are letterboxed.
    image_aspect: float = 1.75
    line_height: float = 3.9
    font_size: float = 8.0

    @property
    def panel_width(self) -> float:
        return (self.page_width - 2 * self.margin - (self.columns - 1) * self.gutter) / self.columns

    @property
    def panel_height(self) -> float:
        return (self.page_height - 2 * self.margin - self.header - (self.rows - 1) * self.gutter) / self.rows

    @property
    def image_height(self) -> float:
        return self.panel_width / self.image_aspect


def find_unicode_font() -> tuple[Path, Path | None] | None:
    """(regular, bold or None) TrueType files of DejaVu Sans from opencv-python, if installed."""
    spec = importlib.util.find_spec("cv2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = Path(location) / "qt" / "fonts"
        regular = folder / "DejaVuSans.ttf"
        if regular.is_file():
            bold = folder / "DejaVuSans-Bold.ttf"
            return regular, bold if bold.is_file() else None
    return None


class _Fonts:
    def __init__(self, pdf: FPDF, font_path: Path | None):
        found = (Path(font_path), None) if font_path else find_unicode_font()
        self.unicode = found is not None
        if found is not None:
            regular, bold = found
            pdf.add_font("Storyboard", "", str(regular))
            pdf.add_font("Storyboard", "B", str(bold or regular))
            self.family = "Storyboard"
        else:
            logger.warning(
                "no Unicode font found for the storyboard PDF; characters outside Latin-1 become '?'"
            )
            self.family = "Helvetica"

    @property
    def ellipsis(self) -> str:
        return "…" if self.unicode else "..."

    def text(self, value: str) -> str:
        if self.unicode:
            return value
        return value.encode("latin-1", "replace").decode("latin-1")


def _fit_lines(
    pdf: FPDF, width: float, text: str, max_lines: int, line_height: float, ellipsis: str = "…"
) -> list[str]:
    """`text` wrapped to `width`, at most `max_lines` lines, the last one ending in an ellipsis if cut."""
    if max_lines <= 0 or not text:
        return []
    lines = pdf.multi_cell(width, line_height, text, dry_run=True, output=MethodReturnValue.LINES)
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    last = kept[-1].rstrip()
    while last and pdf.get_string_width(last + ellipsis) > width:
        last = last[:-1].rstrip()
    kept[-1] = last + ellipsis
    return kept


def build_storyboard_pdf(
    *,
    session: Session,
    media: MediaStore,
    owner: str,
    project_id: int,
    font_path: Path | None = None,
    layout: PanelLayout | None = None,
    durations: dict[int, float] | None = None,
) -> tuple[bytes, int]:
    """The PDF bytes and the number of shot panels in it.

    `durations` (story-order index -> seconds) replaces the shots' own, e.g. as the scratch
    voice track holds them in the animatic.
    """
    layout = layout or PanelLayout()
    project = require_project(session, project_id, owner)
    rows = storyboard_db.list_project_shots(session=session, project_id=project.id)

    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_title(project.name)
    pdf.set_creator("MovieDreamer Studio")
    fonts = _Fonts(pdf, font_path)
    per_page = layout.columns * layout.rows
    pages = max(1, -(-len(rows) // per_page))

    def header(page: int) -> None:
        pdf.add_page()
        pdf.set_xy(layout.margin, layout.margin)
        pdf.set_font(fonts.family, "B", 13)
        title = fonts.text(project.name)
        pdf.cell(layout.page_width - 2 * layout.margin - 30, 7, title, new_x=XPos.RIGHT, new_y=YPos.TOP)
        pdf.set_font(fonts.family, "", 8)
        pdf.cell(30, 7, f"page {page} / {pages}", align="R")
        if project.logline:
            pdf.set_xy(layout.margin, layout.margin + 6)
            pdf.cell(layout.page_width - 2 * layout.margin, 4, fonts.text(project.logline[:200]))

    if not rows:
        header(1)
        pdf.set_font(fonts.family, "", 11)
        pdf.set_xy(layout.margin, layout.margin + layout.header + 10)
        pdf.cell(0, 8, "This project has no shots yet.")

    shot_in_scene: dict[int, int] = {}
    for index, (scene, shot) in enumerate(rows):
        slot = index % per_page
        if slot == 0:
            header(index // per_page + 1)
        column, row = slot % layout.columns, slot // layout.columns
        x = layout.margin + column * (layout.panel_width + layout.gutter)
        y = layout.margin + layout.header + row * (layout.panel_height + layout.gutter)
        shot_in_scene[scene.id] = shot_in_scene.get(scene.id, 0) + 1
        duration = (durations or {}).get(index, shot.duration)
        _panel(
            pdf,
            fonts,
            layout,
            media,
            session,
            x,
            y,
            index + 1,
            scene,
            shot,
            shot_in_scene[scene.id],
            duration,
        )

    return bytes(pdf.output()), len(rows)


def _panel(pdf, fonts, layout, media, session, x, y, number, scene, shot, number_in_scene, duration) -> None:
    width = layout.panel_width
    image_h = layout.image_height
    pdf.set_draw_color(90, 90, 90)
    pdf.rect(x, y, width, layout.panel_height)
    version = session.get(KeyframeVersion, shot.current_keyframe_id) if shot.current_keyframe_id else None
    if version is not None:
        pdf.image(
            str(media.resolve(version.media_path)), x=x, y=y, w=width, h=image_h, keep_aspect_ratio=True
        )
    else:
        pdf.set_fill_color(225, 225, 225)
        pdf.rect(x, y, width, image_h, style="F")
        pdf.set_font(fonts.family, "", 9)
        pdf.set_xy(x, y + image_h / 2 - 3)
        pdf.cell(width, 6, "no keyframe yet", align="C")
    pdf.line(x, y + image_h, x + width, y + image_h)

    pad = 1.5
    text_w = width - 2 * pad
    line_h = layout.line_height
    cursor = y + image_h + pad
    bottom = y + layout.panel_height - pad

    pdf.set_font(fonts.family, "B", layout.font_size + 1)
    pdf.set_xy(x + pad, cursor)
    lock = "  [locked]" if shot.locked else ""
    pdf.cell(
        text_w,
        line_h + 0.6,
        fonts.text(
            f"Shot {number}  ·  scene {scene.position + 1}.{number_in_scene}  ·  {duration:g} s{lock}"
        ),
    )
    cursor += line_h + 0.8

    def write(lines: list[str]) -> None:
        nonlocal cursor
        for line in lines:
            pdf.set_xy(x + pad, cursor)
            pdf.cell(text_w, line_h, line)
            cursor += line_h

    # The heading may be cut, the camera line never is: it gets a line of its own.
    pdf.set_font(fonts.family, "", layout.font_size - 0.5)
    pdf.set_text_color(80, 80, 80)
    write(_fit_lines(pdf, text_w, fonts.text(scene.heading), 1, line_h, fonts.ellipsis))
    camera = fonts.text(f"{shot.size} · {shot.angle} · {shot.motion}")
    write(pdf.multi_cell(text_w, line_h, camera, dry_run=True, output=MethodReturnValue.LINES))
    pdf.set_text_color(0, 0, 0)

    dialogue = [
        f"{line.get('character', '').upper()}"
        + (f" ({line['parenthetical']})" if line.get("parenthetical") else "")
        + f": {line.get('text', '')}"
        for line in shot.dialogue
    ]
    notes = f"Notes: {shot.notes.strip()}" if shot.notes and shot.notes.strip() else ""
    room = int((bottom - cursor) // line_h)
    # The plot gets the room first, but leaves at least one line per dialogue line (up to 2)
    # and one for the notes.
    plot_room = max(1, room - min(len(dialogue), 2) - (1 if notes else 0))
    pdf.set_font(fonts.family, "", layout.font_size)
    write(_fit_lines(pdf, text_w, fonts.text(shot.plot), plot_room, line_h, fonts.ellipsis))
    if dialogue:
        pdf.set_font(fonts.family, "", layout.font_size - 0.5)
        room = int((bottom - cursor) // line_h) - (1 if notes else 0)
        write(_fit_lines(pdf, text_w, fonts.text("\n".join(dialogue)), room, line_h, fonts.ellipsis))
    if notes:
        pdf.set_font(fonts.family, "", layout.font_size - 0.5)
        pdf.set_text_color(80, 80, 80)
        room = int((bottom - cursor) // line_h)
        write(_fit_lines(pdf, text_w, fonts.text(notes), room, line_h, fonts.ellipsis))
        pdf.set_text_color(0, 0, 0)


def export_storyboard_pdf(
    *, session: Session, media: MediaStore, owner: str, project_id: int, font_path: Path | None = None
) -> RenderPublic:
    """Build the storyboard PDF and keep it as a render of the project."""
    require_project(session, project_id, owner)
    if not storyboard_db.list_project_shots(session=session, project_id=project_id):
        raise StudioError(
            "The project has no shots yet, so there is no storyboard to print; add scenes and shots first."
        )
    durations = None
    project = require_project(session, project_id, owner)
    if project.project_settings().scratch_voice:
        # the animatic holds shots for their spoken lines; the sheets say what it shows
        from core.interchange.voiced_animatic import voiced_timing
        from studio.services.script_export import project_to_script
        from studio.services.voices import project_voices

        script = project_to_script(session=session, owner=owner, project_id=project_id)
        retimed, _, _ = voiced_timing(script, project_voices(session=session, project=project))
        durations = {i: shot.duration for i, (_, _, shot) in enumerate(retimed.shots())}
    data, panels = build_storyboard_pdf(
        session=session,
        media=media,
        owner=owner,
        project_id=project_id,
        font_path=font_path,
        durations=durations,
    )
    return store_render(
        session=session,
        media=media,
        project_id=project_id,
        kind=RenderKind.PDF,
        data=data,
        suffix=".pdf",
        params={"panels": panels},
    )
