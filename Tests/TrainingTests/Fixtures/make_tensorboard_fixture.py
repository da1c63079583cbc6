"""Writes the TensorBoard fixtures of Tests/TrainingTests/TensorBoardTests.swift with
TensorBoard's own writer (tensorboard 2.21; `pip install tensorboard`):

  tensorboard/events.out.tfevents.1000.fixture   three steps of `loss`, `accuracy/avc` at step 3
  tensorboard-single-event.bin                   one record: `loss` 0.5 at step 7, wall time 1000.25

Run from this folder: python make_tensorboard_fixture.py
"""
import io
import os

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter
from tensorboard.summary.writer.record_writer import RecordWriter


def scalar_event(step, wall_time, values):
    summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=t, simple_value=v) for t, v in values])
    return event_pb2.Event(wall_time=wall_time, step=step, summary=summary)


os.makedirs("tensorboard", exist_ok=True)
for name in os.listdir("tensorboard"):
    os.remove(os.path.join("tensorboard", name))
writer = EventFileWriter("tensorboard", filename_suffix="")
writer.add_event(scalar_event(1, 1000.0, [("loss", 0.5)]))
writer.add_event(scalar_event(2, 1001.0, [("loss", 0.25)]))
writer.add_event(scalar_event(3, 1002.0, [("loss", 0.125), ("accuracy/avc", 0.75)]))
writer.close()
# A fixed name (the writer names the file after the time and host).
(produced,) = os.listdir("tensorboard")
os.rename(os.path.join("tensorboard", produced), os.path.join("tensorboard", "events.out.tfevents.1000.fixture"))

buffer = io.BytesIO()
RecordWriter(buffer).write(scalar_event(7, 1000.25, [("loss", 0.5)]).SerializeToString())
with open("tensorboard-single-event.bin", "wb") as f:
    f.write(buffer.getvalue())
