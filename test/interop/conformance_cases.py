"""The conformance cases (conformance.py runs them). Each returns the facts both paths must share,
or raises. Deadlines and cancellations are asserted causally: a run is known to have started because
`control` counted it, a request is known to be queued because a later call on the same connection
was answered, and the server's statistics are polled (with a bound) until they account for it."""

import array
import base64
import struct
import time
import zlib

from conformance_connections import ConnectionCases
from conformance_h2 import frame
from interop_common import expect, sample_values

PREDICT = "/modelserve.v1.Predictor/Predict"
PREDICT_STREAM = "/modelserve.v1.Predictor/PredictStream"
INFER = "/inference.GRPCInferenceService/ModelInfer"
INFER_STREAM = "/inference.GRPCInferenceService/ModelStreamInfer"
HELD, HELD_WIDE = 0, 2  # indexes of the started counts in control()
MAX_MESSAGE_BYTES = 8 * 1024 * 1024  # the servers' maxMessageBytes
# A deadline may be answered before the client's clock says it passed (Node's timers start from the
# loop's cached time, stale by the rest of a long tick), never by half: a unit misread is a factor of 1000.
EARLY = 0.5


class Cases(ConnectionCases):
    TIMEOUT = 30

    def plan(self):
        return [
            ("grpc_timeout_each_unit", self.case_timeout_units),
            ("grpc_timeout_huge_values", self.case_timeout_huge),
            ("grpc_timeout_tiny_values", self.case_timeout_tiny),
            ("deadline_while_queued", self.case_deadline_queued),
            ("deadline_while_running", self.case_deadline_running),
            ("cancel_before_request_sent", self.case_cancel_partial),
            ("cancel_while_queued", self.case_cancel_queued),
            ("cancel_while_running", self.case_cancel_running),
            ("cancel_stream_midway", self.case_cancel_stream),
            ("binary_metadata", self.case_binary_metadata),
            ("gzip_request_compression", self.case_gzip),
            ("max_receive_size", self.case_max_receive),
            ("max_send_size", self.case_max_send),
            ("trailers_only_errors", self.case_trailers_only),
            ("malformed_bytes_invalid_argument", self.case_malformed),
            ("large_message_round_trip", self.case_large_message),
            ("stream_of_many_messages", self.case_many_messages),
            ("keepalive_pings", self.case_keepalive),
            ("goaway_max_connection_age", self.case_goaway),
            ("server_settled", self.case_settled),
        ]

    def held_body(self, model="held_wide", req_id=""):
        return frame(self.held_request(model, req_id).SerializeToString())

    # -- grpc-timeout ----------------------------------------------------------------------------

    def case_timeout_units(self):
        """Every unit is read at its value: short ones expire no earlier than they say, long ones outlast them."""
        # At most 8 digits, as the spec says (both paths read a 9th from the left as not there: 600000000n is 0n).
        expiring = {"600m": 0.6, "600000u": 0.6, "99999999n": 0.099, "1S": 1.0}
        lasting = ["1M", "1H", "99999999H", "99999999S", "99999999m", "99999999u"]
        raw = self.raw()
        started_before = self.control()[HELD_WIDE]
        sent = time.monotonic()
        streams = {t: raw.start(PREDICT, [("grpc-timeout", t)], self.held_body(req_id=t)) for t in [*expiring, *lasting]}
        facts = {}
        for t, seconds in expiring.items():
            answer = raw.wait(streams[t])
            facts[t] = answer.status
            expect(answer.status == 4, f"grpc-timeout {t}: status {answer.status} ({answer.message}), expected DEADLINE_EXCEEDED")
            expect(answer.ended_at - sent >= seconds * EARLY, f"grpc-timeout {t} expired after {answer.ended_at - sent:.3f}s")
        expect(not any(raw.answers[streams[t]].ended for t in lasting), "a long grpc-timeout ended before 1S did")
        self.wait_started(HELD_WIDE, started_before + len(streams))
        self.control(release=True)
        for t in lasting:
            answer = raw.wait(streams[t])
            facts[t] = answer.status
            expect(answer.status == 0, f"grpc-timeout {t}: status {answer.status} ({answer.message}), expected OK")
            response = self.pb.predictor.PredictResponse.FromString(answer.messages()[0])
            expect(response.id == t and self.values_of(response.outputs[0]) == [7.0], f"grpc-timeout {t}: wrong answer {response}")
        raw.close()
        return facts

    def case_timeout_huge(self):
        """The largest values each unit can carry (8 digits) leave the call time to finish, on every inference path."""
        facts = {}
        raw = self.raw()
        for unit in "HSmu":
            t = f"99999999{unit}"
            predict = raw.call(PREDICT, frame(self.predict_request("any_rank", [1.5]).SerializeToString()), [("grpc-timeout", t)])
            infer = raw.call(INFER, frame(self.infer_request("any_rank", [1.5]).SerializeToString()), [("grpc-timeout", t)])
            facts[t] = [predict.status, infer.status]
            expect(facts[t] == [0, 0], f"grpc-timeout {t}: statuses {facts[t]} ({predict.message} / {infer.message}), expected OK")
        raw.close()
        return facts

    def case_timeout_tiny(self):
        """1n and 1u have passed on arrival: DEADLINE_EXCEEDED on every inference path, unary and streaming."""
        facts = {}
        raw = self.raw()
        bodies = {PREDICT: self.predict_request("any_rank", [1.0]), INFER: self.infer_request("any_rank", [1.0])}
        for t in ["1n", "1u"]:
            for path, request in bodies.items():
                answer = raw.call(path, frame(request.SerializeToString()), [("grpc-timeout", t)])
                facts[f"{path} {t}"] = [answer.status, answer.trailers_only]
            for path in [PREDICT_STREAM, INFER_STREAM]:
                answer = raw.wait(raw.start(path, [("grpc-timeout", t)], end=False))  # a stream left open: only the deadline ends it
                facts[f"{path} {t}"] = [answer.status, answer.trailers_only]
        for key, (status, _) in facts.items():
            expect(status == 4, f"{key}: status {status}, expected DEADLINE_EXCEEDED")
        raw.close()
        return facts

    # -- deadlines -------------------------------------------------------------------------------

    def case_deadline_queued(self):
        """A request whose deadline passes in the queue is answered DEADLINE_EXCEEDED by the server, and never runs."""
        before, started = self.stats("held"), self.control()[HELD]
        running = self.predictor.Predict.future(self.held_request(req_id="running"), timeout=self.TIMEOUT)
        self.wait_started(HELD, started + 1)
        raw = self.raw()
        sent = time.monotonic()
        queued = raw.call(PREDICT, self.held_body("held", "queued"), [("grpc-timeout", "1S")])
        expect(queued.status == 4, f"status {queued.status} ({queued.message}), expected DEADLINE_EXCEEDED")
        expect(queued.ended_at - sent >= EARLY, "answered long before its deadline")
        self.poll(lambda: self.stats_delta("held", before)["failures"] == 1, "the queued request counted as failed")
        self.control(release=True)
        expect(running.result().id == "running", "the running request was not answered")
        delta = self.stats_delta("held", before)
        expect(delta == {"requests": 1, "failures": 1, "runs": 1, "dequeued": 1}, f"statistics moved by {delta}: the queued request ran")
        expect(self.control()[HELD] == started + 1, "the held model ran more than once")
        raw.close()
        return {"status": queued.status, "trailers_only": queued.trailers_only, "statistics": delta}

    def case_deadline_running(self):
        """A deadline that passes while the request runs: DEADLINE_EXCEEDED from the server; the run ends and is accounted once."""
        before, (started, finished) = self.stats("held"), self.control()[HELD:HELD + 2]
        raw = self.raw()
        sent = time.monotonic()
        stream = raw.start(PREDICT, [("grpc-timeout", "1S")], self.held_body("held"))
        self.wait_started(HELD, started + 1)
        answer = raw.wait(stream)
        expect(answer.status == 4, f"status {answer.status} ({answer.message}), expected DEADLINE_EXCEEDED")
        expect(answer.ended_at - sent >= EARLY, "answered long before its deadline")
        expect(self.control()[HELD + 1] == finished, "the run finished before its release")
        self.control(release=True)
        self.poll(lambda: sum(self.stats_delta("held", before)[k] for k in ("requests", "failures")) == 1, "the request accounted for")
        delta = self.stats_delta("held", before)
        expect(delta["runs"] == 1 and delta["dequeued"] == 1, f"statistics moved by {delta}")
        raw.close()
        return {"status": answer.status, "trailers_only": answer.trailers_only, "runs": delta["runs"]}

    # -- cancellation ----------------------------------------------------------------------------

    def case_cancel_partial(self):
        """RST_STREAM halfway through a request's message: nothing runs, and the connection goes on serving."""
        before = self.stats("any_rank")
        raw = self.raw()
        body = frame(self.predict_request("any_rank", sample_values(4096, 5)).SerializeToString())
        stream = raw.start(PREDICT, body=body[:len(body) // 2], end=False)
        raw.reset(stream)
        after = raw.call(PREDICT, frame(self.predict_request("any_rank", [2.0]).SerializeToString()))
        expect(after.status == 0, f"the next call on the connection: status {after.status} ({after.message})")
        delta = self.stats_delta("any_rank", before)
        expect(delta["requests"] == 1 and delta["failures"] == 0, f"statistics moved by {delta}: the cancelled request counted")
        raw.close()
        return {"next_call": after.status, "statistics": delta}

    def occupy_held(self):
        """Starts a request on `held` and waits until it runs: later ones queue behind it."""
        started = self.control()[HELD]
        running = self.predictor.Predict.future(self.held_request(req_id="running"), timeout=self.TIMEOUT)
        self.wait_started(HELD, started + 1)
        return running

    def case_cancel_queued(self):
        """A client that cancels a queued request: the server drops it from the queue; it never runs."""
        before = self.stats("held")
        running = self.occupy_held()
        queued = self.predictor.Predict.future(self.held_request(req_id="queued"), timeout=self.TIMEOUT)
        self.control()  # answered on the same connection after the queued request's frames: it has been queued
        queued.cancel()
        expect(queued.cancelled(), "grpcio did not cancel the call")
        self.poll(lambda: self.stats_delta("held", before)["failures"] == 1, "the cancelled request dropped from the queue")
        self.control(release=True)
        expect(running.result().id == "running", "the running request was not answered")
        delta = self.stats_delta("held", before)
        expect(delta == {"requests": 1, "failures": 1, "runs": 1, "dequeued": 1}, f"statistics moved by {delta}: the cancelled request ran")
        return {"statistics": delta}

    def case_cancel_running(self):
        """A client that cancels a running request: the run finishes, is accounted once, and the server goes on."""
        before, finished = self.stats("held"), self.control()[HELD + 1]
        running = self.occupy_held()
        running.cancel()
        expect(running.cancelled(), "grpcio did not cancel the call")
        self.control(release=True)
        self.poll(lambda: self.control()[HELD + 1] == finished + 1, "the run finished")
        self.poll(lambda: sum(self.stats_delta("held", before)[k] for k in ("requests", "failures")) == 1, "the request accounted for")
        after = self.predictor.Predict(self.predict_request("any_rank", [3.0]), timeout=self.TIMEOUT)
        expect(self.values_of(after.outputs[0]) == [3.0], "the next call was answered wrongly")
        return {"runs": self.stats_delta("held", before)["runs"]}

    def case_cancel_stream(self):
        """A PredictStream cancelled with one request running and four queued: the four are dropped, the run is accounted."""
        before = self.stats("held")
        started = self.control()[HELD]
        q, requests, sent = self.stream_of([self.held_request(req_id=str(i)) for i in range(5)])
        call = self.predictor.PredictStream(requests, timeout=self.TIMEOUT)
        self.wait_started(HELD, started + 1)
        expect(sent.wait(self.TIMEOUT), "grpcio did not send the five requests")
        self.control()  # answered on the same connection after the five requests' frames: they have been queued
        call.cancel()
        q.put(None)
        self.poll(lambda: self.stats_delta("held", before)["failures"] == 4, "the four queued requests dropped")
        self.control(release=True)
        self.poll(lambda: self.stats_delta("held", before)["requests"] + self.stats_delta("held", before)["failures"] == 5, "all five accounted for")
        delta = self.stats_delta("held", before)
        expect(delta["runs"] == 1 and delta["dequeued"] == 1, f"statistics moved by {delta}")
        expect(call.code() == self.grpc.StatusCode.CANCELLED, f"stream ended {call.code()}")
        return {"statistics": delta}

    # -- metadata, compression, sizes ------------------------------------------------------------

    def case_binary_metadata(self):
        """-bin metadata with any bytes (and x-routing-key-bin, which modelserve does not read) is accepted on every path."""
        every_byte = bytes(range(256))
        metadata = [("x-trace-bin", every_byte), ("x-routing-key-bin", b"\x00\xff\x80"), ("x-text", "plain")]
        values = sample_values(16, 9)
        response, call = self.predictor.Predict.with_call(self.predict_request("any_rank", values), metadata=metadata, timeout=self.TIMEOUT)
        expect(self.values_of(response.outputs[0]) == values, "wrong outputs with binary metadata")
        infer = self.oip.ModelInfer(self.infer_request("any_rank", values), metadata=metadata, timeout=self.TIMEOUT)
        expect(struct.unpack("<16f", infer.raw_output_contents[0]) == tuple(values), "wrong ModelInfer outputs with binary metadata")
        answers = list(self.predictor.PredictStream(iter([self.predict_request("any_rank", values, "s")]), metadata=metadata, timeout=self.TIMEOUT))
        expect(len(answers) == 1 and answers[0].WhichOneof("result") == "response", f"stream answers {answers}")
        raw = self.raw()
        facts = {"echoed": sorted(k for k, _ in call.initial_metadata() + call.trailing_metadata() if k.startswith("x-"))}
        # Padded, unpadded, and not base64 at all: a -bin value is decoded leniently, never refused.
        for value in [base64.b64encode(every_byte).decode(), base64.b64encode(b"ab").decode().rstrip("="), "!!not base64%"]:
            answer = raw.call(PREDICT, frame(self.predict_request("any_rank", [4.0]).SerializeToString()), [("x-odd-bin", value)])
            facts[value[:12]] = answer.status
            expect(answer.status == 0, f"x-odd-bin {value!r}: status {answer.status} ({answer.message})")
        raw.close()
        return facts

    def case_gzip(self):
        """gzip-compressed requests are read on every inference path; the server says which encodings it accepts."""
        values = [0.0] * 20000 + sample_values(100, 3)
        gzip = self.grpc.Compression.Gzip
        response, call = self.predictor.Predict.with_call(self.predict_request("any_rank", values), compression=gzip, timeout=self.TIMEOUT)
        expect(self.values_of(response.outputs[0]) == values, "wrong outputs for a gzip request")
        infer = self.oip.ModelInfer(self.infer_request("any_rank", values), compression=gzip, timeout=self.TIMEOUT)
        expect(infer.raw_output_contents[0] == struct.pack(f"<{len(values)}f", *values), "wrong ModelInfer outputs for a gzip request")
        stream = list(self.predictor.PredictStream(iter([self.predict_request("any_rank", values, str(i)) for i in range(3)]), compression=gzip, timeout=self.TIMEOUT))
        expect(sorted(r.id for r in stream) == ["0", "1", "2"], f"stream answered {[r.id for r in stream]}")
        expect(all(self.values_of(r.response.outputs[0]) == values for r in stream), "wrong stream outputs for gzip requests")
        # The same over raw HTTP/2, with a deflate (zlib) message as well: what grpc-accept-encoding promises
        # (grpcio keeps grpc-* headers from its metadata) is honoured.
        raw = self.raw()
        plain = self.predict_request("any_rank", values).SerializeToString()
        accepted = raw.call(PREDICT, frame(plain)).headers.get("grpc-accept-encoding")
        gz = zlib.compressobj(wbits=31)
        deflated = raw.call(PREDICT, frame(zlib.compress(plain), 1), [("grpc-encoding", "deflate")])
        gzipped = raw.call(PREDICT, frame(gz.compress(plain) + gz.flush(), 1), [("grpc-encoding", "gzip")])
        unknown = raw.call(PREDICT, frame(plain, 1), [("grpc-encoding", "snappy")])
        raw.close()
        expect(accepted is not None and "gzip" in accepted.split(","), f"grpc-accept-encoding {accepted!r} does not list gzip")
        expect([deflated.status, gzipped.status] == [0, 0], f"deflate {deflated.status} ({deflated.message}), gzip {gzipped.status}")
        expect(gzipped.headers.get("grpc-accept-encoding") == accepted, f"a gzip call's grpc-accept-encoding {gzipped.headers}")
        expect(unknown.status == 12, f"an unknown grpc-encoding: status {unknown.status} ({unknown.message}), expected UNIMPLEMENTED")
        return {"grpc-accept-encoding": accepted, "deflate": deflated.status, "gzip": gzipped.status,
                "snappy": [unknown.status, unknown.message]}

    def case_max_receive(self):
        """A request over maxMessageBytes is RESOURCE_EXHAUSTED on every inference path; the server goes on."""
        values = [0.5] * (MAX_MESSAGE_BYTES // 4 + 16)
        code = self.grpc.StatusCode.RESOURCE_EXHAUSTED
        facts = {
            "Predict": self.expect_code(lambda: self.predictor.Predict(self.predict_request("any_rank", values), timeout=self.TIMEOUT), code),
            "ModelInfer": self.expect_code(lambda: self.oip.ModelInfer(self.infer_request("any_rank", values), timeout=self.TIMEOUT), code),
            "PredictStream": self.expect_code(lambda: list(self.predictor.PredictStream(
                iter([self.predict_request("any_rank", [1.0], "small"), self.predict_request("any_rank", values, "big")]), timeout=self.TIMEOUT)), code),
        }
        after = self.predictor.Predict(self.predict_request("any_rank", [5.0]), timeout=self.TIMEOUT)
        expect(self.values_of(after.outputs[0]) == [5.0], "the next call was answered wrongly")
        return facts

    def case_max_send(self):
        """An answer over maxMessageBytes (`expand` answers [n] with n floats) is RESOURCE_EXHAUSTED; a small one is not."""
        count = MAX_MESSAGE_BYTES // 4 + 16
        code = self.grpc.StatusCode.RESOURCE_EXHAUSTED
        facts = {
            "Predict": self.expect_code(lambda: self.predictor.Predict(self.predict_request("expand", [count], name="x"), timeout=self.TIMEOUT), code),
            "ModelInfer": self.expect_code(lambda: self.oip.ModelInfer(self.infer_request("expand", [count], name="x"), timeout=self.TIMEOUT), code),
        }
        small = self.predictor.Predict(self.predict_request("expand", [1000], name="x"), timeout=self.TIMEOUT)
        expect(len(small.outputs[0].raw_contents) == 4000, "a small answer did not come back")
        return facts

    # -- errors, framing -------------------------------------------------------------------------

    def case_trailers_only(self):
        """Errors known before any answer come as one HEADERS frame that ends the stream; grpcio sees code and details."""
        raw = self.raw()
        facts = {}
        for path, request in [(PREDICT, self.predict_request("no_such_model", [1.0])), (INFER, self.infer_request("no_such_model", [1.0]))]:
            answer = raw.call(path, frame(request.SerializeToString()))
            facts[path] = [answer.status, answer.trailers_only, len(answer.body)]
            expect(answer.status == 5 and answer.trailers_only and answer.body == b"", f"{path}: {facts[path]} {answer.message}")
            expect("no_such_model" in answer.message, f"message {answer.message!r} does not name the model")
        raw.close()
        code = self.grpc.StatusCode.NOT_FOUND
        facts["grpcio"] = self.expect_code(lambda: self.predictor.Predict(self.predict_request("no_such_model", [1.0]), timeout=self.TIMEOUT), code)
        expect("no_such_model" in facts["grpcio"][1], "grpcio's details do not name the model")
        return facts

    def case_malformed(self):
        """Bytes that are not the method's message (grpcio's generic calls, identity serializers): INVALID_ARGUMENT,
        as the call's status on the unary methods and in-band on the streams, which go on."""
        facts = {}
        for path in [PREDICT, INFER]:
            call = self.channel.unary_unary(path)
            facts[path] = self.expect_code(lambda: call(b"\xff\xff\xff", timeout=self.TIMEOUT), self.grpc.StatusCode.INVALID_ARGUMENT)
        good = self.predict_request("any_rank", [8.0], "good").SerializeToString()
        answers = list(self.channel.stream_stream(PREDICT_STREAM)(iter([b"\xff\xff\xff", good]), timeout=self.TIMEOUT))
        decoded = sorted((r.WhichOneof("result"), r.id, r.error.code) for r in map(self.pb.predictor.PredictStreamResponse.FromString, answers))
        expect(decoded == [("error", "", 3), ("response", "good", 0)], f"PredictStream answers {decoded}")
        facts[PREDICT_STREAM] = decoded
        good = self.infer_request("any_rank", [8.0], "good").SerializeToString()
        answers = list(self.channel.stream_stream(INFER_STREAM)(iter([b"\xff\xff\xff", good]), timeout=self.TIMEOUT))
        decoded = sorted((bool(r.error_message), r.infer_response.id) for r in map(self.pb.oip.ModelStreamInferResponse.FromString, answers))
        expect(decoded == [(False, "good"), (True, "")], f"ModelStreamInfer answers {decoded}")
        facts[INFER_STREAM] = decoded
        return facts

    def case_large_message(self):
        """A 6 MB request (hundreds of HTTP/2 DATA frames each way) comes back exact, unary and on both APIs."""
        values = array.array("f", range(1_500_000))  # exact in FP32, and quick to make
        packed = values.tobytes()
        response = self.predictor.Predict(self.predict_request("any_rank", values), timeout=self.TIMEOUT)
        expect(response.outputs[0].raw_contents == packed, "Predict: the 6 MB answer differs")
        infer = self.oip.ModelInfer(self.infer_request("any_rank", values), timeout=self.TIMEOUT)
        expect(infer.raw_output_contents[0] == packed, "ModelInfer: the 6 MB answer differs")
        stream = list(self.predictor.PredictStream(iter([self.predict_request("any_rank", values, "big")]), timeout=self.TIMEOUT))
        expect(len(stream) == 1 and stream[0].response.outputs[0].raw_contents == packed, "PredictStream: the 6 MB answer differs")
        return {"bytes": len(packed)}

    def case_many_messages(self):
        """2,000 PredictStream and 500 ModelStreamInfer messages, each answered once and right."""
        n = 2000
        requests = [self.predict_request("any_rank", [float(i), -float(i)], str(i)) for i in range(n)]
        answers = list(self.predictor.PredictStream(iter(requests), timeout=60))
        by_id = {a.id: a for a in answers}
        expect(len(answers) == n and len(by_id) == n, f"{len(answers)} answers for {len(by_id)} ids, expected {n}")
        wrong = [i for i in range(n) if self.values_of(by_id[str(i)].response.outputs[0]) != [float(i), -float(i)]]
        expect(not wrong, f"wrong answers for ids {wrong[:10]}")
        infers = list(self.oip.ModelStreamInfer(iter([self.infer_request("any_rank", [float(i)], str(i)) for i in range(500)]), timeout=60))
        expect(sorted(int(a.infer_response.id) for a in infers) == list(range(500)), "ModelStreamInfer ids")
        expect(all(not a.error_message and struct.unpack("<f", a.infer_response.raw_output_contents[0])[0] == float(a.infer_response.id) for a in infers),
               "a wrong ModelStreamInfer answer")
        return {"PredictStream": len(answers), "ModelStreamInfer": len(infers)}
