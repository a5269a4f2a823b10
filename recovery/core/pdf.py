"""PDF rendering with WeasyPrint, confined to the project's own static files.

Every letter is a Django template (auto-escaped) rendered to HTML, then to PDF. The URL fetcher
serves only files under the project's static folders and `data:` URIs; any other URL — http(s),
file paths elsewhere, ftp — is refused without a network or disk access, so user data that
smuggles markup into a letter can never make the renderer fetch anything.
"""

import hashlib
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.conf import settings
from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

STATIC_SCHEME_ROOT = "file://"


def _static_roots() -> list[Path]:
    return [Path(folder).resolve() for folder in settings.STATICFILES_DIRS]


class StaticOnlyFetcher(URLFetcher):
    """Serves project static files (by file:// path or /static/ URL); refuses the rest."""

    def __init__(self):
        super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False)
        self.refused: list[str] = []

    def _resolve_static(self, url: str) -> Path | None:
        parsed = urlparse(url)
        if parsed.scheme != "file":
            return None
        path = Path(unquote(parsed.path))
        # A URL like /static/css/letter.css resolves against the static folders.
        if str(path).startswith(settings.STATIC_URL):
            relative = str(path)[len(settings.STATIC_URL) :]
            candidates = [root / relative for root in _static_roots()]
        else:
            candidates = [path]
        for candidate in candidates:
            resolved = candidate.resolve()
            if (
                any(resolved.is_relative_to(root) for root in _static_roots())
                and resolved.is_file()
            ):
                return resolved
        return None

    def fetch(self, url, headers=None):
        if url.startswith("data:"):
            return super().fetch(url, headers)
        resolved = self._resolve_static(url)
        if resolved is None:
            self.refused.append(url)
            raise ValueError(
                f"refused to fetch {url!r}: only the project's static files are served"
            )
        mime, _ = mimetypes.guess_type(resolved.name)
        return URLFetcherResponse(
            url, resolved.read_bytes(), {"Content-Type": mime or "application/octet-stream"}
        )


@dataclass
class RenderedPdf:
    content: bytes
    sha256: str
    refused_urls: list[str] = field(default_factory=list)


def render_pdf(template_name: str, context: dict) -> RenderedPdf:
    html = render_to_string(template_name, context)
    fetcher = StaticOnlyFetcher()
    # base_url points at a static folder so relative links resolve there and nowhere else.
    base_url = _static_roots()[0].as_uri() + "/"
    content = HTML(string=html, base_url=base_url, url_fetcher=fetcher).write_pdf()
    return RenderedPdf(
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        refused_urls=fetcher.refused,
    )
