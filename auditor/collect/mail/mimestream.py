"""`MessageFacts` of a message read in chunks, for messages too large to hold whole.

`mime.message_facts` parses a message given as bytes, which is the fast way for ordinary mail.
A 2 GB message cannot be held like that (its bytes, then the copies a parser makes). This
reader is fed the message chunk by chunk and keeps only what the facts need: the top-level
header block (capped), each MIME part's header block, and counters for each part's body
(bytes as transferred, bytes once decoded). Memory stays bounded whatever the message size.

It follows `mime.py`'s reading of RFC 2046 line for line, so both give the same facts for the
same message (tests/unit/test_mbox_streaming.py checks it on the test corpora).
"""

from __future__ import annotations

import binascii

from auditor.collect.mail import mime
from auditor.collect.mail import mimeheader as mh
from auditor.collect.mail.mimeheader import PartHead, is_attachment
from auditor.collect.mail.records import AttachmentFacts, MessageFacts

__all__ = ["MessageStream"]

_LINE_CAP = 64 * 1024  # a "line" longer than this is body data, read in pieces
_HEADER_CAP = 1024 * 1024  # a header block beyond this is cut (and the message malformed)
_TAIL = 16  # bytes kept from the end of a body: enough to drop its last line ending
_BASE64_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

_HEADERS, _BODY = "headers", "body"
_PREAMBLE, _PARTS, _EPILOGUE, _OPAQUE = "preamble", "parts", "epilogue", "opaque"


class _Body:
    """Counts one body as it streams by: its length and its decoded length (RFC 2045 CTE)."""

    __slots__ = ("cte", "size", "decoded", "base64_chars", "padding", "tail", "uu", "state")

    def __init__(self, cte: str, state: mime._State) -> None:
        self.cte = cte
        self.size = 0
        self.decoded = 0
        self.base64_chars = 0
        self.padding = 0
        self.tail = b""
        self.state = state
        self.uu = mime.UuCounter() if cte in mime._UU else None

    def add(self, block: bytes) -> None:
        self.size += len(block)
        if self.uu is not None:
            self.uu.add(block, self.state)
        elif self.cte == "base64":
            self.base64_chars += len(block) - len(block.translate(None, _BASE64_CHARS))
            self.padding += block.count(b"=")
        elif self.cte == "quoted-printable":
            self.decoded += len(binascii.a2b_qp(block))
        else:
            self.decoded += len(block)
        self.tail = (self.tail + block[-_TAIL:])[-_TAIL:]

    def trim_line_ending(self) -> None:
        """Drop the line ending before a delimiter: RFC 2046 5.1.1 gives it to the delimiter."""
        ending = 2 if self.tail.endswith(b"\r\n") and self.size >= 2 else 0
        if not ending and self.tail.endswith(b"\n"):
            ending = 1
        if not ending:
            return
        self.size -= ending
        if self.cte == "quoted-printable":
            self.decoded -= len(binascii.a2b_qp(self.tail)) - len(
                binascii.a2b_qp(self.tail[:-ending])
            )
        elif self.cte != "base64":
            self.decoded -= ending
        self.tail = self.tail[:-ending]

    def decoded_size(self, state: mime._State) -> int:
        if self.uu is not None:
            return self.uu.result(self.size, state)
        if self.cte != "base64":
            return self.decoded
        chars = self.base64_chars
        if chars % 4 and (chars + self.padding) % 4:
            state.flag(mh.R_ENCODING)  # incomplete or badly padded: binascii refuses it
        return self.base64_chars * 3 // 4


_IDENTITY = ("", "7bit", "8bit", "binary")


class _Part:
    """A MIME part whose header block has been read."""

    __slots__ = ("message", "number", "depth")

    def __init__(self, message: PartHead, number: str, depth: int) -> None:
        self.message, self.number, self.depth = message, number, depth


class _Multipart:
    """A multipart being read: its boundary and where its parts are."""

    __slots__ = ("part", "delimiter", "state", "children", "digest", "opaque")

    def __init__(self, part: _Part, boundary: bytes) -> None:
        self.part = part
        self.delimiter = b"--" + boundary
        self.state = _PREAMBLE
        self.children = 0
        self.digest = part.message.subtype == "digest"
        # the whole body, counted in case no delimiter ever comes (then it is text, RFC 2046)
        self.opaque = _Body(part.message.cte, mime._State())


class MessageStream:
    """Feed a message (without its mbox "From " line) with `feed`, then ask for `facts`."""

    def __init__(self, depth: int = 0) -> None:
        self._depth = depth  # of a forwarded message's inside, read for defects only
        self.size = 0
        self.header_block = b""  # the top-level header block (capped), for mbox flags
        self._state = mime._State()
        self._attachments: list[AttachmentFacts] = []
        self._carry = b""
        self._mid_line = False  # inside a line longer than _LINE_CAP
        self._stack: list[_Multipart] = []
        self._mode = _HEADERS
        self._head = bytearray()  # header block being read
        self._child_bytes = 0  # bytes of the part being read, headers included
        self._child_number = ""
        self._leaf: tuple[_Part, _Body, MessageStream | None] | None = None
        self._top_done = False

    # --- feeding ---------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        data = self._carry + chunk if self._carry else bytes(chunk)
        pos, end = 0, len(data)
        while pos < end:
            if self._mid_line:  # the rest of a very long line: never a delimiter
                newline = data.find(b"\n", pos)
                stop = end if newline < 0 else newline + 1
                self._data(data[pos:stop])
                self._mid_line = newline < 0
                pos = stop
                continue
            if end - pos < 2:
                break  # one byte: it may be the start of "--"
            if self._mode == _HEADERS or data.startswith(b"--", pos):
                newline = data.find(b"\n", pos)
                if newline < 0:
                    if end - pos > _LINE_CAP:
                        self._data(data[pos:end])
                        self._mid_line = True
                        pos = end
                    break
                self._line(data[pos : newline + 1])
                pos = newline + 1
                continue
            # body lines up to the next one that may be a delimiter, in one block
            dashes = data.find(b"\n--", pos)
            if dashes >= 0:
                stop = dashes + 1
            else:
                last = data.rfind(b"\n", pos)
                if last < 0:
                    if end - pos > _LINE_CAP:
                        self._data(data[pos:end])
                        self._mid_line = True
                        pos = end
                    break
                stop = last + 1
            self._data(data[pos:stop])
            pos = stop
        self._carry = data[pos:]

    def _data(self, block: bytes) -> None:
        """Bytes of the current part that are not a delimiter line."""
        if not block:
            return
        self._child_bytes += len(block)
        if self._mode == _HEADERS:
            self._header_bytes(block)
        elif self._leaf is not None:
            self._leaf[1].add(block)
            if self._leaf[2] is not None:
                self._leaf[2].feed(block)
        elif self._stack and self._stack[-1].state in (_PREAMBLE, _OPAQUE):
            self._stack[-1].opaque.add(block)

    def _line(self, line: bytes) -> None:
        if line.startswith(b"--"):
            # outermost first, but a multipart that reuses its parent's boundary claims the
            # delimiter lines up to its own close delimiter (mime._split_multipart, Dovecot)
            stack = self._stack
            for index, frame in enumerate(stack):
                if frame.state in (_EPILOGUE, _OPAQUE) or not line.startswith(frame.delimiter):
                    continue
                rest = line[len(frame.delimiter) :].rstrip(b"\n")
                close = rest.startswith(b"--")
                if rest[2 if close else 0 :].strip(b" \t\r"):
                    continue  # "--boundaryX": a longer line, not this delimiter
                while (
                    index + 1 < len(stack)
                    and stack[index + 1].delimiter == frame.delimiter
                    and stack[index + 1].state not in (_EPILOGUE, _OPAQUE)
                ):
                    index += 1
                    frame = stack[index]
                self._delimiter(index, close, line)
                return
        self._data(line)

    def _header_bytes(self, block: bytes) -> None:
        if block in (b"\n", b"\r\n") and not self._mid_line:
            self._headers_done()
            return
        if len(self._head) + len(block) > _HEADER_CAP:
            self._state.flag(mh.R_HEADER_LINE)
            return
        self._head += block

    # --- structure -------------------------------------------------------------------------

    def _parse_head(self) -> _Part:
        fields = mh.header_fields(bytes(self._head), self._state)
        if not self._top_done:
            self.header_block = bytes(self._head)
            self._top_done = True
            return _Part(mh.parse_part_head(fields, self._state), "", self._depth)
        frame = self._stack[-1]
        default = "message/rfc822" if frame.digest else "text/plain"  # RFC 2046 5.1.5
        head = mh.parse_part_head(fields, self._state, default)
        return _Part(head, self._child_number, frame.part.depth + 1)

    def _headers_done(self) -> None:
        part = self._parse_head()
        self._head = bytearray()
        self._mode = _BODY
        message = part.message
        if part.depth > mime._MAX_DEPTH:
            self._state.flag(mh.R_DEPTH)  # nesting bomb: the rest of this part is ignored
            self._leaf = None
            return
        if message.maintype == "multipart":
            if message.cte not in _IDENTITY:
                self._state.flag(mh.R_ENCODING)  # RFC 2045 section 6.4
            boundary = message.boundary
            if boundary is not None:
                if self._stack and self._stack[-1].delimiter == b"--" + boundary:
                    self._state.flag(mh.R_SAME_BOUNDARY)  # RFC 2046 forbids it
                self._stack.append(_Multipart(part, boundary))
                self._leaf = None
                return
            self._state.flag(mh.R_NO_BOUNDARY)  # RFC 2046: text, not an attachment
            self._leaf = None
            return
        inner = None
        if (
            message.maintype == "message"
            and message.subtype != "delivery-status"  # RFC 3464 blocks are not a message
            and message.cte in _IDENTITY  # an encoded one is not read for defects
        ):
            inner = MessageStream(part.depth + 1)
        self._leaf = (part, _Body(message.cte, self._state), inner)

    def _end_child(self, trim: bool) -> None:
        """The part being read ends (a delimiter, or the end of the message)."""
        if self._mode == _HEADERS and (self._child_bytes or not self._stack):
            self._headers_done()  # a part without a blank line: all headers, empty body
        if self._leaf is not None:
            part, body, inner = self._leaf
            if trim:
                body.trim_line_ending()
            if inner is not None and inner.defective():
                for reason in inner._state.reasons:
                    self._state.flag(reason)
            self._emit(part, body)
        self._leaf = None

    def _end_frame(self, frame: _Multipart, trim: bool) -> None:
        if frame.state in (_PREAMBLE, _OPAQUE):  # no first delimiter: text (RFC 2046)
            self._state.flag(mh.R_NO_DELIMITER)
        elif frame.state == _PARTS:
            self._state.flag(mh.R_NO_CLOSE)  # the last part ran to the end

    def _delimiter(self, index: int, close: bool, line: bytes) -> None:
        if index < len(self._stack) - 1 or self._stack[-1].state == _PARTS:
            self._end_child(trim=True)
        while len(self._stack) > index + 1:  # inner multiparts cut short by an outer delimiter
            self._end_frame(self._stack.pop(), trim=True)
        frame = self._stack[index]
        if frame.state == _PREAMBLE and close:
            self._state.flag(mh.R_NO_DELIMITER)  # a close delimiter first: all of it is text
            frame.state = _OPAQUE
            frame.opaque.add(line)
            return
        if close:
            frame.state = _EPILOGUE
            self._mode = _BODY
            return
        frame.state = _PARTS
        self._mode = _HEADERS
        self._head = bytearray()
        self._child_bytes = 0
        # every delimiter starts a part, an empty one too (RFC 2046, Dovecot's numbering)
        frame.children += 1
        prefix = f"{frame.part.number}." if frame.part.number else ""
        self._child_number = f"{prefix}{frame.children}"

    def _emit(self, part: _Part, body: _Body) -> None:
        """One leaf part read whole: an attachment, unless it is the text of the message."""
        message, state = part.message, self._state
        number = part.number or "1"
        ctype = message.content_type
        filename = message.filename(state)
        if not is_attachment(ctype, message.disposition, filename):
            return
        self._attachments.append(
            AttachmentFacts(number, filename, ctype, body.size, body.decoded_size(state))
        )

    # --- result ----------------------------------------------------------------------------

    def _finish(self) -> None:
        """The end of the message: the last line, the last part, multiparts left open."""
        if self._carry:
            carry, self._carry = self._carry, b""
            if self._mid_line:
                self._data(carry)
            elif self._mode == _HEADERS or carry.startswith(b"--"):
                self._line(carry)
            else:
                self._data(carry)
        self._end_child(trim=bool(self._stack))
        while self._stack:
            frame = self._stack.pop()
            self._end_frame(frame, trim=bool(self._stack))

    def defective(self) -> bool:
        """Whether the message fed so far (all of it) has MIME defects."""
        self._finish()
        return self._state.malformed

    def facts(
        self,
        key: int,
        seen: bool,
        internal_date: str | None = None,
        *,
        flags: tuple[str, ...] = (),
    ) -> MessageFacts:
        """The facts of the message fed so far, which must be all of it. Never raises."""
        self._finish()
        headers = mime.wanted_headers(self.header_block)
        return mime.facts_from_headers(
            headers,
            key=key,
            size_bytes=self.size,
            seen=seen,
            internal_date=internal_date,
            flags=flags,
            attachments=tuple(self._attachments),
            malformed=self._state.malformed,
            reasons=tuple(self._state.reasons),
        )
