import type { Writable } from 'node:stream';
import { humanSize } from '../../lib/go-size.js';

/**
 * Docker's JSON progress stream ("jsonmessage"), used by pull, push, import,
 * load and build: one JSON object per message, each followed by "\r\n".
 * Errors keep both `error` (dockerode's followProgress reads it) and
 * `errorDetail` (the CLI reads it).
 */
export interface JsonMessage {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  progress?: string;
  stream?: string;
  aux?: unknown;
  error?: string;
  errorDetail?: { code?: number; message: string };
}

export class JsonProgressWriter {
  constructor(private readonly out: Writable) {}

  write(msg: JsonMessage): void {
    this.out.write(JSON.stringify(msg) + '\r\n');
  }

  status(status: string, id?: string): void {
    this.write(id === undefined ? { status } : { status, progressDetail: {}, id });
  }

  progress(status: string, id: string, current: number, total?: number): void {
    this.write({ status, progressDetail: total ? { current, total } : { current }, progress: renderBar(current, total), id });
  }

  stream(text: string): void {
    this.write({ stream: text });
  }

  aux(value: unknown): void {
    this.write({ progressDetail: {}, aux: value });
  }

  error(message: string, code?: number): void {
    this.write({ errorDetail: code === undefined ? { message } : { code, message }, error: message });
  }
}

/**
 * The deprecated but still sent rendered bar, as jsonmessage.JSONProgress
 * draws it on a wide terminal: "[=====>      …] " then "%8v/%v" sizes.
 */
export function renderBar(current: number, total?: number): string {
  if (!total || total <= 0) return humanSize(current).padStart(8);
  const filled = Math.min(50, Math.floor(Math.floor((current / total) * 100) / 2));
  return `[${'='.repeat(filled)}>${' '.repeat(50 - filled)}] ${humanSize(current).padStart(8)}/${humanSize(total)}`;
}

/** go-units HumanSize lives in lib/go-size.ts; re-exported for existing callers. */
export { humanSize };
