#!/usr/bin/env python3
"""gRPC transport conformance of modelserve, checked from Python (grpcio, and python3-h2 for raw frames).

Run once per server configuration (directCalls on, and off) by test/src/interop/python-conformance.test.ts,
which compares what both runs saw: each check reports `facts` (codes, headers, counts) that must be
identical on both paths, but for grpc_timeout_past_int32_ms, whose facts name the path it ran on. The server serves the repository of conformance-server.ts: `any_rank` (an
identity), `held` / `held_wide` (runs wait for a release), `control` (releases them, counts them) and
`expand` (answers [n] with n floats).

Usage: conformance.py --address HOST:PORT --expectations FILE --stubs DIR
(CONFORMANCE_ONLY=name,name runs only those cases, when debugging one.)
The expectations file carries `aging_address`, a server of the same kind with a short maxConnectionAgeMs,
and `direct_calls`, whether the server answers the inference methods directly.
Prints {"checks": [{"name", "ok", "detail", "facts", "seconds"}]}; exits 0 when every check passed,
1 when one failed, 2 when it could not start.
"""

import array
import json
import os
import queue
import struct
import sys
import threading
import time

from conformance_cases import Cases
from conformance_h2 import RawConnection
from interop_common import MODELSERVE_STUBS, load_stubs, run_client

TIMEOUT = 30  # seconds per call, so a hung server fails a check instead of the whole run
UNLIMITED = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]


# modelserve.v1 and health, and the Open Inference Protocol's service as pb.oip / pb.oip_grpc.
STUBS = {**MODELSERVE_STUBS, "oip": "inference.grpc_service_pb2", "oip_grpc": "inference.grpc_service_pb2_grpc"}
# The raw HTTP/2 client (conformance_h2.py) needs h2.
EXTRA = {"h2": "python3-h2"}


class Client(Cases):
    """The connections and helpers every case uses; the cases are in conformance_cases.py."""

    def __init__(self, address, expectations, pb):
        self.address = address
        self.aging_address = expectations["aging_address"]
        self.x = expectations
        self.pb = pb
        self.grpc = pb.grpc
        self.channel = self.grpc.insecure_channel(address, options=UNLIMITED)
        self.predictor = pb.predictor_grpc.PredictorStub(self.channel)
        self.admin = pb.admin_grpc.ModelAdminStub(self.channel)
        self.oip = pb.oip_grpc.GRPCInferenceServiceStub(self.channel)
        self.health = pb.health_grpc.HealthStub(self.channel)

    # -- requests ------------------------------------------------------------------------------

    @staticmethod
    def pack(values):
        """Little-endian FP32 bytes (array is quicker than struct for millions of values)."""
        packed = array.array("f", values)
        if sys.byteorder == "big":
            packed.byteswap()
        return packed.tobytes()

    def fp32(self, values, name="input", shape=None):
        return self.pb.tensor.Tensor(name=name, datatype="FP32", shape=shape or [len(values)], raw_contents=self.pack(values))

    def predict_request(self, model, values, req_id="", name="input"):
        return self.pb.predictor.PredictRequest(model_name=model, id=req_id, inputs=[self.fp32(values, name)])

    def infer_request(self, model, values, req_id="", name="input"):
        request = self.pb.oip.ModelInferRequest(model_name=model, id=req_id)
        request.inputs.add(name=name, datatype="FP32", shape=[len(values)])
        request.raw_input_contents.append(self.pack(values))
        return request

    def held_request(self, model="held", req_id=""):
        return self.predict_request(model, [7.0], req_id, name="x")

    @staticmethod
    def values_of(tensor):
        return list(struct.unpack(f"<{len(tensor.raw_contents) // 4}f", tensor.raw_contents))

    # -- what the server says about itself -----------------------------------------------------

    def control(self, release=False):
        """[held started, held finished, held_wide started, held_wide finished]; `release` lets every held run finish."""
        response = self.predictor.Predict(self.predict_request("control", [1.0 if release else 0.0], name="x"), timeout=TIMEOUT)
        return [int(v) for v in self.values_of(response.outputs[0])]

    def stats(self, model):
        """(requests answered, failed, runs, requests that left the queue for a run) of version 1 of `model`."""
        versions = self.admin.GetModelStatistics(self.pb.admin.GetModelStatisticsRequest(name=model, version="1"), timeout=TIMEOUT).versions
        v = versions[0]
        return {"requests": v.request_count, "failures": v.failure_count, "runs": v.batch_count, "dequeued": v.queue_us.count}

    def stats_delta(self, model, before):
        now = self.stats(model)
        return {k: now[k] - before[k] for k in now}

    def poll(self, condition, what, timeout=15):
        """Waits, polling, until `condition()` is true; fails naming `what` after `timeout` seconds."""
        limit = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > limit:
                raise AssertionError(f"not within {timeout}s: {what}")
            time.sleep(0.01)

    def wait_started(self, model_index, count):
        """Polls `control` until `count` runs of a held model have started (index 0: held, 2: held_wide)."""
        return self.poll(lambda: self.control()[model_index] >= count, f"{count} held runs started")

    def raw(self, address=None):
        return RawConnection(address or self.address, timeout=TIMEOUT)

    def expect_code(self, call, code):
        """Runs `call`, which must fail with `code`; returns (code name, details)."""
        try:
            call()
        except self.grpc.RpcError as error:
            if error.code() != code:
                raise AssertionError(f"status {error.code().name} ({error.details()}), expected {code.name}")
            return code.name, error.details()
        raise AssertionError(f"call succeeded, expected {code.name}")

    def stream_of(self, items):
        """A request iterator fed from a queue (None ends it), so a test decides when messages go out, and an
        event set once grpcio asks for a message beyond those queued: it has sent the ones before (grpcio
        waits for each write to finish before it reads the next request)."""
        q, sent = queue.Queue(), threading.Event()
        for item in items:
            q.put(item)

        def requests():
            while True:
                if q.empty():
                    sent.set()
                item = q.get()
                if item is None:
                    return
                sent.clear()
                yield item
        return q, requests(), sent

    # -- running -------------------------------------------------------------------------------

    def run_all(self):
        try:
            self.grpc.channel_ready_future(self.channel).result(timeout=TIMEOUT)
        except self.grpc.FutureTimeoutError:
            raise SystemExit(f"could not connect to the server within {TIMEOUT}s")
        checks = []
        only = os.environ.get("CONFORMANCE_ONLY")  # a comma-separated subset, when debugging
        for name, body in self.plan():
            if only and name not in only.split(","):
                continue
            start = time.monotonic()
            try:
                facts = body()
                ok, detail = True, json.dumps(facts, sort_keys=True)
            except self.grpc.RpcError as error:
                ok, facts, detail = False, None, f"unexpected {error.code().name}: {error.details()}"
            except Exception as error:  # noqa: BLE001 - every failure becomes a failed check
                ok, facts, detail = False, None, f"{type(error).__name__}: {error}"
            finally:
                # Whatever a case left held is let go, so the next one starts from an idle server.
                try:
                    self.control(release=True)
                except self.grpc.RpcError:
                    pass
            checks.append({"name": name, "ok": ok, "detail": detail, "facts": facts, "seconds": round(time.monotonic() - start, 3)})
        self.channel.close()
        return checks


def main():
    threading.excepthook = lambda args: None  # request iterators of cancelled calls may raise on exit
    return run_client(__doc__.splitlines()[0], "test/src/interop/python-conformance.test.ts",
                      lambda stubs_dir: load_stubs(stubs_dir, STUBS, EXTRA), Client)


if __name__ == "__main__":
    sys.exit(main())
