"""Reading generated PDFs back as text, and proving nothing was fetched while rendering."""

import shutil
import socket
import subprocess
import threading

from pypdf import PdfReader


def pdf_text(content: bytes, tmp_path) -> str:
    """The PDF's text as pdftotext lays it out (pypdf when poppler is missing)."""
    path = tmp_path / "document.pdf"
    path.write_bytes(content)
    if shutil.which("pdftotext"):
        return subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


class Listener:
    """A TCP listener on loopback that counts connections: proof that nothing was fetched."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
                self.connections += 1
                conn.close()
            except OSError:
                continue

    def close(self):
        self._stop = True
        self.thread.join()
        self.sock.close()
