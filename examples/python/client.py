#!/usr/bin/env python3
"""A Python client of a running modelserve: list its models, read one model's metadata, run one
inference and a short stream, and check health.

    python3 examples/python/client.py --address 127.0.0.1:8001 [--model NAME] [--input NAME=JSON]

It uses one API per step, to show each:
  health     grpc.health.v1.Health/Check (the server, then the model)
  models     modelserve.v1.ModelAdmin/ListModels
  metadata   inference.GRPCInferenceService/ModelMetadata (the Open Inference Protocol, as Triton)
  infer      inference.GRPCInferenceService/ModelInfer with raw_input_contents
  stream     modelserve.v1.Predictor/PredictStream (answers in completion order, matched by id)

Needs Debian's python3-grpcio and python3-protobuf (run it with /usr/bin/python3), and the stubs
generated from proto/: the first run generates them into --stubs (default examples/python/gen) with
test/interop/gen_stubs.sh, which needs protobuf-compiler, protobuf-compiler-grpc and `pnpm install`
(health.proto comes from an npm package).
"""

import argparse
import json
import math
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GEN_STUBS = os.path.join(HERE, "..", "..", "test", "interop", "gen_stubs.sh")
TIMEOUT = 30  # seconds per call
SHOWN = 20  # values printed per tensor

# Raw contents: little-endian, row-major; struct formats per datatype (BF16 and BYTES apart).
FORMATS = {"BOOL": "?", "UINT8": "B", "UINT16": "H", "UINT32": "I", "UINT64": "Q", "INT8": "b", "INT16": "h",
           "INT32": "i", "INT64": "q", "FP16": "e", "FP32": "f", "FP64": "d"}


def load_stubs(stubs):
    """Imports grpc and the generated stubs, generating them first if they are not there."""
    try:
        import grpc
    except ImportError as error:
        sys.exit(f"client.py: cannot import grpc ({error}): apt-get install -y python3-grpcio python3-protobuf, "
                 f"and run this with /usr/bin/python3 (not {sys.executable})")
    if not os.path.isdir(os.path.join(stubs, "modelserve")):
        print(f"generating the stubs into {stubs} (test/interop/gen_stubs.sh)", file=sys.stderr)
        gen = subprocess.run(["bash", GEN_STUBS, stubs], capture_output=True, text=True)
        if gen.returncode != 0:
            sys.exit(f"client.py: cannot generate the stubs: {gen.stderr.strip()}")
    sys.path.insert(0, stubs)
    try:
        from health.v1 import health_pb2, health_pb2_grpc
        from inference import grpc_service_pb2, grpc_service_pb2_grpc
        from modelserve.v1 import admin_pb2, admin_pb2_grpc, predictor_pb2, predictor_pb2_grpc
    except ImportError as error:
        sys.exit(f"client.py: cannot import the stubs in {stubs} ({error}): remove the directory to generate them again")
    return argparse.Namespace(grpc=grpc, health=health_pb2, health_grpc=health_pb2_grpc, oip=grpc_service_pb2,
                              oip_grpc=grpc_service_pb2_grpc, admin=admin_pb2, admin_grpc=admin_pb2_grpc,
                              predictor=predictor_pb2, predictor_grpc=predictor_pb2_grpc)


def encode(datatype, values):
    """Raw contents of a flat list of values."""
    if datatype == "BYTES":
        items = [v.encode() if isinstance(v, str) else bytes(v) for v in values]
        return b"".join(struct.pack("<I", len(v)) + v for v in items)
    if datatype == "BF16":  # the upper half of each FP32
        return b"".join(struct.pack("<f", v)[2:] for v in values)
    return struct.pack(f"<{len(values)}{FORMATS[datatype]}", *values)


def decode(datatype, data):
    """A flat list of values from raw contents."""
    if datatype == "BYTES":
        out, at = [], 0
        while at < len(data):
            (n,) = struct.unpack_from("<I", data, at)
            out.append(data[at + 4:at + 4 + n].decode(errors="backslashreplace"))
            at += 4 + n
        return out
    if datatype == "BF16":
        return [struct.unpack("<f", b"\0\0" + data[i:i + 2])[0] for i in range(0, len(data), 2)]
    size = struct.calcsize(FORMATS[datatype])
    return list(struct.unpack(f"<{len(data) // size}{FORMATS[datatype]}", data))


def shown(datatype, values):
    """Values for printing, as JSON: 32-bit and smaller floats to 7 significant digits."""
    if datatype in ("FP16", "BF16", "FP32"):
        values = [float(f"{v:.7g}") for v in values]
    text = json.dumps(values[:SHOWN])
    return text if len(values) <= SHOWN else f"{text[:-1]}, …] (first {SHOWN} of {len(values)})"


def flatten(value):
    """(shape, flat values) of nested JSON lists."""
    if not isinstance(value, list):
        return [], [value]
    parts = [flatten(v) for v in value]
    if any(shape != parts[0][0] for shape, _ in parts):
        raise ValueError("rows of different lengths")
    return [len(value)] + (parts[0][0] if parts else []), [x for _, flat in parts for x in flat]


def example_values(datatype, count):
    """Inputs not given: 0.1, 0.2 … 1.0 over and over for floats, 1 … 10 for integers, true, false …
    for BOOL, item1, item2 … for BYTES."""
    if datatype == "BOOL":
        return [k % 2 == 0 for k in range(count)]
    if datatype == "BYTES":
        return [f"item{k + 1}" for k in range(count)]
    if datatype in ("FP16", "BF16", "FP32", "FP64"):
        return [(k % 10 + 1) / 10 for k in range(count)]
    return [k % 10 + 1 for k in range(count)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--address", default="127.0.0.1:8001", help="HOST:PORT of the server (default: %(default)s)")
    parser.add_argument("--model", help="model to describe and run (default: the first one with a ready version)")
    parser.add_argument("--input", action="append", default=[], metavar="NAME=JSON",
                        help="an input as nested JSON lists, e.g. 'input=[[5.1,3.5,1.4,0.2]]'; repeatable "
                             "(default for each input: example values, each variable dimension 1)")
    parser.add_argument("--stream", type=int, default=4, metavar="N", help="requests to send on the stream (default: %(default)s)")
    parser.add_argument("--stubs", default=os.path.join(HERE, "gen"), help="directory of the generated stubs (default: %(default)s)")
    args = parser.parse_args()
    pb = load_stubs(args.stubs)
    grpc = pb.grpc

    channel = grpc.insecure_channel(args.address)
    health = pb.health_grpc.HealthStub(channel)
    admin = pb.admin_grpc.ModelAdminStub(channel)
    oip = pb.oip_grpc.GRPCInferenceServiceStub(channel)
    predictor = pb.predictor_grpc.PredictorStub(channel)

    def serving(service):
        return pb.health.HealthCheckResponse.ServingStatus.Name(health.Check(pb.health.HealthCheckRequest(service=service), timeout=TIMEOUT).status)

    print(f"server {args.address}")
    print(f"health: {serving('')} (grpc.health.v1 Health/Check)")

    models = admin.ListModels(pb.admin.ListModelsRequest(), timeout=TIMEOUT).models
    print("models (modelserve.v1 ModelAdmin/ListModels):")
    width = max((len(m.name) for m in models), default=0)
    for m in models:
        versions = ", ".join(f"{v.version} {pb.admin.VersionState.Name(v.state).removeprefix('VERSION_STATE_')}"
                             + (" (default)" if v.version == m.default_version else "") for v in m.versions)
        print(f"  {m.name.ljust(width)}  {versions}")
    ready = [m.name for m in models if any(v.state == pb.admin.VERSION_STATE_READY for v in m.versions)]
    if args.model is None and not ready:
        sys.exit("client.py: the server has no model with a ready version")
    model = args.model or ready[0]

    metadata = oip.ModelMetadata(pb.oip.ModelMetadataRequest(name=model), timeout=TIMEOUT)
    print(f"model {model} (inference.GRPCInferenceService/ModelMetadata): versions {', '.join(metadata.versions)}, platform {metadata.platform}")
    for kind, tensors in (("input", metadata.inputs), ("output", metadata.outputs)):
        for t in tensors:
            print(f"  {kind} {t.name} {t.datatype} {list(t.shape)}")
    print(f"health {model}: {serving(model)}")

    # Inputs: the ones given, else example values with every variable dimension (-1) as 1.
    given = {}
    for spec in args.input:
        name, _, text = spec.partition("=")
        given[name] = flatten(json.loads(text))
    unknown = set(given) - {t.name for t in metadata.inputs}
    if unknown:
        sys.exit(f"client.py: model {model} has no input {', '.join(sorted(unknown))}; its inputs are {', '.join(t.name for t in metadata.inputs)}")
    inputs = []
    for t in metadata.inputs:
        shape = [max(1, d) for d in t.shape]
        shape, values = given.get(t.name) or (shape, example_values(t.datatype, math.prod(shape)))
        inputs.append((t.name, t.datatype, shape, values))

    request = pb.oip.ModelInferRequest(model_name=model, id="example")
    for name, datatype, shape, values in inputs:
        request.inputs.add(name=name, datatype=datatype, shape=shape)
        request.raw_input_contents.append(encode(datatype, values))
    response = oip.ModelInfer(request, timeout=TIMEOUT)
    print(f"infer (inference.GRPCInferenceService/ModelInfer, raw_input_contents): answered by version {response.model_version}, id {response.id}")
    for name, datatype, shape, values in inputs:  # as sent: rounded to the datatype
        print(f"  input {name} {datatype} {shape}: {shown(datatype, decode(datatype, encode(datatype, values)))}")
    for out, raw in zip(response.outputs, response.raw_output_contents):
        print(f"  output {out.name} {out.datatype} {list(out.shape)}: {shown(out.datatype, decode(out.datatype, raw))}")

    def stream_requests():
        for i in range(args.stream):
            r = pb.predictor.PredictRequest(model_name=model, id=f"stream-{i}")
            for name, datatype, shape, values in inputs:
                r.inputs.add(name=name, datatype=datatype, shape=shape, raw_contents=encode(datatype, values))
            yield r

    print(f"stream (modelserve.v1 Predictor/PredictStream): {args.stream} requests, the same inputs")
    code_names = {c.value[0]: c.name for c in grpc.StatusCode}
    answered = 0
    for answer in predictor.PredictStream(stream_requests(), timeout=TIMEOUT):
        if answer.HasField("error"):
            print(f"  {answer.id}: error {code_names.get(answer.error.code, answer.error.code)}: {answer.error.message}")
            continue
        answered += 1
        outs = "; ".join(f"{o.name} {o.datatype} {list(o.shape)}: {shown(o.datatype, decode(o.datatype, o.raw_contents))}" for o in answer.response.outputs)
        print(f"  {answer.id}: version {answer.response.model_version}, {outs}")
    print(f"  {answered} of {args.stream} answered")
    channel.close()
    return 0 if answered == args.stream else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:  # an RpcError, or bad --input JSON: one line, not a traceback
        details = error.details() if hasattr(error, "details") and callable(error.details) else str(error)
        code = error.code().name + ": " if hasattr(error, "code") and callable(error.code) else ""
        sys.exit(f"client.py: {code}{details}")
