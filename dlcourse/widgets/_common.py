"""What every explorer of :mod:`dlcourse.widgets` shares: rendering its figure and showing it."""

from __future__ import annotations

import io

from matplotlib.figure import Figure

__all__ = ["WidgetView", "figure_png"]


def figure_png(fig: Figure, dpi: int = 80) -> bytes:
    """The PNG bytes of ``fig`` at ``dpi``: what an explorer puts in its ``Image`` widget."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


class WidgetView:
    """Mixin: an explorer with an ipywidgets box ``widget`` displays as that box."""

    widget: object

    def _repr_mimebundle_(self, **kwargs):
        render = getattr(self.widget, "_repr_mimebundle_", None)
        if render is None:  # ipywidgets 7 (Colab's own): a box displays itself instead
            from IPython.display import display

            display(self.widget)
            return None
        return render(**kwargs)
