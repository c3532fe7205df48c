"""Status colours that follow the platform's light or dark palette.

Text colours and panel backgrounds that carry meaning (failed, succeeded, drift, a
pending approval, a pin) cannot come from QPalette roles alone, so each has a light and
a dark variant; which one applies is read from the palette the widget paints with, so a
system switch to dark mode (or a dark Fusion palette) keeps every text readable.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QWidget


@dataclass(frozen=True)
class Tones:
    """One variant's colours, as CSS hex strings for rich text and style sheets."""

    error: str
    ok: str
    running: str
    warning: str  # text of a warning (drift)
    attention: str  # a call to act (awaiting approval)
    muted: str
    warning_bg: str
    info_bg: str
    info_fg: str
    pending_bg: str
    pending_fg: str
    pending_border: str


LIGHT = Tones(
    error="#c62828",
    ok="#2e7d32",
    running="#1565c0",
    warning="#8a4b00",
    attention="#d35400",
    muted="#707070",
    warning_bg="#fff3e0",
    info_bg="#e3f2fd",
    info_fg="#0d3c61",
    pending_bg="#fff8e1",
    pending_fg="#3e2723",
    pending_border="#ef6c00",
)
DARK = Tones(
    error="#ff8a80",
    ok="#81c784",
    running="#64b5f6",
    warning="#ffcc80",
    attention="#ffb74d",
    muted="#a0a0a0",
    warning_bg="#3d2a12",
    info_bg="#102a43",
    info_fg="#bbdefb",
    pending_bg="#33280f",
    pending_fg="#ffe9c4",
    pending_border="#ffa726",
)


def is_dark(source: QWidget | QPalette | None = None) -> bool:
    """Whether ``source`` (a widget, a palette, or the application) paints dark."""
    if isinstance(source, QWidget):
        palette = source.palette()
    elif isinstance(source, QPalette):
        palette = source
    else:
        palette = QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def tones(source: QWidget | QPalette | None = None) -> Tones:
    return DARK if is_dark(source) else LIGHT


def coloured(text: str, colour: str, bold: bool = False) -> str:
    """Rich text of ``text`` in ``colour`` (``text`` is already escaped)."""
    tag = "b" if bold else "span"
    return f"<{tag} style='color:{colour}'>{text}</{tag}>"


def is_palette_change(event: QEvent) -> bool:
    """True for the events a widget gets when the system (or app) palette changes."""
    return event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)


def dark_palette() -> QPalette:
    """A dark palette for the Fusion style: what a dark desktop gives the window, for
    screenshots and tests on platforms (offscreen) that have no theme of their own."""
    palette = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    colours = {
        role.Window: "#2b2b2b",
        role.WindowText: "#e6e6e6",
        role.Base: "#1f1f1f",
        role.AlternateBase: "#282828",
        role.ToolTipBase: "#3a3a3a",
        role.ToolTipText: "#e6e6e6",
        role.PlaceholderText: "#8c8c8c",
        role.Text: "#e6e6e6",
        role.Button: "#353535",
        role.ButtonText: "#e6e6e6",
        role.BrightText: "#ff6e6e",
        role.Light: "#4a4a4a",
        role.Midlight: "#3d3d3d",
        role.Mid: "#2f2f2f",
        role.Dark: "#1a1a1a",
        role.Shadow: "#0d0d0d",
        role.Highlight: "#2f65ca",
        role.HighlightedText: "#ffffff",
        role.Link: "#7fb2ff",
        role.LinkVisited: "#c49cff",
    }
    for colour_role, colour in colours.items():
        palette.setColor(colour_role, QColor(colour))
    for colour_role in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(group.Disabled, colour_role, QColor("#7a7a7a"))
    return palette
