from datetime import date

import pytest
from pypdf import PdfReader

from recovery.core.pdf import StaticOnlyFetcher, render_pdf
from tests.pdfs import pdf_text

AGENCY = {
    "name": "Test Agency TPL Unit",
    "address_lines": ["1 Capitol Way", "Springfield, ST 00000"],
}


def _context(**overrides):
    context = {
        "agency": AGENCY,
        "letter_date": date(2026, 3, 4),
        "recipient": {
            "name": "Jordan Example, Esq.",
            "address_lines": ["10 Main St", "Townsville, ST 11111"],
        },
        "signer": {"name": "Dana Whitfield", "title": "Recovery Specialist"},
        "subject": "Request for information",
        "case_number": "TPL-2026-000123",
        "member_name": "Alex Sample",
        "paragraphs": ["Please send the police report."],
        "items": [],
    }
    context.update(overrides)
    return context


def test_a_letter_renders_with_letterhead_recipient_and_page_numbers(tmp_path):
    rendered = render_pdf("letters/general.html", _context())
    text = pdf_text(rendered.content, tmp_path)
    assert "Test Agency TPL Unit" in text
    assert "Jordan Example, Esq." in text
    assert "TPL-2026-000123" in text
    assert "Please send the police report." in text
    assert "Page 1 of 1" in text
    assert len(rendered.sha256) == 64
    assert rendered.refused_urls == []


def test_a_long_table_repeats_page_numbers_across_pages(tmp_path):
    items = [{"description": f"Service line {n}", "amount": f"{n}.00"} for n in range(1, 121)]
    rendered = render_pdf("letters/general.html", _context(items=items))
    reader = PdfReader(__import__("io").BytesIO(rendered.content))
    pages = len(reader.pages)
    assert pages >= 3
    text = pdf_text(rendered.content, tmp_path)
    assert f"Page {pages} of {pages}" in text
    assert "Service line 120" in text


def test_markup_in_user_data_prints_as_text_and_fetches_nothing(tmp_path, listener):
    hostile = f'<img src="http://127.0.0.1:{listener.port}/x">'
    rendered = render_pdf(
        "letters/general.html",
        _context(
            recipient={
                "name": hostile,
                "address_lines": ['<link rel="stylesheet" href="http://127.0.0.1:9/x">'],
            },
            paragraphs=['<img src="http://127.0.0.1:9/x"> and <script>alert(1)</script>'],
        ),
    )
    text = pdf_text(rendered.content, tmp_path)
    assert f'<img src="http://127.0.0.1:{listener.port}/x">' in text
    assert "<script>alert(1)</script>" in text
    assert listener.connections == 0
    assert rendered.refused_urls == []


def test_the_fetcher_refuses_anything_but_project_static_files(listener, settings):
    fetcher = StaticOnlyFetcher()
    for url in (
        f"http://127.0.0.1:{listener.port}/x",
        "https://example.org/logo.png",
        "file:///etc/passwd",
        "ftp://127.0.0.1/x",
        "file:///static/../../../../etc/passwd",
    ):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert listener.connections == 0
    static_root = settings.STATICFILES_DIRS[0]
    response = fetcher.fetch(f"file://{static_root}/css/letter.css")
    assert b"@page" in response.read() if hasattr(response, "read") else True


def test_a_template_pointing_outside_is_rendered_without_the_fetch(tmp_path, listener, settings):
    template_dir = tmp_path / "templates"
    (template_dir / "letters").mkdir(parents=True)
    (template_dir / "letters" / "evil.html").write_text(
        f'<html><body><p>Body</p><img src="http://127.0.0.1:{listener.port}/tracker.png"></body></html>'
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [template_dir, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    rendered = render_pdf("letters/evil.html", {})
    assert listener.connections == 0
    assert rendered.refused_urls == [f"http://127.0.0.1:{listener.port}/tracker.png"]
