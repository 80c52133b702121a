"""Minimal OpenAI protocol models: the names Ray Serve LLM imports, nothing more (test-only)."""
import time
import uuid
from typing import Any, List, Optional, Union

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", arbitrary_types_allowed=True)


class ChatCompletionRequest(_Open):
    model: str
    messages: List[Any]
    stream: bool = False
    max_tokens: Optional[int] = None
    max_completion_tokens: Optional[int] = None
    temperature: Optional[float] = None
    n: int = 1
    user: Optional[str] = None
    request_id: Optional[str] = None


class CompletionRequest(_Open):
    model: str
    prompt: Union[str, List[Any]]
    stream: bool = False
    max_tokens: Optional[int] = 16
    n: int = 1
    user: Optional[str] = None
    request_id: Optional[str] = None


class _Response(_Open):
    id: str = Field(default_factory=lambda: f"cmpl-{uuid.uuid4().hex}")
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: List[Any] = []
    usage: Optional[Any] = None


class ChatCompletionResponse(_Response):
    object: str = "chat.completion"


class ChatCompletionStreamResponse(_Response):
    object: str = "chat.completion.chunk"


class CompletionResponse(_Response):
    object: str = "text_completion"


class CompletionStreamResponse(_Response):
    object: str = "text_completion"


class EmbeddingRequest(_Open):
    model: str
    input: Any = None
    user: Optional[str] = None
    request_id: Optional[str] = None


class EmbeddingResponse(_Open):
    model: str
    data: List[Any] = []


class ScoringRequest(_Open):
    model: str


class ScoringResponse(_Open):
    model: str


class TokenizeRequest(_Open):
    model: str


class TokenizeResponse(_Open):
    tokens: List[int] = []


class DetokenizeRequest(_Open):
    model: str
    tokens: List[int] = []


class DetokenizeResponse(_Open):
    prompt: str = ""
