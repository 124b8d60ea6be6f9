/**
 * modelserve.v1 messages ⇄ core requests and responses. The tensor codec does the tensors; this
 * file only walks the messages.
 */
import type { InferenceRequest, InferenceResponse, NamedTensor } from '@modelserve/core';
import type { CallContext } from './inference-calls.js';
import { decodeTensor, encodeTensor } from '@modelserve/proto';
import type { OutputFormat__Output, PredictRequest__Output, PredictResponse, Tensor__Output } from '@modelserve/proto';

/** How the outputs of one request are encoded. */
export type OutputEncoding = 'raw' | 'typed';

function usesRaw(tensor: Tensor__Output): boolean {
  return tensor.raw_contents.length > 0;
}

/** A wire tensor decoded from its raw contents when it carries any, else its typed contents; `where` leads any error. */
export function fromWireTensor(tensor: Tensor__Output, where: string): NamedTensor {
  return decodeTensor(tensor, usesRaw(tensor) ? tensor.raw_contents : null, where);
}

/** The encoding an `output_format` asks for; `unspecified` when it names none. */
export function outputEncodingOf(format: OutputFormat__Output, unspecified: OutputEncoding): OutputEncoding {
  return format === 'OUTPUT_FORMAT_RAW' ? 'raw' : format === 'OUTPUT_FORMAT_TYPED' ? 'typed' : unspecified;
}

/** A core request from a wire request and its call, with the encoding its response should use. */
export function fromPredictRequest(
  request: PredictRequest__Output,
  context: CallContext,
): { request: InferenceRequest; encoding: OutputEncoding } {
  const model = request.model_name;
  const inputs: NamedTensor[] = request.inputs.map((input) => fromWireTensor(input, `model '${model}' input '${input.name}'`));
  const encoding = outputEncodingOf(request.output_format, request.inputs.some(usesRaw) ? 'raw' : 'typed');
  return {
    request: {
      model,
      version: request.model_version,
      id: request.id,
      inputs,
      outputs: request.outputs,
      priority: request.priority,
      timeoutUs: Number(request.timeout_us),
      deadline: context.deadline,
      signal: context.signal,
      routingKey: context.routingKey,
    },
    encoding,
  };
}

/** A wire response from a core response. */
export function toPredictResponse(response: InferenceResponse, encoding: OutputEncoding): PredictResponse {
  return {
    model_name: response.model,
    model_version: String(response.version),
    id: response.id,
    outputs: response.outputs.map((t) => encodeTensor(t, encoding)),
    ...(response.cached === true ? { cached: true } : {}),
  };
}
