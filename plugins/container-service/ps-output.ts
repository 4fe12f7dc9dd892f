import { execFile } from 'node:child_process';
import { InvalidParameterError, SystemError } from '../../kernel/index.js';

/**
 * `docker top` as dockerd does it (daemon/top_unix.go): run the host's `ps`
 * with the client's arguments and keep the rows whose PID belongs to the
 * container. Arguments that rename the PID column are refused.
 */
export async function psForPids(psArgs: string, pids: number[]): Promise<{ Titles: string[]; Processes: string[][] }> {
  validatePsArgs(psArgs);
  const output = await new Promise<string>((resolve, reject) => {
    execFile('ps', psArgs.split(' ').filter(Boolean), { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new SystemError(`Error running ps: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
  return parsePsOutput(output, pids);
}

export function validatePsArgs(psArgs: string): void {
  for (const m of psArgs.matchAll(/\s+([^\s]*)=\s*(PID[^\s]*)/g)) {
    if (m[1] !== 'pid') throw new InvalidParameterError(`specifying "${m[1]}=${m[2]}" is not allowed`);
  }
}

/** The header's columns; rows split into as many fields, the last one keeping its spaces (the command). */
export function parsePsOutput(output: string, pids: number[]): { Titles: string[]; Processes: string[][] } {
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  const titles = (lines[0] ?? '').trim().split(/\s+/);
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw new SystemError("Couldn't find PID field in ps output");
  const wanted = new Set(pids);
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    const row = [...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')];
    if (wanted.has(Number(row[pidIndex]))) processes.push(row);
  }
  return { Titles: titles, Processes: processes };
}
