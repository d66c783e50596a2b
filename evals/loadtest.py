"""Load test of the HTTP service on loopback: many people asking at once (and, optionally,
an administrator re-ingesting a document meanwhile).

`htx loadtest [--url URL ...] [--clients 20] [--seconds 60] [--with-ingest] [--json OUT]`

With several --url (replicas of one deployment, e.g. two `htx serve` on one Chroma server) the
requests go round-robin over them, as a load balancer would; the report gives the requests and
the /readyz generation per replica.

Without --url it starts `htx serve` on a random 127.0.0.1 port in a subprocess, on a private
copy of the data dir (so re-ingesting never touches the real corpus), and measures the
server's memory before and after. Clients are threads with their own httpx client; each asks
evaluation questions (evals/questions.jsonl, or a built-in list) back to back until the time
is up or the request cap is reached. Reported: throughput, p50/p95/p99 latency, errors,
server RSS; with --with-ingest also re-ingest timings and reader errors (must be zero).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from assistant.settings import Settings

log = logging.getLogger("htx.loadtest")

MAX_REQUESTS = 5000
READY_TIMEOUT_S = 300
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
QUESTIONS_PATH = Path(__file__).resolve().parent / "questions.jsonl"

FALLBACK_QUESTIONS = [
    "Sở Công Thương phải làm gì?",
    "HTX muốn vay vốn thì hỏi ai?",
    "Báo cáo gửi Sở KH&ĐT trước ngày nào?",
    "Liên minh HTX tỉnh được giao những nhiệm vụ gì?",
    "Sở Tài chính phải làm gì để hỗ trợ HTX?",
    "Quỹ hỗ trợ phát triển HTX có vốn điều lệ bao nhiêu?",
    "Sở Nông nghiệp và Phát triển nông thôn có trách nhiệm gì?",
    "UBND cấp huyện phải làm gì để phát triển hợp tác xã?",
    "Kế hoạch của Lâm Đồng có những mục tiêu gì?",
    "Tây Ninh phối hợp giữa các cơ quan như thế nào?",
    "Ngân hàng Nhà nước chi nhánh tỉnh hỗ trợ HTX thế nào?",
    "Đắk Nông đặt mục tiêu thành lập bao nhiêu HTX?",
]


def _say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def load_questions(path: Path = QUESTIONS_PATH) -> list[dict]:
    """Evaluation questions ({question, history?}); the built-in list when the file is absent."""
    items: list[dict] = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                item = json.loads(line)
            except ValueError:
                continue
            q = str(item.get("question") or "").strip()
            if q:
                entry = {"question": q}
                if item.get("history"):
                    entry["history"] = item["history"]
                items.append(entry)
    return items or [{"question": q} for q in FALLBACK_QUESTIONS]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


@dataclass
class Result:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    during_ingest_requests: int = 0
    during_ingest_errors: int = 0
    ingests_ok: int = 0
    ingests_failed: int = 0
    ingest_ms: list[float] = field(default_factory=list)
    per_url: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


# --- the server under test ------------------------------------------------------------------------


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (loopback only), picked at random in 20000-60000."""
    for _ in range(200):
        port = random.randint(20000, 60000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port on 127.0.0.1")


def stop_process(proc: subprocess.Popen) -> None:
    """Terminate a server subprocess, killing it if it does not exit within 20 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def copy_data_dir(src: Path, dst: Path) -> Path:
    """A private copy of an indexed data dir (corpus + index) so a server may change it."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("corpus", "index"):
        if (src / name).exists():
            shutil.copytree(src / name, dst / name)
    if (src / "manifest.json").exists():
        shutil.copy2(src / "manifest.json", dst / "manifest.json")
    return dst


class LocalServer:
    def __init__(self, data_dir: Path, admin_key: str | None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_file = tempfile.NamedTemporaryFile(prefix="htx-loadtest-server-", suffix=".log", delete=False)
        env = {k: v for k, v in os.environ.items() if k not in ("HTX_HOST", "HTX_PORT", "HTX_API_KEY")}
        env.update({"OMP_NUM_THREADS": env.get("OMP_NUM_THREADS", "1"), "OMP_WAIT_POLICY": "PASSIVE",
                    "GRADIO_ANALYTICS_ENABLED": "False", "ANONYMIZED_TELEMETRY": "False"})
        if admin_key:
            env["HTX_ADMIN_KEY"] = admin_key
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assistant.interfaces.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--data-dir", str(data_dir)],
            env=env, stdout=self.log_file, stderr=subprocess.STDOUT,
        )

    def wait_ready(self, httpx_mod) -> None:
        deadline = time.time() + READY_TIMEOUT_S
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with code {self.proc.returncode}; log: {self.log_file.name}")
            try:
                r = httpx_mod.get(self.url + "/readyz", timeout=5)
                if r.status_code == 200:
                    return
                if r.status_code == 503 and r.json().get("error", {}).get("code") == "empty_index":
                    raise RuntimeError("empty index")
            except httpx_mod.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"server not ready after {READY_TIMEOUT_S} s; log: {self.log_file.name}")

    def rss_mb(self) -> float | None:
        try:
            import psutil

            p = psutil.Process(self.proc.pid)
            return sum(q.memory_info().rss for q in [p, *p.children(recursive=True)]) / (1024 * 1024)
        except Exception:  # noqa: BLE001
            return None

    def stop(self) -> None:
        stop_process(self.proc)
        self.log_file.close()


# --- workers ------------------------------------------------------------------------------------


def _asker(urls: list[str], api_key: str | None, questions: list[dict], order, stop_at: float, budget, res: Result,
           ingesting: threading.Event) -> None:
    import httpx

    headers = {"X-API-Key": api_key} if api_key else {}
    clients = [httpx.Client(base_url=u, timeout=120, headers=headers) for u in urls]
    try:
        while time.time() < stop_at:
            with res.lock:
                n = next(budget)
                if n >= MAX_REQUESTS:
                    return
                item = questions[next(order) % len(questions)]
            target = n % len(urls)  # round-robin over the replicas
            client = clients[target]
            busy = ingesting.is_set()
            t0 = time.perf_counter()
            err = None
            try:
                r = client.post("/v1/ask", json=item)
                if r.status_code != 200:
                    err = f"HTTP {r.status_code}: {r.text[:160]}"
                else:
                    body = r.json()
                    if not isinstance(body.get("answer"), str) or not isinstance(body.get("citations"), list):
                        err = "incomplete answer JSON"
            except Exception as e:  # noqa: BLE001 - counted as an error
                err = f"{type(e).__name__}: {e}"
            ms = (time.perf_counter() - t0) * 1000
            busy = busy or ingesting.is_set()
            with res.lock:
                res.latencies_ms.append(ms)
                res.per_url[urls[target]] = res.per_url.get(urls[target], 0) + 1
                if busy:
                    res.during_ingest_requests += 1
                if err:
                    res.errors += 1
                    if busy:
                        res.during_ingest_errors += 1
                    if len(res.error_samples) < 5:
                        res.error_samples.append(err)
    finally:
        for c in clients:
            c.close()


def _ingester(url: str, admin_key: str, doc: Path, stop_at: float, res: Result, ingesting: threading.Event) -> None:
    """Re-ingests one document again and again: alternately a changed version and the original."""
    import httpx

    original = doc.read_bytes()
    i = 0
    with httpx.Client(base_url=url, timeout=600, headers={"X-API-Key": admin_key}) as client:
        while time.time() < stop_at - 1:
            i += 1
            data = original if i % 2 == 0 else original + f"\n\nGhi chú cập nhật lần {i} (thử tải).\n".encode("utf-8")
            ingesting.set()
            t0 = time.perf_counter()
            try:
                r = client.post("/v1/documents", files={"file": (doc.name, data, "text/plain")})
                ok = r.status_code == 201
                if not ok:
                    log.warning("re-ingest failed: %s %s", r.status_code, r.text[:200])
            except Exception as e:  # noqa: BLE001
                ok = False
                log.warning("re-ingest failed: %r", e)
            finally:
                ingesting.clear()
            with res.lock:
                res.ingest_ms.append((time.perf_counter() - t0) * 1000)
                res.ingests_ok += int(ok)
                res.ingests_failed += int(not ok)
            time.sleep(1.0)
        if i % 2 == 1:  # leave the original in place
            try:
                client.post("/v1/documents", files={"file": (doc.name, original, "text/plain")})
            except Exception:  # noqa: BLE001
                pass


# --- main ---------------------------------------------------------------------------------------


def main(settings: Settings, args: argparse.Namespace) -> int:
    import httpx

    clients = max(1, int(getattr(args, "clients", 20) or 20))
    seconds = max(1.0, float(getattr(args, "seconds", 60.0) or 60.0))
    with_ingest = bool(getattr(args, "with_ingest", False))
    json_out = getattr(args, "json_out", None)
    url_arg = getattr(args, "url", None)
    urls = [u.rstrip("/") for u in ([url_arg] if isinstance(url_arg, str) else (url_arg or []))]
    url = urls[0] if urls else None
    questions = load_questions()
    source = "evals/questions.jsonl" if QUESTIONS_PATH.exists() else "danh sách có sẵn"

    server: LocalServer | None = None
    tmp: Path | None = None
    admin_key = settings.admin_key
    doc: Path | None = None
    try:
        if url:
            for u in urls:
                host = urlparse(u).hostname or ""
                if host not in LOOPBACK:
                    sys.stderr.write(f"Chỉ thử tải trên máy này (127.0.0.1/localhost), không thử tải '{host}'.\n")
                    return 2
            if with_ingest and not admin_key:
                sys.stderr.write("--with-ingest cần khóa quản trị của dịch vụ (biến HTX_ADMIN_KEY).\n")
                return 2
        else:
            if not (settings.index_dir.exists() and any(settings.index_dir.iterdir())):
                sys.stderr.write("Chỉ mục trống. Hãy nạp văn bản trước: htx ingest data/corpus\n")
                return 2
            tmp = Path(tempfile.mkdtemp(prefix="htx-loadtest-"))
            copy_data_dir(settings.data_dir, tmp)
            admin_key = secrets.token_urlsafe(16) if with_ingest else None
            _say("Đang khởi động dịch vụ trên 127.0.0.1 (bản sao dữ liệu)…")
            server = LocalServer(tmp, admin_key)
            try:
                server.wait_ready(httpx)
            except RuntimeError as e:
                if "empty index" in str(e):
                    sys.stderr.write("Chỉ mục trống. Hãy nạp văn bản trước: htx ingest data/corpus\n")
                    return 2
                raise
            url = server.url
            urls = [url]
        if with_ingest:
            corpus = (tmp or settings.data_dir) / "corpus"
            candidates = sorted((p for p in corpus.glob("*.txt")), key=lambda p: p.stat().st_size) if corpus.exists() else []
            if not candidates:
                sys.stderr.write("Không tìm thấy văn bản .txt trong kho để nạp lại.\n")
                return 2
            doc = candidates[0]

        # warm up (first request loads lazy parts) — not counted
        for u in urls:
            httpx.post(u + "/v1/ask", json={"question": questions[0]["question"]}, timeout=300,
                       headers={"X-API-Key": settings.api_key} if settings.api_key else {})
        rss_before = server.rss_mb() if server else None
        _say(f"Thử tải: {clients} người hỏi đồng thời trong {seconds:.0f} s, {len(questions)} câu hỏi ({source})"
             + (f", nạp lại '{doc.name}' liên tục" if doc else "") + f" — {', '.join(urls)}")

        res = Result()
        ingesting = threading.Event()
        order = itertools.count(random.randrange(len(questions)))
        budget = itertools.count()
        t_start = time.time()
        stop_at = t_start + seconds
        threads = [threading.Thread(target=_asker, args=(urls, settings.api_key, questions, order, stop_at, budget, res, ingesting),
                                    daemon=True) for _ in range(clients)]
        if doc is not None:
            threads.append(threading.Thread(target=_ingester, args=(url, admin_key, doc, stop_at, res, ingesting), daemon=True))
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=seconds + 900)
        elapsed = time.time() - t_start
        rss_after = server.rss_mb() if server else None
        health: dict | None = None
        healths: dict[str, dict | None] = {}
        for u in urls:
            try:
                healths[u] = httpx.get(u + "/readyz", timeout=30).json()
            except Exception:  # noqa: BLE001
                healths[u] = None
        health = healths.get(url)
    finally:
        if server:
            server.stop()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)

    n = len(res.latencies_ms)
    report = {
        "url": url,
        "urls": urls,
        "requests_per_url": dict(res.per_url),
        "ready_per_url": healths,
        "clients": clients,
        "seconds": round(elapsed, 1),
        "questions": len(questions),
        "requests": n,
        "request_cap": MAX_REQUESTS,
        "throughput_rps": round(n / elapsed, 2) if elapsed else 0.0,
        "latency_ms": {p: round(percentile(res.latencies_ms, v), 1) for p, v in (("p50", 50), ("p95", 95), ("p99", 99))}
        | {"max": round(max(res.latencies_ms), 1) if n else None},
        "errors": res.errors,
        "error_samples": res.error_samples,
        "server_rss_mb": {"before": round(rss_before, 1) if rss_before else None,
                          "after": round(rss_after, 1) if rss_after else None},
        "ready_after": health,
    }
    if with_ingest:
        report["ingest"] = {
            "document": doc.name if doc else None,
            "ok": res.ingests_ok,
            "failed": res.ingests_failed,
            "p50_ms": round(percentile(res.ingest_ms, 50), 1) if res.ingest_ms else None,
            "max_ms": round(max(res.ingest_ms), 1) if res.ingest_ms else None,
            "requests_during_ingest": res.during_ingest_requests,
            "reader_errors": res.during_ingest_errors,
        }

    lat = report["latency_ms"]
    rss = report["server_rss_mb"]
    rows = [
        ("Số yêu cầu (requests)", f"{n}"),
        ("Thông lượng (req/s)", f"{report['throughput_rps']:.2f}"),
        ("Độ trễ p50 / p95 / p99 (ms)", f"{lat['p50']:.0f} / {lat['p95']:.0f} / {lat['p99']:.0f}" if n else "—"),
        ("Lỗi (errors)", f"{res.errors}"),
        ("RSS máy chủ trước / sau (MB)", f"{rss['before'] or '—'} / {rss['after'] or '—'}"),
    ]
    if with_ingest:
        ing = report["ingest"]
        rows += [
            ("Nạp lại văn bản thành công / lỗi", f"{ing['ok']} / {ing['failed']}"),
            ("Thời gian nạp lại p50 / max (ms)", f"{ing['p50_ms'] or '—'} / {ing['max_ms'] or '—'}"),
            ("Câu hỏi trong lúc nạp lại", f"{ing['requests_during_ingest']}"),
            ("Lỗi của người hỏi trong lúc nạp (phải = 0)", f"{ing['reader_errors']}"),
        ]
    if len(urls) > 1:
        for u in urls:
            gen = (healths.get(u) or {}).get("generation")
            rows.append((f"Yêu cầu tới {u} (thế hệ chỉ mục)", f"{res.per_url.get(u, 0)} ({gen if gen is not None else '—'})"))
    width = max(len(k) for k, _ in rows)
    vwidth = max(len("Giá trị"), *(len(v) for _, v in rows))
    _say("")
    _say(f"| {'Chỉ số'.ljust(width)} | {'Giá trị'.ljust(vwidth)} |")
    _say(f"|{'-' * (width + 2)}|{'-' * (vwidth + 2)}|")
    for k, v in rows:
        _say(f"| {k.ljust(width)} | {v.ljust(vwidth)} |")
    for s in res.error_samples:
        _say(f"  lỗi: {s}")
    if json_out:
        Path(json_out).write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        _say(f"Đã ghi kết quả: {json_out}")
    failed = res.errors > 0 or n == 0 or (with_ingest and (res.ingests_ok == 0 or res.ingests_failed > 0))
    return 1 if failed else 0
