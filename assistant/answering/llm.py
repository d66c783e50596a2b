"""The optional generator: an OpenAI-compatible chat server (Ollama, vLLM, llama.cpp, OpenAI).

Used only when ``Settings.llm_base_url`` is set. Prompts are files in ``prompts/``:
``system.txt`` (the rules), ``answer.txt`` (passages + question) and ``condense.txt``
(follow-up -> standalone question). Passages are numbered [1]..[k] and handed over as data
inside tags; angle brackets in document or question text are neutralised so nothing can
close the data block and pose as an instruction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from ingest.types import Chunk

from assistant.settings import Settings
from assistant.answering.types import Turn

log = logging.getLogger("htx.llm")


@dataclass(frozen=True)
class Passage:
    """One numbered passage given to the LLM."""

    n: int
    chunk: Chunk
    text: str  # the body the LLM sees (the chunk's normalised text)

    @property
    def header(self) -> str:
        c = self.chunk
        return f"Tỉnh: {c.province or 'không rõ'}; Văn bản: {c.doc_title}; Mục: {c.section or '—'}"

    @property
    def support_text(self) -> str:
        """Everything a cited sentence may rest on: header fields and body."""
        return f"{self.header}\n{self.text}"


def _neutralise(text: str) -> str:
    return text.replace("<", "‹").replace(">", "›").replace("{", "(").replace("}", ")")


def format_passages(passages: Sequence[Passage]) -> str:
    blocks = []
    for p in passages:
        blocks.append(f"[{p.n}] ({_neutralise(p.header)})\n{_neutralise(p.text)}")
    return "\n\n".join(blocks)


def format_history(history: Sequence[Turn], max_turns: int = 6) -> str:
    lines = []
    for t in list(history)[-max_turns:]:
        who = "Người dùng" if t.role == "user" else "Trợ lý"
        lines.append(f"{who}: {_neutralise(t.content.strip())[:800]}")
    return "\n".join(lines)


def load_prompt(settings: Settings, name: str) -> str:
    return (Path(settings.prompts_dir) / name).read_text(encoding="utf-8").strip()


class LLMClient:
    """LangChain chat model + prompt templates; one instance per AnswerService."""

    def __init__(self, settings: Settings):
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.prompts import ChatPromptTemplate
        from langchain_openai import ChatOpenAI

        self.settings = settings
        self.system_prompt = load_prompt(settings, "system.txt")
        common = dict(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key or "not-needed",
            timeout=settings.llm_timeout_s,
            max_retries=0,
            temperature=0,
        )
        self.model = ChatOpenAI(**common)
        self.stream_model = ChatOpenAI(streaming=True, **common)
        # The system prompt is a fixed message (not a template): braces in it stay literal.
        from langchain_core.messages import SystemMessage

        answer = ChatPromptTemplate.from_messages(
            [SystemMessage(content=self.system_prompt), ("human", load_prompt(settings, "answer.txt"))]
        )
        # Condensing only rewrites a question: its own instructions, without the answering rules.
        condense = ChatPromptTemplate.from_messages([("human", load_prompt(settings, "condense.txt"))])
        parser = StrOutputParser()
        self.answer_chain = answer | self.model | parser
        self.answer_stream_chain = answer | self.stream_model | parser
        self.condense_chain = condense | self.model | parser

    def answer(self, question: str, passages: Sequence[Passage]) -> str:
        return self.answer_chain.invoke({"passages": format_passages(passages), "question": _neutralise(question)})

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        yield from self.answer_stream_chain.stream({"passages": format_passages(passages), "question": _neutralise(question)})

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        out = self.condense_chain.invoke({"history": format_history(history), "question": _neutralise(question)})
        return out.strip().splitlines()[0].strip() if out.strip() else ""
