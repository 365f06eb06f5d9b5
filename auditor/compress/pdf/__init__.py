"""Light copies of PDFs, by stage, as OCRmyPDF splits its own pipeline.

pipeline.py opens the file, makes the candidates, chooses the smallest that passes the guard
(`compress_pdf`, the entry point); analysis.py measures how each image is drawn and which ones
can be re-encoded; images.py re-encodes them; writing.py recompresses streams losslessly and
writes object streams and a compressed cross-reference stream.
"""

from auditor.compress.pdf.analysis import drawn_sizes
from auditor.compress.pdf.pipeline import RENDER_DPI, compress_pdf, ghostscript_available

__all__ = ["RENDER_DPI", "compress_pdf", "drawn_sizes", "ghostscript_available"]
