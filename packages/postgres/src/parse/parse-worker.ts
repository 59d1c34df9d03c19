import { parentPort } from 'node:worker_threads';
import { loadPostgresParser } from './libpg';
import { parsePostgresSource } from './postgres-parser';

/**
 * A thread of {@link parseOnThreads} (parse-threads.ts): parses the files it is sent with its own libpg-query and sends
 * back each file's statements as the parse cache keeps them (`JSON.stringify`, which a parser's `revive` makes whole),
 * or null for a file that does not parse: the thread that asked parses that one again itself, for the error with its
 * file, line and cause. Bundled as a file of its own (tools/bundle.js): it holds the parser's modules only.
 */
export interface ParseJob {
  /** The file's text, placeholders expanded. */
  text: string;
  /** The file's path, as errors and locations print it. */
  file: string;
}

/** A batch of files to parse, with the search path they share; the answer carries the same `id`. */
export interface ParseRequest {
  id: number;
  jobs: ParseJob[];
  searchPath: string[];
}

/** Each job's statements as JSON, or null when it does not parse. */
export interface ParseAnswer {
  id: number;
  results: (string | null)[];
}

const port = parentPort;
if (port) {
  // Said once the parser is loaded: the thread that asks sends no batch before, and parses them itself meanwhile.
  loadPostgresParser().then(() => port.postMessage('ready'));
  port.on('message', (request: ParseRequest) => {
    const results = request.jobs.map((job) => {
      try {
        return JSON.stringify(parsePostgresSource(job.text, job.file, { searchPath: request.searchPath }));
      } catch {
        return null;
      }
    });
    port.postMessage({ id: request.id, results } satisfies ParseAnswer);
  });
}
