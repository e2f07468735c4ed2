// Sample levels.signals.v1 rows for the sinks' tests: one definition, with the codec's samples (@snap/platform).
export { sampleSignalRow } from '@snap/platform';
