"""Encoders and decoders built once (msgspec perf tip); bus decoders accept unknown fields."""

from __future__ import annotations

import msgspec

from lifeboat.wire.messages import (
    ExecutorEvent,
    Job,
    ProbeReply,
    ProbeRequest,
    ScheduleEntry,
    ScheduleFired,
    TriggerBackupRequest,
)

_encoder = msgspec.json.Encoder()
job_decoder: msgspec.json.Decoder[Job] = msgspec.json.Decoder(Job)
executor_event_decoder: msgspec.json.Decoder[ExecutorEvent] = msgspec.json.Decoder(ExecutorEvent)
probe_request_decoder = msgspec.json.Decoder(ProbeRequest)
probe_reply_decoder = msgspec.json.Decoder(ProbeReply)
trigger_request_decoder = msgspec.json.Decoder(TriggerBackupRequest)
schedule_entry_decoder = msgspec.json.Decoder(ScheduleEntry)
schedule_fired_decoder = msgspec.json.Decoder(ScheduleFired)


def encode(message: msgspec.Struct) -> bytes:
    """JSON-encode any wire message."""
    return _encoder.encode(message)
