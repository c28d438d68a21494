import { invalidParam } from './errors.js';

/** `name` or `name@version`. */
export function parseModel(model: string): { name: string; version?: number } {
  const at = model.lastIndexOf('@');
  if (at <= 0) return { name: model };
  const text = model.slice(at + 1);
  const version = Number(text);
  if (!/^[1-9][0-9]{0,8}$/.test(text) || !Number.isSafeInteger(version))
    throw invalidParam('model', `model "${model}": the version after @ must be a positive integer`);
  return { name: model.slice(0, at), version };
}
