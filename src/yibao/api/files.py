"""9101 and 9102 over HTTP as the spec has them: an upload is ``multipart/form-data`` (text part
``jsonStr`` = the envelope, binary part ``file``); a download answers the file's bytes.

The transactions themselves take and give the file inside the envelope (Base64), so every dialect,
the SM4 one included, works the same; this module only moves the bytes in and out of that place.
"""

from __future__ import annotations

import base64
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import quote

from fastapi import Response

from yibao.errors import refuse
from yibao.nhsa.envelope import parse_body


def is_multipart(content_type: str | None) -> bool:
    return bool(content_type) and content_type.split(";")[0].strip().lower() == "multipart/form-data"


def upload_envelope(body: bytes, content_type: str) -> dict:
    """The envelope of a multipart 9101 request, the file's bytes put in ``fsUploadIn.in``."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + body)
    parts = (
        {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
        if message.is_multipart()
        else {}
    )
    if "jsonStr" not in parts or "file" not in parts:
        raise refuse("E0000-002", detail="文件上传须为 multipart/form-data，含 jsonStr 与 file 两部分")
    doc = parse_body(parts["jsonStr"].get_payload(decode=True) or b"")
    content = parts["file"].get_payload(decode=True) or b""
    inp = doc.get("input") if isinstance(doc, dict) else None
    if isinstance(inp, dict):
        node = inp.setdefault("fsUploadIn", {})
        if isinstance(node, dict):
            node["in"] = base64.b64encode(content).decode("ascii")
            node.setdefault("filename", parts["file"].get_filename() or "upload.zip")
    return doc


def file_response(answer: dict) -> Response | None:
    """A successful 9102 answer as the file itself; None for any other answer."""
    output = answer.get("output") if answer.get("infcode") == 0 else None
    if not isinstance(output, dict) or not isinstance(output.get("file"), str) or "filename" not in output:
        return None
    content = base64.b64decode(output["file"])
    disposition = f"attachment; filename*=UTF-8''{quote(str(output['filename']))}"
    return Response(content, media_type="application/octet-stream", headers={"Content-Disposition": disposition})
