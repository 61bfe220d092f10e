"""Whatever a protocol file holds, the loader answers with a valid protocol or a located ProtocolError.

Random documents and random mutations of a bundled protocol must never escape as another exception
(a traceback in the CLI is a defect). The strategies live in ``tests/fuzz_strategies.py``.
"""

from __future__ import annotations

from hypothesis import given, settings

from .fuzz_strategies import loader_problems, mutated_bundled_texts, random_document_texts


@settings(max_examples=300)
@given(random_document_texts())
def test_random_documents_never_escape(text: str) -> None:
    assert loader_problems(text) == []


@settings(max_examples=300)
@given(mutated_bundled_texts())
def test_mutated_bundled_protocol_never_escapes(text: str) -> None:
    assert loader_problems(text) == []
