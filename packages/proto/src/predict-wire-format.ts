/**
 * What both directions of predict-wire share: proto3 field keys, and the head (fields 1–4) that
 * PredictRequest and PredictResponse have in common.
 */

/** Wire type 2, length-delimited (strings, bytes, messages, packed repeated fields); varints are 0. */
export const LEN = 2;

/** A field's key: (field number << 3) | wire type. */
export const key = (field: number, wireType: number): number => (field << 3) | wireType;

/** Fields 1–3 of PredictRequest and PredictResponse (field 4 is their tensors): model, version, id. */
export interface MessageHead {
  model_name: string;
  model_version: string;
  id: string;
}
