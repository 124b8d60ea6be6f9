// Plain-TypeScript kernels for the reference evaluators. Sums are accumulated in double
// precision and rounded to float32 once per output element: onnxruntime's SGEMM/conv
// kernels reorder and fuse (FMA) float32 accumulation, so no fixed float32 summation order
// reproduces it bit for bit; the exactly rounded sum sits within a few ULPs of it instead.
// Rounding at every tensor boundary mirrors where ORT materializes float32 tensors.

/** How `dense` reads its weights and where it rounds (see the two ONNX patterns below). */
export type DenseLayout =
  /** MatMul then Add: `w` is [inSize, outSize]; the product is rounded before the bias is added. */
  | 'matmul-add'
  /** Gemm with transB=1: `w` is [outSize, inSize]; bias is accumulated inside the kernel. */
  | 'gemm-transb';

/** y[b, o] = sum_i x[b, i] * W(i, o) + bias[o], for either weight layout. */
export function dense(
  x: Float32Array,
  batch: number,
  w: Float32Array,
  bias: Float32Array,
  inSize: number,
  outSize: number,
  layout: DenseLayout = 'matmul-add',
): Float32Array {
  const y = new Float32Array(batch * outSize);
  // Strides of W(i, o) in `w` for the two layouts.
  const [iStride, oStride] = layout === 'matmul-add' ? [outSize, 1] : [1, inSize];
  for (let b = 0; b < batch; b++) {
    const xBase = b * inSize;
    for (let o = 0; o < outSize; o++) {
      let acc = 0;
      for (let i = 0; i < inSize; i++) acc += (x[xBase + i] ?? 0) * (w[i * iStride + o * oStride] ?? 0);
      const b0 = bias[o] ?? 0;
      y[b * outSize + o] =
        layout === 'matmul-add' ? Math.fround(Math.fround(acc) + b0) : Math.fround(acc + b0);
    }
  }
  return y;
}

/** In-place max(x, 0). */
export function relu(x: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) if ((x[i] ?? 0) < 0) x[i] = 0;
  return x;
}

/** NCHW convolution, stride 1, square kernel, symmetric zero padding; `w` is [cout, cin, k, k]. */
export function conv2d(
  x: Float32Array,
  shape: { batch: number; channels: number; height: number; width: number },
  w: Float32Array,
  bias: Float32Array,
  outChannels: number,
  kernel: number,
  pad: number,
): Float32Array {
  const { batch, channels, height, width } = shape;
  const outH = height + 2 * pad - kernel + 1;
  const outW = width + 2 * pad - kernel + 1;
  const y = new Float32Array(batch * outChannels * outH * outW);
  for (let b = 0; b < batch; b++) {
    for (let oc = 0; oc < outChannels; oc++) {
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          let acc = 0;
          for (let ic = 0; ic < channels; ic++) {
            const xBase = (b * channels + ic) * height * width;
            const wBase = (oc * channels + ic) * kernel * kernel;
            for (let ky = 0; ky < kernel; ky++) {
              const iy = oy + ky - pad;
              if (iy < 0 || iy >= height) continue;
              for (let kx = 0; kx < kernel; kx++) {
                const ix = ox + kx - pad;
                if (ix < 0 || ix >= width) continue;
                acc += (x[xBase + iy * width + ix] ?? 0) * (w[wBase + ky * kernel + kx] ?? 0);
              }
            }
          }
          // ORT's Conv adds the bias inside the kernel; one rounding of the total is closest.
          y[((b * outChannels + oc) * outH + oy) * outW + ox] = Math.fround(acc + (bias[oc] ?? 0));
        }
      }
    }
  }
  return y;
}

/** NCHW max pooling with a 2x2 window and stride 2 (odd trailing rows/columns dropped, as ONNX floors). */
export function maxPool2x2(
  x: Float32Array,
  shape: { batch: number; channels: number; height: number; width: number },
): Float32Array {
  const { batch, channels, height, width } = shape;
  const outH = Math.floor(height / 2);
  const outW = Math.floor(width / 2);
  const y = new Float32Array(batch * channels * outH * outW);
  for (let bc = 0; bc < batch * channels; bc++) {
    const base = bc * height * width;
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const i = base + 2 * oy * width + 2 * ox;
        y[(bc * outH + oy) * outW + ox] = Math.max(
          x[i] ?? -Infinity,
          x[i + 1] ?? -Infinity,
          x[i + width] ?? -Infinity,
          x[i + width + 1] ?? -Infinity,
        );
      }
    }
  }
  return y;
}
