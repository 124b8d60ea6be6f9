"""Conformance cases about the connection rather than one call: keepalive pings, GOAWAY when a
connection reaches its maximum age with calls in flight, and the server settling afterwards."""

import time

from conformance_h2 import RawConnection, frame
from interop_common import expect

PREDICT = "/modelserve.v1.Predictor/Predict"
HELD_WIDE = 2


class ConnectionCases:
    def watched_channel(self, address, options=()):
        """A channel, ready, and the connectivity states it goes through from then on."""
        channel = self.grpc.insecure_channel(address, options=[("grpc.max_receive_message_length", -1), *options])
        self.grpc.channel_ready_future(channel).result(timeout=self.TIMEOUT)
        states = []
        channel.subscribe(lambda state: states.append(state.name), try_to_connect=False)
        return channel, states

    def case_keepalive(self):
        """grpcio pinging every 100 ms (idle or not, no limit without data) keeps its connection; so do 50 raw PINGs."""
        options = [("grpc.keepalive_time_ms", 100), ("grpc.keepalive_timeout_ms", 10_000), ("grpc.keepalive_permit_without_calls", 1),
                   ("grpc.http2.max_pings_without_data", 0)]
        channel, states = self.watched_channel(self.address, options)
        stub = self.pb.predictor_grpc.PredictorStub(channel)
        for i in range(10):
            response = stub.Predict(self.predict_request("any_rank", [float(i)]), timeout=self.TIMEOUT)
            expect(self.values_of(response.outputs[0]) == [float(i)], f"call {i} answered wrongly")
            time.sleep(0.1)  # idle between calls: the pings without calls that permit_without_calls allows
        channel.close()
        left = [s for s in states if s != "READY"]
        expect(not left, f"the keepalive channel left READY: {states} (a GOAWAY, e.g. ENHANCE_YOUR_CALM for too many pings?)")
        raw = RawConnection(self.address, timeout=self.TIMEOUT)
        for i in range(50):
            raw.ping(i.to_bytes(8, "big"))
        raw.pump(lambda: raw.pings_acked == 50 or raw.goaway is not None)
        after = raw.call(PREDICT, frame(self.predict_request("any_rank", [1.0]).SerializeToString()))
        expect(raw.goaway is None, f"GOAWAY after 50 pings: {raw.goaway}")
        expect(after.status == 0, f"a call after the pings: status {after.status}")
        raw.close()
        return {"grpcio_states": states, "raw_pings_acked": raw.pings_acked, "call_after": after.status}

    def case_goaway(self):
        """At maxConnectionAgeMs the server sends GOAWAY; a PredictStream, a unary call and a raw call in flight are all answered, and new calls reconnect."""
        channel, states = self.watched_channel(self.aging_address)
        stub = self.pb.predictor_grpc.PredictorStub(channel)
        control = self.pb.predictor_grpc.PredictorStub(self.grpc.insecure_channel(self.aging_address))
        counts = lambda release=False: [int(v) for v in self.values_of(control.Predict(  # noqa: E731
            self.predict_request("control", [1.0 if release else 0.0], name="x"), timeout=self.TIMEOUT).outputs[0])]
        started = counts()[HELD_WIDE]
        q, requests, _ = self.stream_of([self.held_request("held_wide", "stream-0")])
        stream = stub.PredictStream(requests, timeout=self.TIMEOUT)
        unary = stub.Predict.future(self.held_request("held_wide", "unary"), timeout=self.TIMEOUT)
        raw = RawConnection(self.aging_address, timeout=self.TIMEOUT)
        raw_call = raw.start(PREDICT, body=frame(self.held_request("held_wide", "raw").SerializeToString()))
        self.poll(lambda: counts()[HELD_WIDE] >= started + 3, "the three calls running")
        raw.pump(lambda: raw.goaway is not None)
        self.poll(lambda: any(s != "READY" for s in states), "grpcio's connection told to go away")
        # New calls reconnect while the old connection still carries the three.
        fresh = stub.Predict(self.predict_request("any_rank", [6.0]), timeout=self.TIMEOUT)
        expect(self.values_of(fresh.outputs[0]) == [6.0], "a call after GOAWAY was answered wrongly")
        counts(release=True)
        expect(unary.result().id == "unary", "the unary call in flight was not answered")
        first = next(stream)
        expect(first.id == "stream-0" and first.WhichOneof("result") == "response", f"the stream's answer {first}")
        q.put(None)
        rest = list(stream)
        answer = raw.wait(raw_call)
        expect(answer.status == 0, f"the raw call in flight: status {answer.status} ({answer.message})")
        expect(all(code == 0 for code, _ in raw.goaways), f"GOAWAYs (error, last stream) {raw.goaways}")
        raw.close()
        channel.close()
        return {"first_goaway": raw.goaways[0], "raw_call": answer.status, "stream_code": stream.code().name,
                "stream_more": len(rest)}

    def case_settled(self):
        """After every case: each held run has finished, each request is accounted once, and the server is SERVING."""
        self.control(release=True)
        counts = self.poll(lambda: (lambda c: c if c[0] == c[1] and c[2] == c[3] else None)(self.control()), "every held run finished")
        held = self.stats("held")
        expect(held["runs"] == counts[0] and held["dequeued"] == counts[0], f"held statistics {held} against {counts[0]} runs")
        serving = self.health.Check(self.pb.health.HealthCheckRequest(service=""), timeout=self.TIMEOUT).status
        expect(serving == self.pb.health.HealthCheckResponse.SERVING, "the server is not SERVING")
        self.admin.GetServerStats(self.pb.admin.GetServerStatsRequest(), timeout=self.TIMEOUT)
        return {"serving": True}
