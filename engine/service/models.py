"""Wire shapes: pydantic models used to validate the submission and to document
every answer in the OpenAPI document. Seed names (TaskId, RequestId, EventId)
are kept as the cloud API spells them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

State = Literal["queued", "running", "succeeded", "failed"]


class TaskIn(BaseModel):
    # Strict and closed: a number where a string belongs, or a misspelt field,
    # is the client's mistake and is answered 400, not guessed at.
    model_config = ConfigDict(extra="forbid", strict=True)

    source: str = Field(min_length=1, max_length=4096, description="Path of the video relative to the media root.")
    process: str = Field(
        min_length=1,
        max_length=8192,
        description="video/snapshots,…|sys/saveas,b_<b64>,o_<b64>[/notify,topic_<b64>]",
        examples=["video/snapshots,f_jpg,w_512,h_512,scaletype_crop,inter_10000|sys/saveas,b_b3V0YnVja2V0,o_b3V0b2JqcHJlZml4LXtpbmRleH0ue2F1dG9leHR9Cg"],
    )


class TaskAccepted(BaseModel):
    TaskId: str
    RequestId: str
    EventId: str
    state: State


class ErrorDetail(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    class_: str = Field(alias="class", description="Error class, e.g. ProcessError, SourceNotFoundError.")
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class AttemptView(BaseModel):
    attempt: int
    at: str = Field(description="ISO 8601 UTC time the attempt was made.")
    status: int | None = Field(description="HTTP status the webhook answered; null on a transport error.")
    error: str | None


class NotificationView(BaseModel):
    topic: str
    state: Literal["pending", "delivered", "failed"]
    attempts: list[AttemptView]


class TaskView(BaseModel):
    TaskId: str
    RequestId: str
    EventId: str
    state: State
    source: str
    process: str
    runs: int = Field(description="How many times a worker started this task (2 after a crash re-run).")
    created_at: str
    started_at: str | None
    finished_at: str | None
    result: dict[str, Any] | None = Field(description="Result.to_dict(), paths relative to the storage root.")
    error: ErrorDetail | None
    notification: NotificationView | None


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    queue_depth: int | None = Field(description="null when the task database cannot be read")
    queue_size: int
    running: int
    workers: int
    problem: str | None = Field(default=None, description="why the service is degraded (the task database fails)")
