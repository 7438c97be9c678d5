"""结算单: the settlement slip a patient keeps, as printable HTML and as PDF (WeasyPrint).

Both come from one template, so the PDF is exactly the page. The PDF needs a CJK font on the
machine (Debian: fonts-wqy-microhei or fonts-noto-cjk).
"""

from __future__ import annotations

from fastapi.responses import HTMLResponse, Response

from yibao.care.model import SettlementView
from yibao.web.render import env


def slip_html(view: SettlementView, *, for_pdf: bool = False) -> str:
    return env.get_template("slip.html").render(v=view, r=view.result, for_pdf=for_pdf)


def slip_pdf(view: SettlementView) -> bytes:
    from weasyprint import HTML  # imported here: it loads Pango, which only slips need

    return HTML(string=slip_html(view, for_pdf=True)).write_pdf()


def slip_response(view: SettlementView, kind: str) -> Response:
    """The slip as the browser asked for it: ``html`` to print, ``pdf`` to keep."""
    if kind == "pdf":
        return Response(
            slip_pdf(view),
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="slip-{view.setl_id}.pdf"'},
        )
    return HTMLResponse(slip_html(view))
