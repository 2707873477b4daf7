"""Message content conversion (text, images, documents).

OpenAI -> Anthropic (:func:`openai_content_to_blocks`):

* ``text`` parts and string content become ``text`` blocks; a ``cache_control``
  on a text part is kept. Text that is empty or only whitespace is dropped
  (Anthropic rejects such text blocks).
* ``image_url`` with a ``data:<media type>;base64,`` URI becomes an ``image``
  block with a ``base64`` source; ``image/jpg`` is read as ``image/jpeg``. Media
  types other than jpeg, png, gif and webp, and data URIs that are not base64,
  are rejected. An ``http(s)`` URL becomes a ``url`` source. ``detail`` is dropped.
* ``file`` parts with base64 PDF ``file_data`` become ``document`` blocks;
  other files (and ``file_id`` references) are rejected.
* ``refusal`` parts become text. ``input_audio`` and unknown part types are rejected.

Anthropic -> OpenAI (:func:`block_to_openai_part`):

* ``text`` blocks become ``text`` parts (``cache_control`` and ``citations`` are dropped).
* ``image`` blocks: base64 source -> ``data:`` URI, ``url`` source -> that URL;
  ``file`` sources are rejected.
* ``document`` blocks: base64 PDF -> ``file`` part, plain-text source -> text
  part; other sources are rejected.
* Any other block type in user content is rejected.

Anthropic assistant content -> OpenAI assistant message (:func:`assistant_blocks_to_openai`),
the same for a request's assistant turns and for a response:

* ``text`` blocks are concatenated into ``content``; it is ``null`` when the
  message only has tool calls, and ``""`` when it has neither.
* ``tool_use`` blocks -> ``tool_calls`` (``input`` serialised as JSON).
* ``thinking`` blocks -> ``reasoning_content`` (concatenated) and
  ``reasoning_details`` ``reasoning.text`` entries with their signatures;
  ``redacted_thinking`` -> ``reasoning.encrypted`` entries.
* Other blocks are skipped here; a request rejects them before (see
  :data:`ASSISTANT_BLOCK_TYPES`), a response drops them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from lumyx.translate.errors import TranslationError
from lumyx.translate.reasoning import encrypted_detail, reasoning_text_detail

IMAGE_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
ASSISTANT_BLOCK_TYPES = frozenset({"text", "tool_use", "thinking", "redacted_thinking"})
"""The Anthropic assistant content blocks an OpenAI assistant message can carry."""


def has_text(text: object) -> bool:
    """True for a string with at least one non-whitespace character."""
    return isinstance(text, str) and text != "" and not text.isspace()


def text_block(text: str) -> dict:
    return {"type": "text", "text": text}


def _parse_data_uri(url: str, param: str) -> tuple[str, str]:
    header, sep, data = url.partition(",")
    meta = header[5:].split(";")
    if not sep or "base64" not in meta[1:]:
        raise TranslationError("data URIs must be base64 encoded", param)
    return meta[0].strip().lower(), data


def image_block_from_url(image_url: object, param: str) -> dict:
    """Anthropic ``image`` block for an OpenAI ``image_url`` value (object or string)."""
    url = image_url.get("url") if isinstance(image_url, dict) else image_url
    if not isinstance(url, str) or not url:
        raise TranslationError("image_url.url is required", param)
    if url.startswith("data:"):
        media_type, data = _parse_data_uri(url, param)
        if media_type == "image/jpg":
            media_type = "image/jpeg"
        if media_type not in IMAGE_MEDIA_TYPES:
            raise TranslationError(f"unsupported image type {media_type!r}; use jpeg, png, gif or webp", param)
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if url.startswith(("https://", "http://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise TranslationError("image_url.url must be an http(s) URL or a base64 data URI", param)


def _document_block_from_file(file: object, param: str) -> dict:
    data_uri = file.get("file_data") if isinstance(file, dict) else None
    if not isinstance(data_uri, str) or not data_uri:
        raise TranslationError("only inline file_data (base64 PDF) files are supported for this model", param)
    if data_uri.startswith("data:"):
        media_type, data = _parse_data_uri(data_uri, param)
    else:
        media_type, data = "application/pdf", data_uri
    if media_type != "application/pdf":
        raise TranslationError(f"unsupported file type {media_type!r}; only PDF files are supported", param)
    return {"type": "document", "source": {"type": "base64", "media_type": media_type, "data": data}}


def openai_content_to_blocks(content: object, param: str) -> list[dict]:
    """Anthropic content blocks for OpenAI message content (string, parts or ``None``).

    ``param`` is the request path of the content, e.g. ``"messages[2].content"``.
    """
    if content is None:
        return []
    if isinstance(content, str):
        return [text_block(content)] if has_text(content) else []
    if not isinstance(content, list):
        raise TranslationError("content must be a string or an array of content parts", param)
    blocks = []
    for j, part in enumerate(content):
        if isinstance(part, str):
            if has_text(part):
                blocks.append(text_block(part))
            continue
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            text = part.get("text")
            if has_text(text):
                block = text_block(text)
                if part.get("cache_control"):
                    block["cache_control"] = part["cache_control"]
                blocks.append(block)
        elif kind == "image_url":
            blocks.append(image_block_from_url(part.get("image_url"), f"{param}[{j}]"))
        elif kind == "refusal":
            if has_text(part.get("refusal")):
                blocks.append(text_block(part["refusal"]))
        elif kind == "file":
            blocks.append(_document_block_from_file(part.get("file"), f"{param}[{j}]"))
        elif kind == "input_audio":
            raise TranslationError("audio input is not supported for this model", f"{param}[{j}]")
        else:
            raise TranslationError(f"unsupported content part type {kind!r}", f"{param}[{j}]")
    return blocks


def openai_content_text(content: object, param: str) -> str:
    """The text of OpenAI content that may only hold text (system, developer and tool messages).

    Text parts are joined with ``"\\n\\n"``; non-text parts are rejected.
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise TranslationError("content must be a string or an array of text parts", param)
    texts = []
    for j, part in enumerate(content):
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict) and part.get("type") == "text":
            texts.append(part.get("text") or "")
        else:
            raise TranslationError("only text content parts are allowed here", f"{param}[{j}]")
    return "\n\n".join(t for t in texts if t)


def image_part_from_block(block: dict, param: str) -> dict:
    """OpenAI ``image_url`` part for an Anthropic ``image`` block."""
    source = block.get("source") or {}
    kind = source.get("type")
    if kind == "base64":
        url = f"data:{source.get('media_type')};base64,{source.get('data')}"
    elif kind == "url":
        url = source.get("url")
    else:
        raise TranslationError(f"image source type {kind!r} is not supported for this model", param)
    return {"type": "image_url", "image_url": {"url": url}}


def _document_part(block: dict, param: str) -> dict:
    source = block.get("source") or {}
    kind = source.get("type")
    if kind == "base64" and source.get("media_type") == "application/pdf":
        return {
            "type": "file",
            "file": {
                "filename": block.get("title") or "document.pdf",
                "file_data": f"data:application/pdf;base64,{source.get('data')}",
            },
        }
    if kind == "text":
        return {"type": "text", "text": source.get("data") or ""}
    raise TranslationError(f"document source type {kind!r} is not supported for this model", param)


def block_to_openai_part(block: object, param: str) -> dict | None:
    """OpenAI content part for one Anthropic user content block (not ``tool_result``).

    Returns ``None`` for empty text. ``param`` is the request path of the block.
    """
    kind = block.get("type") if isinstance(block, dict) else None
    if kind == "text":
        text = block.get("text")
        return {"type": "text", "text": text} if text else None
    if kind == "image":
        return image_part_from_block(block, param)
    if kind == "document":
        return _document_part(block, param)
    raise TranslationError(f"content block type {kind!r} is not supported for this model", param)


def simplify_parts(parts: list[dict]) -> str | list[dict]:
    """A single text part becomes a plain string (accepted by every OpenAI-compatible server)."""
    if len(parts) == 1 and parts[0]["type"] == "text":
        return parts[0]["text"]
    return parts


def assistant_blocks_to_openai(blocks: Iterable[dict]) -> tuple[str | None, dict]:
    """``(content, fields)`` of the OpenAI assistant message for Anthropic assistant content blocks.

    ``fields`` holds ``tool_calls``, ``reasoning_content`` and ``reasoning_details``,
    in this order, each only when there is one; see the module documentation.
    """
    texts: list[str] = []
    reasoning: list[str] = []
    details: list[dict] = []
    tool_calls: list[dict] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text") or "")
        elif kind == "tool_use":
            tool_calls.append(
                {
                    "id": block.get("id"),
                    "type": "function",
                    "function": {
                        "name": block.get("name"),
                        "arguments": json.dumps(block.get("input") or {}, ensure_ascii=False),
                    },
                }
            )
        elif kind == "thinking":
            reasoning.append(block.get("thinking") or "")
            details.append(reasoning_text_detail(block.get("thinking") or "", block.get("signature")))
        elif kind == "redacted_thinking":
            details.append(encrypted_detail(block.get("data") or ""))
    text = "".join(texts)
    fields: dict = {}
    if tool_calls:
        fields["tool_calls"] = tool_calls
    if reasoning:
        fields["reasoning_content"] = "".join(reasoning)
    if details:
        fields["reasoning_details"] = details
    return (text if text or not tool_calls else None), fields
