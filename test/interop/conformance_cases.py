"""The conformance cases (conformance.py runs them, in the order of `plan`): here those about messages
(metadata, compression, sizes, errors, framing); conformance_deadlines.py and conformance_connections.py
hold the rest. Each case returns the facts both paths must share, or raises."""

import array
import base64
import struct
import zlib

from conformance_connections import ConnectionCases
from conformance_deadlines import DeadlineCases
from conformance_h2 import frame
from interop_common import expect, sample_values

PREDICT = "/modelserve.v1.Predictor/Predict"
PREDICT_STREAM = "/modelserve.v1.Predictor/PredictStream"
INFER = "/inference.GRPCInferenceService/ModelInfer"
INFER_STREAM = "/inference.GRPCInferenceService/ModelStreamInfer"
MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # the servers' maxMessageBytes


class Cases(DeadlineCases, ConnectionCases):
    TIMEOUT = 30

    def plan(self):
        return [
            ("grpc_timeout_each_unit", self.case_timeout_units),
            ("grpc_timeout_huge_values", self.case_timeout_huge),
            ("grpc_timeout_past_int32_ms", self.case_timeout_past_int32),
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
        """A 3 MB request (about 200 HTTP/2 DATA frames each way) comes back exact, unary and on both APIs."""
        values = array.array("f", range(750_000))  # exact in FP32, and quick to make
        packed = values.tobytes()
        response = self.predictor.Predict(self.predict_request("any_rank", values), timeout=self.TIMEOUT)
        expect(response.outputs[0].raw_contents == packed, "Predict: the 3 MB answer differs")
        infer = self.oip.ModelInfer(self.infer_request("any_rank", values), timeout=self.TIMEOUT)
        expect(infer.raw_output_contents[0] == packed, "ModelInfer: the 3 MB answer differs")
        stream = list(self.predictor.PredictStream(iter([self.predict_request("any_rank", values, "big")]), timeout=self.TIMEOUT))
        expect(len(stream) == 1 and stream[0].response.outputs[0].raw_contents == packed, "PredictStream: the 3 MB answer differs")
        return {"bytes": len(packed)}

    def case_many_messages(self):
        """1,000 PredictStream and 300 ModelStreamInfer messages, each answered once and right."""
        n = 1000
        requests = [self.predict_request("any_rank", [float(i), -float(i)], str(i)) for i in range(n)]
        answers = list(self.predictor.PredictStream(iter(requests), timeout=60))
        by_id = {a.id: a for a in answers}
        expect(len(answers) == n and len(by_id) == n, f"{len(answers)} answers for {len(by_id)} ids, expected {n}")
        failed = [(a.id, a.error.code, a.error.message) for a in answers if a.WhichOneof("result") != "response"]
        expect(not failed, f"{len(failed)} requests failed in-band, e.g. {failed[:3]}")
        wrong = [i for i in range(n) if self.values_of(by_id[str(i)].response.outputs[0]) != [float(i), -float(i)]]
        expect(not wrong, f"wrong answers for ids {wrong[:10]}")
        infers = list(self.oip.ModelStreamInfer(iter([self.infer_request("any_rank", [float(i)], str(i)) for i in range(300)]), timeout=60))
        failed = [a.error_message for a in infers if a.error_message]
        expect(not failed, f"{len(failed)} ModelStreamInfer requests failed in-band, e.g. {failed[:3]}")
        expect(sorted(int(a.infer_response.id) for a in infers) == list(range(300)), "ModelStreamInfer ids")
        expect(all(not a.error_message and struct.unpack("<f", a.infer_response.raw_output_contents[0])[0] == float(a.infer_response.id) for a in infers),
               "a wrong ModelStreamInfer answer")
        return {"PredictStream": len(answers), "ModelStreamInfer": len(infers)}
