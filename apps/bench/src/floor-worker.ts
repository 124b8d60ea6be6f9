/** The floor server's model thread: one onnxruntime session, one run per message, results moved back. */
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';

/** A run: `count` samples of `sampleDims` in `input`'s buffer. */
export interface FloorRun {
  input: ArrayBuffer;
  count: number;
}

const { modelFile, sampleDims } = workerData as { modelFile: string; sampleDims: number[] };
const session = await ort.InferenceSession.create(modelFile, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
const inputName = session.inputNames[0]!;
const outputName = session.outputNames[0]!;
parentPort!.postMessage('ready');
parentPort!.on('message', (run: FloorRun) => {
  const x = new Float32Array(run.input);
  void session.run({ [inputName]: new ort.Tensor('float32', x, [run.count, ...sampleDims]) }).then((results) => {
    const y = results[outputName]!.data as Float32Array;
    parentPort!.postMessage(y, [y.buffer as ArrayBuffer]);
  });
});
