"""wpool_frames — the pipe transport's framing, both protocols (wpool_worker's).

Owns the frames on a pipe worker's stdin and stdout: reading one
(`u32 big-endian length | body`, limits and truncation), the Hello's frame,
and the two codecs that turn a request frame into a reply frame:

  * protocol 2: the body is a protobuf Request; the reply a protobuf Reply;
  * protocol 3 (issue 19, the compact envelope): the body is
    `u8 tag | u64 big-endian id | rest`. A request's tag is its kind's
    Request field number (2 Ping: rest = the payload itself; 3 Work and
    5 Call: rest = that protobuf message; 4 Shutdown: empty, ignored), a reply's tag
    its Status (rest = the payload when OK, else the error text).

pipe_framing() picks one, once, from the pool's offer: WPOOL_PROTOCOL, the
highest version it speaks, in every worker's environment, which
take_offer() removes at the start (a zygote child keeps its template's).
The Hello itself is a protobuf frame in both.

Calls nothing of wpool_worker: a codec is given the SDK's dispatcher and
uses only dispatch(request) -> (reply, shutdown), .m (the message classes),
.echoes_pings, .delay() and .reply_size (which it may replace).
"""
import os
import struct

PROTOCOL_VERSION = 2  # Call and Hello.methods (proto/wpool.proto): the Hello's
COMPACT_VERSION = 3   # version, or this one on a pipe whose pool offers it
DEFAULT_MAX_FRAME = 16 * 1024 * 1024

_HDR = struct.Struct(">I")
_TAG_ID = struct.Struct(">BQ")  # after the length: request kind or reply status, id
_COMPACT = struct.Struct(">IBQ")


class ProtocolError(Exception):
    """The peer broke the framing: oversized, truncated or garbage frame."""


def encode_frame(message):
    """Returns the frame (length header + bytes) carrying a message."""
    body = message.SerializeToString()
    return _HDR.pack(len(body)) + body


def _read_exact(stream, n):
    """Reads exactly n bytes unless EOF comes first (then returns fewer).
    A pipe hands out whatever has arrived, so one frame may take many reads."""
    parts, got = [], 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def read_frame(stream, max_frame=DEFAULT_MAX_FRAME):
    """Returns the next frame's body, or None at a clean EOF (between frames).
    Raises ProtocolError for an oversized or truncated frame."""
    hdr = _read_exact(stream, _HDR.size)
    if not hdr:
        return None
    if len(hdr) < _HDR.size:
        raise ProtocolError("stdin ended inside a frame header (truncated frame)")
    (n,) = _HDR.unpack(hdr)
    if n > max_frame:
        raise ProtocolError(f"frame of {n} bytes is larger than --max-frame {max_frame}")
    body = _read_exact(stream, n)
    if len(body) < n:
        raise ProtocolError(f"stdin ended inside a frame ({len(body)} of {n} bytes; "
                            "truncated frame)")
    return body


def _garbage(cls, e):
    """The error for a body that does not decode as a cls."""
    return ProtocolError(f"garbage frame (not a {cls.DESCRIPTOR.name}): {e}")


class ProtobufFrames:
    """Protocol 2: a frame's body is a whole Request; the reply a whole Reply."""

    version = PROTOCOL_VERSION

    def __init__(self, dispatch):
        self.dispatch, self.Request = dispatch, dispatch.m.Request

    def answer(self, body):
        """Returns (the reply frame, shutdown)."""
        try:
            request = self.Request.FromString(body)
        except Exception as e:  # DecodeError, or anything the parser raises
            raise _garbage(self.Request, e) from None
        reply, shutdown = self.dispatch(request)
        return encode_frame(reply), shutdown


class CompactFrames:
    """Protocol 3 (issue 19): the id, the request's kind and the reply's
    status travel in the frame header; only a Work's or Call's body is a
    protobuf message, a Ping's is its payload. Handlers see Requests and
    return what they always did; a Ping the handler would only echo builds
    no message at all, which was most of what a tiny request cost."""

    version = COMPACT_VERSION

    def __init__(self, dispatch):
        m = self.m = dispatch.m
        self.dispatch, self.echo = dispatch, dispatch.echoes_pings
        # tag (the Request.kind field number) -> (kind, its message class)
        self.kinds = {f.number: (f.name, getattr(m, f.message_type.name))
                      for f in m.Request.DESCRIPTOR.oneofs_by_name["kind"].fields}
        dispatch.reply_size = self._size

    def answer(self, body):
        """Returns (the reply frame, shutdown)."""
        if len(body) < _TAG_ID.size:
            raise ProtocolError(f"garbage frame ({len(body)} bytes, "
                                f"shorter than its {_TAG_ID.size}-byte tag and id)")
        tag, rid = _TAG_ID.unpack_from(body)
        name, cls = self.kinds.get(tag, (None, None))
        if name is None:  # a kind from a newer protocol: as v2's "no kind"
            self.dispatch.delay()
            text = b"unknown request tag %d" % tag
            return self._frame(rid, self.m.STATUS_BAD_REQUEST, text), False
        if name == "ping" and self.echo:  # the reference's echo: no handler, no message
            self.dispatch.delay()  # the reply's header is the request's size too
            return _COMPACT.pack(len(body), self.m.STATUS_OK, rid) + body[_TAG_ID.size:], False
        reply, shutdown = self._dispatch(rid, name, cls, body)
        return self._reply_frame(rid, reply), shutdown

    def _dispatch(self, rid, name, cls, body):
        """The handler's (reply, shutdown) for the Request it sees, the body
        decoded in place: a quarter cheaper than Request(work=Work.FromString())."""
        request = self.m.Request(id=rid)
        # `message` lives until the handler returns: protobuf's C++ backend
        # reuses request.<kind>'s wrapper only while one is alive, and builds
        # one per access otherwise (2,700 more instructions a Call).
        message = getattr(request, name)
        message.SetInParent()  # this kind, even with an empty body
        if name == "ping":
            message.payload = body[_TAG_ID.size:]
        elif name != "shutdown":  # whose body is empty, or ignored as the C worker does
            try:  # from a view: each copy of a big body costs (~1.5 ms a MiB here)
                message.MergeFromString(memoryview(body)[_TAG_ID.size:])
            except Exception as e:  # DecodeError, or anything the parser raises
                raise _garbage(cls, e) from None
        return self.dispatch(request)

    def _reply_frame(self, rid, reply):
        status, data = reply.status, self._reply_body(reply)
        if not 0 <= status <= 255:  # a handler's own Reply: no tag can carry it
            status, data = self.m.STATUS_WORKER_ERROR, b"reply status %d is not a u8" % status
        return self._frame(rid, status, data)

    def _size(self, reply, payload):
        """A reply's frame size (the dispatcher's --max-frame check): from the
        payload when the dispatcher has it, as the Reply's getter copies it."""
        return _TAG_ID.size + len(self._reply_body(reply) if payload is None else payload)

    def _reply_body(self, reply):
        """A reply's body: its payload when OK, else its error text."""
        return reply.payload if reply.status == self.m.STATUS_OK else reply.error.encode()

    @staticmethod
    def _frame(rid, status, data):
        return _COMPACT.pack(_TAG_ID.size + len(data), status, rid) + data


def take_offer(environ=os.environ):
    """The protocol the pool offers (WPOOL_PROTOCOL, "" if none), taken out
    of the environment: a program a handler or init starts must not inherit
    it (under an older supervisor that passed it through, a newer worker
    would say 3 and never start), as worker/pipe.c does."""
    return environ.pop("WPOOL_PROTOCOL", "")


def pipe_framing(dispatch, offered):
    """The codec a pipe worker speaks, chosen once: protocol 3 when the pool
    offers it (take_offer() >= 3), else 2. Its .version goes in the Hello."""
    if offered.isdigit() and int(offered) >= COMPACT_VERSION:
        return CompactFrames(dispatch)
    return ProtobufFrames(dispatch)
