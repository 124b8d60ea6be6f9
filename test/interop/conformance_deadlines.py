"""Conformance cases about time and cancellation: grpc-timeout in every unit, a deadline passing while a
request is queued or while it runs, and a client resetting its stream at each stage. Queued and running
are made certain, not guessed from time: `control` counts the held runs that started, and a request is
known to be queued once a later call on the same connection was answered (HTTP/2 keeps their frames in
order). The server's statistics are then polled, with a bound, until they account for each request."""

import time

from conformance_h2 import frame
from interop_common import expect, sample_values

PREDICT = "/modelserve.v1.Predictor/Predict"
PREDICT_STREAM = "/modelserve.v1.Predictor/PredictStream"
INFER = "/inference.GRPCInferenceService/ModelInfer"
INFER_STREAM = "/inference.GRPCInferenceService/ModelStreamInfer"
HELD = 0  # index of held's started count in control(); held_wide's is 2
HELD_WIDE = 2
# A deadline may be answered before the client's clock says it passed (Node's timers start from the
# loop's cached time, stale by the rest of a long tick), never by half: a unit misread is a factor of 1000.
EARLY = 0.5


class DeadlineCases:
    def held_body(self, model="held_wide", req_id=""):
        return frame(self.held_request(model, req_id).SerializeToString())

    # -- grpc-timeout ----------------------------------------------------------------------------

    def case_timeout_units(self):
        """Every unit is read at its value: short ones expire at theirs (not a thousandth of it), long ones outlast them."""
        # At most 8 digits, as the spec says: both paths read a 9-digit value as its last 8 (600000000n as 00000000n).
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
        """The largest values each unit can carry (8 digits) leave the call time to finish, on every inference path.
        None of these passes 2**31 ms once wrapped modulo 2**32 as grpc-js reads them (99999999H becomes 36.8 h);
        the ones that do are in case_timeout_past_int32."""
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

    def case_timeout_past_int32(self):
        """Timeouts past 2**31 ms (24.8 days): 99999999M (190 years) and grpcio's timeout of 25 days. Answered
        directly, the call has all that time and is answered OK. grpc-js 1.14.7 reads the value with `| 0`, which
        wraps both to negative numbers of ms, so the call expires at once: DEADLINE_EXCEEDED before it runs. The
        facts name the path, and the test asserts each path's answer (the only case whose facts differ)."""
        direct = self.x["direct_calls"]
        expected = 0 if direct else 4
        facts = {"path": "direct" if direct else "grpc-js"}
        raw = self.raw()
        for path, request in [(PREDICT, self.predict_request("any_rank", [1.5])), (INFER, self.infer_request("any_rank", [1.5]))]:
            answer = raw.call(path, frame(request.SerializeToString()), [("grpc-timeout", "99999999M")])
            facts[f"{path} 99999999M"] = answer.status
            expect(answer.status == expected, f"{path} grpc-timeout 99999999M: status {answer.status} ({answer.message}), expected {expected}")
        raw.close()
        month = 25 * 86400
        calls = {
            "Predict": lambda: self.predictor.Predict(self.predict_request("any_rank", [1.5]), timeout=month),
            "ModelInfer": lambda: self.oip.ModelInfer(self.infer_request("any_rank", [1.5]), timeout=month),
            "PredictStream": lambda: list(self.predictor.PredictStream(iter([self.predict_request("any_rank", [1.5])]), timeout=month)),
        }
        for name, call in calls.items():
            try:
                call()
                code = 0
            except self.grpc.RpcError as error:
                code = error.code().value[0]
            facts[f"grpcio {name} 25 days"] = code
            expect(code == expected, f"grpcio {name} with a 25-day timeout: status {code}, expected {expected}")
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
