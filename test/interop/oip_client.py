#!/usr/bin/env python3
"""An Open Inference Protocol (KServe v2 / Triton) client of modelserve, in Python.

It is written the way tritonclient.grpc talks to Triton: stubs generated from the `inference`
package's grpc_service.proto (GRPCInferenceServiceStub), inputs as raw_input_contents in the order
of `inputs`, BYTES elements with a 4-byte little-endian length prefix, outputs read from
raw_output_contents, streaming through ModelStreamInfer with error_message for failures. Nothing in
it knows modelserve.v1. Standard library, Debian's python3-grpcio and the stubs gen_stubs.sh makes;
expected outputs come from the TypeScript reference evaluators (the expectations file
test/src/interop/python-oip.test.ts writes).

Usage: oip_client.py --address HOST:PORT --expectations FILE --stubs DIR
Prints a JSON report {"checks": [{"name", "ok", "detail", "seconds"}]} on stdout; exits 0 when every
check passed, 1 when one failed, 2 when it could not start (message on stderr).
"""

import struct
import sys
import time

from interop_common import expect, load_stubs, max_abs_diff, pack_f32, run_checks, run_client, sample_values, unpack_f32

TIMEOUT = 30  # seconds per call


def serialize_bytes(elements):
    """BYTES raw contents as Triton clients send them: each element a 4-byte little-endian length, then its bytes."""
    return b"".join(struct.pack("<I", len(e)) + e for e in elements)


def deserialize_bytes(data):
    out, at = [], 0
    while at < len(data):
        (n,) = struct.unpack_from("<I", data, at)
        out.append(data[at + 4:at + 4 + n])
        at += 4 + n
    return out


class Client:
    def __init__(self, address, expectations, pb):
        self.x = expectations
        self.pb = pb
        self.grpc = pb.grpc
        self.channel = pb.grpc.insecure_channel(address)
        self.stub = pb.service_grpc.GRPCInferenceServiceStub(self.channel)

    # -- helpers -----------------------------------------------------------------------------

    def infer_request(self, model, version, rows, seed, typed=False, req_id=""):
        """A ModelInferRequest with `rows` deterministic samples for an MNIST model."""
        values = sample_values(rows * 784, seed)
        shape = [rows, 1, 28, 28] if model == "mnist_cnn" else [rows, 784]
        request = self.pb.service.ModelInferRequest(model_name=model, model_version=version, id=req_id)
        tensor = request.inputs.add(name="input", datatype="FP32", shape=shape)
        if typed:
            tensor.contents.fp32_contents.extend(values)
        else:
            request.raw_input_contents.append(pack_f32(values))
        return request

    def output(self, response, name="output"):
        """(shape, values) of an FP32 output, read from raw_output_contents as Triton clients do."""
        names = [o.name for o in response.outputs]
        expect(name in names, f"no output {name!r} in {names}")
        i = names.index(name)
        out = response.outputs[i]
        expect(out.datatype == "FP32", f"output datatype {out.datatype}")
        expect(len(response.raw_output_contents) == len(response.outputs), "raw_output_contents does not match outputs")
        return list(out.shape), unpack_f32(response.raw_output_contents[i])

    def expect_outputs(self, response, rows, want, label):
        shape, got = self.output(response)
        expect(shape == [rows, 10], f"{label}: output shape {shape}, expected [{rows}, 10]")
        diff = max_abs_diff(got, want)
        expect(diff <= 1e-5, f"{label}: outputs differ from the reference by {diff}")
        return diff

    def expect_status(self, call, code, contains=""):
        try:
            call()
        except self.grpc.RpcError as error:
            expect(error.code() == code, f"status {error.code().name} ({error.details()}), expected {code.name}")
            expect(contains in error.details(), f"message {error.details()!r} does not mention {contains!r}")
            return f"{code.name}: {error.details()}"
        raise AssertionError(f"call succeeded, expected {code.name}")

    def statistics(self, model):
        stats = self.stub.ModelStatistics(self.pb.service.ModelStatisticsRequest(name=model), timeout=TIMEOUT).model_stats
        expect(len(stats) == 1, f"{len(stats)} statistics entries for {model}")
        return stats[0]

    # -- checks ----------------------------------------------------------------------------------

    def check_server_live_ready(self):
        live = self.stub.ServerLive(self.pb.service.ServerLiveRequest(), timeout=TIMEOUT).live
        ready = self.stub.ServerReady(self.pb.service.ServerReadyRequest(), timeout=TIMEOUT).ready
        expect(live and ready, f"live {live}, ready {ready}")
        return "live, ready"

    def check_server_metadata(self):
        m = self.stub.ServerMetadata(self.pb.service.ServerMetadataRequest(), timeout=TIMEOUT)
        expect(m.name == "modelserve", f"name {m.name!r}")
        expect("model_repository" in m.extensions and "statistics" in m.extensions, f"extensions {list(m.extensions)}")
        return f"{m.name} {m.version} {list(m.extensions)}"

    def check_model_ready(self):
        ready = lambda name, version="": self.stub.ModelReady(  # noqa: E731
            self.pb.service.ModelReadyRequest(name=name, version=version), timeout=TIMEOUT).ready
        expect(ready("mnist_mlp") and ready("mnist_mlp", "1") and ready("mnist_cnn"), "a demo model is not ready")
        expect(not ready("no_such_model"), "an unknown model is ready")
        return "mnist_mlp, mnist_mlp/1, mnist_cnn ready; unknown not"

    def check_model_metadata(self):
        m = self.stub.ModelMetadata(self.pb.service.ModelMetadataRequest(name="mnist_mlp"), timeout=TIMEOUT)
        specs = lambda ts: [(t.name, t.datatype, list(t.shape)) for t in ts]  # noqa: E731
        expect(m.platform == "onnxruntime_onnx", f"platform {m.platform}")
        expect(list(m.versions) == ["1", "2"], f"versions {list(m.versions)}")
        expect(specs(m.inputs) == [("input", "FP32", [-1, 784])], f"inputs {specs(m.inputs)}")
        expect(specs(m.outputs) == [("output", "FP32", [-1, 10])], f"outputs {specs(m.outputs)}")
        return f"{m.platform}, versions {list(m.versions)}"

    def check_model_config(self):
        c = self.stub.ModelConfig(self.pb.service.ModelConfigRequest(name="mnist_mlp"), timeout=TIMEOUT).config
        dtype = self.pb.model_config.DataType.Name(c.input[0].data_type)
        expect(c.max_batch_size == 128, f"max_batch_size {c.max_batch_size}")
        expect((c.input[0].name, dtype, list(c.input[0].dims)) == ("input", "TYPE_FP32", [784]), f"input {c.input[0]}")
        return f"max_batch_size {c.max_batch_size}, input {c.input[0].name} {dtype} {list(c.input[0].dims)}"

    def check_infer(self, case):
        request = self.infer_request(case["model"], case["version"], case["rows"], case["seed"], case["typed"], case["name"])
        response = self.stub.ModelInfer(request, timeout=TIMEOUT)
        expect(response.id == case["name"], f"id {response.id!r} not echoed")
        expect(response.model_name == case["model"], f"model {response.model_name}")
        if case["version"]:
            expect(response.model_version == case["version"], f"answered by version {response.model_version}")
        diff = self.expect_outputs(response, case["rows"], case["expected"], case["name"])
        return f"version {response.model_version}, max abs diff {diff:.2e}"

    def check_datatypes_raw(self):
        """Every datatype through the `datatypes` identity model, BYTES length-prefixed."""
        inputs = {
            "bool": ("BOOL", struct.pack("<3?", True, False, True)),
            "uint8": ("UINT8", struct.pack("<3B", 0, 128, 255)),
            "uint16": ("UINT16", struct.pack("<3H", 0, 300, 65535)),
            "uint32": ("UINT32", struct.pack("<3I", 0, 70000, 2**32 - 1)),
            "uint64": ("UINT64", struct.pack("<3Q", 0, 2**53 + 1, 2**64 - 1)),
            "int8": ("INT8", struct.pack("<3b", -128, 0, 127)),
            "int16": ("INT16", struct.pack("<3h", -32768, 1, 32767)),
            "int32": ("INT32", struct.pack("<3i", -2**31, 7, 2**31 - 1)),
            "int64": ("INT64", struct.pack("<3q", -2**63, 2**53 + 1, 2**63 - 1)),
            "float16": ("FP16", struct.pack("<3e", 1.0, -2.5, 65504.0)),
            "float32": ("FP32", struct.pack("<3f", -1.5, 3.4028234663852886e38, 1e-45)),
            "float64": ("FP64", struct.pack("<3d", 3.141592653589793, -1.7976931348623157e308, 5e-324)),
            "string": ("BYTES", serialize_bytes(["héllo".encode(), b"", "naïve ✓".encode()])),
        }
        request = self.pb.service.ModelInferRequest(model_name="datatypes")
        for onnx, (datatype, raw) in inputs.items():
            request.inputs.add(name=f"in_{onnx}", datatype=datatype, shape=[3])
            request.raw_input_contents.append(raw)
        response = self.stub.ModelInfer(request, timeout=TIMEOUT)
        got = {o.name: (o.datatype, list(o.shape), response.raw_output_contents[i]) for i, o in enumerate(response.outputs)}
        for onnx, (datatype, raw) in inputs.items():
            expect(got.get(f"out_{onnx}") == (datatype, [3], raw), f"out_{onnx}: {got.get(f'out_{onnx}')} != {(datatype, [3], raw)}")
        strings = deserialize_bytes(got["out_string"][2])
        expect(strings == ["héllo".encode(), b"", "naïve ✓".encode()], f"strings {strings}")
        return f"{len(inputs)} datatypes byte-exact"

    def run_stream(self):
        cases = self.x["stream"]["requests"]
        bad_at = self.x["stream"]["bad_at"]
        bad = self.pb.service.ModelInferRequest(model_name="mnist_mlp", id="bad")
        bad.inputs.add(name="input", datatype="FP32", shape=[1, 780])
        bad.raw_input_contents.append(pack_f32([0.0] * 780))

        def requests():
            for i, c in enumerate(cases):
                if i == bad_at:
                    yield bad
                yield self.infer_request("mnist_mlp", c["version"], c["rows"], c["seed"], req_id=c["id"])

        start = time.monotonic()
        responses = list(self.stub.ModelStreamInfer(requests(), timeout=120))
        return {"responses": responses, "cases": cases, "seconds": time.monotonic() - start}

    def check_stream_1000(self, stream):
        counts = {}
        for r in stream["responses"]:
            counts[r.infer_response.id] = counts.get(r.infer_response.id, 0) + 1
        want = [c["id"] for c in stream["cases"]] + ["bad"]
        missing = [i for i in want if i not in counts]
        repeated = [i for i, n in counts.items() if n > 1]
        unknown = [i for i in counts if i not in want]
        expect(not (missing or repeated or unknown), f"missing {missing[:10]}, repeated {repeated[:10]}, unknown {unknown[:10]}")
        by_id = {r.infer_response.id: r for r in stream["responses"]}
        worst = 0.0
        for c in stream["cases"]:
            r = by_id[c["id"]]
            expect(r.error_message == "", f"id {c['id']}: {r.error_message}")
            expect(r.infer_response.model_version == c["version"], f"id {c['id']}: version {r.infer_response.model_version}")
            worst = max(worst, self.expect_outputs(r.infer_response, c["rows"], c["expected"], f"id {c['id']}"))
        return f"{len(stream['cases'])} answered once each in {stream['seconds']:.2f}s, max abs diff {worst:.2e}"

    def check_stream_bad_request(self, stream):
        bad = [r for r in stream["responses"] if r.infer_response.id == "bad"]
        expect(len(bad) == 1, f"bad request answered {len(bad)} times")
        expect("'input'" in bad[0].error_message, f"error_message {bad[0].error_message!r} does not name the input")
        return bad[0].error_message

    def check_unknown_model(self):
        request = self.infer_request("no_such_model", "", 1, 1)
        return self.expect_status(lambda: self.stub.ModelInfer(request, timeout=TIMEOUT), self.grpc.StatusCode.NOT_FOUND, "no_such_model")

    def check_raw_and_typed(self):
        request = self.infer_request("mnist_mlp", "", 1, 1, typed=True)
        request.raw_input_contents.append(pack_f32(sample_values(784, 1)))
        return self.expect_status(lambda: self.stub.ModelInfer(request, timeout=TIMEOUT), self.grpc.StatusCode.INVALID_ARGUMENT, "both typed contents")

    def check_statistics(self):
        before = self.statistics("tiny_mlp")
        request = self.pb.service.ModelInferRequest(model_name="tiny_mlp")
        request.inputs.add(name="input", datatype="FP32", shape=[2, 4])
        request.raw_input_contents.append(pack_f32([0.5] * 8))
        for _ in range(7):
            self.stub.ModelInfer(request, timeout=TIMEOUT)
        after = self.statistics("tiny_mlp")
        success = after.inference_stats.success.count - before.inference_stats.success.count
        samples = after.inference_count - before.inference_count
        runs = after.execution_count - before.execution_count
        expect(success == 7 and samples == 14 and 1 <= runs <= 7, f"success +{success}, inference_count +{samples}, execution_count +{runs}")
        expect(after.inference_stats.compute_infer.ns > before.inference_stats.compute_infer.ns, "compute_infer ns did not grow")
        return f"success +{success}, inference_count +{samples}, execution_count +{runs}"

    def check_repository_index(self):
        index = self.stub.RepositoryIndex(self.pb.service.RepositoryIndexRequest(), timeout=TIMEOUT).models
        mlp = sorted((m.version, m.state) for m in index if m.name == "mnist_mlp")
        expect(mlp == [("1", "READY"), ("2", "READY")], f"mnist_mlp {mlp}")
        return f"{len(index)} entries"

    def check_unload_load(self):
        stub, svc, code = self.stub, self.pb.service, self.grpc.StatusCode
        stub.RepositoryModelUnload(svc.RepositoryModelUnloadRequest(model_name="mnist_cnn"), timeout=TIMEOUT)
        expect(not stub.ModelReady(svc.ModelReadyRequest(name="mnist_cnn"), timeout=TIMEOUT).ready, "ready after unload")
        cnn = self.x["cnn"]
        request = self.infer_request("mnist_cnn", "", cnn["rows"], cnn["seed"])
        self.expect_status(lambda: stub.ModelInfer(request, timeout=TIMEOUT), code.UNAVAILABLE)
        stub.RepositoryModelLoad(svc.RepositoryModelLoadRequest(model_name="mnist_cnn"), timeout=TIMEOUT)
        expect(stub.ModelReady(svc.ModelReadyRequest(name="mnist_cnn"), timeout=TIMEOUT).ready, "not ready after load")
        diff = self.expect_outputs(stub.ModelInfer(request, timeout=TIMEOUT), cnn["rows"], cnn["expected"], "mnist_cnn")
        return f"unloaded: UNAVAILABLE; loaded: max abs diff {diff:.2e}"

    def check_unimplemented(self):
        call = lambda: self.stub.SystemSharedMemoryStatus(self.pb.service.SystemSharedMemoryStatusRequest(), timeout=TIMEOUT)  # noqa: E731
        return self.expect_status(call, self.grpc.StatusCode.UNIMPLEMENTED)

    # -- running ---------------------------------------------------------------------------------

    def run_all(self):
        try:
            self.grpc.channel_ready_future(self.channel).result(timeout=TIMEOUT)
        except self.grpc.FutureTimeoutError:
            raise SystemExit(f"could not connect to the server within {TIMEOUT}s")
        plan = [
            ("server_live_ready", self.check_server_live_ready),
            ("server_metadata", self.check_server_metadata),
            ("model_ready", self.check_model_ready),
            ("model_metadata_mnist_mlp", self.check_model_metadata),
            ("model_config_mnist_mlp", self.check_model_config),
        ]
        plan += [(case["name"], lambda case=case: self.check_infer(case)) for case in self.x["unary"]]
        plan.append(("infer_datatypes_raw", self.check_datatypes_raw))
        checks = run_checks(self.grpc, plan)
        try:
            stream = self.run_stream()
        except self.grpc.RpcError as error:
            failure = f"stream failed: {error.code().name}: {error.details()}"
            checks += [{"name": n, "ok": False, "detail": failure, "seconds": 0} for n in ("stream_1000", "stream_bad_request_in_band")]
        else:
            checks += run_checks(self.grpc, [
                ("stream_1000", lambda: self.check_stream_1000(stream)),
                ("stream_bad_request_in_band", lambda: self.check_stream_bad_request(stream)),
            ])
        checks += run_checks(self.grpc, [
            ("unknown_model_not_found", self.check_unknown_model),
            ("raw_and_typed_invalid_argument", self.check_raw_and_typed),
            ("statistics_count_requests", self.check_statistics),
            ("repository_index", self.check_repository_index),
            ("unload_load_mnist_cnn", self.check_unload_load),
            ("shared_memory_unimplemented", self.check_unimplemented),
        ])
        self.channel.close()
        return checks


# The Open Inference Protocol stubs, by the attribute they are read as.
OIP_STUBS = {"service": "inference.grpc_service_pb2", "service_grpc": "inference.grpc_service_pb2_grpc",
             "model_config": "inference.model_config_pb2"}


def main():
    return run_client(__doc__.splitlines()[0], "test/src/interop/python-oip.test.ts",
                      lambda stubs_dir: load_stubs(stubs_dir, OIP_STUBS), Client)


if __name__ == "__main__":
    sys.exit(main())
