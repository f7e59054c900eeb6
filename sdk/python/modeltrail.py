"""ModelTrail helper for training scripts: zero dependencies, Python 3.7+.

A training job reports to the platform by printing JSON lines on its standard output (the
protocol is in docs/training-protocol.md). This module writes those lines for you:

    import modeltrail as mt

    mt.log_params({"lr": 0.1, "epochs": 5})
    for step in range(100):
        ...
        mt.log_metrics({"loss": loss, "accuracy": acc}, step=step)
    path = os.path.join(mt.output_dir(), "model.json")
    ...                                     # write the model there
    mt.log_artifact(path, name="model")

Outside the platform the same lines are printed (they are harmless log lines) and
output_dir() is ./outputs, created on first use, so a script runs the same way on a laptop.

Every call writes one complete line and flushes, under a lock, so records from several threads
never interleave. Values a record cannot hold (NaN or infinite metric values) are written as
strings: the agent drops those metrics with a warning in the run's log instead of the script
failing.
"""

import json
import math
import os
import sys
import threading

__all__ = [
    "PROTOCOL_VERSION",
    "log_metrics",
    "log_params",
    "log_artifact",
    "log_status",
    "output_dir",
    "run_id",
    "job_id",
    "in_platform",
]

PROTOCOL_VERSION = 1

_lock = threading.Lock()


def in_platform():
    """True when the script runs as a ModelTrail job (the agent sets MODELTRAIL_RUN_ID)."""
    return bool(os.environ.get("MODELTRAIL_RUN_ID"))


def run_id():
    """The run this job reports to, or None outside the platform."""
    return os.environ.get("MODELTRAIL_RUN_ID") or None


def job_id():
    """The job's id, or None outside the platform."""
    return os.environ.get("MODELTRAIL_JOB_ID") or None


def output_dir():
    """The directory whose files become the run's artifacts when the job ends.

    MODELTRAIL_OUTPUT_DIR inside the platform; ./outputs (created) outside it.
    """
    path = os.environ.get("MODELTRAIL_OUTPUT_DIR")
    if not path:
        path = os.path.abspath("outputs")
        os.makedirs(path, exist_ok=True)
    return path


def log_metrics(metrics, step=None, timestamp=None):
    """Logs metric values at a step.

    metrics: a dict of name -> number; names are letters, digits, spaces and _ - . / (at most
    250 characters). step: a non-negative int (0 when None). timestamp: an ISO-8601 string with
    a time zone; when None, the time the agent reads the line.
    """
    if not isinstance(metrics, dict) or not metrics:
        raise TypeError("log_metrics needs a non-empty dict of metric names to numbers")
    values = {}
    for key, value in metrics.items():
        if not isinstance(key, str):
            raise TypeError("metric names must be strings, got %r" % (key,))
        values[key] = _number(value, key)
    record = {"type": "metrics", "metrics": values}
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError("step must be a non-negative int, got %r" % (step,))
        record["step"] = step
    if timestamp is not None:
        record["timestamp"] = str(timestamp)
    _emit(record)


def log_params(params):
    """Logs parameters: a dict of name -> str, int, float or bool."""
    if not isinstance(params, dict) or not params:
        raise TypeError("log_params needs a non-empty dict of parameter names to values")
    values = {}
    for key, value in params.items():
        if isinstance(value, (bool, str)):
            values[str(key)] = value
        elif isinstance(value, (int, float)):
            values[str(key)] = _number(value, key)
        else:
            values[str(key)] = str(value)
    _emit({"type": "params", "params": values})


def log_artifact(path, name=None):
    """Names a file of the output directory as an artifact (by default its relative path is its name).

    Every file left in output_dir() becomes an artifact anyway; naming one gives it a name of
    your choosing. A path outside the output directory is refused by the agent.
    """
    record = {"type": "artifact", "path": os.fspath(path)}
    if name is not None:
        record["name"] = str(name)
    _emit(record)


def log_status(message):
    """A short line about where the job is ("epoch 3 of 10")."""
    _emit({"type": "status", "message": str(message)})


def _number(value, key):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        number = float(value)  # numpy scalars, decimals, tensors with __float__
    except (TypeError, ValueError):
        raise TypeError("value of %r must be a number, got %r" % (key, value))
    if math.isnan(number) or math.isinf(number):
        return str(number)  # the agent drops it with a warning
    return number


def _emit(record):
    line = json.dumps(dict({"modeltrail": PROTOCOL_VERSION}, **record), separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    with _lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
