"""The HTTP API (FastAPI) over the answering chain, with the web app mounted at "/".

Endpoints (OpenAPI docs at /docs):
- POST   /v1/ask                 question (+ history, filters) -> Answer.to_json()
- POST   /v1/ask/stream          the same as server-sent events: "delta" pieces, then "answer"
- GET    /v1/documents           indexed documents with metadata and chunk counts
- POST   /v1/documents           multipart upload + ingest (admin key)
- DELETE /v1/documents/{doc_id}  remove a document (admin key)
- POST   /v1/feedback            👍/👎 with an optional comment on an answer
- GET    /healthz, GET /readyz   process up / index loaded

Asking, searching, feedback and uploads are limited per client address (HTX_RATE_LIMIT, in
memory per process); wrong admin keys are throttled per address.

Errors are always ``{"error": {"code": "...", "message": "<Vietnamese>"}}`` — also the
framework's own 404/405 and those of the mounted web app under the API paths. Answering is
synchronous CPU work, so those endpoints are plain ``def`` and run in the thread pool; an
upload is streamed to a temporary file with a size cap and ingested in a thread.
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Iterator, Literal

from fastapi import FastAPI, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.interfaces.service import (
    AssistantRuntime,
    ServiceError,
    check_api_key,
    clean_history,
    clean_question,
    make_filters,
    upload_too_large,
)
from assistant.settings import Settings

log = logging.getLogger("htx.api")

# Room for the multipart envelope (boundaries, part headers) around the file itself.
MULTIPART_OVERHEAD = 64 * 1024
# JSON bodies (questions with history) never need more than this.
MAX_JSON_BODY = 1024 * 1024
# A feedback call carries one answer, its citations and a comment of at most 2,000 characters.
MAX_FEEDBACK_BODY = 256 * 1024
MAX_FEEDBACK_COMMENT = 2000
# POST paths counted by HTX_RATE_LIMIT (/v1/search is the retrieval-only endpoint).
RATE_LIMITED_PATHS = ("/v1/ask", "/v1/ask/stream", "/v1/search", "/v1/feedback", "/v1/documents", "/gradio_api/upload")
# Paths whose errors are rewritten into the error format even when the web app mount answers them.
API_PREFIXES = ("/v1/", "/v1", "/healthz", "/readyz", "/docs", "/openapi.json")

api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="Khóa truy cập (HTX_API_KEY) để hỏi, hoặc khóa quản trị (HTX_ADMIN_KEY) để thêm/xóa văn bản.",
)
ApiKey = Annotated[str | None, Security(api_key_header)]


# --- request / response models --------------------------------------------------------------


class TurnIn(BaseModel):
    role: Literal["user", "assistant"] = Field(description="Người nói: user (người hỏi) hoặc assistant (trợ lý)")
    content: str = Field(description="Nội dung lượt hội thoại")


class FiltersIn(BaseModel):
    provinces: list[str] = Field(default_factory=list, description="Chỉ tìm trong các tỉnh này", examples=[["Lâm Đồng"]])
    doc_ids: list[str] = Field(default_factory=list, description="Chỉ tìm trong các văn bản này (mã văn bản)")
    agencies: list[str] = Field(default_factory=list, description="Chỉ tìm các đoạn giao cho các cơ quan này")


class AskRequest(BaseModel):
    question: str = Field(description="Câu hỏi bằng tiếng Việt", examples=["Sở Công Thương phải làm gì?"])
    history: list[TurnIn] | None = Field(default=None, description="Các lượt hội thoại trước (cho câu hỏi nối tiếp)")
    filters: FiltersIn | None = Field(default=None, description="Giới hạn theo tỉnh / văn bản")
    full: bool = Field(
        default=False,
        description="true: trả lời đầy đủ mọi ý (mặc định câu trả lời gọn; metadata.more cho biết số ý còn lại)",
    )


class SearchRequest(BaseModel):
    question: str = Field(description="Câu hỏi hoặc từ khóa", examples=["Quỹ hỗ trợ phát triển hợp tác xã"])
    k: int = Field(default=5, ge=1, le=50, description="Số đoạn trả về")
    filters: FiltersIn | None = Field(default=None, description="Giới hạn theo tỉnh / văn bản")


class HitOut(BaseModel):
    rank: int
    doc_id: str
    doc_title: str
    province: str | None
    chunk_id: str
    section: str
    text: str
    score: float


class SearchOut(BaseModel):
    question: str
    hits: list[HitOut]


class CitationOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    n: int = Field(description="Số thứ tự trích dẫn, khớp với [n] trong câu trả lời")
    doc_id: str
    doc_title: str
    province: str | None
    section: str = Field(description="Đề mục (đường dẫn tiêu đề) của đoạn trích")
    text: str = Field(description="Đoạn văn bản được trích nguyên văn")
    chunk_id: str = ""


class AnswerOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    answer: str
    citations: list[CitationOut]
    refused: bool = Field(description="true khi văn bản không nói đến điều được hỏi")
    mode: str = Field(description="extractive | llm | extractive_fallback")
    timings_ms: dict[str, float] = Field(default_factory=dict)
    related: list[CitationOut] = Field(default_factory=list, description="Đoạn có thể liên quan (khi từ chối)")
    question: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)


class DocumentOut(BaseModel):
    doc_id: str
    title: str
    short_title: str
    doc_type: str | None = None
    number: str | None = None
    date: str | None = None
    issuer: str | None = None
    province: str | None = None
    file_name: str | None = None
    sha256: str | None = None
    chunk_count: int


class DocumentListOut(BaseModel):
    count: int
    documents: list[DocumentOut]


class UploadOut(BaseModel):
    doc_id: str
    file_name: str
    chunks: int
    changed: bool = Field(description="false khi văn bản đã có trong chỉ mục, không thay đổi")
    document: DocumentOut | None = None


class DeleteOut(BaseModel):
    doc_id: str
    deleted: bool


class FeedbackIn(BaseModel):
    question: str = Field(max_length=4000)
    answer: str = Field(max_length=20000)
    citations: list[dict[str, Any]] = Field(default_factory=list, max_length=30)
    rating: Literal["up", "down"]
    comment: str | None = Field(default=None, max_length=MAX_FEEDBACK_COMMENT,
                                description=f"Góp ý, tối đa {MAX_FEEDBACK_COMMENT} ký tự")


class FeedbackOut(BaseModel):
    id: int


class HealthOut(BaseModel):
    status: str
    uptime_s: float


class ReadyOut(BaseModel):
    status: str
    documents: int
    chunks: int
    generation: int | None = None  # index generation served (shared by replicas on a Chroma server)


class ErrorBody(BaseModel):
    code: str = Field(description="mã lỗi cố định, ví dụ question_too_long")
    message: str = Field(description="thông báo tiếng Việt cho người dùng")


class ErrorOut(BaseModel):
    error: ErrorBody


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": ErrorOut} for s in statuses}


# --- errors -------------------------------------------------------------------------------------

_HTTP_MESSAGES = {
    400: ("bad_request", "Yêu cầu không hợp lệ."),
    401: ("unauthorized", "Cần khóa truy cập hợp lệ."),
    403: ("forbidden", "Không được phép thực hiện thao tác này."),
    404: ("not_found", "Không tìm thấy địa chỉ này."),
    405: ("method_not_allowed", "Phương thức không được hỗ trợ cho địa chỉ này."),
    413: ("request_too_large", "Dữ liệu gửi lên quá lớn."),
    415: ("unsupported_media_type", "Định dạng dữ liệu không được hỗ trợ."),
    429: ("too_many_requests", "Quá nhiều yêu cầu, vui lòng thử lại sau."),
}

_VALIDATION_MESSAGES = {
    "missing": "thiếu giá trị",
    "json_invalid": "JSON không hợp lệ",
    "string_type": "phải là chuỗi văn bản",
    "list_type": "phải là danh sách",
    "dict_type": "phải là đối tượng JSON",
    "model_type": "phải là đối tượng JSON",
    "literal_error": "giá trị không được phép",
    "string_too_long": "quá dài",
    "json_type": "phải là đối tượng JSON",
    "too_long": "quá nhiều phần tử",
    "int_parsing": "phải là số nguyên",
    "bool_parsing": "phải là true/false",
}


def _error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError):
        log.info("%s %s -> %d %s: %s", request.method, request.url.path, exc.status, exc.code, exc)
        retry = getattr(exc, "retry_after", None)
        return _error_response(exc.status, exc.code, exc.message_vi, headers={"Retry-After": str(retry)} if retry else None)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        # The body as a whole is not a JSON object (not JSON at all, "0", a list, plain text...).
        if any(e.get("type") == "json_invalid" or tuple(e.get("loc", ())) == ("body",) for e in errors):
            log.info("%s %s -> 422 invalid_json: %s", request.method, request.url.path, errors[:2])
            example = "" if request.url.path.startswith("/v1/documents") else ' Ví dụ: {"question": "Sở Công Thương phải làm gì?"}'
            return _error_response(
                422, "invalid_json",
                "Nội dung gửi lên không phải JSON hợp lệ. Hãy gửi một đối tượng JSON (Content-Type: application/json)."
                + example,
            )
        parts = []
        for err in errors[:5]:
            loc = [str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path", "header")]
            field = ".".join(loc) or "nội dung"
            what = _VALIDATION_MESSAGES.get(err.get("type", ""), "không hợp lệ")
            parts.append(f"'{field}' {what}")
        message = "Dữ liệu gửi lên không hợp lệ: " + "; ".join(parts) + "." if parts else "Dữ liệu gửi lên không hợp lệ."
        if not request.url.path.startswith("/v1/documents") and any("question" in str(e.get("loc")) for e in exc.errors()):
            message += ' Ví dụ: {"question": "Sở Công Thương phải làm gì?"}'
        log.info("%s %s -> 422 invalid_request: %s", request.method, request.url.path, exc.errors()[:3])
        return _error_response(422, "invalid_request", message)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        code, message = _HTTP_MESSAGES.get(exc.status_code, ("http_error", "Yêu cầu không thực hiện được."))
        return _error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _internal_error(request: Request, exc: Exception):
        log.error("unhandled error on %s %s: %r", request.method, request.url.path, exc, exc_info=exc)
        return _error_response(500, "internal_error", "Đã có lỗi trong hệ thống. Vui lòng thử lại sau.")


class JsonBodyLimit:
    """Refuses over-large bodies on /v1/ (except uploads) before they are read (pure ASGI);
    feedback has a smaller cap than questions."""

    def __init__(self, app, limit: int = MAX_JSON_BODY, feedback_limit: int = MAX_FEEDBACK_BODY):
        self.app = app
        self.default_limit = limit
        self.feedback_limit = feedback_limit

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/v1/") or path.startswith("/v1/documents"):
            return await self.app(scope, receive, send)
        limit = self.feedback_limit if path.rstrip("/") == "/v1/feedback" else self.default_limit
        length = dict(scope.get("headers") or []).get(b"content-length")
        too_large = _error_response(413, "request_too_large", f"Dữ liệu gửi lên quá lớn (tối đa {limit // 1024} KB).")
        if length is not None:
            try:
                if int(length) > limit:
                    return await too_large(scope, receive, send)
            except ValueError:
                return await _error_response(400, "bad_request", "Tiêu đề Content-Length không hợp lệ.")(scope, receive, send)
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:  # an HTTPException passes through FastAPI's body parsing as is
                    raise StarletteHTTPException(413, "request body over the JSON limit")
            return message

        return await self.app(scope, limited_receive, send)


def client_address(scope) -> str:
    """The peer address of a request (behind a reverse proxy: the proxy's, unless uvicorn is
    run with --proxy-headers and --forwarded-allow-ips)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class RateLimit:
    """HTX_RATE_LIMIT on the POST paths in RATE_LIMITED_PATHS, before the body is read (pure ASGI)."""

    def __init__(self, app, runtime: AssistantRuntime):
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope.get("method") == "POST":
            path = scope.get("path", "").rstrip("/")
            if path in RATE_LIMITED_PATHS:
                try:
                    self.runtime.check_rate(client_address(scope), path)
                except ServiceError as e:
                    log.info("POST %s from %s -> 429", path, client_address(scope))
                    headers = {"Retry-After": str(getattr(e, "retry_after", 60))}
                    return await _error_response(e.status, e.code, e.message_vi, headers)(scope, receive, send)
        return await self.app(scope, receive, send)


class ApiErrorFormat:
    """Rewrites framework errors (``{"detail": ...}``, e.g. a 404 from the mounted web app for
    /v1/nothing, or a 405) on the API paths into ``{"error": {"code", "message"}}`` (pure ASGI)."""

    def __init__(self, app, routes=()):
        self.app = app
        self.routes = routes  # the API's own routes: a 404 for a known path with another method is a 405

    def _other_method(self, scope) -> bool:
        from starlette.routing import Match

        return any(getattr(r, "methods", None) and r.matches(scope)[0] == Match.PARTIAL for r in self.routes)

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(API_PREFIXES):
            return await self.app(scope, receive, send)
        state: dict[str, Any] = {"start": None, "body": b""}

        async def wrapped_send(message):
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                ctype = headers.get(b"content-type", b"")
                if message["status"] >= 400 and (ctype.startswith(b"application/json") or not ctype):
                    state["start"] = message  # hold it: the body may need rewriting
                    return
                return await send(message)
            if message["type"] == "http.response.body" and state["start"] is not None:
                state["body"] += message.get("body", b"")
                if message.get("more_body"):
                    return
                start = state["start"]
                status = start["status"]
                if status == 404 and self._other_method(scope):
                    status = 405
                try:
                    payload = json.loads(state["body"] or b"{}")
                except ValueError:
                    payload = {}
                if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
                    body = state["body"]
                else:
                    code, text = _HTTP_MESSAGES.get(status, ("http_error", "Yêu cầu không thực hiện được."))
                    if status >= 500:
                        code, text = "internal_error", "Đã có lỗi trong hệ thống. Vui lòng thử lại sau."
                    body = json.dumps({"error": {"code": code, "message": text}}, ensure_ascii=False).encode("utf-8")
                keep = [(k, v) for k, v in start.get("headers") or [] if k.lower() not in (b"content-length", b"content-type")]
                keep += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                await send({**start, "status": status, "headers": keep})
                return await send({"type": "http.response.body", "body": body})
            return await send(message)

        return await self.app(scope, receive, wrapped_send)


# --- upload streaming ---------------------------------------------------------------------------


class _MultipartToDisk:
    """Streams the single file part of a multipart body to disk, counting bytes as they come."""

    def __init__(self, boundary: bytes, dest_dir: Path, max_bytes: int, too_large: ServiceError):
        import python_multipart

        self.dest_dir = dest_dir
        self.max_bytes = max_bytes
        self.too_large = too_large
        self.file_name: str | None = None
        self.file_path: Path | None = None
        self.file_bytes = 0
        self._fh = None
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._in_file = False
        self._files = 0
        self._field_bytes = 0
        self.parser = python_multipart.MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value_cb,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    def _part_begin(self):
        self._disposition = b""
        self._in_file = False

    def _header_field(self, data, start, end):
        self._header_name += data[start:end]

    def _header_value_cb(self, data, start, end):
        self._header_value += data[start:end]

    def _header_end(self):
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = b""
        self._header_value = b""

    def _headers_finished(self):
        from python_multipart.multipart import parse_options_header

        _, options = parse_options_header(self._disposition)
        if options.get(b"name") == b"file" and b"filename" in options:
            self._files += 1
            if self._files > 1:
                raise ServiceError(400, "too_many_files", "Mỗi lần chỉ tải lên một tệp.", "more than one file part")
            raw = options[b"filename"]
            try:
                self.file_name = raw.decode("utf-8")
            except UnicodeDecodeError:
                self.file_name = raw.decode("latin-1")
            self.file_path = self.dest_dir / "upload.bin"
            self._fh = open(self.file_path, "wb")
            self._in_file = True

    def _part_data(self, data, start, end):
        n = end - start
        if self._in_file:
            self.file_bytes += n
            if self.file_bytes > self.max_bytes:
                raise self.too_large
            self._fh.write(data[start:end])
        else:
            self._field_bytes += n
            if self._field_bytes > MULTIPART_OVERHEAD:
                raise ServiceError(413, "request_too_large", "Dữ liệu gửi lên quá lớn.", "multipart fields too large")

    def _part_end(self):
        if self._in_file and self._fh:
            self._fh.close()
            self._fh = None
        self._in_file = False

    def write(self, chunk: bytes) -> None:
        self.parser.write(chunk)

    def finish(self) -> None:
        self.parser.finalize()
        self.close()

    def close(self) -> None:
        if self._fh:
            self._fh.close()
            self._fh = None


async def _receive_upload(request: Request, rt: AssistantRuntime) -> tuple[Path, str]:
    """Streams the multipart body into a private temp folder; returns (file path, client file name)."""
    from python_multipart.multipart import parse_options_header

    settings = rt.settings
    too_large = upload_too_large(settings)
    length = request.headers.get("content-length")
    if length is not None:
        try:
            declared = int(length)
        except ValueError:
            raise ServiceError(400, "bad_request", "Tiêu đề Content-Length không hợp lệ.") from None
        if declared > settings.max_upload_bytes + MULTIPART_OVERHEAD:
            raise too_large  # before reading a single byte of the body
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or not params.get(b"boundary"):
        raise ServiceError(
            415,
            "expected_multipart",
            "Hãy gửi tệp dạng multipart/form-data trong trường 'file'.",
            f"upload with content type {ctype!r}",
        )
    folder = rt.upload_dir()
    receiver = _MultipartToDisk(params[b"boundary"], folder, settings.max_upload_bytes, too_large)
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > settings.max_upload_bytes + MULTIPART_OVERHEAD:
                raise too_large
            receiver.write(chunk)
        receiver.finish()
    except ServiceError:
        receiver.close()
        _discard(folder)
        raise
    except Exception as e:  # malformed multipart, client gone
        receiver.close()
        _discard(folder)
        log.info("upload body could not be parsed: %r", e)
        raise ServiceError(400, "bad_multipart", "Không đọc được tệp tải lên (dữ liệu multipart hỏng).", repr(e)) from None
    if receiver.file_path is None or receiver.file_name is None:
        _discard(folder)
        raise ServiceError(400, "missing_file", "Chưa có tệp tải lên. Hãy gửi tệp trong trường 'file'.", "no file part")
    return receiver.file_path, receiver.file_name


def _discard(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def install_docs(app: FastAPI) -> None:
    """OpenAPI docs at /docs. Swagger UI comes from the swagger-ui-bundle package when it is
    installed (works offline); otherwise FastAPI's default CDN links are used."""
    from fastapi.openapi.docs import get_swagger_ui_html

    kwargs: dict[str, str] = {}
    try:
        from swagger_ui_bundle import swagger_ui_path
        from starlette.staticfiles import StaticFiles

        app.mount("/docs-static", StaticFiles(directory=str(swagger_ui_path)), name="docs-static")
        kwargs = {
            "swagger_js_url": "/docs-static/swagger-ui-bundle.js",
            "swagger_css_url": "/docs-static/swagger-ui.css",
            "swagger_favicon_url": "/docs-static/favicon-32x32.png",
        }
    except ImportError:
        log.info("swagger-ui-bundle not installed: /docs loads Swagger UI from a CDN")

    @app.get("/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} — tài liệu", **kwargs)


# --- the app ------------------------------------------------------------------------------------


def create_app(settings: Settings | None = None, answerer=None, *, web: bool = True) -> FastAPI:
    """Builds the API (and the web app at "/" when ``web``). Without ``answerer`` the answer
    service is built once at startup from ``settings``."""
    settings = settings or Settings.from_env()
    rt = AssistantRuntime(settings, answerer)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if not rt.loaded:
            await run_in_threadpool(rt.load)
        yield

    app = FastAPI(
        title="Trợ lý chính sách Hợp tác xã — API",
        description=(
            "Hỏi đáp về chính sách hợp tác xã từ văn bản gốc của các tỉnh, mỗi ý đều có trích dẫn. "
            "Lỗi luôn có dạng `{\"error\": {\"code\", \"message\"}}` với thông báo tiếng Việt."
        ),
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served below from a local copy of Swagger UI (no CDN when offline)
        redoc_url=None,
    )
    app.state.runtime = rt
    install_error_handlers(app)
    install_docs(app)
    app.add_middleware(JsonBodyLimit)
    app.add_middleware(RateLimit, runtime=rt)

    def ask_args(req: AskRequest):
        question = clean_question(settings, req.question)
        history = clean_history([(t.role, t.content) for t in req.history or []])
        f = req.filters
        filters = make_filters(f.provinces, f.doc_ids, f.agencies) if f else None
        return question, history, filters

    @app.post(
        "/v1/ask",
        response_model=AnswerOut,
        tags=["hỏi đáp"],
        summary="Đặt câu hỏi, nhận câu trả lời có trích dẫn",
        responses=_errors(401, 413, 422, 503),
    )
    def ask(req: AskRequest, x_api_key: ApiKey = None) -> dict[str, Any]:
        check_api_key(settings, x_api_key)
        question, history, filters = ask_args(req)
        t0 = time.perf_counter()
        answer = rt.ask(question, history=history, filters=filters, full=req.full)
        log.info("ask %.0f ms refused=%s mode=%s", (time.perf_counter() - t0) * 1000, answer.refused, answer.mode)
        return answer.to_json()

    @app.post(
        "/v1/ask/stream",
        tags=["hỏi đáp"],
        summary="Đặt câu hỏi, nhận câu trả lời dạng luồng (server-sent events)",
        response_class=StreamingResponse,
        responses={
            200: {
                "description": "Sự kiện `delta` {text} cho từng phần câu trả lời, rồi `answer` với JSON đầy đủ "
                "(như /v1/ask); `error` nếu có lỗi giữa chừng.",
                "content": {"text/event-stream": {}},
            },
            **_errors(401, 413, 422, 503),
        },
    )
    def ask_stream(req: AskRequest, x_api_key: ApiKey = None):
        check_api_key(settings, x_api_key)
        question, history, filters = ask_args(req)
        events = rt.stream(question, history=history, filters=filters, full=req.full)

        def body() -> Iterator[str]:
            try:
                for ev in events:
                    kind = ev.get("event")
                    if kind == "delta":
                        yield _sse("delta", {"text": ev.get("text", "")})
                    elif kind == "answer":
                        yield _sse("answer", ev.get("data"))
            except Exception as e:  # noqa: BLE001 - the status line is already sent
                log.error("stream failed: %r", e, exc_info=e)
                yield _sse("error", {"code": "internal_error", "message": "Đã có lỗi trong hệ thống. Vui lòng thử lại sau."})

        return StreamingResponse(
            body(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )

    @app.post(
        "/v1/search",
        response_model=SearchOut,
        tags=["hỏi đáp"],
        summary="Chỉ truy hồi: các đoạn văn bản liên quan nhất, không soạn câu trả lời",
        responses=_errors(401, 413, 422, 503),
    )
    def search(req: SearchRequest, x_api_key: ApiKey = None) -> dict[str, Any]:
        check_api_key(settings, x_api_key)
        question = clean_question(settings, req.question)
        f = req.filters
        filters = make_filters(f.provinces, f.doc_ids, f.agencies) if f else None
        hits = rt.search(question, k=req.k, filters=filters)
        return {"question": question, "hits": [
            {"rank": h.rank, "doc_id": h.chunk.doc_id, "doc_title": h.chunk.doc_title, "province": h.chunk.province,
             "chunk_id": h.chunk.chunk_id, "section": h.chunk.section, "text": h.chunk.text,
             "score": round(float(h.score), 4)} for h in hits]}

    @app.get("/v1/documents", response_model=DocumentListOut, tags=["văn bản"], summary="Danh sách văn bản đã nạp",
             responses=_errors(401, 503))
    def list_documents(x_api_key: ApiKey = None) -> dict[str, Any]:
        check_api_key(settings, x_api_key)
        docs = rt.documents()
        return {"count": len(docs), "documents": docs}

    @app.post(
        "/v1/documents",
        response_model=UploadOut,
        status_code=201,
        tags=["văn bản"],
        summary="Tải lên và nạp một văn bản (.txt, .md, .docx, .pdf) — cần khóa quản trị",
        responses=_errors(400, 401, 403, 409, 413, 415, 422, 429, 503),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {"file": {"type": "string", "format": "binary", "description": "tệp văn bản"}},
                        }
                    }
                },
            }
        },
    )
    async def upload_document(request: Request, x_api_key: ApiKey = None) -> dict[str, Any]:
        rt.check_admin(x_api_key, client_address(request.scope))
        rt.answerer  # noqa: B018 - 503 before reading a body we cannot ingest
        path, name = await _receive_upload(request, rt)
        result = await run_in_threadpool(rt.ingest_upload, path, name)
        return {
            "doc_id": result.doc_id,
            "file_name": result.file_name,
            "chunks": result.chunks,
            "changed": result.changed,
            "document": result.document,
        }

    @app.delete(
        "/v1/documents/{doc_id}",
        response_model=DeleteOut,
        tags=["văn bản"],
        summary="Xóa một văn bản khỏi chỉ mục — cần khóa quản trị",
        responses=_errors(401, 403, 404, 503),
    )
    def delete_document(doc_id: str, request: Request, x_api_key: ApiKey = None) -> dict[str, Any]:
        rt.check_admin(x_api_key, client_address(request.scope))
        rt.delete_document(doc_id)
        return {"doc_id": doc_id, "deleted": True}

    @app.post("/v1/feedback", response_model=FeedbackOut, status_code=201, tags=["phản hồi"],
              summary="Gửi đánh giá 👍/👎 (kèm góp ý tối đa 2.000 ký tự) cho một câu trả lời — cần khóa truy cập "
              "khi máy chủ đặt HTX_API_KEY", responses=_errors(401, 413, 422, 429))
    def feedback(req: FeedbackIn, x_api_key: ApiKey = None) -> dict[str, Any]:
        check_api_key(settings, x_api_key)
        fid = rt.feedback.add(req.question, req.answer, req.citations, req.rating, req.comment, source="api")
        return {"id": fid}

    @app.get("/healthz", response_model=HealthOut, tags=["vận hành"], summary="Tiến trình đang chạy")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "uptime_s": round(time.time() - rt.started_at, 1)}

    @app.get("/readyz", response_model=ReadyOut, tags=["vận hành"], summary="Chỉ mục đã nạp và sẵn sàng trả lời",
             responses=_errors(503))
    def readyz() -> dict[str, Any]:
        docs = rt.documents()  # 503 not_ready while loading
        if not docs:
            raise ServiceError(503, "empty_index", "Chỉ mục chưa có văn bản nào. Hãy nạp văn bản: htx ingest data/corpus")
        return {"status": "ready", "documents": len(docs), "chunks": sum(d["chunk_count"] for d in docs),
                "generation": getattr(rt.store, "generation", None)}

    if web:
        from assistant.interfaces.web import mount_web

        app = mount_web(app, rt)
    # Outermost, so it also sees what the web app mount answers for unknown API paths.
    api_routes = [r for r in app.router.routes if getattr(r, "path", "").startswith(API_PREFIXES)]
    app.add_middleware(ApiErrorFormat, routes=api_routes)
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory assistant.interfaces.api:app_from_env`` (settings from HTX_* variables)."""
    from assistant.settings import apply_thread_settings

    settings = Settings.from_env()
    apply_thread_settings(settings.threads)
    return create_app(settings)
